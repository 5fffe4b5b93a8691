"""Everything exp-ci knows about the GitHub Actions runner, in one place.

The event payload (`GITHUB_EVENT_NAME`, `GITHUB_EVENT_PATH`), the run's variables
(`GITHUB_REPOSITORY`, `GITHUB_API_URL`, `GITHUB_SERVER_URL`, `GITHUB_RUN_ID`, ...), the
files a step writes (`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`) and the workflow commands it
prints (`::warning::`, `::error::`, `::notice::`). Every function takes the environment as a
parameter (`environ`), so commands pass `os.environ` and tests pass a dict.

Outside Actions (`GITHUB_ACTIONS` is not `true`) the same calls still work: annotations
become plain `exp-ci: warning: ...` lines on stderr, and files are written only when their
variable names one.
"""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from exp_ci.errors import UserError
from exp_ci.output import inert, write_command

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_SERVER_URL = "https://github.com"
# GitHub rejects a step summary over 1 MiB and then shows none of it.
SUMMARY_LIMIT_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ActionsContext:
    """The run as the Actions environment describes it; empty fields outside Actions."""

    in_actions: bool = False
    event_name: str | None = None
    event: Mapping[str, Any] = field(default_factory=dict)
    repository: str | None = None
    api_url: str = DEFAULT_API_URL
    server_url: str = DEFAULT_SERVER_URL
    sha: str | None = None
    ref: str | None = None
    run_id: str | None = None
    run_attempt: str | None = None
    token: str | None = field(default=None, repr=False)  # never printed

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ActionsContext:
        event_name, event = read_event(environ)
        return cls(
            in_actions=in_actions(environ),
            event_name=event_name,
            event=event,
            repository=environ.get("GITHUB_REPOSITORY") or None,
            api_url=api_url_from(environ),
            server_url=(environ.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL).rstrip("/"),
            sha=environ.get("GITHUB_SHA") or None,
            ref=environ.get("GITHUB_REF") or None,
            run_id=environ.get("GITHUB_RUN_ID") or None,
            run_attempt=environ.get("GITHUB_RUN_ATTEMPT") or None,
            token=token_from(environ),
        )

    @property
    def run_url(self) -> str | None:
        """The page of this run, where its job summaries are shown."""
        if not (self.repository and self.run_id):
            return None
        url = f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"
        if self.run_attempt and self.run_attempt != "1":
            url += f"/attempts/{self.run_attempt}"
        return url


def in_actions(environ: Mapping[str, str]) -> bool:
    return environ.get("GITHUB_ACTIONS") == "true"


def api_url_from(environ: Mapping[str, str]) -> str:
    """GitHub's REST API of this run (`GITHUB_API_URL`: GitHub Enterprise has its own)."""
    return (environ.get("GITHUB_API_URL") or "").strip().rstrip("/") or DEFAULT_API_URL


def token_from(environ: Mapping[str, str]) -> str | None:
    """`GITHUB_TOKEN`, else `GH_TOKEN` (the GitHub CLI's name); blank counts as missing."""
    for name in ("GITHUB_TOKEN", "GH_TOKEN"):
        value = (environ.get(name) or "").strip()
        if value:
            return value
    return None


