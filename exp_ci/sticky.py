"""Which comment is the sticky one, whose it is, and what to do with duplicates (pure).

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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from exp_ci.render.comment import has_marker, parse_sections

ACTIONS_BOT = "github-actions[bot]"


@dataclass(frozen=True)
class Comment:
    """An issue comment as exp-ci needs it (from the REST API's issue comment object)."""

    id: int
    author: str
    body: str
    created_at: str  # ISO 8601 in UTC, as GitHub writes it: sorts as time does
    url: str = ""  # html_url


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
