"""The GitHub fake over real HTTP (tests/helpers/github_server.py), as act's steps reach it.

exp-ci's adapter (PyGithub, requests, a real socket) against the server on 127.0.0.1: the
same model as the `responses` tests, so what they prove in-process holds across a process
boundary too. Then `exp-ci comment` as a console script, in a subprocess.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exp_ci.adapters.github import GitHub, Pacing
from exp_ci.sticky.format import assemble
from tests.helpers.github_api import BOT, REPOSITORY
from tests.helpers.github_server import serve_github
from tests.helpers.project import exp_ci_process

TOKEN = "ghs_LocalServerToken0000000000000000000001"


@pytest.fixture
def server():
    with serve_github(token=TOKEN) as fake:
        yield fake


def connect(fake) -> GitHub:
    return GitHub(TOKEN, REPOSITORY, fake.api, Pacing.none())


def test_the_server_listens_on_the_loopback_interface_only(server):
    assert server.api.startswith("http://127.0.0.1:")


def test_comments_are_paged_with_link_headers_and_edited_in_place(server):
    server.add_pull(7)
    server.seed(7, 250)
    github = connect(server)
    pages = list(github.comment_pages(7))
    # Page 1, then the last page and backwards, each followed where the Link header points.
    assert [len(page) for page in pages] == [100, 50, 100]
    followed = [path for method, path in server.requests if method == "GET"][1:]
    assert all(p.startswith("/repositories/1296269/issues/7/comments?") for p in followed)
    assert ["page=3" in followed[0], "page=2" in followed[1]] == [True, True]
    created = github.create_comment(7, "first")
    edited = github.edit_comment(7, created.id, "second")
    assert edited.id == created.id and server.bodies(7)[-1] == "second"
    assert github.get_comment(created.id).body == "second"
    assert github.delete_comment(7, created.id) is True
    assert github.get_comment(created.id) is None
    assert len(server.bodies(7)) == 250


def test_pull_requests_are_opened_once_found_by_head_and_by_commit(server):
    github = connect(server)
    first = github.open_or_update_pull(head="exp/a", base=None, title="A", body="one")
    again = github.open_or_update_pull(head="exp/a", base=None, title="A", body="two")
    assert (first.created, again.created, first.number) == (True, False, again.number)
    assert [p["body"] for p in server.pulls] == ["two"]
    assert [c.number for c in github.pulls_for_head("octo-org", "exp/a")] == [first.number]
    sha = server.pulls[0]["head_sha"]
    assert [c.number for c in github.pulls_for_commit(sha)] == [first.number]
    assert [c.number for c in github.search_pulls_by_sha(sha)] == [first.number]


def test_statuses_are_kept_and_an_installation_token_cannot_read_its_user(server):
    github = connect(server)
    github.set_commit_status("a" * 40, "success", "auc 0.8", "exp-ci/gate", None)
    assert [(s["sha"], s["state"], s["context"]) for s in server.statuses] == [
        ("a" * 40, "success", "exp-ci/gate")
    ]
    assert github.authenticated_login() is None  # 403, as GITHUB_TOKEN answers


def test_a_wrong_token_is_refused(server):
    github = GitHub("ghs_" + "x" * 36, REPOSITORY, server.api, Pacing.none())
    with pytest.raises(Exception, match="401"):
        list(github.comment_pages(7))
    assert server.comments == {}


@pytest.mark.slow  # starts processes
def test_exp_ci_comment_in_a_subprocess_posts_one_sticky_comment(server, env, tmp_path: Path):
    server.add_pull(7)
    server.add_comment(7, "unrelated", "octocat")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"number": 7, "pull_request": {"number": 7}}))
    body = tmp_path / "body.md"
    body.write_text("| a | b |\n|---|---|\n| 1 | 2 |\n")
    environ = {
        **env,
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_API_URL": server.api,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }
    for _ in range(2):
        result = exp_ci_process(tmp_path, environ, "comment", "--body-file", str(body))
        assert result.returncode == 0, result.stderr
    (mine,) = server.marked(7)
    assert mine["user"]["login"] == BOT and "| 1 | 2 |" in mine["body"]
    assert mine["body"].startswith(assemble("exp-ci", {})[:20])
    assert len(server.calls("POST")) == 1 and len(server.calls("PATCH")) <= 1
    assert TOKEN not in result.stdout + result.stderr
