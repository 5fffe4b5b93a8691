"""Running a sweep's experiments, J at a time, each one by DVC's own `dvc exp run`.

Each of the J workers owns a scratch clone of the project under `.dvc/tmp/exp-ci/w<k>`
(`git clone --shared`: no object is copied) checked out at the baseline commit, with the
project's DVC cache as its cache, removed when the sweep ends.
It runs its experiments one after the other with `dvc exp run --name N -S ...` (DVC's own
CLI in a fresh fork of a process that imported DVC once for all the workers:
`exp_ci.adapters.dvc_fork`; a `python -m dvc` subprocess where there is no fork or
EXP_CI_DVC_FORK=0), resets the clone between them, and fetches each experiment's ref into
the project as soon as it finishes, while the next one runs, before reporting it "ok". A
clone that a killed run left behind is searched for finished experiments at the next start
(`recover_scratch`). So:

- every experiment's parent is the baseline (HEAD's commit), as with `dvc exp run`;
- cached outputs land in the project's cache, so `dvc exp push` finds them;
- the project's workspace is never touched;
- parallel runs share nothing that DVC keeps per run. Git worktrees would share every
  ref, and DVC keeps its per-run state in refs (`refs/exps/exec/EXEC_BASELINE`, the stash
  `refs/exps/stash`) without a lock across worktrees: there, two concurrent runs failed
  one time out of two (`'NoneType' object is not subscriptable`). DVC's own queue (`dvc exp
  run --run-all -j 2`) runs safely but gave no speed-up here. Clones are both safe and fast.

A failing experiment is a recorded outcome (exit code and log), never an exception; the
other experiments go on.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import queue
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol, TypeVar

from exp_ci.sweep import Point

if TYPE_CHECKING:
    from exp_ci.adapters.dvc_fork import Channels, PreloadedDvc
    from exp_ci.adapters.git import GitRepository

SCRATCH_FOLDER = Path(".dvc") / "tmp" / "exp-ci"
T = TypeVar("T")
LOG_TAIL_LINES = 20


@dataclass(frozen=True)
class Task:
    point: Point
    name: str


@dataclass(frozen=True)
class Outcome:
    task: Task
    state: str  # "success" or "failed"
    exit_code: int  # the failing stage command's when DVC names it, else DVC's
    seconds: float
    log: str
    log_file: Path | None = None
    rev: str | None = None  # the experiment commit, when one was made
    ref: str | None = None
    dvc_exit_code: int = 0

    @property
    def ok(self) -> bool:
        return self.state == "success"

    def tail(self, lines: int = LOG_TAIL_LINES) -> list[str]:
        kept = [line.rstrip() for line in self.log.splitlines() if line.strip()]
        return kept[-lines:]


class Reporter(Protocol):
    """Progress of a sweep; called from worker threads, so implementations lock."""

    def begin(self, tasks: Sequence[Task], jobs: int) -> None: ...

    def started(self, task: Task) -> None: ...

    def finished(self, outcome: Outcome) -> None: ...

    def end(self) -> None: ...


def experiment_ref(baseline: str, name: str) -> str:
    return f"refs/exps/{baseline[:2]}/{baseline[2:]}/{name}"


def preload_dvc(jobs: int) -> Channels:
    """One preloaded DVC for the `jobs` workers of a sweep, started first thing: its
    imports (0.7 s or more) overlap everything up to the first experiment (the plan, the
    checks, the clones). The caller keeps as many channels as the sweep has workers
    (`Channels.keep`), passes them to `run_tasks`, and closes them."""
    from exp_ci.adapters.dvc_fork import Channels

    return Channels(jobs)


def run_tasks(
    git: GitRepository,
    baseline: str,
    tasks: Sequence[Task],
    jobs: int,
    reporter: Reporter,
    channels: Channels,
) -> list[Outcome]:
    """Run every task, `jobs` at a time; the outcomes in task order. `channels`: to the
    preloaded DVC the caller started (`preload_dvc`) and closes, one per worker."""
    base = git.dvc_root / SCRATCH_FOLDER
    log_dir = base / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    pending: queue.SimpleQueue[Task] = queue.SimpleQueue()
    for task in tasks:
        pending.put(task)
    sweep = _Sweep(git, baseline, pending, reporter, log_dir)
    count = max(1, min(jobs, len(tasks)))
    workers = [
        threading.Thread(target=sweep.work, args=(base, channels.take()), daemon=True)
        for _ in range(count)
    ]
    reporter.begin(tasks, len(workers))
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            while worker.is_alive():
                worker.join(timeout=0.2)
    except KeyboardInterrupt:
        sweep.stop.set()  # running DVC processes got the same SIGINT from the terminal
        for worker in workers:
            worker.join(timeout=30)
        raise
    finally:
        reporter.end()
    if sweep.crash is not None:
        raise sweep.crash
    order = {task.name: position for position, task in enumerate(tasks)}
    return sorted(sweep.outcomes, key=lambda outcome: order[outcome.task.name])


class _Sweep:
    """The state the workers share: the queue, the outcomes, one lock for the project."""

    def __init__(
        self,
        git: GitRepository,
        baseline: str,
        pending: queue.SimpleQueue[Task],
        reporter: Reporter,
        log_dir: Path,
    ) -> None:
        self.git = git
        self.baseline = baseline
        self.pending = pending
        self.reporter = reporter
        self.log_dir = log_dir
        self.outcomes: list[Outcome] = []
        self.project_lock = threading.Lock()  # fetches into the project, one at a time
        self.stop = threading.Event()
        self.crash: BaseException | None = None

    def work(self, base: Path, dvc: PreloadedDvc | None) -> None:
        """Run tasks until none is left, with `dvc` (this worker's channel to the preloaded
        DVC; a fresh one is started when it is gone). Each finished experiment is kept
        (fetched into the project, then reported) while the next one runs."""
        from exp_ci.adapters.dvc_fork import PreloadedDvc

        clone = None
        slot: _Slot | None = None
        last: Outcome | None = None  # finished, not kept yet
        try:
            while (task := self._next()) is not None:
                if slot is None:
                    slot = _Slot.claim(base)
                if dvc is None:
                    dvc = PreloadedDvc.start()
                if clone is None:
                    clone = self._prepare(slot.path)
                previous, last = last, None
                if previous is None:
                    self.reporter.started(task)
                    last = self._run(clone, slot.path, task, dvc)
                else:  # reported in order: the one before, then this one's start
                    last = _alongside(
                        functools.partial(self._keep, slot.path, previous, task),
                        functools.partial(self._run, clone, slot.path, task, dvc),
                    )
                if dvc is not None and not dvc.alive():  # killed: a fresh one next time
                    dvc.close()
                    dvc = None
            if last is not None and slot is not None:
                self._keep(slot.path, last, None)
        except BaseException as error:  # a broken workspace stops the sweep, loudly
            self.crash = error
            self.stop.set()
        finally:
            if dvc is not None:
                dvc.close()
            if slot is not None:
                if clone is not None:
                    clone.close()
                slot.release()

    def _next(self) -> Task | None:
        if self.stop.is_set():
            return None
        try:
            return self.pending.get_nowait()
        except queue.Empty:
            return None

    def _keep(self, path: Path, outcome: Outcome, then: Task | None) -> None:
        """Into the project before it is reported: finished is kept. `then`: the task
        started meanwhile, reported as started after this one."""
        if outcome.ref:
            self._bring_back(path, [outcome.ref])
        with self.project_lock:
            self.outcomes.append(outcome)
        self.reporter.finished(outcome)
        if then is not None:
            self.reporter.started(then)

    def _bring_back(self, path: Path, refs: list[str]) -> None:
        """Fetch an experiment into the project as soon as it finishes, before it is
        reported "ok": a kill after that loses nothing. Names were checked to be free
        before the sweep, so this overwrites nothing."""
        from exp_ci.adapters.git import fetch_refs

        with self.project_lock:
            fetch_refs(self.git, str(path), refs)

    def _prepare(self, path: Path) -> GitRepository:
        from exp_ci.adapters.dvc import share_project_config
        from exp_ci.adapters.git import scratch_clone

        clone = scratch_clone(self.git, path, self.baseline)
        share_project_config(self.git.dvc_root, path / self.git.dvc_prefix)
        return clone

    def _run(
        self, clone: GitRepository, path: Path, task: Task, dvc: PreloadedDvc | None
    ) -> Outcome:
        from exp_ci.adapters.dvc import exp_run
        from exp_ci.adapters.git import ref_commit, reset_scratch

        started = time.monotonic()
        # DVC runs in the clone's copy of the project's folder (a `dvc init --subdir` one)
        result = exp_run(path / self.git.dvc_prefix, task.name, task.point.overrides, dvc)
        log, exit_code = result.output, result.exit_code
        ref = experiment_ref(self.baseline, task.name)
        rev = None
        if exit_code != 0 and result.command_exit_code is not None:
            exit_code = result.command_exit_code
        if result.exit_code == 0:
            rev = ref_commit(clone, ref)
            if rev is None:
                exit_code = 1
                log += f"\nexp-ci: `dvc exp run` succeeded but made no experiment ref {ref}\n"
        reset_scratch(clone)
        log_file = self.log_dir / f"{task.name}.log"
        with contextlib.suppress(OSError):
            log_file.write_text(log, encoding="utf-8")
        return Outcome(
            task,
            "success" if exit_code == 0 and rev else "failed",
            exit_code,
            round(time.monotonic() - started, 2),
            log,
            log_file if log_file.exists() else None,
            rev,
            ref if rev else None,
            result.exit_code,
        )


def _alongside(background: Callable[[], object], foreground: Callable[[], T]) -> T:
    """`foreground()`'s result, `background()` run meanwhile in a thread; its error, if
    it raised one, raised once both are done."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            background()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        result = foreground()
    finally:
        thread.join()
    if errors:
        raise errors[0]
    return result