def read_event(environ: Mapping[str, str]) -> tuple[str | None, Mapping[str, Any]]:
    """The event's name and its JSON payload ({} when there is none)."""
    name = environ.get("GITHUB_EVENT_NAME") or None
    path = environ.get("GITHUB_EVENT_PATH")
    if not path:
        return name, {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise UserError(
            f"cannot read the event payload GITHUB_EVENT_PATH={path}: {error.strerror}. "
            "Unset GITHUB_EVENT_PATH outside GitHub Actions."
        ) from None
    try:
        payload = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as error:
        raise UserError(
            f"the event payload {path} is not valid JSON ({error.msg}, line {error.lineno})."
        ) from None
    if not isinstance(payload, dict):
        raise UserError(f"the event payload {path} is not a JSON object.")
    return name, payload


# Workflow commands: https://docs.github.com/actions/reference/workflow-commands-for-github-actions


def escape_data(text: str) -> str:
    """A message of a workflow command: %, CR and LF would end or corrupt the command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value (title=, file=): also `:` and `,` separate properties."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(
    level: str,
    message: str,
    environ: Mapping[str, str],
    *,
    title: str | None = None,
    file: str | None = None,
    line: int | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> None:
    """`::warning::` (or error/notice) on stdout in Actions, a plain line on stderr outside."""
    if level not in ("error", "warning", "notice"):
        raise ValueError(f"unknown annotation level {level!r}")
    if in_actions(environ):
        properties = []
        if title:
            properties.append(f"title={escape_property(title)}")
        if file:
            properties.append(f"file={escape_property(file)}")
        if line is not None:
            properties.append(f"line={line}")
        props = (" " + ",".join(properties)) if properties else ""
        # The message is one line (escape_data), and the runner reads everything after the
        # second `::` as data, so a `::` or `##[` inside it is text.
        write_command(f"::{level}{props}::{escape_data(message)}", stdout or sys.stdout)
    else:
        print(f"exp-ci: {level}: {message}", file=stderr or sys.stderr)


def warning(message: str, environ: Mapping[str, str], **kwargs: Any) -> None:
    annotation("warning", message, environ, **kwargs)


def error(message: str, environ: Mapping[str, str], **kwargs: Any) -> None:
    annotation("error", message, environ, **kwargs)


def notice(message: str, environ: Mapping[str, str], **kwargs: Any) -> None:
    annotation("notice", message, environ, **kwargs)


def _append(path: str, text: str, what: str) -> None:
    try:
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        raise UserError(f"cannot write the {what} file {path}: {error.strerror}.") from None


def write_output(name: str, value: str, environ: Mapping[str, str]) -> bool:
    """Set a step output through `GITHUB_OUTPUT`; False when the variable is not set.

    Multi-line values use the heredoc form with a random delimiter that the value does
    not contain, so a value can never inject a second output.
    """
    path = environ.get("GITHUB_OUTPUT")
    if not path:
        return False
    if not name or any(c in name for c in "\r\n=<"):
        raise ValueError(f"invalid output name {name!r}")
    if "\n" in value or "\r" in value:
        delimiter = f"exp_ci_{secrets.token_hex(8)}"
        while delimiter in value:  # pragma: no cover - 64 random bits
            delimiter = f"exp_ci_{secrets.token_hex(8)}"
        _append(path, f"{name}<<{delimiter}\n{value}\n{delimiter}\n", "GITHUB_OUTPUT")
    else:
        _append(path, f"{name}={value}\n", "GITHUB_OUTPUT")
    return True


def summary_room(environ: Mapping[str, str]) -> int | None:
    """Bytes still free in this step's summary (None when there is no summary file)."""
    path = environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return None
    try:
        used = Path(path).stat().st_size
    except FileNotFoundError:
        used = 0
    except OSError as error:
        raise UserError(f"cannot read the job summary file {path}: {error.strerror}.") from None
    return max(0, SUMMARY_LIMIT_BYTES - used)


def append_summary(text: str, environ: Mapping[str, str]) -> bool:
    """Append markdown to the job summary; False when `GITHUB_STEP_SUMMARY` is not set.

    The caller fits `text` into `summary_room()` first; appending past the 1 MiB limit would
    make GitHub drop the whole summary, so that is refused here as a bug.
    """
    path = environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    room = summary_room(environ) or 0
    size = len(text.encode("utf-8"))
    if size > room:
        raise ValueError(f"summary text of {size} bytes exceeds the {room} bytes left")
    _append(path, text, "job summary (GITHUB_STEP_SUMMARY)")
    return True


def add_to_summary(environ: Mapping[str, str], *texts: str) -> bool | None:
    """Append the first of `texts` (longest first, say) that fits in the job summary.
    True when one was added, False when none fits, None when there is no summary."""
    room = summary_room(environ)
    if room is None:
        return None
    for text in texts:
        if len(text.encode("utf-8")) <= room:
            append_summary(text, environ)
            return True
    return False


# --- log groups (exp-ci run: one collapsible group per experiment) --------------------------


def group_lines(title: str, body: str) -> str:
    """A collapsible log group whose body is printed as plain text.

    The body (an experiment's log) is untrusted: a line in it such as `::add-mask::` or
    `::endgroup::` would be taken as a workflow command, so commands are switched off around
    it with a one-time token (`::stop-commands::TOKEN` ... `::TOKEN::`). The body is also
    made inert line by line (`exp_ci.output.inert`): the log viewer draws `##[group]` or
    `##[error]` lines as groups and errors even while commands are stopped.
    """
    token = f"exp-ci-{secrets.token_hex(12)}"
    body = inert(body)
    text = body if body.endswith(("\n", "\r")) or not body else body + "\n"
    return (
        f"::group::{escape_data(title)}\n::stop-commands::{token}\n{text}::{token}::\n"
        "::endgroup::\n"
    )


def run_identity(environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT): the same for every job of one workflow run."""
    return environ.get("GITHUB_RUN_ID") or None, environ.get("GITHUB_RUN_ATTEMPT") or None
