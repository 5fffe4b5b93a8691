"""`exp-ci comment` against an in-memory GitHub (tests/helpers/github_api.py via `responses`).

The command runs in-process (`exp_ci.cli.main`) with the Actions environment in place, so
`responses` sees every request PyGithub makes. No test waits: `Pacing.none()` removes
PyGithub's throttle, and `responses` does not sleep between retries.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import responses

from exp_ci.adapters import github as github_adapter
from exp_ci.adapters.github import GitHub, Pacing, make_retry
from exp_ci.cli import main
from exp_ci.sticky.format import assemble, parse_sections
from exp_ci.sticky.sync import Section, identity, upsert
from tests.helpers.github_api import (
    BOT,
    REPOSITORY,
    SECONDARY_RATE_LIMIT,
    FakeGitHub,
)
from tests.helpers.project import exp_ci

TOKEN = "ghs_SeCrEtT0kenThatMustNeverBePrinted0001"
PR = 7
SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"


@pytest.fixture
def gh(monkeypatch):
    monkeypatch.setattr(github_adapter, "DEFAULT_PACING", Pacing.none())
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeGitHub(mock, token=TOKEN)
        fake.add_pull(PR, head_sha=SHA)
        yield fake


@pytest.fixture
def actions_env(monkeypatch, tmp_path):
    """A pull_request run in GitHub Actions; returns the paths of its files."""
    monkeypatch.chdir(tmp_path)
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "action": "synchronize",
                "number": PR,
                "pull_request": {
                    "number": PR,
                    "head": {"sha": SHA, "ref": "feature", "repo": {"full_name": REPOSITORY}},
                },
            }
        )
    )
    files = {
        "summary": tmp_path / "summary.md",
        "output": tmp_path / "output.txt",
        "body": tmp_path / "body.md",
    }
    files["body"].write_text("## Results\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    values = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_SHA": "1111111111111111111111111111111111111111",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_API_URL": "https://api.github.com",
        "GITHUB_STEP_SUMMARY": str(files["summary"]),
        "GITHUB_OUTPUT": str(files["output"]),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return files


def event(path: Path, name: str, payload: dict, monkeypatch) -> None:
    path.write_text(json.dumps(payload))
    monkeypatch.setenv("GITHUB_EVENT_NAME", name)
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))


def comment(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["comment", *args])
    out, err = capsys.readouterr()
    return code, out, err


def body_args(files) -> list[str]:
    return ["--body-file", str(files["body"])]


def mine(fake: FakeGitHub, number: int = PR) -> dict:
    marked = fake.marked(number)
    assert len(marked) == 1, [c["id"] for c in marked]
    return marked[0]


# --- create, update, recreate ----------------------------------------------------------------


def test_first_run_creates_the_comment_and_reports_its_url(gh, actions_env, capsys):
    code, out, err = comment(capsys, *body_args(actions_env))
    assert code == 0, err
    posted = mine(gh)
    assert posted["body"].startswith("<!-- exp-ci:exp-ci -->\n")
    assert "| a | b |" in posted["body"]
    assert out == posted["html_url"] + "\n"
    assert "created the comment on pull request #7" in err
    outputs = actions_env["output"].read_text()
    assert f"comment-url={posted['html_url']}\n" in outputs
    assert f"comment-id={posted['id']}\n" in outputs
    assert "| a | b |" in actions_env["summary"].read_text()
    assert gh.calls("GET").count("/user") == 0  # an Actions token never asks who it is


def test_marker_on_page_3_of_250_comments_is_updated_in_place(gh, actions_env, capsys):
    gh.seed(PR, 230)
    old = gh.add_comment(PR, assemble("exp-ci", {"default": "old table"}), BOT)
    gh.seed(PR, 19)  # 250 in all: the marker is comment 231, on page 3 of 100 each
    code, _, err = comment(capsys, *body_args(actions_env))
    assert code == 0, err
    assert mine(gh)["id"] == old["id"]
    assert "| a | b |" in mine(gh)["body"] and "old table" not in mine(gh)["body"]
    assert len(gh.bodies(PR)) == 250
    assert gh.calls("POST") == [] and gh.calls("DELETE") == []
    assert len(gh.requests) <= 5, gh.requests
    assert "updated the comment" in err


def test_an_unchanged_body_is_not_written_again(gh, actions_env, capsys):
    assert comment(capsys, *body_args(actions_env))[0] == 0
    before = len(gh.requests)
    code, _, err = comment(capsys, *body_args(actions_env))
    assert code == 0 and "unchanged the comment" in err
    assert [m for m, _ in gh.requests[before:]] == ["GET"]


def test_recreate_posts_at_the_bottom_and_keeps_other_sections(gh, actions_env, capsys):
    old = gh.add_comment(PR, assemble("exp-ci", {"default": "old", "shard-9": "nine"}), BOT)
    gh.seed(PR, 3)
    code, _, err = comment(capsys, *body_args(actions_env), "--mode", "recreate")
    assert code == 0, err
    new = mine(gh)
    assert new["id"] != old["id"] and gh.comments[PR][-1] is new
    assert parse_sections(new["body"], "exp-ci")["shard-9"] == "nine"
    assert "recreated the comment" in err


def test_a_marker_comment_by_another_user_is_left_alone(gh, actions_env, capsys):
    theirs = gh.add_comment(PR, assemble("exp-ci", {"default": "not yours"}), "mallory")
    code, _, err = comment(capsys, *body_args(actions_env))
    assert code == 0, err
    assert theirs["body"] == assemble("exp-ci", {"default": "not yours"})
    assert f"/issues/comments/{theirs['id']}" not in " ".join(gh.calls("PATCH"))
    assert [c["user"]["login"] for c in gh.marked(PR)] == ["mallory", BOT]
    assert f"left alone comment {theirs['id']} by mallory" in err


def test_a_personal_token_asks_who_it_is_and_falls_back_when_github_says_403(
    gh, actions_env, capsys, monkeypatch
):
    gh.token = "ghp_" + TOKEN[4:]
    monkeypatch.setenv("GITHUB_TOKEN", gh.token)
    gh.writer = "octocat"
    gh.add_comment(PR, assemble("exp-ci", {"default": "by octocat"}), "octocat")
    gh.authenticated_login = "octocat"
    assert comment(capsys, *body_args(actions_env))[0] == 0
    assert "/user" in gh.calls("GET") and gh.calls("POST") == []
    gh.authenticated_login = None  # GET /user answers 403: assume github-actions[bot]
    code, _, err = comment(capsys, "--body-file", str(actions_env["body"]), "--marker", "x")
    assert code == 0, err
    assert len(gh.marked(PR, "x")) == 1


def test_a_custom_app_token_is_told_to_pass_author(gh, actions_env, capsys):
    gh.writer = "my-app[bot]"
    code, out, _ = comment(capsys, *body_args(actions_env))
    assert code == 0
    assert "::warning title=exp-ci comment::the comment was written as my-app[bot]" in out
    code, out, _ = comment(capsys, *body_args(actions_env), "--author", "my-app[bot]")
    assert code == 0 and "::warning" not in out
    assert len(gh.marked(PR)) == 1 and gh.calls("DELETE") == []


# --- sections and races ----------------------------------------------------------------------


def test_sections_of_matrix_jobs_share_one_comment(gh, actions_env, capsys):
    for shard in ("shard-2", "shard-1", "shard-2"):
        actions_env["body"].write_text(f"results of {shard}\n")
        code, _, err = comment(capsys, *body_args(actions_env), "--section", shard)
        assert code == 0, err
    sections = parse_sections(mine(gh)["body"], "exp-ci")
    assert sections == {"shard-1": "results of shard-1", "shard-2": "results of shard-2"}


def test_a_write_that_lands_between_our_edit_and_our_check_does_not_lose_our_section(
    gh, actions_env, capsys
):
    existing = gh.add_comment(PR, assemble("exp-ci", {"shard-1": "one"}), BOT)
    actions_env["body"].write_text("two\n")
    overwritten = []

    def other_job_writes(method, path):
        # Shard 3 read the comment before our edit and writes after it, without shard 2.
        if method == "GET" and path.endswith(f"/comments/{existing['id']}") and not overwritten:
            overwritten.append(True)
            existing["body"] = assemble("exp-ci", {"shard-1": "one", "shard-3": "three"})

    gh.before.append(other_job_writes)
    code, _, err = comment(capsys, *body_args(actions_env), "--section", "shard-2")
    assert code == 0, err
    assert overwritten
    assert parse_sections(existing["body"], "exp-ci") == {
        "shard-1": "one",
        "shard-2": "two",
        "shard-3": "three",
    }


@pytest.mark.parametrize("both_see_both", [False, True])
def test_two_concurrent_upserts_leave_one_comment_with_both_sections(gh, both_see_both):
    listed = threading.Barrier(2, timeout=20)
    created = threading.Barrier(2, timeout=20)

    def interleave(method, path):
        if method == "POST":
            listed.wait()  # both jobs have found nothing before either creates
        if method == "GET" and "since=" in path and both_see_both:
            created.wait()  # both have created before either looks for duplicates

    gh.before.append(interleave)
    results, errors = {}, []

    def job(shard):
        try:
            client = GitHub(TOKEN, REPOSITORY, gh.api, Pacing.none())
            section = Section("exp-ci", shard, lambda budget, summary: f"table of {shard}")
            results[shard] = upsert(client, PR, section, lambda: identity(None, None))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=job, args=(s,)) for s in ("shard-1", "shard-2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert len(gh.calls("POST")) == 2  # the race really happened
    final = mine(gh)
    assert parse_sections(final["body"], "exp-ci") == {
        "shard-1": "table of shard-1",
        "shard-2": "table of shard-2",
    }
    assert {r.comment.id for r in results.values()} == {final["id"]}


# --- forks, tokens, failures -------------------------------------------------------------


@pytest.mark.parametrize(("strict", "code"), [([], 0), (["--strict"], 1)])
def test_a_fork_token_falls_back_to_the_summary_and_saved_body(
    gh, actions_env, capsys, monkeypatch, strict, code
):
    event(
        actions_env["summary"].parent / "fork.json",
        "pull_request",
        {
            "number": PR,
            "pull_request": {"number": PR, "head": {"repo": {"full_name": "fork/project"}}},
        },
        monkeypatch,
    )
    gh.read_only = True
    saved = actions_env["summary"].parent / "saved.md"
    result, out, _ = comment(capsys, *body_args(actions_env), "--save-body", str(saved), *strict)
    assert result == code
    assert out.startswith("::warning title=exp-ci comment::the pull request comment was not posted")
    assert "Resource not accessible by integration" in out
    assert "comes from a fork" in out and "workflow_run" in out
    assert gh.marked(PR) == []
    assert "| a | b |" in actions_env["summary"].read_text()
    assert "| a | b |" in saved.read_text()
    assert "comment-url" not in (
        actions_env["output"].read_text() if actions_env["output"].exists() else ""
    )


def test_no_token_warns_and_still_writes_the_summary(gh, actions_env, capsys, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN")
    code, out, _ = comment(capsys, *body_args(actions_env))
    assert code == 0
    assert (
        "::warning title=exp-ci comment::the pull request comment was not posted: no token" in out
    )
    assert "| a | b |" in actions_env["summary"].read_text()
    assert gh.requests == []
    assert comment(capsys, *body_args(actions_env), "--strict")[0] == 1


def test_a_bad_token_is_a_clear_error_that_never_shows_the_token(
    gh, actions_env, capsys, monkeypatch
):
    wrong = "ghs_WrongT0kenThatMustNeverBePrinted00002"
    monkeypatch.setenv("GITHUB_TOKEN", wrong)
    code, out, err = comment(capsys, *body_args(actions_env))
    assert code == 2
    assert "GitHub rejected the token (401 Bad credentials)" in err
    for text in (out, err, actions_env["summary"].read_text()):
        assert wrong not in text and TOKEN not in text


def test_502_then_200_is_retried(gh, actions_env, capsys):
    gh.fail("GET", rf"/issues/{PR}/comments$", 502)
    gh.fail("POST", rf"/issues/{PR}/comments$", 502)
    code, _, err = comment(capsys, *body_args(actions_env))
    assert code == 0, err
    assert len(gh.marked(PR)) == 1  # a retried POST never leaves a duplicate behind
    assert gh.calls("POST") == [f"/repos/{REPOSITORY}/issues/{PR}/comments"] * 2


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        (403, {"Retry-After": "1"}, SECONDARY_RATE_LIMIT),
        (403, {}, SECONDARY_RATE_LIMIT),
        (429, {"Retry-After": "2"}, {"message": "Too Many Requests"}),
    ],
)
def test_secondary_rate_limits_are_waited_out(gh, actions_env, capsys, status, headers, body):
    gh.add_comment(PR, assemble("exp-ci", {"default": "old"}), BOT)
    gh.fail("PATCH", r"/issues/comments/\d+$", status, headers=headers, body=body)
    code, _, err = comment(capsys, *body_args(actions_env))
    assert code == 0, err
    assert len(gh.calls("PATCH")) == 2
    assert "| a | b |" in mine(gh)["body"]


def test_a_failure_that_outlasts_the_retries_is_a_clear_error(gh, actions_env, capsys):
    gh.fail("GET", rf"/issues/{PR}/comments$", 502, times=99)
    code, out, err = comment(capsys, *body_args(actions_env))
    assert code == 2
    assert "GitHub kept failing listing the comments of #7" in err
    assert "after 5 attempts" in err and "502" in err
    assert "The table is in the job summary." in err
    assert "Traceback" not in err and TOKEN not in err + out
    assert len(gh.calls("GET")) == 5
    assert "| a | b |" in actions_env["summary"].read_text()


def test_retry_waits_are_bounded():
    retry = make_retry(github_adapter.DEFAULT_PACING)
    assert retry.parse_retry_after("3600") == 120
    assert retry.parse_retry_after("3") == 3
    assert retry.total == 4 and retry.backoff_max == 30
    assert 429 in retry.status_forcelist and "PATCH" in retry.allowed_methods


def test_the_token_never_appears_in_any_output(gh, actions_env, capsys):
    actions_env["body"].write_text(f"a param that holds the token: {TOKEN}\n")
    saved = actions_env["summary"].parent / "saved.md"
    code, out, err = comment(capsys, *body_args(actions_env), "--save-body", str(saved), "-v")
    assert code == 0, err
    posted = mine(gh)["body"]
    texts = [out, err, posted, saved.read_text(), actions_env["summary"].read_text()]
    texts.append(actions_env["output"].read_text())
    assert all(TOKEN not in text for text in texts)
    assert "a param that holds the token: ***" in posted


# --- finding the pull request --------------------------------------------------------------


def test_github_enterprise_api_root(monkeypatch, actions_env, capsys):
    monkeypatch.setattr(github_adapter, "DEFAULT_PACING", Pacing.none())
    monkeypatch.setenv("GITHUB_API_URL", "https://ghe.example.com/api/v3")
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://ghe.example.com")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        ghe = FakeGitHub(mock, token=TOKEN, api="https://ghe.example.com/api/v3")
        ghe.add_pull(PR)
        ghe.seed(PR, 120)
        code, _, err = comment(capsys, *body_args(actions_env))
        assert code == 0, err
        assert len(ghe.marked(PR)) == 1
        urls = [str(call.request.url) for call in mock.calls]
        assert len(urls) == 4  # 2 pages, the new comment, the look for duplicates
        assert all(url.startswith("https://ghe.example.com:443/api/v3/") for url in urls)
        assert "api.github.com" not in " ".join(urls)


def test_workflow_run_from_a_fork_is_found_by_its_head(gh, actions_env, capsys, monkeypatch):
    fork_sha = "c0ffee" + "0" * 34
    gh.add_pull(12, head_ref="patch-1", head_sha=fork_sha, head_repo="fork/project")
    payload = {
        "workflow_run": {
            "head_sha": fork_sha,
            "head_branch": "patch-1",
            "pull_requests": [],
            "head_repository": {"full_name": "fork/project", "owner": {"login": "fork"}},
        }
    }
    event(actions_env["summary"].parent / "run.json", "workflow_run", payload, monkeypatch)
    code, _, err = comment(capsys, *body_args(actions_env))
    assert code == 0, err
    assert len(gh.marked(12)) == 1 and gh.marked(PR) == []
    assert any("head=fork%3Apatch-1" in p or "head=fork:patch-1" in p for p in gh.calls("GET"))


def test_workflow_run_falls_back_to_searching_by_sha(gh, actions_env, capsys, monkeypatch):
    fork_sha = "beef" + "1" * 36
    gh.add_pull(13, head_ref="renamed", head_sha=fork_sha, head_repo="fork/project")
    payload = {"workflow_run": {"head_sha": fork_sha, "pull_requests": []}}
    event(actions_env["summary"].parent / "run.json", "workflow_run", payload, monkeypatch)
    code, _, err = comment(capsys, *body_args(actions_env))
    assert code == 0, err
    assert len(gh.marked(13)) == 1
    assert any(p.startswith("/search/issues?") for p in gh.calls("GET"))


def test_a_push_finds_the_pull_request_of_its_commit(gh, actions_env, capsys, monkeypatch):
    gh.add_pull(21, head_ref="feature-2", head_sha="a" * 40, state="closed")
    gh.add_pull(22, head_ref="feature-2", head_sha="a" * 40)
    event(
        actions_env["summary"].parent / "push.json",
        "push",
        {"ref": "refs/heads/feature-2", "after": "a" * 40},
        monkeypatch,
    )
    monkeypatch.setenv("GITHUB_SHA", "a" * 40)
    code, _, err = comment(capsys, *body_args(actions_env))
    assert code == 0, err
    assert len(gh.marked(22)) == 1 and gh.marked(21) == []
    assert gh.calls("GET")[0].startswith(f"/repos/{REPOSITORY}/commits/{'a' * 40}/pulls?")


def test_no_pull_request_says_so_and_still_writes_the_summary(gh, actions_env, capsys, monkeypatch):
    event(actions_env["summary"].parent / "push.json", "schedule", {}, monkeypatch)
    monkeypatch.setenv("GITHUB_SHA", "b" * 40)
    code, out, err = comment(capsys, *body_args(actions_env), "--strict")
    assert code == 0
    assert "no open pull request found for this run (schedule run at commit bbbbbbb)" in err
    assert out == ""
    assert "| a | b |" in actions_env["summary"].read_text()
    assert gh.calls("POST") == []


def test_pr_flag_overrides_the_event(gh, actions_env, capsys):
    gh.add_pull(30)
    assert comment(capsys, *body_args(actions_env), "--pr", "30")[0] == 0
    assert len(gh.marked(30)) == 1 and gh.marked(PR) == []


def test_an_unknown_pull_request_is_a_user_error(gh, actions_env, capsys):
    code, _, err = comment(capsys, *body_args(actions_env), "--pr", "404")
    assert code == 2
    assert "pull request #404 was not found in octo-org/project (404)" in err


def test_dry_run_prints_the_body_and_the_plan_and_writes_nothing(gh, actions_env, capsys):
    gh.add_comment(PR, assemble("exp-ci", {"default": "old"}), BOT)
    saved = actions_env["summary"].parent / "saved.md"
    code, out, err = comment(
        capsys, *body_args(actions_env), "--dry-run", "--save-body", str(saved)
    )
    assert code == 0, err
    assert out.startswith("<!-- exp-ci:exp-ci -->") and "| a | b |" in out
    assert "dry run: would update the comment https://github.com/" in err
    assert gh.calls("PATCH") == [] and gh.calls("POST") == []
    assert not actions_env["summary"].exists() and not saved.exists()


# --- the real project: the table ----------------------------------------------------------------


def test_the_table_of_a_real_project_is_posted_and_summarised(
    gh, actions_env, capsys, project, monkeypatch
):
    monkeypatch.chdir(project)
    code, _, err = comment(capsys, "--metric", "auc", "--section", "py3.11")
    assert code == 0, err
    body = mine(gh)["body"]
    section = parse_sections(body, "exp-ci")["py3.11"]
    assert section.startswith("### Experiments · py3.11\n")
    assert "★ best by auc (max): lr-high = 0.85, +0.2 against its baseline" in section
    assert "**└── lr-high ★**" in section or "**├── lr-high ★**" in section
    assert "commit `6dcb09b`" in section and "[run 4242](" in section
    summary = actions_env["summary"].read_text()
    assert "lr-high" in summary and "bad-scores" in summary


def test_settings_marker_names_the_comment(gh, actions_env, capsys, project, monkeypatch):
    (project / ".exp-ci.yaml").write_text("marker: nightly\n")
    code, _, err = comment(capsys, "-C", str(project))
    assert code == 0, err
    assert len(gh.marked(PR, "nightly")) == 1 and gh.marked(PR) == []


def test_the_plain_cli_without_a_token_prints_the_body_in_a_dry_run(project, env):
    result = exp_ci(project, env, "comment", "--dry-run", "--pr", "3", "--metric", "auc")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<!-- exp-ci:exp-ci -->\n")
    assert "lr-high" in result.stdout
    assert "dry run: the comment could not be posted (no token" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_rate_limit_reset_too_far_away_is_a_clear_error(gh, actions_env, capsys):
    reset = str(2_000_000_000)  # 2033: far beyond what exp-ci waits
    gh.fail(
        "GET",
        rf"/issues/{PR}/comments$",
        403,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
        body={"message": "API rate limit exceeded for installation ID 1."},
    )
    code, _, err = comment(capsys, *body_args(actions_env))
    assert code == 2
    assert "GitHub's rate limit stopped listing the comments of #7" in err
    assert "Run the job again later." in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--body-file", "missing.md"], "--body-file missing.md does not exist"),
        (["--section", "two words"], "--section 'two words' cannot be used"),
        (["--marker", "a--b"], "--marker 'a--b' cannot be used"),
    ],
)
def test_bad_input_is_a_user_error(gh, actions_env, capsys, args, message):
    code, _, err = comment(capsys, *args)
    assert code == 2
    assert message in err
    assert gh.requests == []
