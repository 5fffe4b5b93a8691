"""`adapters.dvc`: the scratch folders of `push_objects`, which a kill leaves behind, are
removed by the next push; a push running now keeps its own."""

from __future__ import annotations

import os
from pathlib import Path

from exp_ci.adapters.dvc import (
    PUSH_FOLDER_PREFIX,
    _claim_push_folder,
    remove_stale_push_folders,
)


def left_by_a_kill(root: Path, name: str) -> Path:
    """What a push killed after taking its folder leaves: the mark, a `.dvc` target, no lock."""
    folder = root / f"{PUSH_FOLDER_PREFIX}{name}"
    folder.mkdir()
    (folder / ".in-use").write_text("12345\n")
    (folder / "object-0.dvc").write_text("outs:\n- md5: 0123\n  path: object-0\n")
    return folder


def test_folders_of_killed_pushes_go_and_a_live_push_keeps_its_own(tmp_path: Path):
    stale = left_by_a_kill(tmp_path, "killed")
    live, fd = _claim_push_folder(tmp_path)  # this process holds its lock
    try:
        assert remove_stale_push_folders(tmp_path) == [stale]
        assert not stale.exists() and live.is_dir()
    finally:
        os.close(fd)  # as a kill would: the lock is gone, the folder stays
    assert remove_stale_push_folders(tmp_path) == [live]
    assert not list(tmp_path.iterdir())


def test_a_folder_not_yet_marked_is_kept_until_it_is_old(tmp_path: Path):
    creating = tmp_path / f"{PUSH_FOLDER_PREFIX}new"
    creating.mkdir()
    assert remove_stale_push_folders(tmp_path) == []
    os.utime(creating, (0, 0))  # killed before it took its lock, long ago
    assert remove_stale_push_folders(tmp_path) == [creating]


def test_other_files_and_links_of_the_project_are_left_alone(tmp_path: Path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / ".in-use").write_text("")
    (tmp_path / f"{PUSH_FOLDER_PREFIX}link").symlink_to(target)
    (tmp_path / f"{PUSH_FOLDER_PREFIX}file").write_text("mine\n")
    (tmp_path / "data").mkdir()
    assert remove_stale_push_folders(tmp_path) == []
    assert target.is_dir() and (tmp_path / f"{PUSH_FOLDER_PREFIX}file").is_file()
