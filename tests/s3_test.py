"""S3 for real: moto's S3 server on 127.0.0.1 with dvc-s3, as most teams keep DVC data.

The distributed flow end to end against one bucket (run --push, collect --with-data,
persist as a branch and as a tag, a fresh clone's `dvc pull`), then the hook on a pushed
directory that lost one file in the bucket, `--fix`, and a missing dvc-s3 plugin.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.helpers.project import commit_all, exp_ci, exp_ci_process, run, write
from tests.helpers.sweep_project import (
    build_template,
    clone,
    copy_template,
    experiment_refs,
    lock_md5,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def sweep_root(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, session_env) -> Path:
    template = build_template(tmp_path_factory.getbasetemp() / "sweep-template", session_env)
    return copy_template(template, tmp_path)


def s3_clone(root: Path, name: str, env, s3) -> Path:
    repo = clone(root, name, env)
    s3.configure(repo, run, env)
    return repo


def test_run_collect_persist_and_a_fresh_clone_pull_through_s3(sweep_root: Path, env, s3):
    runner = s3_clone(sweep_root, "runner", env, s3)
    result = exp_ci(
        runner, env, "run", "-S", "lr=0.4,0.5", "--name-prefix", "s3", "--push", "origin"
    )
    assert result.returncode == 0, result.stderr
    on_origin = experiment_refs(runner, env, remote="origin")
    assert len(on_origin) == 2
    for sha in on_origin.values():
        assert s3.object_key(lock_md5(runner, sha, "model.txt", env)) in s3.stored_keys()

    collector = s3_clone(sweep_root, "collector", env, s3)
    result = exp_ci(collector, env, "collect", "origin", "--with-data")
    assert result.returncode == 0, result.stderr
    result = exp_ci(collector, env, "persist", "s3-1", "--push", "origin")
    assert result.returncode == 0, result.stderr
    result = exp_ci(collector, env, "persist", "s3-2", "--as", "tag", "--push", "origin")
    assert result.returncode == 0, result.stderr
    rerun = exp_ci(collector, env, "persist", "s3-2", "--as", "tag", "--push", "origin")
    assert rerun.returncode == 0 and "is up to date on origin" in rerun.stdout

    for ref, lr in (("exp/s3-1", "0.4"), (f"exp/s3-2-{on_origin_rev(on_origin, 's3-2')}", "0.5")):
        fresh = s3_clone(sweep_root, f"fresh-{lr}", env, s3)
        run(fresh, "git", "checkout", "-q", ref, env=env)
        run(fresh, "dvc", "pull", "-q", env=env)
        assert (fresh / "model.txt").read_text() == f"lr={lr} depth=1\n"


def on_origin_rev(refs: dict[str, str], name: str) -> str:
    (sha,) = [sha for ref, sha in refs.items() if ref.endswith("/" + name)]
    return sha[:7]


@pytest.fixture
def s3_dir_project(tmp_path: Path, env, s3) -> Path:
    """`data/` (3 files) tracked by data.dvc, pushed to the bucket."""
    root = tmp_path / "p"
    root.mkdir()
    run(root, "git", "init", "-q", "-b", "main", env=env)
    run(root, "dvc", "init", "-q", env=env)
    write(root, {f"data/{n}.txt": f"file {n}\n" for n in range(3)})
    run(root, "dvc", "add", "-q", "data", env=env)
    commit_all(root, "data", env)
    s3.configure(root, run, env)
    run(root, "dvc", "push", "-q", env=env)
    return root


def test_the_hook_blocks_when_the_bucket_lost_one_file_of_a_directory_and_fix_puts_it_back(
    s3_dir_project: Path, env, s3
):
    md5 = hashlib.md5(b"file 1\n").hexdigest()
    s3.delete(md5)
    result = exp_ci(s3_dir_project, env, "check-pushed", "--no-index")
    assert result.returncode == 1
    assert f"data/1.txt  md5 {md5}" in result.stderr
    result = exp_ci(s3_dir_project, env, "check-pushed", "--no-index", "--fix")
    assert result.returncode == 0, result.stderr
    assert s3.object_key(md5) in s3.stored_keys()


def test_a_missing_dvc_s3_plugin_is_a_clear_message_never_a_pass(
    s3_dir_project: Path, env, tmp_path: Path
):
    # As in a pre-commit environment without `additional_dependencies: [dvc-s3]`.
    blocker = tmp_path / "no-plugin" / "dvc_s3"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('No module named dvc_s3')\n")
    hidden = dict(env, PYTHONPATH=f"{blocker.parent}:{env.get('PYTHONPATH', '')}")
    # A process of its own: the blocker must shadow dvc_s3 before anything imports it.
    result = exp_ci_process(s3_dir_project, hidden, "check-pushed", "--no-index")
    assert result.returncode != 0
    assert "dvc-s3" in result.stderr and "additional_dependencies" in result.stderr


def test_without_credentials_run_push_is_a_clear_error_and_no_ref_reaches_origin(
    sweep_root: Path, env, s3
):
    # As in a pull request from a fork, where the job gets no secrets.
    runner = s3_clone(sweep_root, "no-keys", env, s3)
    bare = {k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    args = ("run", "-S", "lr=0.45", "--name-prefix", "nokeys", "--push", "origin")
    result = exp_ci_process(runner, bare, *args)
    assert result.returncode == 2
    assert "cannot reach DVC remote 's3'" in result.stderr and "credentials" in result.stderr
    assert "Traceback" not in result.stderr
    assert experiment_refs(runner, env, remote="origin") == {}
    assert len(experiment_refs(runner, env)) == 1  # kept here for a rerun with the keys
