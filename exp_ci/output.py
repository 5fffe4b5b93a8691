"""The one output layer: in GitHub Actions no text exp-ci prints can act as a workflow command.

The runner reads a step's stdout and stderr line by line (a line ends at LF, CR or CRLF)
and takes a line as a command when, after leading white space, it starts with `::`
(`::add-mask::`, `::stop-commands::`, ...) or when it holds `##[` anywhere (the old
`##[command]` syntax). It compares culture-sensitively, so characters that collation
ignores (NUL and other controls, format characters such as U+200B or U+00AD, combining
marks) do not break those markers: `\\u200b::x` starts with `::` to the runner.

Names, params, log lines and YAML quoted in an error all come from a pull request. So
`run_guarded` wraps `sys.stdout` and `sys.stderr` in an `InertStream` for the whole
command when `GITHUB_ACTIONS=true`; every `print` of every module passes through it. It
inserts one backslash before the character that would complete a marker: the second `:` of
a line-start `::` (`:\\:add-mask::x`) and the `[` of `##[` (`##\\[group]`). Every original
character stays, in order, and the extra `\\` shows where the text was defused; applying
it twice changes nothing. A one-time `::stop-commands::` around everything was the other
candidate, but stdout and stderr reach the runner as two pipes with no common order, so a
line of one stream can land after the other stream resumed commands.

exp-ci's own commands (`::error::`, `::group::`) go through `write_command`, which writes
past the escaping to the same stream. Outside Actions nothing is changed.
"""

from __future__ import annotations

import contextlib
import re
import sys
import unicodedata
from collections.abc import Iterator, Mapping
from functools import cache

from exp_ci.lean_typing import TYPE_CHECKING

if TYPE_CHECKING:  # the hook imports this module on every push; `typing` is not needed
    from typing import Any, TextIO

# Characters the runner's culture-sensitive comparisons ignore (NUL and other controls,
# format characters, combining marks): they break neither `::` nor `##[`.
_IGNORABLE_CATEGORIES = frozenset({"Cc", "Cf", "Mn", "Me"})
_HANGUL_FILLERS = frozenset("\u115f\u1160\u3164\uffa0")
# Printable ASCII but `#`, `:` and `[`, with at least one non-space: a run of it only ends
# the line's start and any `#` sequence, so it passes unchanged in one step.
_PLAIN_RUN = r"[ ]*[!-\"$-9;-Z\\\]-~][ !-\"$-9;-Z\\\]-~]*"


@cache
def _plain_run() -> re.Pattern[str]:
    return re.compile(_PLAIN_RUN)  # compiled on first use: outside Actions, never


def _ignorable(char: str) -> bool:
    return char in _HANGUL_FILLERS or unicodedata.category(char) in _IGNORABLE_CATEGORIES


class Neutraliser:
    """The streaming escape: state carries across writes, so split writes are safe too.

    `json=True` writes the `[` of `##[` as `\\u005b`, which a JSON parser reads back as
    `[` (in JSON a `#` only occurs inside a string), so JSON output stays valid and equal.
    """

    def __init__(self, *, json: bool = False) -> None:
        self.bracket = "\\u005b" if json else "\\["
        self.at_start = True  # only white space and ignorable characters so far on this line
        self.colon = False  # ... and then exactly one ':'
        self.hashes = 0  # '#' just seen (ignorable characters in between skipped), max 2

    def feed(self, text: str) -> str:
        out: list[str] = []
        position, end = 0, len(text)
        while position < end:
            plain = _plain_run().match(text, position)
            if plain is not None:  # the common case, in one step: nothing to escape here
                out.append(plain.group())
                position = plain.end()
                self.at_start = self.colon = False
                self.hashes = 0
                continue
            char = text[position]
            position += 1
            if char in "\r\n":
                self.at_start, self.colon, self.hashes = True, False, 0
            elif char == ":" and self.at_start:
                if self.colon:
                    out.append("\\")
                    self.at_start = self.colon = False
                else:
                    self.colon = True
                self.hashes = 0
            elif char == "#":
                self.at_start = self.colon = False
                self.hashes = min(self.hashes + 1, 2)
            elif _ignorable(char):
                pass  # invisible to the runner's matching: changes nothing
            elif char.isspace():  # trimmed at the start of a line, but not between markers
                self.at_start = self.at_start and not self.colon
                self.colon = False
                self.hashes = 0
            else:
                hashes = self.hashes
                self.at_start = self.colon = False
                self.hashes = 0
                if char == "[" and hashes == 2:
                    out.append(self.bracket)
                    continue
            out.append(char)
        return "".join(out)

    @property
    def mid_line(self) -> bool:
        return not self.at_start or self.colon


def inert(text: str, *, json: bool = False) -> str:
    """`text` (starting at a line start) with no line that the runner would take as a command."""
    return Neutraliser(json=json).feed(text)


class InertStream:
    """A text stream that passes everything written through `Neutraliser` (thread-safe)."""

    def __init__(self, raw: TextIO) -> None:
        import threading  # here: outside Actions (every push through the hook) it is not needed

        self.raw = raw
        self._neutraliser = Neutraliser()
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self.raw.write(self._neutraliser.feed(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def write_command(self, line: str) -> None:
        """One of exp-ci's own workflow commands, unescaped, on a line of its own."""
        with self._lock:
            if self._neutraliser.mid_line:
                self.raw.write("\n")
            self._neutraliser = Neutraliser()
            inner = _command_writer(self.raw)
            if inner is not None:  # another layer below (a wrapper sat between two)
                inner(line)
            else:
                self.raw.write(line if line.endswith("\n") else line + "\n")

    def flush(self) -> None:
        self.raw.flush()

    def __getattr__(self, name: str) -> Any:  # fileno, isatty, encoding, buffer, ...
        return getattr(self.raw, name)


def _command_writer(stream: Any) -> Any:
    """The `write_command` of an InertStream under `stream`, or None. Wrappers that others
    put on sys.stdout while exp-ci runs (colorama, which DVC starts, wraps it in a
    StreamWrapper that passes unknown attributes through) still reach it this way."""
    try:
        writer = getattr(stream, "write_command", None)
    except Exception:
        return None
    return writer if callable(writer) else None


def write_command(line: str, stream: TextIO | None = None) -> None:
    """Print a workflow command exp-ci means (its text already escaped by the caller)."""
    target = stream if stream is not None else sys.stdout
    writer = _command_writer(target)
    if writer is not None:
        writer(line)
    else:
        target.write(line if line.endswith("\n") else line + "\n")
    target.flush()


def for_actions(text: str, environ: Mapping[str, str], *, json: bool = False) -> str:
    """`inert(text)` in GitHub Actions, `text` elsewhere: for text written where the stream
    may not be wrapped (a test's), or that needs the JSON form of the escape."""
    return inert(text, json=json) if environ.get("GITHUB_ACTIONS") == "true" else text


@contextlib.contextmanager
def guarded_streams(environ: Mapping[str, str]) -> Iterator[None]:
    """In GitHub Actions, `sys.stdout` and `sys.stderr` escape everything for the duration.

    Nested use wraps once; the original streams come back afterwards.
    """
    if environ.get("GITHUB_ACTIONS") != "true":
        yield
        return
    saved = sys.stdout, sys.stderr
    if _command_writer(sys.stdout) is None:
        sys.stdout = InertStream(sys.stdout)  # type: ignore[assignment]
    if _command_writer(sys.stderr) is None:
        sys.stderr = InertStream(sys.stderr)  # type: ignore[assignment]
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        sys.stdout, sys.stderr = saved
