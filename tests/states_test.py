"""Where DVC keeps experiments that did not finish, and how exp-ci lists them (pure)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from exp_ci.model import Baseline, Experiment
from exp_ci.read.states import (
    QueueEntry,
    failure_reason,
    merge_entries,
    parse_stash_entry,
    run_state,
)
from exp_ci.select import with_states

STASH = "8e3f8346891dc793cf832a3026ffb380b2d79fa3"
BASE = "1e2f1978e51b4fc2128ba5eb9d01672c01b450f6"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (f"commit: dvc-exp:{BASE}:{BASE}:q-ok", QueueEntry(STASH, BASE, "q-ok", "queued")),
        (f"dvc-exp:{BASE}:{BASE}:", QueueEntry(STASH, BASE, None, "queued")),  # unnamed
        (f"commit: dvc-exp:{BASE}:{BASE}:q:my-branch", QueueEntry(STASH, BASE, "q", "queued")),
        ("commit: WIP on main", None),  # not DVC's
        (f"commit: dvc-exp-apply:{BASE}:{BASE}:x", None),  # the apply stash, machinery
        (f"commit: dvc-exp:{BASE}:1e2f:short", None),  # a baseline is a full SHA
    ],
)
def test_a_stash_reflog_entry_is_read_as_dvc_parses_it(message, expected):
    assert parse_stash_entry(STASH, message, "queued") == expected


@pytest.mark.parametrize(
    ("info", "temp", "root_exists", "state"),
    [
        ({"location": "dvc-task", "status": 0}, False, False, "running"),  # pending
        ({"location": "dvc-task", "status": 2}, False, False, "running"),
        ({"location": "dvc-task", "status": 3}, False, False, None),  # its ref is the row
        ({"location": "dvc-task", "status": 4}, False, False, "failed"),
        ({"location": "dvc-task", "status": 6}, False, False, None),  # finished, collected
        ({"location": "dvc-task", "status": "2"}, False, False, None),
        ({"location": "tempdir", "status": 1}, False, True, None),  # --temp's stale copy
        ({"location": "tempdir", "status": 2}, True, True, "running"),
        ({"location": "tempdir", "status": 2}, True, False, None),  # its folder is gone
        ({"location": "tempdir", "status": 6}, True, True, None),
    ],
)
def test_an_info_file_is_running_or_failed_as_dvcs_queues_decide(info, temp, root_exists, state):
    assert run_state(info, temp=temp, root_exists=root_exists) == state


@pytest.mark.parametrize(
    ("log", "code", "reason"),
    [
        (
            "Running stage 'train':\n> python train.py\nboom\n"
            "ERROR: failed to reproduce 'train': exited with 1\n",
            255,
            "failed to reproduce 'train': exited with 1; exit 255",
        ),
        ("Traceback ...\nKeyError: 'lr'\n", 1, "KeyError: 'lr'; exit 1"),
        ("", None, "the run failed"),
        ("x" * 1000, None, "x" * 299 + "…"),
    ],
)
def test_a_failure_reads_as_its_last_error_and_exit_code(log, code, reason):
    assert failure_reason(log, code) == reason


def test_an_info_file_says_more_than_a_reflog_and_a_started_run_is_not_queued():
    queued = [
        QueueEntry("a" * 40, BASE, "waits", "queued"),
        QueueEntry("b" * 40, BASE, "goes", "queued"),
    ]
    failed = [QueueEntry("c" * 40, BASE, "broke", "failed")]
    runs = {
        "b" * 40: QueueEntry("b" * 40, BASE, "goes", "running"),
        "c" * 40: QueueEntry("c" * 40, BASE, "broke", "failed", "exit 1"),
        "d" * 40: QueueEntry("d" * 40, BASE, "gone", "failed", "exit 2"),  # removed from the queue
    }
    merged = {e.rev[0]: (e.state, e.reason) for e in merge_entries(queued, failed, runs)}
    assert merged == {"a": ("queued", None), "b": ("running", None), "c": ("failed", "exit 1")}


def _row(rev: str, state: str) -> Experiment:
    return Experiment(rev, BASE, rev, datetime(2026, 1, 1, tzinfo=timezone.utc), state=state)


def test_with_states_keeps_the_baselines_and_the_experiments_in_those_states():
    baseline = Baseline(
        _row(BASE, "success"),
        (_row("ok", "success"), _row("q", "queued"), _row("f", "failed"), _row("r", "running")),
    )
    (kept,) = with_states([baseline], ("failed", "queued"))
    assert kept.commit.rev == BASE
    assert [e.rev for e in kept.experiments] == ["q", "f"]
    assert with_states([baseline], ("success",))[0].experiments == (baseline.experiments[0],)
