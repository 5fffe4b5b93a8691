"""`exp-ci collect`, and the distributed sweep end to end: shards in three clones pushed to
one origin and one DVC remote, collected in a fourth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.project import exp_ci, run
from tests.helpers.sweep_project import (
    build_template,
    clone,
    copy_template,
    experiment_refs,
    head,
    lock_md5,
    object_path,
    synthetic_experiment,
)


@pytest.fixture
def sweep_root(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, session_env) -> Path:
    template = build_template(tmp_path_factory.getbasetemp() / "sweep-template", session_env)
    return copy_template(template, tmp_path)


def test_three_shards_pushed_from_three_clones_are_collected_by_a_fourth(sweep_root: Path, env):
    ci = dict(env, GITHUB_RUN_ID="9001", GITHUB_RUN_ATTEMPT="1")
    grid = ("-S", "lr=0.1,0.2,0.3", "-S", "depth=1,2")
    for shard, jobs in (("1/3", "1"), ("2/3", "2"), ("3/3", "1")):
        runner = clone(sweep_root, f"runner-{shard[0]}", env)
        result = exp_ci(runner, ci, "run", *grid, "--shard", shard, "-j", jobs, "--push", "origin")
        assert result.returncode == 0, result.stderr
        assert f"shard {shard}: 2 of them" in result.stderr

    collector = clone(sweep_root, "collector", env)
    assert experiment_refs(collector, env) == {}
    result = exp_ci(collector, env, "collect", "origin")
    assert result.returncode == 0, result.stderr
    assert "collected 6 experiment(s)" in result.stderr and "6 new" in result.stderr

    shown = exp_ci(collector, env, "show", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    [baseline] = json.loads(shown.stdout)["baselines"]
    assert baseline["rev"] == head(collector, env)
    rows = {
        row["name"]: (
            row["params"]["params.yaml:lr"],
            row["params"]["params.yaml:depth"],
            row["metrics"]["metrics.json:score"],
        )
        for row in baseline["experiments"]
    }
    # Point i of the plan, run by shard ((i - 1) % 3) + 1, scored lr * 10 + depth.
    assert rows == {
        "gh9001-1-s1of3-1": (0.1, 1, 2.0),
        "gh9001-1-s2of3-2": (0.1, 2, 3.0),
        "gh9001-1-s3of3-3": (0.2, 1, 3.0),
        "gh9001-1-s1of3-4": (0.2, 2, 4.0),
        "gh9001-1-s2of3-5": (0.3, 1, 4.0),
        "gh9001-1-s3of3-6": (0.3, 2, 5.0),
    }
    best = exp_ci(collector, env, "best", "--metric", "score")
    assert best.stdout.strip() == "gh9001-1-s3of3-6"

    # No data came with the refs; --with-data brings every experiment's outputs.
    refs = experiment_refs(collector, env)
    md5s = {lock_md5(collector, sha, "model.txt", env) for sha in refs.values()}
    cache = collector / ".dvc" / "cache"
    assert not any(object_path(cache, md5).exists() for md5 in md5s)
    again = exp_ci(collector, env, "collect", "origin", "--with-data")
    assert again.returncode == 0, again.stderr
    assert "0 new, 6 already here; their data pulled" in again.stderr
    assert all(object_path(cache, md5).is_file() for md5 in md5s)

    # The winner can be kept as a branch.
    persisted = exp_ci(collector, env, "persist", "--metric", "score", "--as", "branch")
    assert persisted.returncode == 0, persisted.stderr
    winner = refs[f"refs/exps/{baseline['rev'][:2]}/{baseline['rev'][2:]}/gh9001-1-s3of3-6"]
    branches = run(collector, "git", "branch", "--format=%(refname:short) %(objectname)", env=env)
    assert f" {winner}" in branches


@pytest.fixture
def shared(sweep_root: Path, env) -> tuple[Path, str, str]:
    """A clone that pushed two synthetic experiments on HEAD and one on another baseline."""
    source = clone(sweep_root, "source", env)
    baseline = head(source, env)
    synthetic_experiment(source, env, baseline, "a-1")
    synthetic_experiment(source, env, baseline, "a-2")
    run(source, "git", "commit", "-q", "--allow-empty", "-m", "next", env=env)
    other = head(source, env)
    synthetic_experiment(source, env, other, "b-1")
    run(source, "git", "push", "-q", "origin", "HEAD:refs/heads/next", env=env)
    run(source, "git", "push", "-q", "origin", "refs/exps/*:refs/exps/*", env=env)
    return source, baseline, other


def test_collect_fetches_only_heads_experiments_and_all_with_A(sweep_root: Path, env, shared):
    _, baseline, other = shared
    collector = clone(sweep_root, "collector", env)
    result = exp_ci(collector, env, "collect", "origin")
    assert result.returncode == 0, result.stderr
    assert f"collected 2 experiment(s) of HEAD ({baseline[:7]}) from origin" in result.stderr
    assert {ref.rsplit("/", 1)[1] for ref in experiment_refs(collector, env)} == {"a-1", "a-2"}

    everything = exp_ci(collector, env, "collect", "origin", "-A")
    assert everything.returncode == 0, everything.stderr
    assert "3 experiment(s) of every baseline from origin: 1 new, 2 already here" in (
        everything.stderr
    )
    assert f"refs/exps/{other[:2]}/{other[2:]}/b-1" in experiment_refs(collector, env)


def test_a_local_experiment_of_the_same_name_is_kept_unless_force(sweep_root: Path, env, shared):
    source, baseline, _ = shared
    collector = clone(sweep_root, "collector", env)
    mine = synthetic_experiment(collector, env, baseline, "a-1", message="mine")
    ref = f"refs/exps/{baseline[:2]}/{baseline[2:]}/a-1"

    result = exp_ci(collector, env, "collect", "origin")
    assert result.returncode == 2
    assert "1 local experiment(s) have the same name" in result.stderr and "a-1" in result.stderr
    assert "--force" in result.stderr
    refs = experiment_refs(collector, env)
    assert refs[ref] == mine  # kept
    assert f"refs/exps/{baseline[:2]}/{baseline[2:]}/a-2" in refs  # the others came

    forced = exp_ci(collector, env, "collect", "origin", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "1 replaced (--force)" in forced.stderr
    assert experiment_refs(collector, env)[ref] == experiment_refs(source, env)[ref]


def test_collect_from_a_remote_that_does_not_exist_is_a_clear_error(sweep_root: Path, env):
    collector = clone(sweep_root, "collector", env)
    result = exp_ci(collector, env, "collect", "nowhere")
    assert result.returncode == 2
    assert "reading experiment refs from the Git remote 'nowhere'" in result.stderr
    assert "git remote -v" in result.stderr and "Traceback" not in result.stderr


def test_nothing_pushed_yet_is_not_an_error(sweep_root: Path, env):
    collector = clone(sweep_root, "collector", env)
    result = exp_ci(collector, env, "collect", "origin")
    assert result.returncode == 0, result.stderr
    assert "collected 0 experiment(s)" in result.stderr


def test_with_data_names_an_object_the_remote_lacks_and_exits_2(sweep_root: Path, env):
    """Defect 2 of issue 15: a shard's experiment reached origin without its data (as when
    `dvc exp push`, which sends refs first, was killed): collect --with-data says which."""
    runner = clone(sweep_root, "runner", env)
    result = exp_ci(runner, env, "run", "-S", "lr=0.7", "--name-prefix", "lost")
    assert result.returncode == 0, result.stderr
    [(ref, sha)] = experiment_refs(runner, env).items()
    run(runner, "dvc", "exp", "push", "--no-cache", "origin", ref, env=env)  # the ref only
    md5 = lock_md5(runner, sha, "model.txt", env)
    assert not object_path(sweep_root / "storage", md5).exists()

    collector = clone(sweep_root, "collector", env)
    result = exp_ci(collector, env, "collect", "origin", "--with-data")
    assert result.returncode == 2, result.stderr
    assert "the experiments lost-1 record" in result.stderr
    assert f"model.txt  md5 {md5}" in result.stderr
    assert ref in experiment_refs(collector, env)  # the refs are collected, the gap named

    # Once the shard pushes its data, the same command completes.
    run(runner, "dvc", "exp", "push", "origin", ref, env=env)
    result = exp_ci(collector, env, "collect", "origin", "--with-data")
    assert result.returncode == 0, result.stderr
