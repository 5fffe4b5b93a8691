"""`exp-ci gate` on a real project: workspace or a commit against a base commit."""

from __future__ import annotations

import json

import pytest
import responses

from tests.helpers.github_api import FakeGitHub
from tests.helpers.project import exp_ci, run


def _set_workspace_auc(project, auc):
    (project / "metrics.json").write_text(json.dumps({"auc": auc, "loss": {"val": 0.9}}))


def test_a_drop_fails_with_both_values(project, env):
    _set_workspace_auc(project, 0.6)
    result = exp_ci(project, env, "gate", "--metric", "auc", "--against", "HEAD")
    assert result.returncode == 1
    assert "metrics.json:auc 0.65 -> 0.6" in result.stderr
    assert "regression beyond the limit (no drop allowed)" in result.stderr


def test_a_drop_within_the_allowance_passes(project, env):
    _set_workspace_auc(project, 0.6)
    result = exp_ci(
        project, env, "gate", "--metric", "auc", "--against", "HEAD", "--max-drop", "0.05"
    )
    assert result.returncode == 0, result.stderr
    assert "within the limit (allowed 0.05)" in result.stdout
    result = exp_ci(
        project, env, "gate", "--metric", "auc", "--against", "HEAD", "--max-drop-pct", "5"
    )
    assert result.returncode == 1  # 5% of 0.65 is 0.0325


def test_an_improvement_passes_and_min_direction_is_respected(project, env):
    _set_workspace_auc(project, 0.7)
    assert exp_ci(project, env, "gate", "--metric", "auc", "--against", "HEAD").returncode == 0
    result = exp_ci(
        project, env, "gate", "--metric", "auc", "--direction", "min", "--against", "HEAD"
    )
    assert result.returncode == 1


def test_in_github_actions_the_verdict_is_an_annotation(project, env):
    _set_workspace_auc(project, 0.6)
    result = exp_ci(
        project, {**env, "GITHUB_ACTIONS": "true"}, "gate", "--metric", "auc", "--against", "HEAD"
    )
    assert result.returncode == 1
    assert result.stdout.startswith("::error title=exp-ci gate::workspace against main: ")
    _set_workspace_auc(project, 0.65)
    result = exp_ci(
        project, {**env, "GITHUB_ACTIONS": "true"}, "gate", "--metric", "auc", "--against", "HEAD"
    )
    assert result.returncode == 0
    assert result.stdout.startswith("::notice title=exp-ci gate::")


def test_a_commit_instead_of_the_workspace(project, env, baselines):
    ref = run(
        project, "git", "for-each-ref", "--format=%(refname)", "refs/exps/**/lr-high", env=env
    )
    result = exp_ci(
        project,
        env,
        "gate",
        "--metric",
        "auc",
        "--rev",
        ref.strip(),
        "--against",
        baselines["first"],
    )
    assert result.returncode == 0, result.stderr
    assert "0.65 -> 0.85" in result.stdout


def test_a_metric_missing_on_one_side_is_a_clear_error(project, env):
    (project / "metrics.json").unlink()
    result = exp_ci(project, env, "gate", "--metric", "auc", "--against", "HEAD")
    assert result.returncode == 2
    assert (
        "metrics.json:auc is missing on the current side (workspace, files on disk)"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_without_a_base_it_says_how_to_give_one(project, env):
    result = exp_ci(project, env, "gate", "--metric", "auc")
    assert result.returncode == 2
    assert "--against REV" in result.stderr


def test_negative_allowance_is_refused(project, env):
    result = exp_ci(
        project, env, "gate", "--metric", "auc", "--against", "HEAD", "--max-drop", "-1"
    )
    assert result.returncode == 2 and "--max-drop: must be 0 or more" in result.stderr
    for bad in ("nan", "inf", "-inf", "lots"):
        result = exp_ci(
            project, env, "gate", "--metric", "auc", "--against", "HEAD", "--max-drop-pct", bad
        )
        assert result.returncode == 2 and "--max-drop-pct" in result.stderr, bad
        assert "Traceback" not in result.stderr


def test_in_a_pull_request_workflow_the_base_comes_from_the_event(
    project, env, baselines, tmp_path
):
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"pull_request": {"number": 7, "base": {"sha": baselines["first"]}}})
    )
    outputs = tmp_path / "outputs"
    outputs.write_text("")
    _set_workspace_auc(project, 0.5)
    actions_env = {
        **env,
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_OUTPUT": str(outputs),
    }
    result = exp_ci(project, actions_env, "gate", "--metric", "auc")
    assert result.returncode == 1
    assert f"against {baselines['first'][:7]}: metrics.json:auc 0.65 -> 0.5" in result.stdout
    assert "gate" in outputs.read_text() and "fail" in outputs.read_text()


