"""The sticky comment kept in sync with GitHub: which one is ours, create or edit, no duplicates.

The decisions (ownership, duplicates, merged sections) are pure functions; `upsert` and
its helpers do the talking, through the one GitHub adapter passed in.

Ownership. A comment carrying our marker is ours only when its author is the account
exp-ci writes as; a marker comment by anyone else is never edited or deleted (someone may
have quoted the body, or a bot of another workflow may use the same ID). The account is
known by, in this order:

1. `--author LOGIN`, for tokens of a custom GitHub App (`my-app[bot]`);
2. `GET /user`, which answers for personal access tokens and OAuth tokens;
3. the GitHub Actions convention: installation tokens (the workflow's `GITHUB_TOKEN`,
   prefix `ghs_`) cannot call `GET /user` (403), and write as `github-actions[bot]`.

When the account had to be assumed (3.) and a comment we create comes back with another
author, that author is what counts from then on (duplicates are judged by it) and the user
is told to pass `--author`, so the next run finds the comment instead of adding one.

Duplicates. Two jobs that upsert at the same moment may both find nothing and both create.
After creating, each job lists the recent comments again: of our marker comments, the
oldest is kept, the newer ones are deleted, and their sections are merged into the kept
one (ours win for our own section). Both jobs reach the same decision.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from exp_ci.model import Comment
from exp_ci.sticky.format import build_body, has_marker, parse_sections

if TYPE_CHECKING:
    from exp_ci.adapters.github import GitHub
    from exp_ci.github_event import PullRequestLookup

ACTIONS_BOT = "github-actions[bot]"
# Comments created this long before ours are searched for duplicates made at the same time.
RACE_WINDOW = timedelta(minutes=10)
VERIFY_ROUNDS = 40  # reads of a shared comment, at most (see `_verify_section`)
STABLE_READS = 2


class TokenKind(str, enum.Enum):
    INSTALLATION = "installation"  # ghs_: GITHUB_TOKEN and GitHub App installation tokens
    USER = "user"  # ghp_, github_pat_, gho_, ghu_: a person's token
    UNKNOWN = "unknown"  # older 40-hex tokens, GitHub Enterprise oddities


def token_kind(token: str) -> TokenKind:
    """GitHub's documented token prefixes (2021 format); the token itself is not kept."""
    if token.startswith("ghs_"):
        return TokenKind.INSTALLATION
    if token.startswith(("ghp_", "github_pat_", "gho_", "ghu_")):
        return TokenKind.USER
    return TokenKind.UNKNOWN


def should_ask_user_endpoint(kind: TokenKind, explicit: str | None) -> bool:
    """`GET /user` only when it can answer and nobody told us already (saves a request)."""
    return explicit is None and kind is not TokenKind.INSTALLATION


@dataclass(frozen=True)
class Identity:
    login: str
    how: str  # for messages
    assumed: bool = False  # true for the Actions convention: a created comment may correct it


def identity(explicit: str | None, user_login: str | None) -> Identity:
    if explicit:
        return Identity(explicit, "--author")
    if user_login:
        return Identity(user_login, "the token's user (GET /user)")
    return Identity(ACTIONS_BOT, "the GitHub Actions token convention", assumed=True)


def same_login(a: str, b: str) -> bool:
    return a.casefold() == b.casefold()  # GitHub logins ignore case


def is_marked(comment: Comment, marker_id: str) -> bool:
    return has_marker(comment.body, marker_id)


def _age(comment: Comment) -> tuple[str, int]:
    return (comment.created_at, comment.id)


@dataclass(frozen=True)
class Found:
    ours: Comment | None  # the oldest marker comment by us: the one to update
    foreign: tuple[Comment, ...] = ()  # marker comments by others, left alone


def find_sticky(comments: Iterable[Comment], marker_id: str, login: str) -> Found:
    marked = [c for c in comments if is_marked(c, marker_id)]
    ours = sorted((c for c in marked if same_login(c.author, login)), key=_age)
    foreign = tuple(c for c in marked if not same_login(c.author, login))
    return Found(ours[0] if ours else None, foreign)


@dataclass(frozen=True)
class Duplicates:
    keep: Comment | None
    remove: tuple[Comment, ...]  # newer marker comments by us, to delete


def duplicates(comments: Iterable[Comment], marker_id: str, login: str) -> Duplicates:
    """Of our marker comments (by id, each once), keep the oldest and remove the others."""
    unique = {c.id: c for c in comments if is_marked(c, marker_id) and same_login(c.author, login)}
    ours = sorted(unique.values(), key=_age)
    if not ours:
        return Duplicates(None, ())
    return Duplicates(ours[0], tuple(ours[1:]))


def merged_sections(
    keep: Comment, removed: Iterable[Comment], own_body: str, marker_id: str
) -> Mapping[str, str]:
    """The kept comment's sections, then the removed ones' (oldest first), then our own."""
    sections = dict(parse_sections(keep.body, marker_id))
    for comment in sorted(removed, key=_age):
        sections.update(parse_sections(comment.body, marker_id))
    sections.update(parse_sections(own_body, marker_id))
    return sections


# --- talking to GitHub -----------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """Our section, able to render itself within any budget (comment or job summary)."""

    marker_id: str
    key: str
    render: Callable[[int, bool], str]  # (budget, for_summary) -> markdown


@dataclass(frozen=True)
class Outcome:
    action: str  # created, updated, unchanged, recreated; "would ..." in a dry run; refused
    body: str
    comment: Comment | None = None
    removed: tuple[int, ...] = ()  # duplicates deleted
    foreign: tuple[Comment, ...] = ()  # marker comments by others, left alone
    login: str = ""
    refused: str | None = None  # why GitHub refused the write


