"""Columns, metric names, ranking, winners and deltas (pure: no Git, no DVC, no I/O).

Names follow `dvc exp show`: a column is its dotted key when that key is unique across
all params and metrics files shown, else `file:key`. `--metric` accepts the short name
when it is unique and the full `file:key` always.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from exp_ci.errors import UserError
from exp_ci.model import Baseline, Direction, Experiment, FileValues, MetricSpec
from exp_ci.numbers import finite_number
from exp_ci.read.formats import flatten

# Header names DVC reserves in its table; a key equal to one of them is always qualified.
RESERVED_HEADERS = ("Experiment", "rev", "typ", "Created", "parent", "State", "Executor")

Kind = Literal["metrics", "params"]


@dataclass(frozen=True)
class Column:
    kind: Kind
    file: str
    key: str
    label: str

    @property
    def full_name(self) -> str:
        return f"{self.file}:{self.key}"


def flat_values(files: dict[str, FileValues] | Any) -> dict[str, Any]:
    """`file:dotted.key` -> value for every readable file of one row."""
    values: dict[str, Any] = {}
    for path, file in files.items():
        if file.data is None:
            continue
        if isinstance(file.data, dict):
            values.update({f"{path}:{k}": v for k, v in flatten(file.data).items()})
        else:
            values[f"{path}:{path}"] = file.data
    return values


def columns_of(rows: Iterable[Experiment]) -> list[Column]:
    """Metrics columns then params columns, in first-seen order, named as DVC names them."""
    seen: dict[Kind, dict[tuple[str, str], None]] = {"metrics": {}, "params": {}}
    for row in rows:
        for kind in ("metrics", "params"):
            for full in flat_values(getattr(row, kind)):
                file, _, key = full.partition(":")
                seen[kind][(file, key)] = None
    counts = Counter(key for kind in seen.values() for _, key in kind)
    counts.update(RESERVED_HEADERS)
    return [
        Column(kind, file, key, key if counts[key] == 1 else f"{file}:{key}")
        for kind in ("metrics", "params")
        for file, key in seen[kind]
    ]


def resolve_column(name: str, columns: Sequence[Column], kind: Kind | None = None) -> Column:
    """The column a user means by `name`: its full `file:key`, its label, or a unique key."""
    candidates = [c for c in columns if kind is None or c.kind == kind]
    for matches in (
        [c for c in candidates if c.full_name == name],
        [c for c in candidates if c.label == name],
        [c for c in candidates if c.key == name],
    ):
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            listed = ", ".join(c.full_name for c in matches)
            raise UserError(f"'{name}' is ambiguous: it is {listed}. Name it in full as FILE:KEY.")
    what = "metric" if kind == "metrics" else "column"
    known = ", ".join(c.label for c in candidates) or "none"
    raise UserError(
        f"unknown {what} '{name}'. The experiments shown have these {what}s: {known}. "
        "Use one of them (FILE:KEY always works)."
    )


def metric_spec(name: str, direction: Direction, rows: Iterable[Experiment]) -> MetricSpec:
    column = resolve_column(name, columns_of(rows), kind="metrics")
    return MetricSpec(column.file, column.key, direction)


def metric_value(row: Experiment, metric: MetricSpec) -> float | None:
    """The row's metric as a number, or None when missing, unreadable or not numeric."""
    return finite_number(flat_values(row.metrics).get(metric.full_name))


@dataclass(frozen=True)
class Ranked:
    experiment: Experiment
    value: float
    baseline_value: float | None

    @property
    def delta(self) -> float | None:
        if self.baseline_value is None:
            return None
        return self.value - self.baseline_value


def improvement(delta: float, direction: Direction) -> float:
    """How much better (positive) or worse (negative) a change is in the metric's direction."""
    return delta if direction is Direction.MAX else -delta


def at_least(gain: float, threshold: float) -> bool:
    """`gain >= threshold`, forgiving float noise: 0.6 - 0.5 is an improvement of 0.1."""
    return gain >= threshold or math.isclose(gain, threshold, rel_tol=1e-9, abs_tol=1e-12)


def with_states(baselines: Sequence[Baseline], states: Sequence[str]) -> list[Baseline]:
    """The baselines with only their experiments in one of `states` (baselines stay)."""
    return [
        replace(b, experiments=tuple(e for e in b.experiments if e.state in states))
        for b in baselines
    ]


def rank(baselines: Sequence[Baseline], metric: MetricSpec) -> list[Ranked]:
    """Experiments with a numeric metric, best first; ties go to the earlier experiment."""
    ranked = []
    for baseline in baselines:
        baseline_value = metric_value(baseline.commit, metric)
        for experiment in baseline.experiments:
            value = metric_value(experiment, metric)
            if value is not None and experiment.state == "success":
                ranked.append(Ranked(experiment, value, baseline_value))
    sign = -1 if metric.direction is Direction.MAX else 1
    return sorted(ranked, key=lambda r: (sign * r.value, r.experiment.created, r.experiment.rev))


def best(
    baselines: Sequence[Baseline],
    metric: MetricSpec,
    top: int = 1,
    min_improvement: float | None = None,
) -> list[Ranked]:
    """The `top` winners; with `min_improvement`, only those that beat their baseline by it."""
    ranked = rank(baselines, metric)
    if min_improvement is not None:
        ranked = [
            r
            for r in ranked
            if r.delta is not None
            and at_least(improvement(r.delta, metric.direction), min_improvement)
        ]
    return ranked[:top]
