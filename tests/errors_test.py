"""Every user error: one clear message on stderr, exit code 2, never a traceback."""

from __future__ import annotations

import pytest

from tests.helpers.project import exp_ci, init_project, run, write


def _fails_cleanly(result, *fragments: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in result.stderr


@pytest.mark.slow  # starts processes
def test_outside_a_git_repository(tmp_path, env):
    _fails_cleanly(exp_ci(tmp_path, env, "show"), "not inside a Git repository", "git init")


@pytest.mark.slow  # starts processes
def test_missing_folder(tmp_path, env):
    _fails_cleanly(
        exp_ci(tmp_path, env, "show", "-C", str(tmp_path / "nope")), "does not exist", "-C"
    )


@pytest.mark.slow  # starts processes
def test_git_repository_that_is_not_a_dvc_project(tmp_path, env):
    run(tmp_path, "git", "init", "-q", env=env)
    _fails_cleanly(exp_ci(tmp_path, env, "show"), "not a DVC project", "dvc init")


@pytest.mark.slow  # starts processes
def test_project_without_commits(tmp_path, env):
    init_project(tmp_path / "p", env)
    _fails_cleanly(exp_ci(tmp_path / "p", env, "show"), "no commits yet")


@pytest.mark.slow  # starts processes
def test_project_without_experiments(tmp_path, env):
    root = tmp_path / "p"
    init_project(root, env)
    write(root, {"params.yaml": "lr: 1\n", "dvc.yaml": "stages: {}\n"})
    run(root, "git", "add", "-A", env=env)
    run(root, "git", "commit", "-q", "-m", "init", env=env)
    # No experiments is a normal case for the table (the commits are compared), not for best.
    shown = exp_ci(root, env, "show")
    assert shown.returncode == 0, shown.stderr
    assert "no experiments of main" in shown.stdout and "exp-ci run" in shown.stdout
    _fails_cleanly(exp_ci(root, env, "best", "--metric", "auc"), "no experiments found")


def test_unknown_metric_lists_the_metrics_that_exist(project, env):
    _fails_cleanly(
        exp_ci(project, env, "show", "--metric", "acuracy"),
        "unknown metric 'acuracy'",
        "auc",
        "loss.val",
        "scores.yaml:acc",
    )


def test_ambiguous_metric_lists_the_full_names(project, env):
    _fails_cleanly(
        exp_ci(project, env, "best", "--metric", "acc"),
        "'acc' is ambiguous",
        "scores.yaml:acc",
        "experiments/cnn/metrics.json:acc",
    )


def test_a_param_is_not_a_metric(project, env):
    _fails_cleanly(exp_ci(project, env, "best", "--metric", "train.lr"), "unknown metric")


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_top_must_be_a_positive_number(project, env, value):
    _fails_cleanly(exp_ci(project, env, "show", "--top", value), "--top")


def test_unknown_revision(project, env):
    _fails_cleanly(exp_ci(project, env, "show", "--rev", "no-such-branch"), "'no-such-branch'")


def test_all_and_rev_together(project, env):
    _fails_cleanly(exp_ci(project, env, "show", "-A", "--rev", "main"), "-A and --rev")


def test_dvc_yaml_that_does_not_parse(project, env):
    (project / "dvc.yaml").write_text("stages:\n  train: [unclosed\n")
    run(project, "git", "commit", "-q", "-am", "break dvc.yaml", env=env)
    _fails_cleanly(exp_ci(project, env, "show"), "dvc.yaml does not parse", "line")


def test_dvc_yaml_with_a_wrong_shape(project, env):
    (project / "dvc.yaml").write_text("stages:\n  - train\n")
    run(project, "git", "commit", "-q", "-am", "break dvc.yaml", env=env)
    _fails_cleanly(exp_ci(project, env, "show"), "dvc.yaml", "stages")


def test_best_without_a_metric(project, env):
    _fails_cleanly(exp_ci(project, env, "best"), "--metric", ".exp-ci.yaml")


def test_unknown_key_in_the_settings_file(project, env):
    (project / ".exp-ci.yaml").write_text("metric: auc\nmetirc: loss\n")
    _fails_cleanly(exp_ci(project, env, "show"), "unknown key 'metirc'", "Known keys")


def test_output_to_an_unwritable_place(project, env, tmp_path):
    _fails_cleanly(
        exp_ci(project, env, "show", "-o", str(tmp_path / "no" / "such" / "dir" / "t.md")),
        "cannot write",
    )


def test_unknown_option_is_exit_2_with_usage(project, env):
    result = exp_ci(project, env, "show", "--formt", "md")
    assert result.returncode == 2 and "usage:" in result.stderr
