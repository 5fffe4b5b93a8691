"""The comparison table as data: which rows, which columns, the winner and the deltas.

Every output format (md, plain, csv, json) renders one `Table`, so they always agree.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from exp_ci.compare import Change, Comparison, Subject, choose_subject, metric_deltas
from exp_ci.compare import subject_delta as compare_subject_delta
from exp_ci.limits import MAX_COLUMNS
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


# A row's part in the comparison: the base (when it is none of the baselines shown), the
# workspace, HEAD's commit, another baseline (--rev, -A), or an experiment under its baseline.
ROLES = ("base", "workspace", "head", "baseline", "experiment")


@dataclass(frozen=True)
class TableRow:
    experiment: Experiment
    values: dict[str, Any]  # full column name -> value (missing keys are missing values)
    errors: dict[str, str]  # file path -> why it could not be read
    is_last_child: bool = False
    winner: bool = False
    delta: float | None = None  # the ranking metric's Δ (one of `deltas`)
    deltas: Mapping[str, float] = field(default_factory=dict)  # metric full name -> Δ
    role: str = "experiment"
    compared: bool = False  # the row has something to be compared with (its Δ cells)
    is_base: bool = False  # the base commit's row (its own "base" row, or HEAD's when equal)

    @property
    def is_experiment(self) -> bool:
        return self.role == "experiment"

    @property
    def is_commit(self) -> bool:
        """A commit's own row (base, HEAD, another baseline): not the workspace, no experiment."""
        return self.role in ("base", "head", "baseline")


@dataclass(frozen=True)
class Table:
    columns: tuple[Column, ...]
    rows: tuple[TableRow, ...]
    metric: MetricSpec | None
    precision: int
    hidden_experiments: int = 0  # dropped by --top
    delta_columns: tuple[str, ...] = ()  # full names of the metrics that get a Δ column
    against: str | None = None  # what Δ is against ("main (1a2b3c4)"); None: each baseline
    against_how: str = ""  # how that base was chosen, for the note
    params_changed: tuple[Change, ...] = ()  # base -> the pull request, as `dvc params diff`
    pull_request_label: str = ""  # the new side of params_changed: workspace or HEAD
    subject: Subject | None = None  # the row the pull request is judged by
    subject_delta: float | None = None  # its ranking metric against the base
    notes: tuple[str, ...] = ()  # plain text, untrusted parts included: renderers escape
    comparison: Comparison | None = None  # what the table was built from (for the gate)

    @property
    def winner(self) -> TableRow | None:
        return next((row for row in self.rows if row.winner), None)


def _matches(column: Column, globs: Sequence[str]) -> bool:
    names = (column.label, column.full_name, column.key)
    return any(fnmatch.fnmatchcase(name, glob) for glob in globs for name in names)


def _row_values(row: Experiment) -> dict[str, Any]:
    return {**flat_values(row.metrics), **flat_values(row.params)}