def recover_scratch(git: GitRepository, base: Path) -> list[str]:
    """Experiments that a killed run finished in scratch clones no process holds now,
    fetched into the project (before the clones are claimed and removed). DVC makes the
    ref only once the experiment is committed, its outputs already in the project's cache.
    A ref the project has with another commit is left alone; the refs fetched, returned."""
    recovered: list[str] = []
    if not base.is_dir():
        return recovered
    have = {ref.ref: ref.commit.sha for ref in git.experiment_refs()}
    for folder in sorted(base.glob("w*")):
        if not (folder / ".git").is_dir():
            continue
        with _held(base / f"{folder.name}.lock") as mine:
            if mine:
                recovered += _recover_clone(git, folder, have)
    return recovered


def _recover_clone(git: GitRepository, folder: Path, have: dict[str, str]) -> list[str]:
    from exp_ci.adapters.git import GitRepository, fetch_refs
    from exp_ci.errors import UserError

    try:
        clone = GitRepository(folder)
    except UserError:  # a clone cut short before Git made it: nothing finished there
        return []
    try:
        found = {ref.ref: ref.commit.sha for ref in clone.experiment_refs()}
        new = [ref for ref in found if ref not in have]
        if new:
            fetch_refs(git, str(folder), new)
            have.update((ref, found[ref]) for ref in new)
        return new
    finally:
        clone.close()


@contextlib.contextmanager
def _held(lock: Path):
    """Hold a slot's lock file while the block runs; yields False when another process
    holds it (its clone is in use)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: slots are never reused there
        yield False
        return
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True


class _Slot:
    """A scratch folder `w1`, `w2`, ... that no other worker or exp-ci process holds.

    Fixed names, rather than random ones, keep DVC's per-folder state (under its site
    cache, keyed by path) from piling up run after run. A lock file marks the folder as
    taken; a folder left by an interrupted run is removed when it is claimed again.
    """

    def __init__(self, path: Path, handle: IO[str] | None) -> None:
        self.path = path
        self._handle = handle

    @classmethod
    def claim(cls, base: Path) -> _Slot:
        base.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: a fresh random folder instead
            return cls(base / f"w-{secrets.token_hex(4)}", None)
        for number in itertools.count(1):
            handle = (base / f"w{number}.lock").open("w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            slot = cls(base / f"w{number}", handle)
            shutil.rmtree(slot.path, ignore_errors=True)
            return slot
        raise AssertionError("unreachable")

    def release(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        if self._handle is not None:
            self._handle.close()
