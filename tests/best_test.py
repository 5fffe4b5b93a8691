"""`exp-ci best`: the winners by one metric, for people and for scripts."""

from __future__ import annotations

import json

from tests.helpers.project import exp_ci


def test_prints_the_winner_name(project, env):
    result = exp_ci(project, env, "best", "--metric", "auc")
    assert result.returncode == 0
    assert result.stdout == "lr-high\n"


def test_top_k_best_first(project, env):
    result = exp_ci(project, env, "best", "--metric", "auc", "--top", "3")
    assert result.stdout.split() == ["lr-high", "no-loss", "alpha"]


def test_direction_min(project, env):
    result = exp_ci(
        project, env, "best", "--metric", "loss.val", "--direction", "min", "--top", "2"
    )
    # no-loss has no loss.val and bad-scores ties alpha at 0.9: the earlier one wins the tie
    assert result.stdout.split() == ["lr-high", "alpha"]


def test_json_names_the_experiment_fully(project, env, baselines):
    result = exp_ci(project, env, "best", "--metric", "metrics.json:auc", "--json")
    (winner,) = json.loads(result.stdout)
    assert winner["name"] == "lr-high"
    assert winner["baseline"] == baselines["second"]
    assert winner["ref"] == f"refs/exps/{baselines['second'][:2]}/{baselines['second'][2:]}/lr-high"
    assert winner["value"] == 0.85 and winner["baseline_value"] == 0.65
    assert abs(winner["delta"] - 0.2) < 1e-9


def test_min_improvement_keeps_only_clear_winners(project, env):
    result = exp_ci(
        project, env, "best", "--metric", "auc", "--top", "5", "--min-improvement", "0.05"
    )
    assert result.returncode == 0
    assert result.stdout.split() == ["lr-high", "no-loss"]


def test_no_experiment_good_enough_is_a_check_that_says_no(project, env):
    result = exp_ci(project, env, "best", "--metric", "auc", "--min-improvement", "1")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no experiment improves on its baseline by 1.0 or more" in result.stderr


def test_metric_and_direction_from_the_settings_file(project, env):
    (project / ".exp-ci.yaml").write_text("metric: loss.val\ndirection: min\n")
    assert exp_ci(project, env, "best").stdout == "lr-high\n"
    (project / ".exp-ci.yaml").unlink()
    (project / "pyproject.toml").write_text('[tool.exp-ci]\nmetric = "auc"\n')
    assert exp_ci(project, env, "best", "--top", "2").stdout.split() == ["lr-high", "no-loss"]


def test_flags_override_the_settings_file(project, env):
    (project / ".exp-ci.yaml").write_text("metric: loss.val\ndirection: min\n")
    result = exp_ci(project, env, "best", "--metric", "auc", "--direction", "max")
    assert result.stdout == "lr-high\n"
    result = exp_ci(project, env, "best", "--direction", "max")
    assert result.stdout == "alpha\n"  # largest loss.val 0.9, the earlier of the tie