def _search(github: GitHub, number: int, marker_id: str, whoami: Callable[[], Identity]):
    """Our marker comment, page by page; who we are is asked only once a marker shows up."""
    foreign: list[Comment] = []
    for page in github.comment_pages(number):
        if not any(is_marked(c, marker_id) for c in page):
            continue
        found = find_sticky(page, marker_id, whoami().login)
        foreign.extend(found.foreign)
        if found.ours is not None:
            return found.ours, tuple(foreign)
    return None, tuple(foreign)


def _parse_time(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return datetime.now(timezone.utc)


def upsert(
    github: GitHub,
    number: int,
    section: Section,
    whoami: Callable[[], Identity],
    *,
    mode: str = "update",
    dry_run: bool = False,
    verify: bool = False,
    settle: Callable[[], None] = lambda: None,
) -> Outcome:
    """Create, update or recreate the sticky comment; then make sure there is only one.

    `whoami` is called only when a marker comment is found (to tell ours from others'), so
    a first comment costs no `GET /user`; the created comment then says who we are.
    """
    from exp_ci.adapters.github import WriteRefused

    marker_id, key = section.marker_id, section.key

    def content(budget: int) -> str:
        return section.render(budget, False)

    ours, foreign = _search(github, number, marker_id, whoami)
    existing = parse_sections(ours.body, marker_id) if ours else {}
    body = build_body(marker_id, key, content, existing)

    if dry_run:
        action = "would create" if ours is None else f"would {mode}"
        return Outcome(action, body, ours, foreign=foreign)
    try:
        if ours is not None and mode == "update":
            if ours.body.replace("\r\n", "\n") == body:
                kept = _verify_section(github, number, ours, section, settle) if verify else ours
                return Outcome("unchanged", kept.body, kept, foreign=foreign, login=ours.author)
            edited = github.edit_comment(number, ours.id, body)
            if verify:
                edited = _verify_section(github, number, edited, section, settle)
            return Outcome("updated", edited.body, edited, foreign=foreign, login=ours.author)
        if ours is not None:
            github.delete_comment(number, ours.id)
        created = github.create_comment(number, body)
        kept, removed = _deduplicate(github, number, created, body, section)
        if verify:
            kept = _verify_section(github, number, kept, section, settle)
        action = "recreated" if ours is not None else "created"
        return Outcome(action, kept.body, kept, removed, foreign, created.author)
    except WriteRefused as error:
        return Outcome("refused", body, ours, foreign=foreign, refused=error.message)


def _deduplicate(
    github: GitHub, number: int, created: Comment, body: str, section: Section
) -> tuple[Comment, tuple[int, ...]]:
    """After creating: keep the oldest of our marker comments, merge and delete the others."""

    since = _parse_time(created.created_at) - RACE_WINDOW
    recent = github.comments_since(number, since)
    found = duplicates([*recent, created], section.marker_id, created.author)
    if found.keep is None or not found.remove:
        return created, ()
    keep = found.keep
    sections = merged_sections(keep, found.remove, body, section.marker_id)
    merged = build_body(
        section.marker_id, section.key, lambda budget: section.render(budget, False), sections
    )
    if merged != keep.body.replace("\r\n", "\n"):
        keep = github.edit_comment(number, keep.id, merged)
    removed = tuple(c.id for c in found.remove if github.delete_comment(number, c.id))
    return keep, removed


def _verify_section(
    github: GitHub, number: int, edited: Comment, section: Section, settle: Callable[[], None]
) -> Comment:
    """Re-read a shared comment and merge until it is stable with our section in it.

    GitHub has no compare-and-swap on comments: a job that read the comment before our
    edit and writes after it drops our section (a lost update), and so may a job that is
    itself repairing. So after a pause (`settle`, jittered by the caller) we read the
    comment back; if our section is missing or old, we write the latest body with our
    section put back (keeping whatever the others wrote), and start over. We stop once
    STABLE_READS reads in a row, a pause apart, show the same body with our section: a
    write that could still drop it would have to come from a read older than that pause.
    At most VERIFY_ROUNDS reads. Measured: tests/comment_concurrency_test.py.
    """

    current = edited
    mine = parse_sections(edited.body, section.marker_id).get(section.key)
    last_body: str | None = None
    stable = 0
    for _ in range(VERIFY_ROUNDS):
        settle()
        latest = github.get_comment(current.id)
        if latest is None:  # deleted meanwhile (a recreate elsewhere): nothing to defend
            return current
        sections = parse_sections(latest.body, section.marker_id)
        if sections.get(section.key) == mine:
            stable = stable + 1 if latest.body == last_body else 1
            last_body, current = latest.body, latest
            if stable >= STABLE_READS:
                return latest
            continue
        body = build_body(
            section.marker_id,
            section.key,
            lambda budget: section.render(budget, False),
            sections,
        )
        current = github.edit_comment(number, latest.id, body)
        last_body, stable = None, 0
    return current


# --- finding the pull request ----------------------------------------------------------------


def find_pull_request(github: GitHub, lookup: PullRequestLookup) -> int | None:
    from exp_ci.github_event import LookupKind, pick_pull_request

    if lookup.kind is LookupKind.NUMBER:
        return lookup.number
    if lookup.kind is LookupKind.COMMIT and lookup.sha:
        chosen = pick_pull_request(github.pulls_for_commit(lookup.sha), lookup)
        return chosen.number if chosen else None
    if lookup.kind is LookupKind.HEAD_SHA and lookup.sha:
        candidates = []
        if lookup.head_owner and lookup.branch:
            candidates = github.pulls_for_head(lookup.head_owner, lookup.branch)
        chosen = pick_pull_request(candidates, lookup)
        if chosen is None:
            chosen = pick_pull_request(github.search_pulls_by_sha(lookup.sha), lookup)
        return chosen.number if chosen else None
    return None
