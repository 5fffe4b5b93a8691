"""The comparison table as data: which rows, which columns, the winner and the deltas.

Every output format (md, plain, csv, json) renders one `Table`, so they always agree.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from exp_ci.errors import UserError
from exp_ci.model import Baseline, Direction, Experiment, MetricSpec
from exp_ci.numbers import finite_number
from exp_ci.select import (
    Column,
    columns_of,
    flat_values,
    metric_value,
    rank,
    resolve_column,
)


@dataclass(frozen=True)
class TableOptions:
    metric: MetricSpec | None = None
    params: tuple[str, ...] = ()  # include globs; empty = all
    metrics: tuple[str, ...] = ()
    only_changed: bool = False
    sort_by: str | None = None
    sort_direction: Direction = Direction.MAX
    top: int | None = None
    precision: int = 5


@dataclass(frozen=True)
class TableRow:
    experiment: Experiment
    values: dict[str, Any]  # full column name -> value (missing keys are missing values)
    errors: dict[str, str]  # file path -> why it could not be read
    is_last_child: bool = False
    winner: bool = False
    delta: float | None = None


@dataclass(frozen=True)
class Table:
    columns: tuple[Column, ...]
    rows: tuple[TableRow, ...]
    metric: MetricSpec | None
    precision: int
    hidden_experiments: int = 0  # dropped by --top

    @property
    def winner(self) -> TableRow | None:
        return next((row for row in self.rows if row.winner), None)


def _matches(column: Column, globs: Sequence[str]) -> bool:
    names = (column.label, column.full_name, column.key)
    return any(fnmatch.fnmatchcase(name, glob) for glob in globs for name in names)


def _row_values(row: Experiment) -> dict[str, Any]:
    return {**flat_values(row.metrics), **flat_values(row.params)}


def build_table(baselines: Sequence[Baseline], options: TableOptions) -> Table:
    if options.top is not None and options.top < 1:
        raise UserError(f"--top must be 1 or more (got {options.top}); leave it out to show all.")
    all_rows = [row for baseline in baselines for row in baseline.rows()]
    columns = columns_of(all_rows)
    sort_column = resolve_column(options.sort_by, columns) if options.sort_by else None

    winner_rev = None
    kept: dict[str, int] = {}
    if options.metric is not None:
        ranking = rank(baselines, options.metric)
        if ranking:
            winner_rev = ranking[0].experiment.rev
        kept = {r.experiment.rev: i for i, r in enumerate(ranking)}

    rows: list[TableRow] = []
    hidden = 0
    for baseline in baselines:
        experiments = list(baseline.experiments)
        if sort_column is not None:
            experiments = _sorted_by(experiments, sort_column, options.sort_direction)
        elif options.metric is not None and options.top is not None:
            experiments.sort(key=lambda e: kept.get(e.rev, len(kept)))
        if options.top is not None:
            hidden += max(0, len(experiments) - options.top)
            experiments = experiments[: options.top]
        baseline_value = metric_value(baseline.commit, options.metric) if options.metric else None
        rows.append(_table_row(baseline.commit))
        for i, experiment in enumerate(experiments):
            delta = None
            if options.metric is not None:
                value = metric_value(experiment, options.metric)
                if value is not None and baseline_value is not None:
                    delta = value - baseline_value
            rows.append(
                _table_row(
                    experiment,
                    is_last_child=i == len(experiments) - 1,
                    winner=experiment.rev == winner_rev,
                    delta=delta,
                )
            )

    shown = [c for c in columns if _included(c, options)]
    if options.only_changed:
        shown = [c for c in shown if _changes(c, rows) or _is_metric(c, options.metric)]
    return Table(tuple(shown), tuple(rows), options.metric, options.precision, hidden)


def _table_row(
    experiment: Experiment, *, is_last_child: bool = False, winner: bool = False, delta=None
) -> TableRow:
    return TableRow(
        experiment, _row_values(experiment), experiment.file_errors(), is_last_child, winner, delta
    )


def _included(column: Column, options: TableOptions) -> bool:
    if _is_metric(column, options.metric):
        return True
    globs = options.metrics if column.kind == "metrics" else options.params
    return not globs or _matches(column, globs)


def _is_metric(column: Column, metric: MetricSpec | None) -> bool:
    return metric is not None and column.kind == "metrics" and column.full_name == metric.full_name


def _changes(column: Column, rows: Sequence[TableRow]) -> bool:
    values = [repr(row.values.get(column.full_name)) for row in rows]
    return len(set(values)) > 1


def _sorted_by(
    experiments: list[Experiment], column: Column, direction: Direction
) -> list[Experiment]:
    def key(experiment: Experiment) -> tuple[bool, Any]:
        value = finite_number(_row_values(experiment).get(column.full_name))
        if value is None:
            return (True, 0.0)
        return (False, -value if direction is Direction.MAX else value)

    return sorted(experiments, key=key)
