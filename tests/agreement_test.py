"""exp-ci reads the same values as `dvc exp show --json`, value for value.

The template project has nested params, JSON/TOML/Python params files with untracked
keys, two metrics files, a metric kept only in the DVC cache, a second dvc.yaml in a
subfolder, an experiment missing a metric and one whose metrics file does not parse.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from tests.helpers.project import differences, dvc_values, exp_ci, exp_ci_values, exp_show_json


def _ours(project, env, *args):
    result = exp_ci(project, env, "show", "--format", "json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_head_experiments_have_the_values_dvc_reports(project, env):
    ours = exp_ci_values(_ours(project, env))
    theirs = dvc_values(exp_show_json(project, env))
    assert len(ours) == 5  # the baseline and its four experiments
    assert differences(ours, theirs) == []


def test_every_baseline_agrees_with_dvc_all_commits(project, env):
    ours = exp_ci_values(_ours(project, env, "-A"))
    rows = exp_show_json(project, env, "-A")
    assert {v["name"] for v in ours.values()} >= {"old-exp", "lr-high", "alpha", "no-loss"}
    # DVC's -A lists every commit; exp-ci's, every baseline with experiments (README:
    # where values may differ). Here that leaves out the first commit, "project".
    without = [b["rev"] for b in rows if b["rev"] != "workspace" and not b.get("experiments")]
    assert len(without) == 1
    assert differences(ours, dvc_values(rows)) == [f"row {without[0][:7]}: only DVC lists it"]


def test_rev_selects_an_older_baseline_like_dvc(project, env, baselines):
    ours = exp_ci_values(_ours(project, env, "--rev", baselines["first"]))
    theirs = dvc_values(exp_show_json(project, env, "--rev", baselines["first"]))
    assert [v["name"] for v in ours.values()] == [None, "old-exp"]
    assert differences(ours, theirs) == []


def test_experiments_are_ordered_and_timed_as_dvc_orders_them(project, env):
    document = _ours(project, env)
    dvc_baseline = exp_show_json(project, env)[1]
    dvc_order = [e["revs"][0]["rev"] for e in dvc_baseline["experiments"]]
    ours = document["baselines"][0]["experiments"]
    assert [e["rev"] for e in ours] == dvc_order
    dvc_times = {
        e["revs"][0]["rev"]: e["revs"][0]["data"]["timestamp"] for e in dvc_baseline["experiments"]
    }
    for experiment in ours:
        created = datetime.fromisoformat(experiment["created"])
        # DVC prints naive local time; the tests run with TZ=UTC.
        assert (
            created.astimezone(timezone.utc).replace(tzinfo=None).isoformat()
            == dvc_times[experiment["rev"]]
        )


def test_the_unparseable_metrics_file_is_an_error_of_that_row_only(project, env):
    document = _ours(project, env)
    rows = {e["name"]: e for e in document["baselines"][0]["experiments"]}
    assert set(rows["bad-scores"]["error"]) == {"scores.yaml"}
    assert "does not parse" in rows["bad-scores"]["error"]["scores.yaml"]
    assert "scores.yaml:acc" not in rows["bad-scores"]["metrics"]
    assert rows["lr-high"]["error"] is None
    assert rows["lr-high"]["metrics"]["scores.yaml:acc"] == 0.7


def test_a_metric_missing_in_one_experiment_is_absent_not_an_error(project, env):
    rows = {e["name"]: e for e in _ours(project, env)["baselines"][0]["experiments"]}
    assert "metrics.json:loss.val" not in rows["no-loss"]["metrics"]
    assert rows["no-loss"]["error"] is None
    assert rows["lr-high"]["metrics"]["metrics.json:loss.val"] == 0.7


def test_params_files_of_every_format_and_subfolder_are_read(project, env):
    baseline = _ours(project, env)["baselines"][0]
    assert baseline["params"] == {
        "params.yaml:train.lr": 0.1,
        "params.yaml:train.epochs": 4,
        "params.yaml:train.layers": [1, 2],
        "params.yaml:train.drop_loss": False,
        "params.yaml:train.break_scores": False,
        "params.yaml:seed": 7,
        "other.json:alpha": 0.5,  # opt.beta is not tracked by any stage
        "other.json:opt.name": "sgd",
        "config.toml:model.batch": 32,
        "hyper.py:WIDTH": 64,
        "experiments/cnn/params.yaml:filters": 16,
    }
    assert baseline["metrics"]["cached.json:f1"] == 0.064  # read from the local DVC cache
    assert baseline["metrics"]["experiments/cnn/metrics.json:acc"] == 0.16


def _workspace_both_ways(project, env):
    """(exp-ci's workspace data, DVC's workspace row as `dvc_values` shapes a row)."""
    from exp_ci.read.experiments import open_project, read_workspace

    rows = exp_show_json(project, env)
    assert rows[0]["rev"] == "workspace"
    # dvc_values skips DVC's workspace row by its rev; rename it to compare it.
    theirs = dvc_values([{**rows[0], "rev": "ws", "experiments": None}])["ws"]
    git = open_project(project)
    try:
        return read_workspace(git), theirs
    finally:
        git.close()


def test_the_workspace_reads_as_dvcs_workspace_row(project, env):
    from exp_ci.select import flat_values

    (project / "params.yaml").write_text(
        (project / "params.yaml").read_text().replace("lr: 0.1", "lr: 0.7")
    )
    (project / "metrics.json").write_text('{"auc": 0.99, "loss": {"val": 0.01}}')
    (project / "scores.yaml").write_text("acc: [broken\n")
    (project / "extra").mkdir()
    (project / "extra" / "dvc.yaml").write_text("metrics: [m.json]\n")  # untracked, not ignored
    (project / "extra" / "m.json").write_text('{"f2": 3}')

    data, theirs = _workspace_both_ways(project, env)
    assert flat_values(data.params) == theirs["params"]
    assert flat_values(data.metrics) == theirs["metrics"]
    assert {p for p, v in {**data.params, **data.metrics}.items() if v.error} == theirs["errors"]
    assert flat_values(data.params)["params.yaml:train.lr"] == 0.7
    assert flat_values(data.metrics)["extra/m.json:f2"] == 3


def test_a_deleted_cache_false_metric_is_an_error_in_the_workspace_as_in_dvc(project, env):
    (project / "metrics.json").unlink()  # cache: false -> DVC cannot read it from its cache
    data, theirs = _workspace_both_ways(project, env)
    assert theirs["errors"] == {"metrics.json"}
    assert {p for p, v in data.metrics.items() if v.error} == {"metrics.json"}
    assert data.metrics["cached.json"].data == {"f1": 0.064}
