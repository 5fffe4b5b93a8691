"""A model of how the GitHub Actions runner finds workflow commands in a step's output.

Written from the runner's source (src/Runner.Common/ActionCommand.cs, TryParseV2 and
TryParse), independently of exp_ci.output, so tests check one against the other:

- lines end at LF, CR or CRLF (StreamReader.ReadLine);
- `::name` after leading white space (string.TrimStart), or `##[` anywhere;
- both are culture-sensitive .NET string operations, under which characters that collation
  ignores (controls, format characters, combining marks) do not count.

The model flags a line whatever the command name: the runner's list of names grows.
"""

from __future__ import annotations

import re
import unicodedata

_IGNORED = frozenset({"Cc", "Cf", "Mn", "Me"})


def runner_lines(text: str) -> list[str]:
    return re.split(r"\r\n|\r|\n", text)


def _visible(line: str) -> str:
    return "".join(c for c in line if unicodedata.category(c) not in _IGNORED)


def takes_as_command(line: str) -> bool:
    visible = _visible(line)
    return visible.lstrip().startswith("::") or "##[" in visible


def command_lines(text: str) -> list[str]:
    """The lines of `text` that the runner would take as workflow commands."""
    return [line for line in runner_lines(text) if takes_as_command(line)]
