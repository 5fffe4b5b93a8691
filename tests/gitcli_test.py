"""The hook's Git reader runs `git` as `subprocess.run` would, and finds the top of the work
tree as `git rev-parse` does, asking no `git` for it where pre-commit runs the hook (the top
of a plain repository)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from exp_ci.adapters.gitcli import Finished, GitReader, run_git
from tests.helpers.project import run


def plain(tmp_path: Path, env) -> Path:
    run(tmp_path, "git", "init", "-q", "repo", env=env)
    return tmp_path / "repo"


def subfolder(tmp_path: Path, env) -> Path:
    (plain(tmp_path, env) / "sub").mkdir()
    return tmp_path / "repo" / "sub"


def linked_worktree(tmp_path: Path, env) -> Path:
    root = plain(tmp_path, env)
    run(root, "git", "commit", "-q", "--allow-empty", "-m", "first", env=env)
    run(root, "git", "worktree", "add", "-q", "../other", env=env)
    return tmp_path / "other"  # its `.git` is a file


def configured_worktree(tmp_path: Path, env) -> Path:
    root = plain(tmp_path, env)
    (tmp_path / "elsewhere").mkdir()
    run(root, "git", "config", "core.worktree", str(tmp_path / "elsewhere"), env=env)
    return root  # `.git/` here, the work tree elsewhere


def symlinked(tmp_path: Path, env) -> Path:
    (tmp_path / "link").symlink_to(plain(tmp_path, env))
    return tmp_path / "link"


@pytest.mark.slow  # starts git
@pytest.mark.parametrize(
    ("layout", "processes"),
    [(plain, 0), (symlinked, 0), (subfolder, 1), (linked_worktree, 1), (configured_worktree, 1)],
)
def test_the_top_of_the_work_tree_is_what_git_says(tmp_path, env, monkeypatch, layout, processes):
    folder = layout(tmp_path, env)
    expected = Path(run(folder, "git", "rev-parse", "--show-toplevel", env=env).strip())
    git = GitReader(folder)
    started: list[tuple[str, ...]] = []
    original = GitReader._git

    def counted(self: GitReader, *args: str) -> Finished:
        started.append(args)
        return original(self, *args)

    monkeypatch.setattr(GitReader, "_git", counted)
    assert git.root == expected
    assert len(started) == processes


@pytest.mark.slow  # starts git
def test_git_dir_in_the_environment_is_left_to_git(tmp_path, env, monkeypatch):
    root = plain(tmp_path, env)
    (tmp_path / "second").mkdir()
    other = plain(tmp_path / "second", env)
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    assert GitReader(root).root == other.resolve()


@pytest.mark.slow  # starts git
def test_git_runs_as_subprocess_would_run_it(tmp_path, env, monkeypatch):
    root = plain(tmp_path, env)
    big = "".join(f"line {number}\n" for number in range(40_000))  # several pipe buffers
    (root / "big.txt").write_text(big)
    blob = run(root, "git", "hash-object", "-w", "big.txt", env=env).strip()
    commands = [
        ("cat-file", "-p", blob),
        ("-c", "core.quotePath=false", "ls-files", "-z", "--others"),
        ("log", "no-such-revision"),  # exit 128 and a message on stderr
    ]
    spawned = [run_git(root, command) for command in commands]
    monkeypatch.delattr(os, "posix_spawnp")  # as on Windows
    assert [run_git(root, command) for command in commands] == spawned
    assert spawned[0] == Finished(0, big.encode(), b"")
    assert spawned[1] == Finished(0, b"big.txt\0", b"")
    assert spawned[2].returncode == 128 and b"no-such-revision" in spawned[2].stderr
