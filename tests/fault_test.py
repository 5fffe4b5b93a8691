"""Kill tests: SIGKILL of the whole process group at seeded random moments and at the
moments that matter (mid-upload, right after a ref reached origin), for `persist --push`
and `run --push` on a local DVC remote. After each kill: every ref on origin has all of
its data in the DVC remote (checked with the hook's verifier, no index), and rerunning
the same command completes. Bounded: a few trials each, seeded, so CI time stays small.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from exp_ci.hooks.publish import ensure_data
from tests.helpers.project import exp_ci, run
from tests.helpers.sweep_project import build_template, clone, copy_template

pytestmark = pytest.mark.slow

SEED = 15
RANDOM_TRIALS = 3


def start(repo: Path, env, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "exp_ci", *args],
        cwd=repo,
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: DVC and Git die with it
    )


def kill_when(process: subprocess.Popen, ready, deadline: float) -> None:
    """SIGKILL the group once `ready()` is true (or at the deadline, or never if it ended)."""
    end = time.monotonic() + deadline
    while process.poll() is None and time.monotonic() < end and not ready():
        time.sleep(0.01)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def origin_refs(repo: Path, env) -> dict[str, str]:
    """Ref -> commit on origin (tags peeled), only refs that need data."""
    out = run(repo, "git", "ls-remote", "origin", env=env)
    refs: dict[str, str] = {}
    for line in out.splitlines():
        sha, ref = line.split("\t")
        if ref.startswith(("refs/exps/", "refs/heads/exp/", "refs/tags/")):
            refs[ref.removesuffix("^{}")] = sha
    return refs


def refs_without_data(repo: Path, env) -> list[str]:
    lacking = []
    for ref, commit in origin_refs(repo, env).items():
        run(repo, "git", "fetch", "-q", "origin", commit, env=env)
        checks = ensure_data(repo, [commit], "storage", push=False)
        if not all(check.complete for check in checks):
            lacking.append(ref)
    return lacking


def stored(root: Path) -> int:
    return sum(1 for p in (root / "storage").rglob("*") if p.is_file())


@pytest.fixture
def sweep_root(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, session_env) -> Path:
    template = build_template(tmp_path_factory.getbasetemp() / "sweep-template", session_env)
    return copy_template(template, tmp_path)


def moments(seed_offset: int, longest: float) -> list[tuple[str, float]]:
    chance = random.Random(SEED + seed_offset)
    return [(f"random {n}", chance.uniform(0, longest)) for n in range(RANDOM_TRIALS)]


def test_persist_push_killed_anywhere_leaves_no_ref_without_data(sweep_root: Path, env):
    source = clone(sweep_root, "source", env)
    made = exp_ci(source, env, "run", "-S", "lr=0.6,0.7", "--name-prefix", "k")
    assert made.returncode == 0, made.stderr
    args = ("persist", "k-1", "k-2", "--as", "tag", "--push", "origin")

    trials = [("mid-upload", 30.0), ("after a ref reached origin", 30.0)]
    trials += moments(0, 6.0)
    kills = 0
    for number, (moment, delay) in enumerate(trials):
        repo = clone(sweep_root, f"trial-{number}", env)
        run(repo, "git", "fetch", "-q", str(source), "refs/exps/*:refs/exps/*", env=env)
        run(repo, "dvc", "cache", "dir", "--local", str(source / ".dvc" / "cache"), env=env)
        before_files, before_refs = stored(sweep_root), len(origin_refs(repo, env))
        process = start(repo, env, *args)
        if moment == "mid-upload":
            kill_when(process, lambda b=before_files: stored(sweep_root) > b, delay)
        elif moment.startswith("after"):
            kill_when(process, lambda b=before_refs, r=repo: len(origin_refs(r, env)) > b, delay)
        else:
            kill_when(process, lambda: False, delay)
        kills += process.returncode == -signal.SIGKILL
        assert refs_without_data(repo, env) == [], moment
        rerun = exp_ci(repo, env, *args)
        assert rerun.returncode == 0, (moment, rerun.stderr)
        assert refs_without_data(repo, env) == []
        # The next trial starts from an empty origin and remote: its upload is real too.
        for ref in list(origin_refs(repo, env)):
            run(repo, "git", "push", "-q", "origin", f":{ref}", env=env)
        shutil.rmtree(sweep_root / "storage")
        (sweep_root / "storage").mkdir()
    print(f"persist --push: {kills} of {len(trials)} trials killed, 0 refs without data")
    assert kills >= 2  # the aimed moments at least were really hit


def test_run_push_killed_anywhere_leaves_no_ref_without_data_and_a_rerun_completes(
    sweep_root: Path, env
):
    trials = [("mid-upload", 30.0), *moments(1, 8.0)]
    kills = 0
    for number, (moment, delay) in enumerate(trials):
        repo = clone(sweep_root, f"runner-{number}", env)
        # Values of its own, so each trial's outputs are new to the remote.
        named = ("run", "-S", f"lr=0.{number}1,0.{number}2", "--push", "origin")
        named += ("--name-prefix", f"t{number}")
        before = stored(sweep_root)
        process = start(repo, env, *named)
        ready = (lambda b=before: stored(sweep_root) > b) if moment == "mid-upload" else None
        kill_when(process, ready or (lambda: False), delay)
        kills += process.returncode == -signal.SIGKILL
        assert refs_without_data(repo, env) == [], moment
        rerun = exp_ci(repo, env, *named)
        assert rerun.returncode == 0, (moment, rerun.stderr)
        assert refs_without_data(repo, env) == []
        on_origin = [r for r in origin_refs(repo, env) if f"/t{number}-" in r]
        assert len(on_origin) == 2, (moment, on_origin)
    print(f"run --push: {kills} of {len(trials)} trials killed, 0 refs without data")
    assert kills >= 1
