"""All of exp-ci's GitHub REST calls, through PyGithub.

One `GitHub` object per run: the token (never printed: every message passes `redact`),
the repository, and the API root (`GITHUB_API_URL`, which differs on GitHub Enterprise
Server). Answers come back as exp-ci's own small records (`model.Comment`,
`github_event.PullRequestCandidate`), so the rest of exp-ci never sees PyGithub.

Transient failures are retried by PyGithub's `GithubRetry` (a urllib3 `Retry`): 5xx, 429,
and secondary rate limits (403/429 with `Retry-After`, or the documented message), with
exponential backoff; waits are bounded by `Pacing`, and a final failure becomes a
`GitHubError` that says what was asked and what GitHub answered. A write refused with 403
(a fork's read-only token) or 404 (a token without access) is a `WriteRefused`, so the
caller can fall back instead of failing the build.

Comments are listed 100 a page. The sticky comment is usually near the top (made on the
first push) or at the bottom (`--mode recreate`), so `comment_pages` reads page 1, then the
last page and backwards: its `Link` header names the last page, which saves the extra
request PyGithub's `PaginatedList.reversed` spends re-reading page 1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

from exp_ci.errors import UserError
from exp_ci.github_event import PullRequestCandidate
from exp_ci.model import Comment

PER_PAGE = 100
T = TypeVar("T")


@dataclass(frozen=True)
class Pacing:
    """How patient exp-ci is with GitHub. Tests use `Pacing.none()`: no waiting at all."""

    seconds_between_requests: float = 0.25  # PyGithub's default throttle
    seconds_between_writes: float = 1.0  # GitHub's advice for POST/PATCH/DELETE
    retries: int = 4  # after the first attempt
    backoff_factor: float = 1.0  # 0 s, 2 s, 4 s, 8 s between attempts
    backoff_max: float = 30.0
    retry_after_max: float = 120.0  # a longer Retry-After is cut to this
    secondary_rate_wait: float = 60.0  # GitHub's advice when no Retry-After is given
    settle_seconds: float = 1.0  # before re-reading a shared comment (see commands/comment)

    @classmethod
    def none(cls) -> Pacing:
        return cls(0.0, 0.0, 4, 0.0, 0.0, 0.0, 0.0, 0.0)


DEFAULT_PACING = Pacing()


class GitHubError(Exception):
    """GitHub could not do what was asked; the message is safe to print (no token)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class WriteRefused(GitHubError):
    """403/404 on a write: the token may read but not write (fork pull requests)."""


def _token_forms(token: str) -> list[str]:
    """The token as it may appear in a message: raw, as Python's repr or JSON escapes it,
    as bytes, URL-quoted, and its long runs between white space or controls (printed raw
    across lines). Longest first, so a longer form is replaced before its parts."""
    from urllib.parse import quote

    forms = {
        token,
        repr(token)[1:-1],
        json.dumps(token)[1:-1],
        json.dumps(token, ensure_ascii=False)[1:-1],
        token.encode("unicode_escape").decode("ascii"),
        repr(token.encode("utf-8", "surrogatepass"))[2:-1],
        quote(token, safe=""),
    }
    forms.update(part for part in re.split(r"[\s\x00-\x1f\x7f]+", token) if len(part) >= 8)
    return sorted((form for form in forms if form), key=len, reverse=True)


def redact(text: str, token: str | None) -> str:
    """`text` without the token, in any form a message prints it (see `_token_forms`)."""
    if token:
        for form in _token_forms(token):
            text = text.replace(form, "***")
    return text


# GitHub's rules: an owner is letters, digits and single hyphens (39 at most; Enterprise
# managed users add `_shortcode`), a repository name letters, digits, `.`, `_`, `-` (100).
_REPOSITORY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,38})/(?!\.\.?$)[A-Za-z0-9._-]{1,100}")


