"""Kill tests: SIGKILL of the whole process group at seeded random moments and at the
moments that matter (mid-upload, right after a ref reached origin), for `persist --push`
and `run --push`, on a local DVC remote and on S3 (moto's server on 127.0.0.1, dvc-s3).
After each kill: every ref on origin has all of its data in the DVC remote, read from the
remote's own listing (the folder's files, the bucket's keys; never DVC's word), and
rerunning the same command completes (after removing, as its message says, a ref's
`.lock` that a kill mid-write left on the folder-path origin). Bounded: the two aimed
moments and RANDOM_TRIALS seeded random ones per command and remote (1 by default, so CI
time stays small; `EXP_CI_KILL_TRIALS=3` runs the campaign README reports).
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.project import exp_ci, run
from tests.helpers.remote_store import Store, origin_refs, refs_without_data
from tests.helpers.sweep_project import build_template, clone, copy_template

pytestmark = pytest.mark.slow

SEED = 15
RANDOM_TRIALS = int(os.environ.get("EXP_CI_KILL_TRIALS", "1"))


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
        time.sleep(0.02)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


STALE_LOCK = re.compile(r"Git found the lock file .*?`rm '([^']+)'`, then rerun the same command")


def rerun(repo: Path, env, origin: Path, args: tuple[str, ...]) -> int:
    """The same command again; it must complete. One case needs a hand first: a kill while
    DVC wrote a ref straight into a folder-path origin leaves that ref's `.lock` there (a
    server-side origin is written by its own process, which a client's kill cannot leave
    half done). Then the rerun must stop with exit 2 naming the `rm` of exactly that lock;
    the command is followed and the rerun must complete. Returns the locks removed (0/1)."""
    again = exp_ci(repo, env, *args)
    found = STALE_LOCK.search(again.stderr)
    if again.returncode == 2 and found:
        lock = Path(found.group(1))
        assert lock.is_relative_to(origin) and lock.name.endswith(".lock"), again.stderr
        lock.unlink()
        again = exp_ci(repo, env, *args)
    assert again.returncode == 0, again.stderr
    return 1 if found else 0


def check_and_rerun(repo: Path, env, store: Store, moment: str, args: tuple[str, ...]):
    """After a kill: no ref on origin without its data; the rerun completes, removes the
    push folder the kill left, and leaves no ref without data either. Returns the folders
    the kill left and the stale locks the rerun named."""
    assert refs_without_data(repo, env, store) == [], moment
    litter = len(list(repo.glob(".exp-ci-push-*")))
    locks = rerun(repo, env, store.root / "origin.git", args)
    assert not list(repo.glob(".exp-ci-push-*")), moment
    assert refs_without_data(repo, env, store) == [], moment
    return litter, locks


@pytest.fixture
def sweep_root(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, session_env) -> Path:
    template = build_template(tmp_path_factory.getbasetemp() / "sweep-template", session_env)
    return copy_template(template, tmp_path)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, sweep_root: Path) -> Store:
    """The DVC remote the trials push to: the local folder, or a bucket on moto's server."""
    s3 = request.getfixturevalue("s3") if request.param == "s3" else None
    return Store(sweep_root, s3)


def moments(seed_offset: int, longest: float) -> list[tuple[str, float]]:
    chance = random.Random(SEED + seed_offset)
    return [(f"random {n}", chance.uniform(0, longest)) for n in range(RANDOM_TRIALS)]


def aimed(moment: str, store: Store, repo: Path, env):
    """When to kill: when the remote gained an object, or origin a ref; else at the time."""
    if moment == "mid-upload":
        before = len(store.objects())
        return lambda: len(store.objects()) > before
    if moment.startswith("after"):
        refs = len(origin_refs(repo, env))
        return lambda: len(origin_refs(repo, env)) > refs
    return lambda: False


AIMED = [("mid-upload", 30.0), ("after a ref reached origin", 30.0)]


def test_persist_push_killed_anywhere_leaves_no_ref_without_data(
    sweep_root: Path, store: Store, env
):
    source = clone(sweep_root, "source", env)
    made = exp_ci(source, env, "run", "-S", "lr=0.6,0.7", "--name-prefix", "k")
    assert made.returncode == 0, made.stderr
    args = ("persist", "k-1", "k-2", "--as", "tag", "--push", "origin")

    trials = AIMED + moments(0, 6.0)
    killed: list[str] = []
    litter = 0  # `.exp-ci-push-*` folders a kill left in the project
    locks = 0  # stale ref locks a kill left on the folder-path origin
    for number, (moment, delay) in enumerate(trials):
        repo = clone(sweep_root, f"trial-{number}", env)
        store.configure(repo, env)
        run(repo, "git", "fetch", "-q", str(source), "refs/exps/*:refs/exps/*", env=env)
        run(repo, "dvc", "cache", "dir", "--local", str(source / ".dvc" / "cache"), env=env)
        ready = aimed(moment, store, repo, env)
        process = start(repo, env, *args)
        kill_when(process, ready, delay)
        if process.returncode == -signal.SIGKILL:
            killed.append(moment)
        left, lock = check_and_rerun(repo, env, store, moment, args)
        litter, locks = litter + left, locks + lock
        tags = [ref for ref in origin_refs(repo, env) if ref.startswith("refs/tags/exp/k-")]
        assert len(tags) == 2, (moment, tags)
        # The next trial starts from an empty origin and remote: its upload is real too.
        for ref in list(origin_refs(repo, env)):
            run(repo, "git", "push", "-q", "origin", f":{ref}", env=env)
        store.empty()
    print(
        f"persist --push ({store.kind}): killed {killed} of {len(trials)}; no ref lacked data; "
        f"{litter} push folder(s) left by kills, all removed by the rerun; {locks} stale "
        "ref lock(s) on origin, named by the rerun"
    )
    assert len(killed) >= 2  # the aimed moments at least were really hit


def test_run_push_killed_anywhere_leaves_no_ref_without_data_and_a_rerun_completes(
    sweep_root: Path, store: Store, env
):
    trials = AIMED + moments(1, 8.0)
    killed: list[str] = []
    litter = 0  # `.exp-ci-push-*` folders a kill left in the project
    locks = 0  # stale ref locks a kill left on the folder-path origin
    for number, (moment, delay) in enumerate(trials):
        repo = clone(sweep_root, f"runner-{number}", env)
        store.configure(repo, env)
        # Values of its own, so each trial's outputs are new to the remote.
        named = ("run", "-S", f"lr=0.{number}1,0.{number}2", "--push", "origin")
        named += ("--name-prefix", f"t{number}")
        ready = aimed(moment, store, repo, env)
        process = start(repo, env, *named)
        kill_when(process, ready, delay)
        if process.returncode == -signal.SIGKILL:
            killed.append(moment)
        left, lock = check_and_rerun(repo, env, store, moment, named)
        litter, locks = litter + left, locks + lock
        on_origin = [r for r in origin_refs(repo, env) if f"/t{number}-" in r]
        assert len(on_origin) == 2, (moment, on_origin)
    print(
        f"run --push ({store.kind}): killed {killed} of {len(trials)}; no ref lacked data; "
        f"{litter} push folder(s) left by kills, all removed by the rerun; {locks} stale "
        "ref lock(s) on origin, named by the rerun"
    )
    assert len(killed) >= 2