def build_table(
    baselines: Sequence[Baseline],
    options: TableOptions,
    comparison: Comparison | None = None,
    explicit_subject: Experiment | None = None,
) -> Table:
    """The table of `comparison` (or of plain baselines: Δ against each baseline)."""
    if options.top is not None and options.top < 1:
        raise ValueError(f"top must be 1 or more, got {options.top}")  # --top is positive_int
    if comparison is None:
        head = baselines[0].commit if baselines else None
        comparison = Comparison(None, head, None, tuple(baselines))
    baselines = comparison.baselines
    everything = comparison.rows()
    columns = columns_of(everything)
    sort_column = resolve_column(options.sort_by, columns) if options.sort_by else None

    winner_rev = None
    kept: dict[str, int] = {}
    if options.metric is not None:
        ranking = rank(baselines, options.metric)
        if ranking:
            winner_rev = ranking[0].experiment.rev
        kept = {r.experiment.rev: i for i, r in enumerate(ranking)}

    base = comparison.base.row if comparison.base else None
    metric_names = [c.full_name for c in columns if c.kind == "metrics"]

    def row_of(experiment: Experiment, role: str, **extra: Any) -> TableRow:
        is_base = base is not None and experiment.rev == base.rev and role != "workspace"
        if is_base and base is not None:  # HEAD (or a baseline) is the base: one name for it
            experiment = replace(experiment, name=base.name)
        reference = comparison.reference_for(experiment)
        deltas: dict[str, float] = {}
        if reference is not None:
            deltas = metric_deltas(experiment, reference)
            if base is None:  # Δ against each baseline: the ranking metric only, as before
                wanted = options.metric.full_name if options.metric else None
                deltas = {k: v for k, v in deltas.items() if k == wanted}
        delta = deltas.get(options.metric.full_name) if options.metric else None
        return TableRow(
            experiment,
            _row_values(experiment),
            experiment.file_errors(),
            delta=delta,
            deltas=deltas,
            role=role,
            is_base=is_base,
            compared=reference is not None and (base is not None or options.metric is not None),
            **extra,
        )

    rows: list[TableRow] = []
    if base is not None and all(b.commit.rev != base.rev for b in baselines):
        rows.append(row_of(base, "base"))
    workspace_placed = False
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
        is_head = comparison.head is not None and baseline.commit.rev == comparison.head.rev
        if is_head and comparison.workspace is not None:
            rows.append(row_of(comparison.workspace, "workspace"))
            workspace_placed = True
        rows.append(row_of(baseline.commit, "head" if is_head else "baseline"))
        for i, experiment in enumerate(experiments):
            rows.append(
                row_of(
                    experiment,
                    "experiment",
                    is_last_child=i == len(experiments) - 1,
                    winner=experiment.rev == winner_rev,
                )
            )
    if comparison.workspace is not None and not workspace_placed:
        rows.insert(
            1 if rows and rows[0].role == "base" else 0, row_of(comparison.workspace, "workspace")
        )

    shown = [c for c in columns if _included(c, options)]
    if options.only_changed:
        shown = [c for c in shown if _changes(c, rows) or _is_metric(c, options.metric)]
    if len(shown) > MAX_COLUMNS:
        left_out = len(shown) - MAX_COLUMNS
        kept_metric = [c for c in shown[MAX_COLUMNS:] if _is_metric(c, options.metric)]
        shown = shown[: MAX_COLUMNS - len(kept_metric)] + kept_metric
        extra_notes = [
            f"{left_out} more params and metrics columns not shown (at most {MAX_COLUMNS}); "
            "choose columns with --params and --metrics"
        ]
    else:
        extra_notes = []
    shown_names = {c.full_name for c in shown}
    delta_columns: tuple[str, ...] = ()
    if base is not None:
        delta_columns = tuple(n for n in metric_names if n in shown_names)
    elif options.metric is not None:
        delta_columns = (options.metric.full_name,)

    notes: list[str] = list(extra_notes)
    if comparison.note and comparison.note_in_table and options.metric is not None:
        notes.append(
            f"Δ against each baseline: no base ({comparison.note}); --against REV sets one"
        )
    if (
        base is not None
        and options.metric is not None
        and metric_value(base, options.metric) is None
    ):
        why = base.file_errors().get(options.metric.file, "it has no numeric value there")
        notes.append(
            f"the base {_base_label(base)} has no {options.metric.full_name} ({why}): "
            f"Δ {options.metric.key} cannot be computed"
        )
    subject = choose_subject(comparison, options.metric, explicit_subject)
    subject_delta = None
    if subject is not None and options.metric is not None:
        subject_delta = compare_subject_delta(comparison, subject, options.metric)
    return Table(
        tuple(shown),
        tuple(rows),
        options.metric,
        options.precision,
        hidden,
        delta_columns=delta_columns,
        against=_base_label(comparison.base.row) if comparison.base else None,
        against_how=comparison.base.how if comparison.base else "",
        params_changed=comparison.params_changed(),
        pull_request_label=comparison.pull_request.label if comparison.pull_request else "",
        subject=subject,
        subject_delta=subject_delta,
        notes=tuple(notes),
        comparison=comparison,
    )


def _base_label(row: Experiment) -> str:
    if row.name and row.name != row.rev[:7]:
        return f"{row.name} ({row.rev[:7]})"
    return row.rev[:7]


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