def check_settings(token: str, repository: str, api_url: str) -> None:
    """Refuse settings that would crash or misdirect a request, before any is made.

    A token goes into an HTTP header, so it must be printable ASCII without spaces (a
    pasted newline or a non-Latin-1 character made requests or http.client raise);
    `GITHUB_REPOSITORY` is `owner/name`; `GITHUB_API_URL` an http(s) URL of a host.
    Messages never show the token.
    """
    if not _REPOSITORY.fullmatch(repository):
        raise UserError(
            f"GITHUB_REPOSITORY must be owner/name (letters, digits, '-', and '.' or '_' in "
            f"the name), not {repository!r}. GitHub Actions sets it; elsewhere export "
            "GITHUB_REPOSITORY=owner/name."
        )
    _check_api_url(api_url)
    bad = next(((i, c) for i, c in enumerate(token) if not "!" <= c <= "~"), None)
    if bad is not None:
        position, char = bad
        what = {"\n": "a newline", "\r": "a carriage return", " ": "a space", "\t": "a tab"}
        shown = what.get(char, f"the character U+{ord(char):04X}")
        raise UserError(
            f"the token in GITHUB_TOKEN (or GH_TOKEN) holds {shown} at position {position + 1} "
            f"of {len(token)}; a token is printable ASCII without spaces. Copy it again "
            "(e.g. `gh auth token`), or pass `${{ secrets.GITHUB_TOKEN }}` unchanged."
        )


def _check_api_url(api_url: str) -> None:
    from urllib.parse import urlsplit

    problem = None
    try:
        parts = urlsplit(api_url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as error:
        problem = str(error)
    else:
        if parts.scheme not in ("http", "https"):
            problem = "it does not start with https:// (or http://)"
        elif not parts.hostname:
            problem = "it names no host"
        elif parts.username is not None or parts.password is not None:
            problem = "it holds credentials (the token is sent in a header, not in the URL)"
        elif parts.query or parts.fragment:
            problem = "it has a query or fragment"
        elif any(c.isspace() or not c.isprintable() for c in api_url):
            problem = "it holds white space or control characters"
    if problem:
        shown = re.sub(r"(?<=://)[^/@]*@", "***@", api_url)
        raise UserError(
            f"GITHUB_API_URL must be the REST API root such as https://api.github.com (or "
            f"https://HOST/api/v3 on GitHub Enterprise Server), not {shown!r}: {problem}."
        )


def make_retry(pacing: Pacing) -> Any:
    """PyGithub's GithubRetry, with 429 and PATCH added and every wait bounded."""
    from github.GithubRetry import GithubRetry

    class BoundedRetry(GithubRetry):
        retry_after_cap = pacing.retry_after_max

        def parse_retry_after(self, retry_after: str) -> float:
            return min(super().parse_retry_after(retry_after), self.retry_after_cap)

    return BoundedRetry(
        total=pacing.retries,
        connect=pacing.retries,
        read=0,  # a request that may have reached GitHub is not blindly repeated on timeout
        backoff_factor=pacing.backoff_factor,
        backoff_max=pacing.backoff_max,
        status_forcelist=[*range(500, 600), 429],
        allowed_methods=frozenset({"GET", "POST", "PATCH", "DELETE", "HEAD", "PUT"}),
        secondary_rate_wait=pacing.secondary_rate_wait,
        max_rate_limit_wait=max(pacing.secondary_rate_wait, pacing.retry_after_max),
        raise_on_status=True,
    )


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value or "")


def _comment_from_json(data: dict[str, Any]) -> Comment:
    user = data.get("user") or {}
    return Comment(
        id=int(data["id"]),
        author=str(user.get("login") or ""),
        body=str(data.get("body") or ""),
        created_at=_iso(data.get("created_at")),
        url=str(data.get("html_url") or ""),
    )


def _comment_from_object(comment: Any) -> Comment:
    return Comment(
        id=comment.id,
        author=comment.user.login if comment.user else "",
        body=comment.body or "",
        created_at=_iso(comment.created_at),
        url=comment.html_url or "",
    )


def _links(headers: dict[str, Any]) -> dict[str, str]:
    """`Link: <url>; rel="next", <url>; rel="last"` -> {"next": url, "last": url}."""
    from requests.utils import parse_header_links  # PyGithub's own HTTP library

    value = next((v for k, v in headers.items() if k.lower() == "link"), "") or ""
    links = parse_header_links(str(value))
    return {link["rel"]: link["url"] for link in links if "rel" in link and "url" in link}


def _page_number(url: str) -> int | None:
    match = re.search(r"[?&]page=(\d+)", url)
    return int(match.group(1)) if match else None


