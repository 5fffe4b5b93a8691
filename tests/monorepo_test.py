"""A DVC project in a sub-folder (`dvc init --subdir`) beside a sibling project, with a
project nested in it: exp-ci reads it as `dvc exp show` does, names relative to it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers.project import differences, dvc_values, exp_ci, exp_ci_values, exp_show_json
from tests.helpers.shapes import build
from tests.helpers.synthetic import SyntheticExperiment, add_experiments, git_env

DVC_YAML = (
    "stages:\n  t:\n    cmd: x\n    params: [lr]\n    metrics:\n      - m.json:\n"
    "          cache: false\n"
)


def _files(project: str, lr: float) -> dict[str, str]:
    return {
        f"{project}/params.yaml": f"lr: {lr}\n",
        f"{project}/dvc.yaml": DVC_YAML,
        f"{project}/m.json": json.dumps({"acc": lr * 2}),
        f"{project}/eval/dvc.yaml": "metrics: [n.json]\n",
        f"{project}/eval/n.json": '{"k": 2}',
    }


@pytest.fixture
def monorepo(tmp_path):
    root = tmp_path / "mono"
    build(root, {**_files("a", 0.1), **_files("b", 0.5)}, subdir="a")
    for sub in ("b", "a/nested"):  # a sibling project, and one nested in `a`
        (root / sub).mkdir(exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "dvc", "init", "-q", "--subdir"],
            cwd=root / sub,
            env=git_env(),
            check=True,
            capture_output=True,
        )
    (root / "a/nested/dvc.yaml").write_text("metrics: [x.json]\n")
    (root / "a/nested/x.json").write_text('{"inner": 1}')
    subprocess.run(["git", "add", "-A"], cwd=root, env=git_env(), check=True)
    subprocess.run(
        ["git", "commit", "-q", "--amend", "-m", "Baseline"], cwd=root, env=git_env(), check=True
    )
    baseline = (
        subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, env=git_env(), check=True, capture_output=True
        )
        .stdout.decode()
        .strip()
    )
    add_experiments(
        root,
        baseline,
        [
            SyntheticExperiment("a-lr", {"a/params.yaml": "lr: 0.3\n", "a/m.json": '{"acc": 3}'}),
            SyntheticExperiment("b-lr", {"b/params.yaml": "lr: 0.9\n"}),
        ],
    )
    return root


def _ours(cwd, env, *args):
    result = exp_ci(cwd, env, "show", "--format", "json", *args)
    assert result.returncode == 0, result.stderr
    return exp_ci_values(json.loads(result.stdout))


def test_a_sub_folder_project_agrees_with_dvc_both_ways(monorepo, env):
    theirs = dvc_values(exp_show_json(monorepo / "a", env))
    ours = _ours(monorepo / "a", env)
    assert differences(ours, theirs) == []
    baseline = next(v for v in ours.values() if v["name"] == "main")
    assert baseline["params"] == {"params.yaml:lr": 0.1}  # not a/params.yaml, not b's
    assert set(baseline["metrics"]) == {"m.json:acc", "eval/n.json:k"}  # not nested/x.json


@pytest.mark.parametrize(("cwd", "option"), [("a/eval", ()), (".", ("-C", "b"))])
def test_the_project_is_found_from_a_folder_in_it_or_with_dash_c(monorepo, env, cwd, option):
    ours = _ours(monorepo / cwd, env, *option)
    project = "b" if option else "a"
    theirs = dvc_values(exp_show_json(monorepo / project, env))
    assert differences(ours, theirs) == []


def test_outside_every_project_is_a_user_error_that_says_how_to_fix(monorepo, env):
    result = exp_ci(monorepo, env, "show")
    assert result.returncode == 2
    assert "not a DVC project, nor in one" in result.stderr
    assert "dvc init --subdir" in result.stderr
