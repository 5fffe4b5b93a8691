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
from typing import TYPE_CHECKING, Any

from exp_ci.limits import shorten
from exp_ci.model import Experiment

if TYPE_CHECKING:
    from exp_ci.gate import Allowance, Judgement
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
        return shorten(format_value(value, precision))
    if file in row.errors or "" in row.errors:
        return UNREADABLE
    return MISSING


def _experiment_label(row: TableRow) -> str:
    label = shorten(row.experiment.label)
    if row.is_base:
        return f"{label} (base)"
    if not row.is_experiment:
        return label
    branch = "└── " if row.is_last_child else "├── "
    state = "" if row.experiment.state == "success" else f" ({row.experiment.state})"
    return branch + label + state + (f" {WINNER_MARK}" if row.winner else "")


def _rev_and_created(row: TableRow) -> list[str]:
    if row.role == "workspace":  # as `dvc exp show` draws its workspace row
        return [MISSING, MISSING]
    return [row.experiment.rev[:7], format_created(row.experiment.created)]


def _headers(table: Table) -> list[str]:
    headers = ["Experiment", "Rev", "Created"]
    for column in table.columns:
        headers.append(column.label)
        if column.full_name in table.delta_columns:
            headers.append(f"Δ {column.label}")
    return headers


def _text_rows(table: Table, label: Callable[[TableRow], str]) -> list[list[str]]:
    rows = []
    for row in table.rows:
        cells = [label(row), *_rev_and_created(row)]
        for column in table.columns:
            cells.append(_cell(row, column.file, column.key, table.precision))
            if column.full_name in table.delta_columns:
                delta = row.deltas.get(column.full_name)
                cells.append(format_delta(delta, table.precision) if row.compared else "")
        rows.append(cells)
    return rows


def _notes(table: Table) -> list[str]:
    """Plain-text notes under the table (untrusted parts included: markdown escapes them)."""
    notes = []
    if table.against is not None:
        notes.append(f"Δ against {table.against}: {table.against_how}")
    experiments = [row for row in table.rows if row.is_experiment]
    winner = table.winner
    if winner is not None and table.metric is not None:
        value = format_value(winner.values.get(table.metric.full_name), table.precision)
        against = ""
        if winner.delta is not None:
            reference = table.against or "its baseline"
            against = f", {format_delta(winner.delta, table.precision)} against {reference}"
        notes.append(
            f"{WINNER_MARK} best by {table.metric.key} ({table.metric.direction.value}): "
            f"{winner.experiment.label} = {value}{against}"
        )
    elif table.metric is not None and experiments:
        notes.append(f"no experiment has a numeric value for {table.metric.full_name}")
    if not experiments and not table.hidden_experiments:
        heads = [row.experiment.label for row in table.rows if row.role in ("head", "baseline")]
        notes.append(
            f"no experiments of {', '.join(heads) or 'HEAD'}: the table compares commits "
            "(run some with exp-ci run, or fetch them)"
        )
    if table.hidden_experiments:
        notes.append(f"{table.hidden_experiments} more experiment(s) not shown (--top)")
    notes.extend(table.notes)
    for row in table.rows:
        if row.experiment.reason:
            notes.append(f"{row.experiment.label} failed: {row.experiment.reason}")
        for path, message in row.errors.items():
            where = f"{path}: " if path and not message.startswith(path) else ""
            notes.append(f"{UNREADABLE} {row.experiment.label}: {where}{message}")
    return notes


def _change_rows(table: Table) -> list[list[str]]:
    labels = {column.full_name: column.label for column in table.columns}
    rows = []
    for change in table.params_changed:
        name = labels.get(change.full_name) or change.full_name
        old, new = (
            MISSING if value is None else shorten(format_value(value, table.precision))
            for value in (change.old, change.new)
        )
        rows.append([shorten(name), old, new])
    return rows


def _change_headers(table: Table) -> list[str]:
    return ["Param", table.against or "base", table.pull_request_label or "pull request"]


def _render_changes(table: Table, *, markdown: bool) -> str:
    """The params the pull request changed, as `dvc params diff BASE` lists them."""
    from tabulate import tabulate

    if table.against is None:
        return ""
    against = escape(table.against) if markdown else table.against
    if not table.params_changed:
        return (
            f"_No params changed against {against}._\n"
            if markdown
            else (f"No params changed against {against}.\n")
        )
    cell = escape if markdown else str
    text = tabulate(
        [[cell(c) for c in row] for row in _change_rows(table)],
        headers=[cell(h) for h in _change_headers(table)],
        tablefmt="github" if markdown else "simple",
        disable_numparse=True,
    )
    if markdown:
        return f"**Params changed** against {against}:\n\n{text}\n"
    return f"Params changed against {against}:\n{text}\n"


def render_changes_plain(table: Table) -> str:
    return _render_changes(table, markdown=False)


def render_changes_markdown(table: Table) -> str:
    """The params the pull request changed, escaped: a compact table under the comparison."""
    return _render_changes(table, markdown=True)


