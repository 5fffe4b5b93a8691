"""A small, stateful GitHub REST API in memory: one model, two transports.

`FakeGitHub(mock)` serves it to PyGithub in-process through `responses`;
tests/helpers/github_server.py serves the same model over HTTP on 127.0.0.1, for what runs
in a subprocess (the Action under act, a console script).

Payloads are shaped as docs.github.com/rest documents them, trimmed to the fields a
client reads:

- issues/comments: "List issue comments" (`per_page` up to 100, `page`, `since` by
  `updated_at`; a `Link` header with next/prev/first/last URLs under
  `/repositories/{id}/...`, as GitHub writes them), "Create/Get/Update/Delete an issue
  comment";
- pulls: "Get a pull request", "List pull requests" (`state`, `head=OWNER:BRANCH`),
  "Create a pull request" (422 when one is open from the same head, or head/base is
  missing), "Update a pull request", "List pull requests associated with a commit"
  (`commits/{sha}/pulls`); "Get a repository" (`default_branch`);
- statuses: "Create a commit status" (`statuses/{sha}`), kept in `statuses`;
- search: "Search issues and pull requests" (`q` with `repo:`, `is:pr`, `is:open`, a SHA);
- users: "Get the authenticated user" (403 "Resource not accessible by integration" for
  installation tokens, like GitHub's `GITHUB_TOKEN`).

Failures are injected per request (`fail`): 5xx, 429 or 403 with `Retry-After`, secondary
rate limits, and a read-only token answers writes with 403 as a fork's token does. The API
root is configurable (GitHub Enterprise: `https://ghe.example.com/api/v3`). PyGithub writes
URLs with an explicit `:443`, which the routes accept.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import responses

API = "https://api.github.com"
REPOSITORY = "octo-org/project"
REPOSITORY_ID = 1296269
BOT = "github-actions[bot]"
HEAD_SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
BASE_SHA = "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d"
START = datetime(2026, 1, 2, 3, 0, 0, tzinfo=timezone.utc)

FORBIDDEN_INTEGRATION = {
    "message": "Resource not accessible by integration",
    "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
    "status": "403",
}
SECONDARY_RATE_LIMIT = {
    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before "
    "you try again. If you reach out to GitHub Support for help, please include the request "
    "ID 0000:0000:0000000:0000000:00000000.",
    "documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/"
    "rate-limits-for-the-rest-api#about-secondary-rate-limits",
    "status": "403",
}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def user(login: str, user_id: int = 41898282) -> dict[str, Any]:
    kind = "Bot" if login.endswith("[bot]") else "User"
    return {
        "login": login,
        "id": user_id,
        "node_id": f"MDQ6VXNlcj{user_id}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "url": f"{API}/users/{login}",
        "html_url": f"https://github.com/{login}",
        "type": kind,
        "site_admin": False,
    }


@dataclass
class Failure:
    method: str
    path: str  # a regex searched in the request's path
    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    times: int = 1


@dataclass
class FakeGitHub:
    mock: responses.RequestsMock | None = None  # None: served by tests/helpers/github_server
    token: str = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"  # the accepted token
    api: str = API
    repository: str = REPOSITORY
    writer: str = BOT  # who the token writes as
    authenticated_login: str | None = None  # GET /user answer; None: 403 (installation token)
    read_only: bool = False  # writes answer 403, as a fork's token does
    default_branch: str = "main"
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    pulls: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)  # as posted, with "sha"
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path?query)
    bodies_sent: list[tuple[str, str, Any]] = field(default_factory=list)  # method, path, JSON
    seen_tokens: set[str] = field(default_factory=set)  # Authorization headers received
    failures: list[Failure] = field(default_factory=list)
    # Called with (method, path?query) before a request is served, outside the lock.
    before: list[Callable[[str, str], None]] = field(default_factory=list)
    clock: datetime = START
    next_id: int = 1000

    def __post_init__(self) -> None:
        parsed = urlparse(self.api)
        self.host = parsed.hostname or ""
        self.prefix = parsed.path.rstrip("/")
        self.lock = threading.RLock()
        if self.mock is not None:
            pattern = re.compile(
                rf"https://{re.escape(self.host)}(?::443)?{re.escape(self.prefix)}/.*"
            )
            for method in (responses.GET, responses.POST, responses.PATCH, responses.DELETE):
                self.mock.add_callback(method, pattern, self._from_responses)

    # -- setting up ------------------------------------------------------------------------

    @property
    def owner(self) -> str:
        return self.repository.split("/")[0]

    def _tick(self, step: timedelta = timedelta(seconds=1)) -> datetime:
        self.clock += step
        return self.clock

    def add_comment(
        self, number: int, body: str, author: str, *, after: timedelta = timedelta(seconds=1)
    ) -> dict[str, Any]:
        """A comment `after` the previous one (a live run's comments are seconds apart)."""
        with self.lock:
            self.next_id += 1
            moment = iso(self._tick(after))
            comment = {
                "id": self.next_id,
                "node_id": f"IC_kwDO{self.next_id}",
                "url": f"{self.api}/repos/{self.repository}/issues/comments/{self.next_id}",
                "html_url": f"https://github.com/{self.repository}/pull/{number}"
                f"#issuecomment-{self.next_id}",
                "body": body,
                "user": user(author, 41898282 if author == BOT else 583231),
                "created_at": moment,
                "updated_at": moment,
                "issue_url": f"{self.api}/repos/{self.repository}/issues/{number}",
                "author_association": "NONE" if author.endswith("[bot]") else "CONTRIBUTOR",
            }
            self.comments.setdefault(number, []).append(comment)
            return comment

    def seed(self, number: int, count: int, author: str = "octocat") -> None:
        """`count` ordinary comments on pull request `number`, an hour apart."""
        self.comments.setdefault(number, [])
        for i in range(count):
            self.add_comment(number, f"Looks good to me ({i}).", author, after=timedelta(hours=1))

    def add_pull(
        self,
        number: int,
        *,
        head_ref: str = "feature",
        head_sha: str = HEAD_SHA,
        head_repo: str | None = None,
        state: str = "open",
        base_ref: str = "main",
        base_sha: str = BASE_SHA,
        title: str | None = None,
        body: str | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            self.comments.setdefault(number, [])
            pull = {
                "number": number,
                "state": state,
                "title": title if title is not None else f"Pull request {number}",
                "body": body,
                "head_ref": head_ref,
                "head_sha": head_sha,
                "head_repo": head_repo or self.repository,
                "base_ref": base_ref,
                "base_sha": base_sha,
            }
            self.pulls.append(pull)
            return pull

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` matching requests answer `status` instead."""
        default = {"message": {502: "Server Error", 429: "Too Many Requests"}.get(status, "")}
        self.failures.append(Failure(method, path, status, headers or {}, body or default, times))

    # -- reading back ----------------------------------------------------------------------

    def bodies(self, number: int) -> list[str]:
        return [c["body"] for c in self.comments.get(number, [])]

    def marked(self, number: int, marker: str = "exp-ci") -> list[dict[str, Any]]:
        line = f"<!-- exp-ci:{marker} -->"
        return [c for c in self.comments.get(number, []) if line in c["body"]]

    def calls(self, method: str | None = None) -> list[str]:
        return [path for m, path in self.requests if method is None or m == method]

    def sent(self, method: str) -> list[tuple[str, Any]]:
        """(path, JSON body) of each `method` request, in order."""
        return [(path, body) for m, path, body in self.bodies_sent if m == method]

    # -- payloads --------------------------------------------------------------------------

    def repo_payload(self) -> dict[str, Any]:
        return {
            "id": REPOSITORY_ID,
            "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
            "name": self.repository.split("/")[1],
            "full_name": self.repository,
            "owner": user(self.owner, 9919) | {"type": "Organization"},
            "private": False,
            "html_url": f"https://github.com/{self.repository}",
            "url": f"{self.api}/repos/{self.repository}",
            "default_branch": self.default_branch,
        }

    def pull_payload(self, pull: dict[str, Any]) -> dict[str, Any]:
        number = pull["number"]
        head_owner = pull["head_repo"].split("/")[0]
        return {
            "url": f"{self.api}/repos/{self.repository}/pulls/{number}",
            "id": 1000 + number,
            "node_id": f"PR_kwDO{number}",
            "html_url": f"https://github.com/{self.repository}/pull/{number}",
            "number": number,
            "state": pull["state"],
            "locked": False,
            "title": pull["title"],
            "user": user(head_owner, 583231),
            "body": pull["body"],
            "created_at": iso(START),
            "updated_at": iso(START),
            "closed_at": None if pull["state"] == "open" else iso(START),
            "merged_at": None,
            "draft": False,
            "head": {
                "label": f"{head_owner}:{pull['head_ref']}",
                "ref": pull["head_ref"],
                "sha": pull["head_sha"],
                "user": user(head_owner, 583231),
                "repo": self.repo_payload()
                | {"full_name": pull["head_repo"], "name": pull["head_repo"].split("/")[1]},
            },
            "base": {
                "label": f"{self.owner}:{pull['base_ref']}",
                "ref": pull["base_ref"],
                "sha": pull["base_sha"],
                "user": user(self.owner, 9919),
                "repo": self.repo_payload(),
            },
        }

    # -- the server --------------------------------------------------------------------------

    def _from_responses(self, request: Any) -> tuple[int, dict[str, str], str]:
        return self.handle(request.method, request.url, request.headers, request.body)

    def handle(
        self, method: str, url: str, headers: Any, raw: bytes | str | None
    ) -> tuple[int, dict[str, str], str]:
        """One request, from either transport: (status, headers, body text)."""
        parsed = urlparse(url)
        path = parsed.path[len(self.prefix) :] if parsed.path.startswith(self.prefix) else ""
        full = path + (f"?{parsed.query}" if parsed.query else "")
        for hook in list(self.before):
            hook(method, full)
        with self.lock:
            self.requests.append((method, full))
            authorization = headers.get("Authorization") or ""
            self.seen_tokens.add(authorization)
            body = json.loads(raw) if raw else {}
            self.bodies_sent.append((method, path, body if raw else None))
            if authorization not in (f"token {self.token}", f"Bearer {self.token}"):
                return self._json(401, {"message": "Bad credentials"})
            for failure in self.failures:
                if failure.times > 0 and failure.method == method and re.search(failure.path, path):
                    failure.times -= 1
                    return self._json(failure.status, failure.body, failure.headers)
            query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
            return self._route(method, path, query, body)

    def _json(
        self, status: int, payload: Any, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(payload)

    def _route(self, method: str, path: str, query: dict[str, str], body: dict[str, Any]):
        repo = rf"(?:/repos/{re.escape(self.repository)}|/repositories/{REPOSITORY_ID})"
        not_found = self._json(404, {"message": "Not Found"})
        if method != "GET" and self.read_only:
            return self._json(403, FORBIDDEN_INTEGRATION)
        if path == "/user" and method == "GET":
            if self.authenticated_login is None:
                return self._json(
                    403,
                    FORBIDDEN_INTEGRATION | {"documentation_url": "https://docs.github.com/rest"},
                )
            return self._json(200, user(self.authenticated_login, 583231))
        if re.fullmatch(repo, path) and method == "GET":
            return self._json(200, self.repo_payload())
        if match := re.fullmatch(repo + r"/issues/(\d+)/comments", path):
            number = int(match.group(1))
            if number not in self.comments:
                return not_found
            if method == "GET":
                return self._list_comments(number, query)
            if method == "POST":
                return self._json(201, self.add_comment(number, body["body"], self.writer))
        if match := re.fullmatch(repo + r"/issues/comments/(\d+)", path):
            found = self._find_comment(int(match.group(1)))
            if found is None:
                return not_found
            if method == "GET":
                return self._json(200, found)
            if method == "PATCH":
                found["body"] = body["body"]
                found["updated_at"] = iso(self._tick())
                return self._json(200, found)
            if method == "DELETE":
                for comments in self.comments.values():
                    if found in comments:
                        comments.remove(found)
                return 204, {}, ""
        if (match := re.fullmatch(repo + r"/pulls/(\d+)", path)) and method == "GET":
            pull = next((p for p in self.pulls if p["number"] == int(match.group(1))), None)
            return self._json(200, self.pull_payload(pull)) if pull else not_found
        if (match := re.fullmatch(repo + r"/pulls/(\d+)", path)) and method == "PATCH":
            pull = next((p for p in self.pulls if p["number"] == int(match.group(1))), None)
            if pull is None:
                return not_found
            for key in ("title", "body", "state"):
                if key in body:
                    pull[key] = body[key]
            if "base" in body:
                pull["base_ref"] = body["base"]
            return self._json(200, self.pull_payload(pull))
        if re.fullmatch(repo + r"/pulls", path) and method == "POST":
            return self._create_pull(body)
        if (match := re.fullmatch(repo + r"/statuses/([0-9a-f]{40})", path)) and method == "POST":
            return self._create_status(match.group(1), body)
        if re.fullmatch(repo + r"/pulls", path) and method == "GET":
            state = query.get("state", "open")
            head = query.get("head")
            found = [
                self.pull_payload(p)
                for p in self.pulls
                if (state == "all" or p["state"] == state)
                and (head is None or f"{p['head_repo'].split('/')[0]}:{p['head_ref']}" == head)
            ]
            return self._json(200, found)
        if (match := re.fullmatch(repo + r"/commits/([0-9a-f]+)/pulls", path)) and method == "GET":
            sha = match.group(1)
            found = [
                self.pull_payload(p)
                for p in self.pulls
                if p["head_sha"] == sha and p["head_repo"] == self.repository
            ]
            return self._json(200, found)
        if path == "/search/issues" and method == "GET":
            return self._search(query.get("q", ""))
        return not_found

    def _create_pull(self, body: dict[str, Any]):
        missing = [k for k in ("head", "base") if not body.get(k)]
        if missing:
            errors = [
                {"resource": "PullRequest", "field": k, "code": "missing_field"} for k in missing
            ]
            return self._json(422, {"message": "Validation Failed", "errors": errors})
        head = body["head"].split(":", 1)[-1]
        if any(p["head_ref"] == head and p["state"] == "open" for p in self.pulls):
            error = {
                "resource": "PullRequest",
                "code": "custom",
                "message": f"A pull request already exists for {self.owner}:{head}.",
            }
            return self._json(422, {"message": "Validation Failed", "errors": [error]})
        number = max([p["number"] for p in self.pulls] + list(self.comments) + [0]) + 1
        pull = self.add_pull(
            number,
            head_ref=head,
            base_ref=body["base"],
            title=body.get("title", ""),
            body=body.get("body"),
        )
        return self._json(201, self.pull_payload(pull))

    def _create_status(self, sha: str, body: dict[str, Any]):
        if body.get("state") not in ("error", "failure", "pending", "success"):
            return self._json(422, {"message": "Validation Failed"})
        status = {
            "id": len(self.statuses) + 1,
            "url": f"{self.api}/repos/{self.repository}/statuses/{sha}",
            "state": body["state"],
            "description": body.get("description"),
            "target_url": body.get("target_url"),
            "context": body.get("context", "default"),
            "created_at": iso(self._tick()),
            "creator": user(self.writer),
        }
        self.statuses.append({**status, "sha": sha})
        return self._json(201, status)

    def _find_comment(self, comment_id: int) -> dict[str, Any] | None:
        for comments in self.comments.values():
            for comment in comments:
                if comment["id"] == comment_id:
                    return comment
        return None

    def _list_comments(self, number: int, query: dict[str, str]):
        per_page = min(int(query.get("per_page", 30)), 100)
        page = max(int(query.get("page", 1)), 1)
        items = self.comments[number]
        if "since" in query:
            items = [c for c in items if c["updated_at"] >= query["since"]]
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]

        def link(n: int) -> str:
            params = {k: v for k, v in query.items() if k not in ("page", "per_page")}
            params.update(per_page=str(per_page), page=str(n))
            base = f"{self.api}/repositories/{REPOSITORY_ID}/issues/{number}/comments"
            return f"<{base}?{urlencode(params)}>"

        rels = []
        if page > 1:
            rels += [f'{link(page - 1)}; rel="prev"']
        if page < last:
            rels += [f'{link(page + 1)}; rel="next"', f'{link(last)}; rel="last"']
        if page > 1:
            rels += [f'{link(1)}; rel="first"']
        headers = {"Link": ", ".join(rels)} if rels else {}
        return self._json(200, chunk, headers)

    def _search(self, q: str):
        terms = q.split()
        wanted_repo = next((t[5:] for t in terms if t.startswith("repo:")), None)
        shas = [t for t in terms if re.fullmatch(r"[0-9a-f]{7,40}", t)]
        items = []
        for pull in self.pulls:
            if wanted_repo and wanted_repo != self.repository:
                continue
            if "is:open" in terms and pull["state"] != "open":
                continue
            if shas and not any(pull["head_sha"].startswith(s) for s in shas):
                continue
            payload = self.pull_payload(pull)
            items.append(
                {
                    "url": f"{self.api}/repos/{self.repository}/issues/{pull['number']}",
                    "html_url": payload["html_url"],
                    "id": payload["id"],
                    "number": pull["number"],
                    "title": payload["title"],
                    "user": payload["user"],
                    "state": pull["state"],
                    "pull_request": {"url": payload["url"], "html_url": payload["html_url"]},
                    "score": 1.0,
                }
            )
        return self._json(
            200, {"total_count": len(items), "incomplete_results": False, "items": items}
        )
