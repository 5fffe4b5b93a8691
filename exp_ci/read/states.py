"""Experiments that have not finished, or finished badly: where DVC keeps them (pure).

DVC 3's celery queue (`dvc exp run --queue`, `dvc queue start`) keeps its state outside
`refs/exps/<sha>/...`, which is why reading experiment refs alone never sees it:

- queued: one entry per experiment in the reflog of `refs/exps/celery/stash`, message
  `commit: dvc-exp:<rev>:<baseline>:<name>`, pointing at a stash commit whose tree is the
  workspace with the experiment's params applied. A worker drops the entry when it starts.
- running: an info file `.dvc/tmp/exps/run/<stash rev>/<stash rev>.run` (JSON: baseline,
  name, status 0 pending, 1 preparing, 2 running, 3 success, 4 failed, ...).
- failed: an entry in the reflog of `refs/exps/celery/failed` (same message), the info file
  with status 4, the process record `<stash rev>.json` (its `returncode`) and the run's
  output `<stash rev>.out`.

`dvc exp show --json` lists them under their baseline with `executor.state` queued,
running or failed (a finished run's experiment is an ordinary ref, state success).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

STATES = ("success", "queued", "running", "failed")
UNFINISHED = ("queued", "running", "failed")
QUEUE_REF = "refs/exps/celery/stash"
FAILED_REF = "refs/exps/celery/failed"
RUN_FOLDER = ".dvc/tmp/exps/run"  # the celery queue's runs (and stale copies of --temp ones)
TEMP_RUN_FOLDER = ".dvc/tmp/exps/standalone/run"  # `dvc exp run --temp` runs
CELERY_LOCATION = "dvc-task"

# As DVC parses it (dvc/repo/experiments/stash.py, ExpStash.MESSAGE_RE).
STASH_MESSAGE = re.compile(
    r"(?:commit: )?dvc-exp:(?P<rev>[0-9a-f]+):(?P<baseline>[0-9a-f]{40})"
    r":(?P<name>[^~^:\\?\[\]*]*)(:(?P<branch>.+))?$"
)
SHA = re.compile(r"^[0-9a-f]{40}$")
RUNNING_STATUSES = (0, 1, 2)  # DVC's TaskStatus PENDING, PREPARING, RUNNING
FAILED_STATUS = 4
MAX_REASON = 300  # characters of a failure's reason kept


@dataclass(frozen=True)
class QueueEntry:
    """One experiment DVC's queue knows and no experiment ref has yet."""

    rev: str  # the stash commit: its params are the experiment's
    baseline: str
    name: str | None
    state: str  # queued, running or failed
    reason: str | None = None  # why a failed run failed


def parse_stash_entry(sha: str, message: str, state: str) -> QueueEntry | None:
    """A reflog entry of DVC's queue or failed stash; None for anything else."""
    match = STASH_MESSAGE.match(message.strip())
    if match is None or not SHA.match(sha):
        return None
    return QueueEntry(sha, match.group("baseline"), match.group("name") or None, state)


def run_state(info: Mapping[str, Any], *, temp: bool, root_exists: bool) -> str | None:
    """running, failed, or None (finished well, so its experiment ref is the row; or not a
    run DVC lists) from a `.run` info file, as DVC's queues decide it.

    In the celery queue's folder only its own runs count (`location` dvc-task: a `--temp`
    run leaves a copy there that stays at status 1 for good); a `--temp` run is running
    while its info file says so and its temporary folder exists.
    """
    status = info.get("status")
    if temp:
        return "running" if status in RUNNING_STATUSES and root_exists else None
    if info.get("location") != CELERY_LOCATION:
        return None
    if status in RUNNING_STATUSES:
        return "running"
    if status == FAILED_STATUS:
        return "failed"
    return None


def failure_reason(log: str, returncode: object) -> str:
    """One line on why a run failed: the log's last `ERROR:` line (else its last line),
    and the exit code."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    line = (errors or lines or [""])[-1].removeprefix("ERROR:").strip()
    code = f"exit {returncode}" if isinstance(returncode, int) else ""
    text = "; ".join(part for part in (line, code) if part) or "the run failed"
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def merge_entries(
    queued: list[QueueEntry], failed: list[QueueEntry], runs: dict[str, QueueEntry]
) -> list[QueueEntry]:
    """One entry per stash commit: an info file says more than a reflog (a failed run's
    reason), and a run that is going on is no longer queued."""
    merged: dict[str, QueueEntry] = {}
    for entry in queued:
        merged[entry.rev] = entry
    for entry in failed:
        run = runs.get(entry.rev)
        merged[entry.rev] = run if run is not None and run.state == "failed" else entry
    for rev, run in runs.items():
        if run.state == "running" or rev in merged:
            merged[rev] = run
    return list(merged.values())
