"""`exp-ci gate` on a real project: workspace or a commit against a base commit."""

from __future__ import annotations

import json

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
        "metrics.json:auc is missing in the current side (workspace, files on disk)"
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
    assert result.returncode == 2 and "--max-drop must be 0 or more" in result.stderr


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


def test_a_push_event_has_no_base_and_says_so(project, env, tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"ref": "refs/heads/main"}))
    result = exp_ci(
        project,
        {**env, "GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(event)},
        "gate",
        "--metric",
        "auc",
    )
    assert result.returncode == 2
    assert "the push event has no pull request" in result.stderr
