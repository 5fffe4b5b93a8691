"""`hooks.publish`: the DVC remote checked for every object a commit records, what it lacks
pushed first (real Git + DVC, a local folder as the remote)."""

from __future__ import annotations

from pathlib import Path

import pytest

from exp_ci.errors import UserError
from exp_ci.hooks.history import parse_ls_tree
from exp_ci.hooks.publish import ensure_data, missing_locally, missing_message
from tests.helpers.project import commit_all, exp_ci, init_project, run, write

pytestmark = pytest.mark.slow


@pytest.fixture
def dir_project(tmp_path: Path, env) -> Path:
    """`data/` (3 files) tracked by data.dvc, committed and pushed to `storage`."""
    root = tmp_path / "p"
    init_project(root, env)
    write(root, {f"data/{n}.txt": f"file {n}\n" for n in range(3)})
    run(root, "dvc", "add", "-q", "data", env=env)
    commit_all(root, "data", env)
    run(root, "dvc", "push", "-q", env=env)
    return root


def storage(root: Path) -> Path:
    return root.parent / f"{root.name}-storage"


def member_object(root: Path, name: str) -> Path:
    import hashlib

    md5 = hashlib.md5((root / "data" / name).read_bytes()).hexdigest()
    return storage(root) / "files" / "md5" / md5[:2] / md5[2:]


def head(root: Path, env) -> str:
    return run(root, "git", "rev-parse", "HEAD", env=env).strip()


def test_ls_tree_records_give_the_dvc_files_of_a_commit():
    text = (
        "100644 blob aaaa\tdata.dvc\x00100644 blob bbbb\tsub/dvc.lock\0"
        "100644 blob cccc\tdvc.yaml\x00120000 blob dddd\tlink.dvc\x00040000 tree eeee\tx.dvc\x00"
    )
    assert [(v.path, v.blob) for v in parse_ls_tree(text, "c0ffee")] == [
        ("data.dvc", "aaaa"),
        ("sub/dvc.lock", "bbbb"),
    ]


def test_one_lost_file_of_a_pushed_directory_is_pushed_again_where_dvc_push_sends_nothing(
    dir_project: Path, env
):
    lost = member_object(dir_project, "1.txt")
    lost.unlink()
    # DVC sees the `.dir` manifest in the remote and takes all of its files as there.
    run(dir_project, "dvc", "push", "-q", env=env)
    assert not lost.exists()

    [check] = ensure_data(dir_project, [head(dir_project, env)], "storage")
    assert check.complete and check.pushed == 1
    assert lost.is_file()
    [again] = ensure_data(dir_project, [head(dir_project, env)], "storage")
    assert again.complete and again.pushed == 0


def test_an_object_in_neither_the_cache_nor_the_remote_is_reported_by_name(dir_project: Path, env):
    lost = member_object(dir_project, "2.txt")
    lost.unlink()
    (dir_project / ".dvc" / "cache" / lost.relative_to(storage(dir_project))).unlink()
    [check] = ensure_data(dir_project, [head(dir_project, env)], "storage")
    assert not check.complete and check.pushed == 0
    [missing] = check.missing
    assert missing.path == "data/2.txt"
    text = missing_message([check], "experiment x", "Nothing was pushed.")
    assert "data/2.txt  md5" in text and "not in the local cache either" in text
    assert text.endswith("Nothing was pushed.")
    assert [m.path for m in missing_locally(dir_project, [head(dir_project, env)])] == [
        "data/2.txt"
    ]


def test_an_unreachable_remote_is_a_user_error_before_any_ref(dir_project: Path, env):
    run(dir_project, "dvc", "remote", "add", "gone", "http://127.0.0.1:9/nothing", env=env)
    with pytest.raises(UserError, match="cannot reach DVC remote 'gone'"):
        ensure_data(dir_project, [head(dir_project, env)], "gone")


def test_the_hooks_fix_pushes_the_lost_file_of_a_directory(dir_project: Path, env):
    lost = member_object(dir_project, "0.txt")
    lost.unlink()
    # HEAD is on no remote branch: the hook checks all of its history.
    result = exp_ci(dir_project, env, "check-pushed", "--no-index")
    assert result.returncode == 1 and "data/0.txt" in result.stderr
    result = exp_ci(dir_project, env, "check-pushed", "--no-index", "--fix")
    assert result.returncode == 0, result.stderr
    assert "pushing 1 missing object to DVC remote 'storage'" in result.stderr
    assert lost.is_file()
