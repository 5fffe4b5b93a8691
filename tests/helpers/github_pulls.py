"""GitHub's pull request endpoints for one repository, in memory, served through `responses`.

Payloads are shaped as the REST API documents them (docs.github.com/rest/pulls/pulls:
"List pull requests", "Create a pull request", "Update a pull request"; and "Get a
repository" for `default_branch`), trimmed to the fields a client reads. Like GitHub, the
list honours `state` and `head=OWNER:BRANCH`, and creating a second open pull request from
the same branch answers 422.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import responses

API = "https://api.github.com"
REPOSITORY = "octo-org/project"
TIMESTAMP = "2026-01-02T03:04:05Z"


def user(login: str = "github-actions[bot]") -> dict[str, Any]:
    return {"login": login, "id": 41898282, "type": "Bot", "site_admin": False}


@dataclass
class FakePulls:
    mock: responses.RequestsMock
    repository: str = REPOSITORY
    api: str = API
    default_branch: str = "main"
    pulls: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)  # method, path, body
    seen_tokens: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        # PyGithub may spell the default port out (https://api.github.com:443/...).
        scheme, _, host = self.api.partition("://")
        root = re.escape(f"{scheme}://") + re.escape(host) + r"(:443)?"
        base = root + re.escape(f"/repos/{self.repository}")
        self.mock.add_callback(responses.GET, re.compile(base + r"$"), self._get_repo)
        self.mock.add_callback(responses.GET, re.compile(base + r"/pulls(\?.*)?$"), self._list)
        self.mock.add_callback(responses.POST, re.compile(base + r"/pulls$"), self._create)
        self.mock.add_callback(responses.PATCH, re.compile(base + r"/pulls/\d+$"), self._update)

    @property
    def owner(self) -> str:
        return self.repository.split("/")[0]

    def repo_payload(self) -> dict[str, Any]:
        name = self.repository.split("/")[1]
        return {
            "id": 1296269,
            "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
            "name": name,
            "full_name": self.repository,
            "owner": user(self.owner) | {"type": "Organization"},
            "private": False,
            "html_url": f"https://github.com/{self.repository}",
            "url": f"{self.api}/repos/{self.repository}",
            "default_branch": self.default_branch,
        }

    def _record(self, request: Any) -> Any:
        body = json.loads(request.body) if request.body else None
        self.requests.append((request.method, urlparse(request.url).path, body))
        self.seen_tokens.add(request.headers.get("Authorization", ""))
        return body

    def _pull_payload(self, pull: dict[str, Any]) -> dict[str, Any]:
        number = pull["number"]
        return {
            "url": f"{self.api}/repos/{self.repository}/pulls/{number}",
            "id": 1000 + number,
            "node_id": f"PR_kwDO{number}",
            "html_url": f"https://github.com/{self.repository}/pull/{number}",
            "number": number,
            "state": pull["state"],
            "locked": False,
            "title": pull["title"],
            "user": user(),
            "body": pull["body"],
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
            "closed_at": None,
            "merged_at": None,
            "draft": False,
            "head": {
                "label": f"{self.owner}:{pull['head']}",
                "ref": pull["head"],
                "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
                "user": user(self.owner),
                "repo": self.repo_payload(),
            },
            "base": {
                "label": f"{self.owner}:{pull['base']}",
                "ref": pull["base"],
                "sha": "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d",
                "user": user(self.owner),
                "repo": self.repo_payload(),
            },
        }

    def _get_repo(self, request: Any):
        self._record(request)
        return 200, {}, json.dumps(self.repo_payload())

    def _list(self, request: Any):
        self._record(request)
        query = parse_qs(urlparse(request.url).query)
        state = query.get("state", ["open"])[0]
        head = query.get("head", [None])[0]
        found = [
            self._pull_payload(p)
            for p in self.pulls
            if (state == "all" or p["state"] == state)
            and (head is None or f"{self.owner}:{p['head']}" == head)
        ]
        return 200, {}, json.dumps(found)

    def _create(self, request: Any):
        body = self._record(request)
        missing = [k for k in ("head", "base") if not body.get(k)]
        if missing:
            errors = [
                {"resource": "PullRequest", "field": k, "code": "missing_field"} for k in missing
            ]
            return 422, {}, json.dumps({"message": "Validation Failed", "errors": errors})
        if any(p["head"] == body["head"] and p["state"] == "open" for p in self.pulls):
            error = {
                "resource": "PullRequest",
                "code": "custom",
                "message": f"A pull request already exists for {self.owner}:{body['head']}.",
            }
            return 422, {}, json.dumps({"message": "Validation Failed", "errors": [error]})
        pull = {
            "number": len(self.pulls) + 1,
            "state": "open",
            "title": body.get("title", ""),
            "body": body.get("body"),
            "head": body["head"],
            "base": body["base"],
        }
        self.pulls.append(pull)
        return 201, {}, json.dumps(self._pull_payload(pull))

    def _update(self, request: Any):
        body = self._record(request)
        number = int(urlparse(request.url).path.rsplit("/", 1)[1])
        pull = next((p for p in self.pulls if p["number"] == number), None)
        if pull is None:
            return 404, {}, json.dumps({"message": "Not Found"})
        pull.update({k: v for k, v in body.items() if k in ("title", "body", "state", "base")})
        return 200, {}, json.dumps(self._pull_payload(pull))

    def calls(self, method: str) -> list[tuple[str, Any]]:
        return [(path, body) for m, path, body in self.requests if m == method]
