"""One `Table`, four renderings: GitHub markdown, plain text, CSV and JSON.

Text tables use tabulate; CSV and JSON use the standard library. The JSON schema is a
stable interface for machines (version 1): baselines with their experiments, params and
metrics keyed by `file:dotted.key`, and `state` and `error` for every row.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from exp_ci.model import Experiment
from exp_ci.render.charts import Pictures, spark_cell, trend_note
from exp_ci.render.markdown import escape
from exp_ci.render.table import Table, TableRow

MISSING = "-"
UNREADABLE = "!"
WINNER_MARK = "★"
JSON_VERSION = 1


def format_value(value: Any, precision: int) -> str:
    if isinstance(value, float):
        return format(value, f".{precision}g")
    return str(value)


def format_delta(delta: float | None, precision: int) -> str:
    if delta is None:
        return MISSING
    return "0" if delta == 0 else format(delta, f"+.{precision}g")


def format_created(created: datetime, today: date | None = None) -> str:
    """As `dvc exp show` prints it: the time for today's rows, else the date (local time)."""
    local = created.astimezone()
    if local.date() == (today or date.today()):
        return local.strftime("%I:%M %p")
    return local.strftime("%b %d, %Y")


def _cell(row: TableRow, file: str, key: str, precision: int) -> str:
    value = row.values.get(f"{file}:{key}")
    if value is not None:
        return format_value(value, precision)
    if file in row.errors or "" in row.errors:
        return UNREADABLE
    return MISSING


def _experiment_label(row: TableRow) -> str:
    if row.experiment.is_baseline:
        return row.experiment.label
    branch = "└── " if row.is_last_child else "├── "
    return branch + row.experiment.label + (f" {WINNER_MARK}" if row.winner else "")


def _headers(table: Table) -> list[str]:
    headers = ["Experiment", "Rev", "Created"]
    for column in table.columns:
        headers.append(column.label)
        if table.metric and column.kind == "metrics" and column.full_name == table.metric.full_name:
            headers.append(f"Δ {column.label}")
    return headers


def _text_rows(table: Table, label: Callable[[TableRow], str]) -> list[list[str]]:
    rows = []
    for row in table.rows:
        cells = [label(row), row.experiment.rev[:7], format_created(row.experiment.created)]
        for column in table.columns:
            cells.append(_cell(row, column.file, column.key, table.precision))
            if (
                table.metric
                and column.kind == "metrics"
                and column.full_name == table.metric.full_name
            ):
                cells.append(
                    "" if row.experiment.is_baseline else format_delta(row.delta, table.precision)
                )
        rows.append(cells)
    return rows


def _notes(table: Table) -> list[str]:
    notes = []
    winner = table.winner
    if winner is not None and table.metric is not None:
        value = format_value(winner.values.get(table.metric.full_name), table.precision)
        against = ""
        if winner.delta is not None:
            against = f", {format_delta(winner.delta, table.precision)} against its baseline"
        notes.append(
            f"{WINNER_MARK} best by {table.metric.key} ({table.metric.direction.value}): "
            f"{winner.experiment.label} = {value}{against}"
        )
    elif table.metric is not None:
        notes.append(f"no experiment has a numeric value for {table.metric.full_name}")
    if table.hidden_experiments:
        notes.append(f"{table.hidden_experiments} more experiment(s) not shown (--top)")
    for row in table.rows:
        for path, message in row.errors.items():
            where = f"{path}: " if path and not message.startswith(path) else ""
            notes.append(f"{UNREADABLE} {row.experiment.label}: {where}{message}")
    return notes


def render_plain(table: Table) -> str:
    from tabulate import tabulate

    text = tabulate(
        _text_rows(table, _experiment_label),
        headers=_headers(table),
        tablefmt="simple",
        disable_numparse=True,
    )
    notes = _notes(table)
    return text + "\n" + ("\n" + "\n".join(notes) + "\n" if notes else "")