class GitHub:
    """One repository on one GitHub (github.com or an Enterprise server)."""

    def __init__(
        self, token: str, repository: str, api_url: str, pacing: Pacing | None = None
    ) -> None:
        from github import Auth, Github

        check_settings(token, repository, api_url)
        self._token = token
        self.repository = repository
        self.api_url = api_url.rstrip("/")
        self.pacing = pacing or DEFAULT_PACING
        self._github = Github(
            auth=Auth.Token(token),
            base_url=self.api_url,
            per_page=PER_PAGE,
            retry=make_retry(self.pacing),
            seconds_between_requests=self.pacing.seconds_between_requests or None,
            seconds_between_writes=self.pacing.seconds_between_writes or None,
            lazy=True,
        )
        self._repo = self._github.get_repo(repository)

    def __repr__(self) -> str:  # never the token
        return f"GitHub({self.repository!r}, {self.api_url!r})"

    def close(self) -> None:
        self._github.close()

    # -- error handling ------------------------------------------------------------------

    @contextmanager
    def _calling(self, what: str, *, write: bool = False) -> Iterator[None]:
        """Turn PyGithub's and requests' exceptions into a GitHubError that names `what`."""
        import requests
        from github import GithubException, RateLimitExceededException

        try:
            yield
        except RateLimitExceededException as error:
            raise GitHubError(
                self._say(
                    f"GitHub's rate limit stopped {what} ({error.status}: "
                    f"{self._message_of(error)}); waiting would take longer than exp-ci "
                    "waits. Run the job again later.",
                ),
                error.status,
            ) from None
        except GithubException as error:
            message = self._message_of(error)
            if error.status == 401:
                raise GitHubError(
                    self._say(
                        f"GitHub rejected the token (401 {message}) for {what}. Check that "
                        "GITHUB_TOKEN (or GH_TOKEN) holds a valid token for this GitHub"
                        f" ({self.api_url})."
                    ),
                    401,
                ) from None
            if write and error.status in (403, 404):
                raise WriteRefused(
                    self._say(f"GitHub refused {what} ({error.status}: {message})"),
                    error.status,
                ) from None
            raise GitHubError(
                self._say(f"GitHub answered {error.status} ({message}) to {what}."),
                error.status,
            ) from None
        except requests.exceptions.RetryError as error:
            raise GitHubError(
                self._say(
                    f"GitHub kept failing {what} after {self.pacing.retries + 1} attempts "
                    f"({_reason(error)}). GitHub may be having an outage "
                    "(https://www.githubstatus.com); run the job again later."
                )
            ) from None
        except requests.exceptions.RequestException as error:
            raise GitHubError(
                self._say(
                    f"cannot reach GitHub at {self.api_url} for {what}: "
                    f"{type(error).__name__}: {_reason(error)}. Check GITHUB_API_URL and the "
                    "network."
                )
            ) from None

    def _say(self, text: str) -> str:
        return redact(text, self._token)

    @staticmethod
    def _message_of(error: Any) -> str:
        data = getattr(error, "data", None)
        if isinstance(data, dict) and data.get("message"):
            return str(data["message"])
        return str(getattr(error, "message", None) or data or "no message")

    def _call(self, what: str, action: Callable[[], T], *, write: bool = False) -> T:
        with self._calling(what, write=write):
            return action()

    # -- who am I ------------------------------------------------------------------------

    def authenticated_login(self) -> str | None:
        """`GET /user`; None when the token cannot answer it (installation tokens: 403)."""
        try:
            with self._calling("GET /user"):
                return self._github.get_user().login
        except GitHubError as error:
            if error.status in (403, 404):
                return None
            raise

    # -- comments ------------------------------------------------------------------------

    def _comments_path(self, number: int) -> str:
        return f"/repos/{self.repository}/issues/{number}/comments"

    def _get_page(self, url: str, params: dict[str, Any] | None, number: int):
        requester = self._github.requester
        what = f"listing the comments of #{number} in {self.repository}"
        try:
            with self._calling(what):
                return requester.requestJsonAndCheck("GET", url, parameters=params)
        except GitHubError as error:
            if error.status == 404:
                raise GitHubError(
                    self._say(
                        f"pull request #{number} was not found in {self.repository} (404), or "
                        "the token cannot read it. Check --pr and GITHUB_REPOSITORY."
                    ),
                    404,
                ) from None
            raise

    def comment_pages(self, number: int) -> Iterator[list[Comment]]:
        """Pages of a pull request's comments: page 1, then the last page and backwards.

        Each page is in GitHub's order (oldest first). Stop iterating when you have what you
        need: pages are fetched one at a time.
        """
        headers, data = self._get_page(self._comments_path(number), {"per_page": PER_PAGE}, number)
        yield [_comment_from_json(c) for c in data or []]
        links = _links(headers)
        url = links.get("last")
        last = _page_number(url) if url else None
        while url and last and last > 1:
            headers, data = self._get_page(url, None, number)
            yield [_comment_from_json(c) for c in data or []]
            url = _links(headers).get("prev")
            if url and (_page_number(url) or 1) <= 1:
                break

    def comments_since(self, number: int, since: datetime) -> list[Comment]:
        """Comments created or edited since `since` (GitHub's `since`, by `updated_at`)."""
        issue = self._repo.get_issue(number)
        return self._call(
            f"listing recent comments of #{number}",
            lambda: [_comment_from_object(c) for c in issue.get_comments(since=since)],
        )

    def get_comment(self, comment_id: int) -> Comment | None:
        path = f"/repos/{self.repository}/issues/comments/{comment_id}"
        try:
            with self._calling(f"reading comment {comment_id}"):
                _, data = self._github.requester.requestJsonAndCheck("GET", path)
        except GitHubError as error:
            if error.status == 404:
                return None
            raise
        return _comment_from_json(data)

    def create_comment(self, number: int, body: str) -> Comment:
        issue = self._repo.get_issue(number)
        return self._call(
            f"creating a comment on #{number} in {self.repository}",
            lambda: _comment_from_object(issue.create_comment(body)),
            write=True,
        )

    def edit_comment(self, number: int, comment_id: int, body: str) -> Comment:
        comment = self._repo.get_issue(number).get_comment(comment_id)

        def edit() -> Comment:
            comment.edit(body)
            return _comment_from_object(comment)

        return self._call(f"updating comment {comment_id} on #{number}", edit, write=True)

    def delete_comment(self, number: int, comment_id: int) -> bool:
        """Delete a comment; False when it is already gone (another job deleted it)."""
        comment = self._repo.get_issue(number).get_comment(comment_id)
        try:
            with self._calling(f"deleting comment {comment_id} on #{number}", write=True):
                comment.delete()
        except WriteRefused as error:
            if error.status == 404:
                return False
            raise
        return True

    # -- pull requests -------------------------------------------------------------------

    @staticmethod
    def _candidate(pull: Any) -> PullRequestCandidate:
        head = pull.head
        head_repo = head.repo.full_name if head is not None and head.repo is not None else None
        return PullRequestCandidate(
            number=pull.number,
            state=pull.state,
            head_sha=head.sha if head is not None else None,
            head_ref=head.ref if head is not None else None,
            head_repo=head_repo,
        )

    def pulls_for_commit(self, sha: str) -> list[PullRequestCandidate]:
        """`GET /repos/{repo}/commits/{sha}/pulls`: pull requests associated with a commit."""
        return self._call(
            f"listing the pull requests of commit {sha[:7]}",
            lambda: [self._candidate(p) for p in self._repo.get_commit(sha).get_pulls()],
        )

    def pulls_for_head(self, owner: str, branch: str) -> list[PullRequestCandidate]:
        """`GET /repos/{repo}/pulls?head=OWNER:BRANCH&state=open` (fork pull requests)."""
        return self._call(
            f"listing open pull requests from {owner}:{branch}",
            lambda: [
                self._candidate(p)
                for p in self._repo.get_pulls(state="open", head=f"{owner}:{branch}")
            ],
        )

    def search_pulls_by_sha(self, sha: str) -> list[PullRequestCandidate]:
        """`GET /search/issues?q=repo:R is:pr is:open SHA`: the last resort for forks."""
        query = f"repo:{self.repository} is:pr is:open {sha}"
        return self._call(
            f"searching pull requests with head {sha[:7]}",
            lambda: [
                PullRequestCandidate(number=i.number, state=i.state)
                for i in self._github.search_issues(query)
            ],
        )

    # -- commit statuses (exp-ci gate --status) --------------------------------------------

    def set_commit_status(
        self, sha: str, state: str, description: str, context: str, target_url: str | None
    ) -> None:
        """`POST /repos/{repo}/statuses/{sha}`; GitHub keeps descriptions to 140 characters."""
        short = description if len(description) <= 140 else description[:139] + "…"

        def create() -> Any:
            commit = self._repo.get_commit(sha)
            if target_url:
                return commit.create_status(state, target_url, short, context)
            return commit.create_status(state, description=short, context=context)

        self._call(f"setting the {context} status of {sha[:7]}", create, write=True)

    # -- pull requests from branches (exp-ci persist --pr) ---------------------------------

    def default_branch(self) -> str:
        return self._call(
            f"reading the repository {self.repository}", lambda: self._repo.default_branch
        )

    def open_or_update_pull(
        self, *, head: str, base: str | None, title: str, body: str
    ) -> PullResult:
        from github import GithubException

        owner = self.repository.split("/")[0]

        def existing() -> Any:
            pulls = self._repo.get_pulls(state="open", head=f"{owner}:{head}")
            return next(iter(pulls), None)

        found = self._call(f"looking for an open pull request from {head}", existing)
        if found is None:
            target = base or self.default_branch()

            def create() -> Any:
                return self._repo.create_pull(base=target, head=head, title=title, body=body)

            try:
                with self._calling(f"opening a pull request from {head} into {target}", write=True):
                    try:
                        pull = create()
                    except GithubException as error:
                        # Another job opened it in the meantime: update that one instead.
                        if error.status != 422 or "already exists" not in str(error.data):
                            raise
                        pull = None
            except WriteRefused as error:
                raise GitHubError(
                    error.message + " The token needs `pull-requests: write` permission.",
                    error.status,
                ) from None
            if pull is not None:
                return PullResult(pull.number, pull.html_url, created=True)
            found = self._call(f"looking for an open pull request from {head}", existing)
            if found is None:
                raise GitHubError(
                    f"GitHub says a pull request from {head} exists, but none is open in "
                    f"{self.repository}."
                )
        pull = found
        self._call(
            f"updating the body of pull request #{pull.number}",
            lambda: pull.edit(body=body),
            write=True,
        )
        return PullResult(pull.number, pull.html_url, created=False)


