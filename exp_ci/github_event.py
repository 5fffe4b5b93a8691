"""Which pull request a run belongs to, decided from the event alone (pure).

Each event kind tells it differently (see design.md §4):

- `pull_request`, `pull_request_target` (and review/comment events on pull requests)
  carry the number;
- `workflow_run` lists `workflow_run.pull_requests`, which GitHub leaves empty when the
  head branch lives in a fork; then the pull request is found by its head SHA;
- `push`, `schedule`, `workflow_dispatch` and anything else: through the pull requests
  associated with the commit.

`lookup_pull_request` returns what to ask GitHub (or nothing to ask); `pick_pull_request`
chooses among GitHub's answers. The adapter does the asking.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_NUMBERED_EVENTS = (
    "pull_request",
    "pull_request_target",
    "pull_request_review",
    "pull_request_review_comment",
)


class LookupKind(str, enum.Enum):
    NUMBER = "number"  # known: no API call needed
    HEAD_SHA = "head-sha"  # a fork's workflow_run: open pull requests whose head is this commit
    COMMIT = "commit"  # pull requests associated with a commit of this repository
    NONE = "none"  # nothing to go on


@dataclass(frozen=True)
class PullRequestLookup:
    kind: LookupKind
    source: str  # for messages: "pull_request event", "--pr", ...
    number: int | None = None
    sha: str | None = None
    branch: str | None = None  # the head branch, to prefer among several candidates
    head_owner: str | None = None  # the fork's owner (workflow_run)
    fork: bool = False  # the head lives in another repository: its token is read-only
    head_sha: str | None = None  # the commit the results are for, when the event says


@dataclass(frozen=True)
class PullRequestCandidate:
    """One pull request as GitHub listed it, reduced to what the choice needs."""

    number: int
    state: str
    head_sha: str | None = None
    head_ref: str | None = None
    head_repo: str | None = None  # owner/name of the head repository


def payload_value(payload: Any, *path: str | int) -> Any:
    """The value at `path` in an event payload (ints index lists), None wherever it breaks."""
    value: Any = payload
    for key in path:
        if isinstance(key, int):
            value = value[key] if isinstance(value, list) and len(value) > key else None
        elif isinstance(value, Mapping):
            value = value.get(key)
        else:
            return None
    return value


def _number(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None
    return value


def _branch(ref: str | None) -> str | None:
    if ref and ref.startswith("refs/heads/"):
        return ref[len("refs/heads/") :]
    return None


def _same_repository_pulls(entries: Any, repository: str | None) -> list[int]:
    """Numbers from `workflow_run.pull_requests`, only those of this repository.

    The list may name pull requests of other repositories that share the head branch; each
    entry's `url` (`.../repos/OWNER/NAME/pulls/N`) or `base.repo.name` tells which is ours.
    """
    numbers: list[int] = []
    if not isinstance(entries, list):
        return numbers
    for entry in entries:
        if not isinstance(entry, Mapping) or _number(entry.get("number")) is None:
            continue
        url = entry.get("url")
        if repository and isinstance(url, str):
            match = re.search(r"/repos/([^/]+/[^/]+)/pulls/\d+$", url)
            if match and match.group(1).lower() != repository.lower():
                continue
        numbers.append(entry["number"])
    return numbers


def lookup_pull_request(
    event_name: str | None,
    payload: Mapping[str, Any],
    *,
    repository: str | None,
    sha: str | None,
    ref: str | None = None,
    explicit: int | None = None,
) -> PullRequestLookup:
    """How to find the pull request of this run; `explicit` (`--pr`) wins."""
    if explicit is not None:
        return PullRequestLookup(LookupKind.NUMBER, "--pr", number=explicit)

    if event_name in _NUMBERED_EVENTS or (
        event_name is None and isinstance(payload_value(payload, "pull_request"), Mapping)
    ):
        number = _number(payload_value(payload, "pull_request", "number")) or _number(
            payload.get("number")
        )
        head_repo = payload_value(payload, "pull_request", "head", "repo", "full_name")
        fork = bool(head_repo and repository and head_repo.lower() != repository.lower())
        if number is not None:
            return PullRequestLookup(
                LookupKind.NUMBER,
                f"{event_name or 'pull_request'} event",
                number=number,
                fork=fork,
                head_sha=payload_value(payload, "pull_request", "head", "sha"),
            )
        return PullRequestLookup(LookupKind.NONE, f"{event_name} event without a number")

    if event_name == "issue_comment":
        if payload_value(payload, "issue", "pull_request") is not None:
            number = _number(payload_value(payload, "issue", "number"))
            if number is not None:
                return PullRequestLookup(LookupKind.NUMBER, "issue_comment event", number=number)
        return PullRequestLookup(LookupKind.NONE, "a comment on an issue, not a pull request")

    if event_name == "workflow_run":
        run = payload_value(payload, "workflow_run") or {}
        head_sha = payload_value(run, "head_sha")
        head_repo = payload_value(run, "head_repository", "full_name")
        fork = bool(head_repo and repository and head_repo.lower() != repository.lower())
        numbers = _same_repository_pulls(payload_value(run, "pull_requests"), repository)
        if numbers:
            return PullRequestLookup(
                LookupKind.NUMBER,
                "workflow_run event",
                number=numbers[0],
                fork=fork,
                head_sha=head_sha,
            )
        if head_sha:
            return PullRequestLookup(
                LookupKind.HEAD_SHA,
                "workflow_run event (head commit " + head_sha[:7] + ")",
                sha=head_sha,
                branch=payload_value(run, "head_branch"),
                head_owner=payload_value(run, "head_repository", "owner", "login"),
                fork=fork,
                head_sha=head_sha,
            )
        return PullRequestLookup(LookupKind.NONE, "workflow_run event without a head commit")

    commit = sha or payload_value(payload, "after") or payload_value(payload, "head_commit", "id")
    if commit and set(commit) != {"0"}:
        return PullRequestLookup(
            LookupKind.COMMIT,
            f"{event_name or 'local'} run at commit {commit[:7]}",
            sha=commit,
            branch=_branch(ref or payload_value(payload, "ref")),
            head_sha=commit,
        )
    return PullRequestLookup(
        LookupKind.NONE, f"{event_name or 'a run outside GitHub Actions'} without a commit"
    )


def pick_pull_request(
    candidates: Sequence[PullRequestCandidate], lookup: PullRequestLookup
) -> PullRequestCandidate | None:
    """The open pull request of this run among GitHub's candidates, or None.

    Closed and merged pull requests are never chosen: a nightly run on `main` must not
    comment on the pull request merged last week. Among open ones, the one whose head is
    this commit and branch comes first, then one on the branch, then the lowest number.
    """
    open_ones = [c for c in candidates if c.state == "open"]

    def rank(candidate: PullRequestCandidate) -> tuple[int, int, int]:
        return (
            0 if lookup.sha and candidate.head_sha == lookup.sha else 1,
            0 if lookup.branch and candidate.head_ref == lookup.branch else 1,
            candidate.number,
        )

    return min(open_ones, key=rank, default=None)
