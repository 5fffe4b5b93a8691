"""The texts written with what `exp-ci persist` and `exp-ci apply` make: the annotated tag's
message, `apply --commit`'s commit message and the pull request's body. Each names the
experiment and shows its metrics and params against its baseline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from exp_ci.model import SHORT_SHA, Experiment, MetricSpec
from exp_ci.select import columns_of, flat_values, metric_value


def _value(values: Mapping[str, Any], name: str, precision: int) -> str:
    from exp_ci.render.formats import MISSING, format_value

    value = values.get(name)
    return MISSING if value is None else format_value(value, precision)


def values_table(experiment: Experiment, baseline: Experiment, precision: int) -> str:
    """Metrics then params, the experiment beside its baseline, as plain text."""
    from tabulate import tabulate

    mine = {**flat_values(experiment.metrics), **flat_values(experiment.params)}
    theirs = {**flat_values(baseline.metrics), **flat_values(baseline.params)}
    rows = []
    for column in columns_of([baseline, experiment]):
        value = _value(mine, column.full_name, precision)
        before = _value(theirs, column.full_name, precision)
        changed = "*" if value != before else ""
        rows.append([column.kind.rstrip("s"), column.label, value, before, changed])
    if not rows:
        return "(no params or metrics)"
    return tabulate(
        rows,
        headers=["", "name", experiment.label, "baseline", "changed"],
        tablefmt="simple",
        disable_numparse=True,
    )


def _identity(experiment: Experiment, baseline: Experiment) -> str:
    baseline_name = f" ({baseline.name})" if baseline.name else ""
    lines = [
        f"experiment: {experiment.label}",
        f"commit:     {experiment.rev}",
        f"baseline:   {experiment.baseline_rev}{baseline_name}",
    ]
    if experiment.ref:
        lines.append(f"ref:        {experiment.ref}")
    return "\n".join(lines)


def ranking_phrase(
    experiment: Experiment, baseline: Experiment, metric: MetricSpec | None, precision: int
) -> str:
    """'auc 0.85, +0.2 against the baseline' (empty without a metric or value)."""
    from exp_ci.render.formats import format_delta, format_value

    if metric is None:
        return ""
    value = metric_value(experiment, metric)
    if value is None:
        return ""
    phrase = f"{metric.key} {format_value(value, precision)}"
    before = metric_value(baseline, metric)
    if before is not None:
        phrase += f", {format_delta(value - before, precision)} against the baseline"
    return phrase


def tag_message(
    experiment: Experiment, baseline: Experiment, metric: MetricSpec | None, precision: int
) -> str:
    """The annotated tag's message: a subject, the experiment's identity, its values table."""
    ranked = ranking_phrase(experiment, baseline, metric, precision)
    subject = f"Experiment {experiment.label}" + (f": {ranked}" if ranked else "")
    return (
        f"{subject}\n\n{_identity(experiment, baseline)}\n\n"
        f"{values_table(experiment, baseline, precision)}\n"
    )


def commit_message(
    experiment: Experiment,
    baseline: Experiment,
    precision: int,
    subject: str | None = None,
    shown_metrics: int = 3,
) -> str:
    """`exp-ci apply --commit`: names the experiment and its metric values, always."""
    from exp_ci.render.formats import format_value

    if subject is None:
        metrics = flat_values(experiment.metrics)
        labels = {c.full_name: c.label for c in columns_of([experiment]) if c.kind == "metrics"}
        shown = [
            f"{labels.get(name, name)}={format_value(value, precision)}"
            for name, value in list(metrics.items())[:shown_metrics]
            if not isinstance(value, (dict, list))
        ]
        more = ", ..." if len(metrics) > shown_metrics else ""
        subject = f"Apply experiment {experiment.label}" + (
            f" ({', '.join(shown)}{more})" if shown else ""
        )
    return (
        f"{subject.rstrip()}\n\n{_identity(experiment, baseline)}\n\n"
        f"{values_table(experiment, baseline, precision)}\n"
    )


PULL_REQUEST_MARKER = "<!-- exp-ci:persist -->"


def pull_request_body(
    experiment: Experiment,
    baseline: Experiment,
    branch: str,
    git_remote: str,
    metric: MetricSpec | None,
    precision: int,
    params: tuple[str, ...] = (),
    metrics: tuple[str, ...] = (),
) -> str:
    """The pull request's body: what the branch is, and the experiment against its baseline.

    `params`/`metrics` are include globs, as in `exp-ci show` (the project's settings).

    Names come from whoever ran the experiment, so they are escaped; the checkout commands
    sit in a `~~~` fence, which no ref name can close (Git forbids `~` in refs).
    """
    from exp_ci.model import Baseline
    from exp_ci.render.formats import render_markdown
    from exp_ci.render.markdown import escape
    from exp_ci.render.table import TableOptions, build_table

    table = build_table(
        [Baseline(baseline, (experiment,))],
        TableOptions(metric=metric, params=params, metrics=metrics, precision=precision),
    )
    baseline_name = f" ({escape(baseline.name)})" if baseline.name else ""
    return (
        f"{PULL_REQUEST_MARKER}\n"
        f"Experiment **{escape(experiment.label)}** (commit {experiment.rev[:SHORT_SHA]}), "
        f"kept as this branch by `exp-ci persist`, against its baseline "
        f"{experiment.baseline_rev[:SHORT_SHA]}{baseline_name}:\n\n"
        f"{render_markdown(table)}\n"
        "Its data is in the DVC remote. To work with it:\n\n"
        f"~~~sh\ngit fetch {git_remote} {branch}\ngit checkout {branch}\ndvc pull\n~~~\n"
    )