def render_markdown(table: Table, pictures: Pictures | None = None) -> str:
    """The table in GitHub markdown; `pictures` add trend sparklines, notes and charts."""
    from tabulate import tabulate

    def label(row: TableRow) -> str:
        text = escape(_experiment_label(row))
        return f"**{text}**" if row.winner else text

    rows = [
        [label(row), *map(escape, cells[1:])]
        for row, cells in zip(table.rows, _text_rows(table, _experiment_label), strict=True)
    ]
    headers = _headers(table)
    extra: list[str] = []
    if pictures is not None:
        extra = _picture_notes(table, pictures)
        _add_sparklines(table, headers, rows, pictures)
    text = tabulate(
        rows, headers=[escape(h) for h in headers], tablefmt="github", disable_numparse=True
    )
    notes = [f"- {escape(n)}" for n in _notes(table)] + [f"- {n}" for n in extra]
    text += "\n" + ("\n" + "\n".join(notes) + "\n" if notes else "")
    if pictures is not None and pictures.charts:
        text += "\n" + "\n\n".join(pictures.charts) + "\n"
    return text


def _add_sparklines(
    table: Table, headers: list[str], rows: list[list[str]], pictures: Pictures
) -> None:
    """The trend of the metric beside each baseline's value (the metric column's cell)."""
    if table.metric is None or not pictures.trends:
        return
    label = next((c.label for c in table.columns if c.full_name == table.metric.full_name), None)
    if label is None or label not in headers:
        return
    column = headers.index(label)
    for row, cells in zip(table.rows, rows, strict=True):
        trend = pictures.trends.get(row.experiment.rev)
        if row.experiment.is_baseline and trend is not None:
            cells[column] = spark_cell(cells[column], trend)


def _picture_notes(table: Table, pictures: Pictures) -> list[str]:
    """Markdown lines: what each sparkline shows, then why a picture is missing."""
    lines = []
    if table.metric is not None:
        label = next(
            (c.label for c in table.columns if c.full_name == table.metric.full_name),
            table.metric.key,
        )
        for row in table.rows:
            trend = pictures.trends.get(row.experiment.rev)
            if row.experiment.is_baseline and trend is not None:
                lines.append(trend_note(trend, row.experiment.label, label, table.precision))
    return lines + list(pictures.notes)


def render_csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["Experiment", "rev", "baseline", "created", "state", "error"]
    header += [column.label for column in table.columns]
    if table.metric:
        header += ["delta", "winner"]
    writer.writerow(header)
    for row in table.rows:
        experiment = row.experiment
        cells = [
            experiment.label,
            experiment.rev,
            experiment.baseline_rev,
            experiment.created.isoformat(),
            experiment.state,
            "; ".join(row.errors.values()),
        ]
        cells += [_csv_value(row.values.get(column.full_name)) for column in table.columns]
        if table.metric:
            cells += [_csv_value(row.delta), str(row.winner).lower()]
        writer.writerow(cells)
    return buffer.getvalue()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def _json_row(row: TableRow, table: Table) -> dict[str, Any]:
    experiment: Experiment = row.experiment
    kinds = {column.full_name: column.kind for column in table.columns}
    entry: dict[str, Any] = {
        "rev": experiment.rev,
        "name": experiment.name,
    }
    if not experiment.is_baseline:
        entry["baseline"] = experiment.baseline_rev
        entry["ref"] = experiment.ref
    entry.update(
        {
            "created": experiment.created.isoformat(),
            "state": experiment.state,
            "error": row.errors or None,
            "metrics": {k: v for k, v in row.values.items() if kinds.get(k) == "metrics"},
            "params": {k: v for k, v in row.values.items() if kinds.get(k) == "params"},
        }
    )
    if table.metric and not experiment.is_baseline:
        entry["delta"] = row.delta
        entry["winner"] = row.winner
    return entry


def render_json(table: Table) -> str:
    baselines: list[dict[str, Any]] = []
    for row in table.rows:
        if row.experiment.is_baseline:
            baselines.append({**_json_row(row, table), "experiments": []})
        else:
            baselines[-1]["experiments"].append(_json_row(row, table))
    document = {
        "version": JSON_VERSION,
        "metric": None
        if table.metric is None
        else {"name": table.metric.full_name, "direction": table.metric.direction.value},
        "baselines": baselines,
        "hidden_experiments": table.hidden_experiments,
    }
    return json.dumps(document, indent=2, default=str) + "\n"


RENDERERS: dict[str, Callable[[Table], str]] = {
    "md": render_markdown,
    "plain": render_plain,
    "csv": render_csv,
    "json": render_json,
}
