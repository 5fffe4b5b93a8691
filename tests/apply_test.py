"""`exp-ci apply`: an experiment's results into the workspace, optionally committed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml

from tests.helpers.project import exp_ci, run


def exp_rev(root: Path, env, name: str) -> str:
    out = run(
        root, "git", "for-each-ref", "--format=%(objectname) %(refname)", "refs/exps/", env=env
    )
    (sha,) = [line.split()[0] for line in out.splitlines() if line.endswith(f"/{name}")]
    return sha


def head(root: Path, env) -> str:
    return run(root, "git", "rev-parse", "HEAD", env=env).strip()


def locked_md5(root: Path, rev: str, env, path: str) -> str:
    lock = yaml.safe_load(run(root, "git", "show", f"{rev}:dvc.lock", env=env))
    return next(o["md5"] for o in lock["stages"]["train"]["outs"] if o["path"] == path)


def test_apply_brings_params_and_outputs_of_the_experiment(project, env):
    before = head(project, env)
    rev = exp_rev(project, env, "lr-high")
    result = exp_ci(project, env, "apply", "lr-high")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"applied experiment lr-high ({rev[:7]})\n"
    assert yaml.safe_load((project / "params.yaml").read_text())["train"]["lr"] == 0.3
    cached = (project / "cached.json").read_bytes()
    assert hashlib.md5(cached).hexdigest() == locked_md5(project, rev, env, "cached.json")
    assert json.loads(cached) == {"f1": 0.192}
    assert head(project, env) == before  # applied, not committed


def test_commit_records_exactly_the_experiment_with_its_metrics(project, env):
    before = head(project, env)
    rev = exp_rev(project, env, "lr-high")
    result = exp_ci(project, env, "apply", "lr-high", "--commit")
    assert result.returncode == 0, result.stderr
    after = head(project, env)
    assert run(project, "git", "rev-parse", "HEAD^", env=env).strip() == before
    tree = run(project, "git", "rev-parse", "HEAD^{tree}", f"{rev}^{{tree}}", env=env).split()
    assert tree[0] == tree[1]  # the commit holds the experiment's files, nothing else
    message = run(project, "git", "log", "-1", "--format=%B", env=env)
    assert message.splitlines()[0] == (
        "Apply experiment lr-high (auc=0.85, loss.val=0.7, scores.yaml:acc=0.7, ...)"
    )
    assert f"commit:     {rev}" in message and "train.lr" in message
    assert f"committed {after[:7]}: Apply experiment lr-high" in result.stdout
    assert run(project, "git", "status", "--porcelain", "--untracked-files=no", env=env) == ""


def test_a_message_of_your_own_keeps_the_experiment_details(project, env):
    result = exp_ci(project, env, "apply", "no-loss", "--commit", "-m", "Drop the loss metric")
    assert result.returncode == 0, result.stderr
    message = run(project, "git", "log", "-1", "--format=%B", env=env)
    assert message.splitlines()[0] == "Drop the loss metric"
    assert "experiment: no-loss" in message and "auc" in message


def test_commit_refuses_to_mix_in_staged_changes_and_applies_nothing(project, env):
    (project / "hyper.py").write_text("WIDTH = 64\nDEPTH = 4\n")
    run(project, "git", "add", "hyper.py", env=env)
    params = (project / "params.yaml").read_text()
    before = head(project, env)
    result = exp_ci(project, env, "apply", "lr-high", "--commit")
    assert result.returncode == 2
    assert "already staged (hyper.py)" in result.stderr
    assert (project / "params.yaml").read_text() == params
    assert head(project, env) == before


def test_unknown_and_ambiguous_experiments_are_user_errors(project, env, baselines):
    result = exp_ci(project, env, "apply", "nope")
    assert result.returncode == 2 and "no experiment 'nope'" in result.stderr
    first = baselines["first"]
    copy = f"refs/exps/{first[:2]}/{first[2:]}/alpha"
    run(project, "git", "update-ref", copy, exp_rev(project, env, "old-exp"), env=env)
    result = exp_ci(project, env, "apply", "alpha")
    assert result.returncode == 2
    assert "ambiguous" in result.stderr and copy in result.stderr


def test_message_without_commit_is_a_usage_mistake(project, env):
    result = exp_ci(project, env, "apply", "lr-high", "-m", "x")
    assert result.returncode == 2
    assert "use it with --commit" in result.stderr
