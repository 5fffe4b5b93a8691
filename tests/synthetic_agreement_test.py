"""Many experiments made with Git plumbing: exp-ci and `dvc exp show` still agree.

These experiments exercise what real runs rarely do in a small test: hundreds of refs,
ties, and experiments that change only some files.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers.project import differences, dvc_values, exp_ci, exp_ci_values, exp_show_json
from tests.helpers.synthetic import SyntheticExperiment, add_experiments, make_project, sweep

pytestmark = pytest.mark.slow  # real DVC projects and subprocesses


def test_two_hundred_synthetic_experiments_agree_with_dvc(tmp_path, env):
    project = tmp_path / "project"
    baseline = make_project(project)
    experiments = sweep(200)
    # One experiment whose metrics file does not parse, one that changes no metrics at all.
    experiments.append(SyntheticExperiment("broken", {"metrics.json": "{not json"}))
    experiments.append(SyntheticExperiment("params-only", {"params.yaml": "seed: 9\n"}))
    add_experiments(project, baseline, experiments)

    result = exp_ci(project, env, "show", "--format", "json")
    assert result.returncode == 0, result.stderr
    ours = exp_ci_values(json.loads(result.stdout))
    theirs = dvc_values(exp_show_json(project, env))
    assert len(ours) == 203
    assert differences(ours, theirs) == []


def test_best_over_a_sweep_matches_sorting_dvcs_values(tmp_path, env):
    project = tmp_path / "project"
    baseline = make_project(project)
    add_experiments(project, baseline, sweep(120))
    theirs = dvc_values(exp_show_json(project, env))
    by_auc = sorted(
        (v["metrics"]["metrics.json:auc"], v["name"])
        for v in theirs.values()
        if v["name"] != "main" and "metrics.json:auc" in v["metrics"]
    )
    best_value = by_auc[-1][0]
    result = exp_ci(project, env, "best", "--metric", "auc", "--json")
    (winner,) = json.loads(result.stdout)
    assert winner["value"] == best_value
    assert (best_value, winner["name"]) in by_auc
