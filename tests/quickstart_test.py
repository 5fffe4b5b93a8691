"""`exp-ci quickstart`: the README's first command, end to end, offline."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from tests.helpers.project import exp_ci, run

pytestmark = pytest.mark.slow  # real DVC projects and subprocesses


def test_quickstart_runs_the_whole_flow_in_a_new_folder(tmp_path, env):
    result = exp_ci(tmp_path, env, "quickstart", "demo")
    assert result.returncode == 0, result.stderr
    project, origin = tmp_path / "demo" / "project", tmp_path / "demo" / "origin.git"
    out = result.stdout
    progress = result.stdout + result.stderr  # exp-ci run reports progress on stderr
    assert "[4/4]" in progress and "4 finished, 0 failed" in progress
    assert "★ best by accuracy (max)" in out
    assert "<!-- exp-ci:exp-ci -->" in out and "| Experiment" in out
    assert "What to look at next" in out

    winner = exp_ci(project, env, "best", "--metric", "accuracy").stdout.strip()
    branches = run(origin, "git", "branch", "--format=%(refname:short)", env=env).split()
    assert f"exp/{winner}" in branches and "main" in branches
    # The winner's data reached the DVC remote: a fresh clone of the branch can pull it.
    clone = tmp_path / "clone"
    run(
        tmp_path,
        "git",
        "clone",
        "-q",
        "--branch",
        f"exp/{winner}",
        str(origin),
        str(clone),
        env=env,
    )
    (clone / ".dvc" / "config.local").write_text(
        f"['remote \"storage\"']\n    url = {tmp_path / 'demo' / 'dvc-storage'}\n"
    )
    run(clone, "dvc", "pull", "-q", env=env)


def test_default_folder_is_new_each_time(tmp_path, env):
    (tmp_path / "exp-ci-quickstart").mkdir()
    (tmp_path / "exp-ci-quickstart" / "keep.txt").write_text("mine")
    result = exp_ci(tmp_path, env, "quickstart", "--jobs", "1", "-q")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "exp-ci-quickstart-2" / "project" / "dvc.lock").is_file()
    assert (tmp_path / "exp-ci-quickstart" / "keep.txt").read_text() == "mine"


def test_a_folder_with_files_is_never_written_over(tmp_path, env):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.md").write_text("mine")
    result = exp_ci(tmp_path, env, "quickstart", "taken")
    assert result.returncode == 2
    assert "is not an empty folder" in result.stderr and "Traceback" not in result.stderr
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["notes.md"]


def test_the_wheel_ships_the_example_project(tmp_path):
    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path),
            str(root),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("exp_ci-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("train.py", "params.yaml", "dvc.yaml"):
        assert f"exp_ci/_quickstart/{name}" in names
