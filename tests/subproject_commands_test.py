"""The commands that run DVC (`run`, `apply`, `persist`, `collect`) in a `dvc init --subdir`
project beside a sibling project: DVC runs in the project's folder, names are relative to
it, and nothing is written at the Git root."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers.project import (
    commit_all,
    differences,
    dvc_values,
    exp_ci,
    exp_ci_values,
    exp_show_json,
    run,
    write,
)

pytestmark = pytest.mark.slow  # real DVC runs

TRAIN = """\
import json, yaml
p = yaml.safe_load(open("params.yaml"))
json.dump({"acc": round(p["lr"] * 2, 6)}, open("metrics.json", "w"))
open("model.bin", "w").write(f"model lr={p['lr']}\\n")
"""

STAGE = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [lr]
    outs: [model.bin]
    metrics:
      - metrics.json:
          cache: false
"""


@pytest.fixture(scope="session")
def subproject_template(tmp_path_factory, session_env):
    """`mono/`: Git root; `mono/a` and `mono/b` DVC projects (`--subdir`), each with a real
    stage; `a` has a DVC remote `storage`; `origin.git` is the bare Git remote."""
    env = session_env
    top = tmp_path_factory.mktemp("subproject")
    mono = top / "mono"
    mono.mkdir()
    run(mono, "git", "init", "-q", "-b", "main", env=env)
    for name, lr in (("a", 0.1), ("b", 0.5)):
        write(mono / name, {"train.py": TRAIN, "params.yaml": f"lr: {lr}\n", "dvc.yaml": STAGE})
        run(mono / name, "dvc", "init", "-q", "--subdir", env=env)
    (top / "storage").mkdir()
    run(mono / "a", "dvc", "remote", "add", "-d", "storage", "../../storage", env=env)
    run(top, "git", "init", "-q", "--bare", "origin.git", env=env)
    run(mono, "git", "remote", "add", "origin", str(top / "origin.git"), env=env)
    for name in ("a", "b"):
        run(mono / name, "dvc", "repro", "-q", env=env)
    commit_all(mono, "two DVC projects", env)
    run(mono, "git", "push", "-q", "origin", "main", env=env)
    return top


@pytest.fixture
def mono(subproject_template, tmp_path):
    """A private copy of the template (its Git remote's URL pointed at the copy's)."""
    for item in subproject_template.iterdir():
        shutil.copytree(item, tmp_path / item.name, symlinks=True)
    config = tmp_path / "mono" / ".git" / "config"
    config.write_text(config.read_text().replace(str(subproject_template), str(tmp_path)))
    _local_remote(tmp_path / "mono" / "a", tmp_path / "storage")
    return tmp_path / "mono"


def _local_remote(project: Path, storage: Path) -> None:
    """The remote by absolute path, in the uncommitted local config: DVC reads a commit's
    own config when it pulls experiments, and resolves a relative URL there against the
    Git root (`/storage`), not against the config's folder."""
    (project / ".dvc" / "config.local").write_text(f"['remote \"storage\"']\n    url = {storage}\n")


def _objects(folder: Path) -> set[str]:
    return {p.read_text() for p in folder.rglob("*") if p.is_file() and "model lr" in p.read_text()}


def _exp_names(project: Path, env) -> dict[str, float]:
    """Experiment name -> its lr, as `dvc exp show` lists them (in `project`)."""
    rows = exp_show_json(project, env)
    return {
        e["revs"][0]["name"]: e["revs"][0]["data"]["params"]["params.yaml"]["data"]["lr"]
        for b in rows[1:]
        for e in b.get("experiments") or []
    }


def test_run_runs_dvc_in_the_sub_folder_and_pushes_its_refs_and_data(mono, env):
    result = exp_ci(
        mono / "a", env, "run", "-S", "lr=0.3,0.4", "--name-prefix", "sub", "--push", "origin"
    )
    assert result.returncode == 0, result.stderr
    assert _exp_names(mono / "a", env) == {"sub-1": 0.3, "sub-2": 0.4}
    # DVC lists a commit's experiments in every project of it; b's params are untouched.
    assert _exp_names(mono / "b", env) == {"sub-1": 0.5, "sub-2": 0.5}
    assert not (mono / ".dvc").exists()  # nothing written at the Git root
    refs = run(mono, "git", "ls-remote", "origin", "refs/exps/*", env=env)
    assert refs.count("refs/exps/") == 2
    assert _objects(mono.parent / "storage") >= {"model lr=0.3\n", "model lr=0.4\n"}
    ours = json.loads(exp_ci(mono / "a", env, "show", "--format", "json").stdout)
    assert differences(exp_ci_values(ours), dvc_values(exp_show_json(mono / "a", env))) == []


def test_run_with_dash_c_from_the_git_root_names_params_relative_to_the_project(mono, env):
    result = exp_ci(mono, env, "run", "-C", "a", "-S", "params.yaml:lr=0.7", "--name-prefix", "c")
    assert result.returncode == 0, result.stderr
    assert _exp_names(mono / "a", env) == {"c-1": 0.7}
    taken = exp_ci(mono, env, "run", "-C", "a", "-S", "lr=0.8", "--name-prefix", "c")
    assert taken.returncode == 2
    assert "already exist" in taken.stderr


def test_apply_brings_the_experiment_into_the_sub_folders_workspace(mono, env):
    assert exp_ci(mono / "a", env, "run", "-S", "lr=0.3", "--name-prefix", "ap").returncode == 0
    result = exp_ci(mono / "a", env, "apply", "ap-1", "--commit")
    assert result.returncode == 0, result.stderr
    assert (mono / "a" / "params.yaml").read_text() == "lr: 0.3\n"
    assert json.loads((mono / "a" / "metrics.json").read_text()) == {"acc": 0.6}
    assert (mono / "b" / "params.yaml").read_text() == "lr: 0.5\n"
    changed = run(mono, "git", "show", "--name-only", "--format=", "HEAD", env=env).split()
    assert "a/params.yaml" in changed and not any(p.startswith("b/") for p in changed)


def test_persist_keeps_a_branch_with_its_data_pushed_first(mono, env):
    assert exp_ci(mono / "a", env, "run", "-S", "lr=0.9", "--name-prefix", "keep").returncode == 0
    result = exp_ci(
        mono / "a", env, "persist", "keep-1", "--as", "branch", "--name", "exp/{name}",
        "--push", "origin",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "refs/heads/exp/keep-1" in run(mono, "git", "ls-remote", "origin", env=env)
    assert "model lr=0.9\n" in _objects(mono.parent / "storage")


def test_collect_brings_the_experiments_and_their_data_into_a_fresh_clone(mono, env, tmp_path):
    pushed = exp_ci(
        mono / "a", env, "run", "-S", "lr=0.2", "--name-prefix", "ci", "--push", "origin"
    )
    assert pushed.returncode == 0, pushed.stderr
    clone = tmp_path / "clone"
    run(tmp_path, "git", "clone", "-q", str(tmp_path / "origin.git"), str(clone), env=env)
    _local_remote(clone / "a", tmp_path / "storage")
    result = exp_ci(clone / "a", env, "collect", "origin", "--with-data")
    assert result.returncode == 0, result.stderr
    assert _exp_names(clone / "a", env) == {"ci-1": 0.2}
    assert "model lr=0.2\n" in _objects(clone / "a" / ".dvc" / "cache")