def test_a_push_run_compares_with_the_first_parent(project, env, baselines, tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"ref": "refs/heads/main"}))
    result = exp_ci(
        project,
        {
            **env,
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_EVENT_PATH": str(event),
        },
        "gate",
        "--metric",
        "auc",
        "--rev",
        "HEAD",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"main against {baselines['first'][:7]}" in result.stdout
    assert "base: the first parent of HEAD (push run)" in result.stdout


def test_a_pull_request_event_without_a_base_says_so(project, env, tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 3}}))
    result = exp_ci(
        project,
        {
            **env,
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
        },
        "gate",
        "--metric",
        "auc",
    )
    assert result.returncode == 2
    assert "the pull_request event has no base commit" in result.stderr
    assert "--against REV" in result.stderr


@pytest.fixture
def statuses():
    """The in-memory GitHub (tests/helpers/github_api.py) for octo/models, through `responses`."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeGitHub(mock, repository="octo/models", token="ghs_secret_token_value")


def _gate_in_process(monkeypatch, project, env, event, *args):
    from exp_ci.adapters import github
    from exp_ci.cli import main

    monkeypatch.setattr(github, "DEFAULT_PACING", github.Pacing.none())
    for name, value in {
        **env,
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "octo/models",
        "GITHUB_TOKEN": "ghs_secret_token_value",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "99",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(project)
    return main(["gate", "--metric", "auc", "--status", *args])


def test_status_marks_the_pull_requests_head_commit(
    project, env, baselines, tmp_path, monkeypatch, capsys, statuses
):
    head = "a" * 40
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"pull_request": {"base": {"sha": baselines["second"]}, "head": {"sha": head}}})
    )
    _set_workspace_auc(project, 0.6)
    assert _gate_in_process(monkeypatch, project, env, event) == 1
    (posted,) = statuses.statuses
    assert posted["sha"] == head
    assert posted["state"] == "failure" and posted["context"] == "exp-ci/gate"
    assert "0.65 -> 0.6" in posted["description"] and len(posted["description"]) <= 140
    assert posted["target_url"] == "https://github.com/octo/models/actions/runs/99"
    assert "ghs_secret_token_value" not in capsys.readouterr().out


def test_a_read_only_token_only_warns_and_the_verdict_stands(
    project, env, baselines, tmp_path, monkeypatch, capsys, statuses
):
    statuses.read_only = True  # a fork's token: writes answer 403
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {"pull_request": {"base": {"sha": baselines["second"]}, "head": {"sha": "b" * 40}}}
        )
    )
    _set_workspace_auc(project, 0.7)
    assert _gate_in_process(monkeypatch, project, env, event) == 0
    out = capsys.readouterr().out
    assert "::notice title=exp-ci gate::" in out
    assert "::warning::" in out and "403" in out
    assert statuses.statuses == [] and statuses.calls("POST") == [
        "/repos/octo/models/statuses/" + "b" * 40
    ]


def test_status_without_a_token_is_refused_before_any_work(project, env):
    result = exp_ci(project, env, "gate", "--metric", "auc", "--against", "HEAD", "--status")
    assert result.returncode == 2
    assert "GITHUB_TOKEN" in result.stderr