def _reason(error: Exception) -> str:
    """The innermost reason of a requests/urllib3 error, without URLs' query strings."""
    reason: Any = error
    for _ in range(4):
        inner = getattr(reason, "reason", None) or (reason.args[0] if reason.args else None)
        if not isinstance(inner, Exception):
            break
        reason = inner
    return re.sub(r"\?[^\s)'\"]*", "", str(reason))


# --- the environment's repository, and pull requests from branches (exp-ci persist --pr) ---


@dataclass(frozen=True)
class PullResult:
    number: int
    url: str
    created: bool  # False: an open pull request from the branch existed and was updated


def connect(environ: Mapping[str, str], pacing: Pacing | None = None) -> GitHub:
    """The repository of this run (`GITHUB_REPOSITORY`) with the token of the environment.

    Missing settings are a UserError that says which variable to set, raised before
    anything is written anywhere.
    """
    from exp_ci.adapters.actions import api_url_from, token_from

    token = token_from(environ)
    repository = (environ.get("GITHUB_REPOSITORY") or "").strip()
    needed = (("GITHUB_TOKEN (or GH_TOKEN)", token), ("GITHUB_REPOSITORY", repository))
    missing = [name for name, value in needed if not value]
    if missing:
        raise UserError(
            f"talking to GitHub needs {' and '.join(missing)}. In a workflow, set "
            "`env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}` (GitHub sets GITHUB_REPOSITORY); "
            "elsewhere export GITHUB_REPOSITORY=owner/name and a token."
        )
    # GitHub() checks the settings (check_settings) before any request.
    return GitHub(token or "", repository, api_url_from(environ), pacing)


def open_or_update_pull(
    github: GitHub, *, head: str, base: str | None, title: str, body: str
) -> PullResult:
    """Open a pull request from `head`, or update the body of the open one from it.

    `base` None means the repository's default branch. Failures are UserErrors.
    """
    try:
        return github.open_or_update_pull(head=head, base=base, title=title, body=body)
    except GitHubError as error:
        raise UserError(error.message) from None
