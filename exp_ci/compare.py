"""What a pull request changes against its base: the one comparison every output shows (pure).

A pull request's question is "what does this change against its base". The sides are:

- the **base**: the pull request's base commit from the event, else `--against REV`, else
  (outside GitHub Actions) the merge base with the remote's default branch, else (a push
  or a schedule in Actions) the first parent of HEAD;
- the **head**: the commit checked out (on `pull_request`, the merge commit
  actions/checkout makes), the baseline of the experiments run in the job;
- the **workspace**, when its params or metrics differ from HEAD's (after `dvc repro`),
  named `workspace` as DVC names it;
- the **experiments** of HEAD (or of the baselines chosen with `--rev`/`-A`).

Every metric's Δ is against the base, for every row; the params the pull request changed
are listed as `dvc params diff BASE` lists them, and the metrics as `dvc metrics diff BASE`
does. The table, the comment, the job summary, the gate and the action's outputs all take
their numbers from one `Comparison`, so one question has one number everywhere.

Without a base (a local run on the default branch, a root commit) Δ is against each
experiment's own baseline, as `dvc exp show` users expect, for the ranking metric only.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from exp_ci.github_event import payload_value
from exp_ci.model import Baseline, Experiment, MetricSpec
from exp_ci.numbers import finite_number
from exp_ci.resolve import looks_like_sha
from exp_ci.select import flat_values, metric_value, rank


class BaseKind(str, enum.Enum):
    AGAINST = "against"  # --against REV
    EVENT = "event"  # the pull request's base commit from the event
    MERGE_BASE = "merge-base"  # merge base with the remote's default branch
    FIRST_PARENT = "first-parent"  # HEAD^ (a push or schedule in GitHub Actions)
    NONE = "none"


@dataclass(frozen=True)
class BaseChoice:
    """Where the base comes from, decided from the flags and the event alone."""

    kind: BaseKind
    rev: str | None = None  # what to resolve (a SHA, a ref, "HEAD^")
    name: str | None = None  # how users know it: the base branch of the pull request
    how: str = ""  # for messages: "the pull request's base (pull_request event)"


# Events whose payload carries `pull_request.base.sha`.
_PULL_REQUEST_EVENTS = (
    "pull_request",
    "pull_request_target",
    "pull_request_review",
    "pull_request_review_comment",
)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def pull_request_side(payload: Mapping[str, Any], side: str) -> tuple[str | None, str | None]:
    """(sha, ref) of `pull_request.<side>` in an event payload, or Nones when it has none.

    workflow_run events list their pull requests instead (empty for forks).
    """
    for node in (
        payload_value(payload, "pull_request"),
        payload_value(payload, "workflow_run", "pull_requests", 0),
    ):
        sha = _text(payload_value(node, side, "sha")) if isinstance(node, Mapping) else None
        if sha:
            return sha, _text(payload_value(node, side, "ref"))
    return None, None


def choose_base(
    against: str | None,
    event_name: str | None,
    payload: Mapping[str, Any],
    *,
    in_actions: bool,
) -> BaseChoice:
    """The base of the comparison, in the order the design gives (see the module doc)."""
    if against:
        named = None if looks_like_sha(against) else against  # a branch, tag or HEAD~1
        return BaseChoice(BaseKind.AGAINST, against, named, f"--against {against}")
    sha, ref = pull_request_side(payload, "base")
    if sha:
        return BaseChoice(BaseKind.EVENT, sha, ref, f"the pull request's base ({event_name} event)")
    if in_actions:
        if event_name in _PULL_REQUEST_EVENTS:
            return BaseChoice(BaseKind.NONE, how=f"the {event_name} event has no base commit")
        return BaseChoice(
            BaseKind.FIRST_PARENT, "HEAD^", None, f"the first parent of HEAD ({event_name} run)"
        )
    return BaseChoice(BaseKind.MERGE_BASE, how="the merge base with the default branch")


@dataclass(frozen=True)
class Base:
    row: Experiment  # the base commit, read as a row and named as users know it
    how: str


@dataclass(frozen=True)
class Change:
    """One param or metric that differs between the base and the pull request.

    `old`/`new` are None where a side does not have it, as DVC's `diff --json` writes null.
    """

    file: str
    key: str
    old: Any
    new: Any

    @property
    def full_name(self) -> str:
        return f"{self.file}:{self.key}"

    @property
    def diff(self) -> float | None:
        """new - old when both are numbers (DVC's `diff` field of `metrics diff`)."""
        old, new = finite_number(self.old), finite_number(self.new)
        return None if old is None or new is None else new - old


def changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[Change, ...]:
    """Keys whose value differs, added or removed (`file:key` -> value maps), in order.

    Equality is Python's, as DVC's diff uses it: a key missing on one side equals null.
    """
    found = []
    for full in dict.fromkeys([*old, *new]):
        before, after = old.get(full), new.get(full)
        if before != after:
            file, _, key = full.partition(":")
            found.append(Change(file, key, before, after))
    return tuple(found)


def param_changes(base: Experiment, pull_request: Experiment) -> tuple[Change, ...]:
    """As `dvc params diff BASE` lists them: changed, added and removed params."""
    return changes(flat_values(base.params), flat_values(pull_request.params))


def differs(workspace: Experiment, head: Experiment) -> bool:
    """Whether the files on disk hold other params or metrics than HEAD's commit."""
    return (
        flat_values(workspace.params) != flat_values(head.params)
        or flat_values(workspace.metrics) != flat_values(head.metrics)
        or workspace.file_errors() != head.file_errors()
    )


def metric_deltas(row: Experiment, reference: Experiment) -> dict[str, float]:
    """`file:key` -> row - reference for every metric both have as a finite number."""
    ours, theirs = flat_values(row.metrics), flat_values(reference.metrics)
    deltas = {}
    for name, value in ours.items():
        mine, base = finite_number(value), finite_number(theirs.get(name))
        if mine is not None and base is not None:
            deltas[name] = mine - base
    return deltas


@dataclass(frozen=True)
class Subject:
    """The row a pull request is judged by (the gate, the action's `delta` output)."""

    row: Experiment
    why: str


@dataclass(frozen=True)
class Comparison:
    base: Base | None
    head: Experiment | None  # HEAD's commit (None only for a table of no baselines)
    workspace: Experiment | None  # only when it differs from HEAD
    baselines: tuple[Baseline, ...]  # the selected baselines with their experiments
    note: str | None = None  # why there is no base (the gate says it)
    note_in_table: bool = True  # False for the usual local case: Δ against each baseline

    @property
    def pull_request(self) -> Experiment | None:
        """The pull request's own result: the workspace after `dvc repro`, else HEAD."""
        return self.workspace or self.head

    def rows(self) -> list[Experiment]:
        extra = [r for r in (self.base.row if self.base else None, self.workspace) if r]
        return [*extra, *(row for baseline in self.baselines for row in baseline.rows())]

    def experiments(self) -> list[Experiment]:
        return [e for baseline in self.baselines for e in baseline.experiments]

    @cached_property
    def _baselines_by_rev(self) -> dict[str, Experiment]:
        rows = [b.commit for b in self.baselines] + ([self.head] if self.head else [])
        return {row.rev: row for row in rows}

    def reference_for(self, row: Experiment) -> Experiment | None:
        """What a row's Δ is against: the base, else (no base) the row's own baseline."""
        if self.base is not None:
            return None if row.rev == self.base.row.rev else self.base.row
        if row.is_baseline:
            return None
        return self._baselines_by_rev.get(row.baseline_rev)

    def params_changed(self) -> tuple[Change, ...]:
        new = self.pull_request
        if self.base is None or new is None:
            return ()
        return param_changes(self.base.row, new)


def choose_subject(
    comparison: Comparison, metric: MetricSpec | None, explicit: Experiment | None = None
) -> Subject | None:
    """`--rev` when given; else the workspace when `dvc repro` changed it; else the best
    experiment of the run by the metric; else HEAD. The choice is always said."""
    if explicit is not None:
        return Subject(explicit, "chosen with --rev")
    if comparison.workspace is not None:
        return Subject(comparison.workspace, "the workspace differs from HEAD (dvc repro)")
    if metric is not None:
        ranking = rank(comparison.baselines, metric)
        if ranking:
            return Subject(ranking[0].experiment, f"the best experiment by {metric.key}")
    if comparison.head is None:
        return None
    return Subject(comparison.head, "HEAD (no experiments and an unchanged workspace)")


def subject_delta(comparison: Comparison, subject: Subject, metric: MetricSpec) -> float | None:
    """The subject's metric minus the base's: the number the gate and the comment show."""
    reference = comparison.reference_for(subject.row)
    if reference is None:
        return None
    value, base = metric_value(subject.row, metric), metric_value(reference, metric)
    return None if value is None or base is None else value - base