def render_judgement_markdown(judgement: Judgement, allowance: Allowance, precision: int) -> str:
    """The gate's verdict as its own block: pass or fail, both values, the allowance."""
    subject = judgement.subject
    verdict = judgement.verdict
    judged = f"Judged: {escape(subject.row.label)} ({escape(subject.why)})."
    if verdict is None:
        return f"#### Gate: not judged\n\n{escape(judgement.problem or 'no verdict')}. {judged}\n"
    base = judgement.base
    state = "✅ pass" if verdict.passed else "❌ fail"
    metric = escape(verdict.metric.key)
    change = format_delta(verdict.current - verdict.base, precision)
    return (
        f"#### Gate: {state}\n\n"
        f"| | {escape(base.label) if base else 'base'} | {escape(subject.row.label)} | Δ | "
        "limit |\n|---|---|---|---|---|\n"
        f"| {metric} | {format_value(verdict.base, precision)} | "
        f"{format_value(verdict.current, precision)} | {change} | "
        f"{escape(allowance.describe())} |\n\n"
        f"{escape(verdict.summary)}. {judged}\n"
    )


def render_plain(table: Table) -> str:
    from tabulate import tabulate

    text = tabulate(
        _text_rows(table, _experiment_label),
        headers=_headers(table),
        tablefmt="simple",
        disable_numparse=True,
    )
    notes = _notes(table)
    text += "\n" + ("\n" + "\n".join(notes) + "\n" if notes else "")
    changes = render_changes_plain(table)
    return text + ("\n" + changes if changes else "")


def render_markdown(table: Table, pictures: Pictures | None = None, *, changes: bool = True) -> str:
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
    if changes and table.against is not None:
        text += "\n" + render_changes_markdown(table)
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
        if row.is_commit and trend is not None:
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
            if row.is_commit and trend is not None:
                lines.append(trend_note(trend, row.experiment.label, label, table.precision))
    return lines + list(pictures.notes)


def _extra_deltas(table: Table) -> list[tuple[str, str]]:
    """(full name, label) of the Δ columns beyond the ranking metric's (with a base)."""
    labels = {column.full_name: column.label for column in table.columns}
    ranking = table.metric.full_name if table.metric else None
    return [(name, labels[name]) for name in table.delta_columns if name != ranking]


def render_csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    extra = _extra_deltas(table)
    header = ["Experiment", "rev", "baseline", "created", "state", "error"]
    header += [column.label for column in table.columns]
    if table.metric:
        header += ["delta", "winner"]
    header += [f"delta {label}" for _, label in extra] + ["role"]
    writer.writerow(header)
    for row in table.rows:
        experiment = row.experiment
        cells = [
            experiment.label,
            experiment.rev,
            experiment.baseline_rev,
            experiment.created.isoformat(),
            experiment.state,
            "; ".join([*row.errors.values(), *filter(None, [experiment.reason])]),
        ]
        cells += [_csv_value(row.values.get(column.full_name)) for column in table.columns]
        if table.metric:
            cells += [_csv_value(row.delta), str(row.winner).lower()]
        cells += [_csv_value(row.deltas.get(name)) for name, _ in extra] + [row.role]
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
        "role": row.role,
    }
    if row.is_experiment:
        entry["baseline"] = experiment.baseline_rev
        entry["ref"] = experiment.ref
    entry.update(
        {
            "created": experiment.created.isoformat(),
            "state": experiment.state,
            "error": row.errors or None,
            "reason": experiment.reason,
            "metrics": {k: v for k, v in row.values.items() if kinds.get(k) == "metrics"},
            "params": {k: v for k, v in row.values.items() if kinds.get(k) == "params"},
        }
    )
    if table.metric and row.is_experiment:
        entry["delta"] = row.delta
        entry["winner"] = row.winner
    if table.against is not None and row.compared:
        entry["deltas"] = dict(row.deltas)
    return entry


def _json_comparison(table: Table) -> dict[str, Any] | None:
    """The base, what the pull request changed and the row it is judged by."""
    if table.against is None and table.subject is None:
        return None
    base = next((row for row in table.rows if row.is_base), None)
    subject = table.subject
    return {
        "against": table.against,
        "how": table.against_how or None,
        "base": None if base is None else base.experiment.rev,
        "params_changed": [
            {"name": c.full_name, "old": c.old, "new": c.new} for c in table.params_changed
        ],
        "subject": None
        if subject is None
        else {
            "rev": subject.row.rev,
            "name": subject.row.name,
            "why": subject.why,
            "delta": table.subject_delta,
        },
    }


def render_json(table: Table) -> str:
    baselines: list[dict[str, Any]] = []
    extra: dict[str, Any] = {"base": None, "workspace": None}
    for row in table.rows:
        entry = _json_row(row, table)
        if row.role == "workspace":
            extra["workspace"] = entry
        elif (
            row.role == "base"
            and not any(
                r.is_experiment and r.experiment.baseline_rev == row.experiment.rev
                for r in table.rows
            )
            and row is table.rows[0]
        ):
            extra["base"] = entry
        elif row.is_experiment and baselines:
            baselines[-1]["experiments"].append(entry)
        elif not row.is_experiment:
            baselines.append({**entry, "experiments": []})
    document = {
        "version": JSON_VERSION,
        "metric": None
        if table.metric is None
        else {"name": table.metric.full_name, "direction": table.metric.direction.value},
        "baselines": baselines,
        "hidden_experiments": table.hidden_experiments,
        **extra,
        "comparison": _json_comparison(table),
    }
    return json.dumps(document, indent=2, default=str) + "\n"


RENDERERS: dict[str, Callable[[Table], str]] = {
    "md": render_markdown,
    "plain": render_plain,
    "csv": render_csv,
    "json": render_json,
}
