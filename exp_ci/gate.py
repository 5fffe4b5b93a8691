"""The quality gate's verdict: did a metric regress beyond what the team allows? (pure)

A drop is measured in the metric's own direction: for `max` metrics a lower value is a
drop, for `min` metrics (losses) a higher one. `max_drop` allows an absolute drop,
`max_drop_pct` a drop relative to the base value; with neither, any drop fails. Float
noise never fails a gate: 0.3 - 0.1 - 0.2 is no drop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from exp_ci.compare import Comparison, Subject
from exp_ci.errors import UserError
from exp_ci.model import Experiment, MetricSpec
from exp_ci.select import at_least, improvement, metric_value


@dataclass(frozen=True)
class Verdict:
    metric: MetricSpec
    current: float
    base: float
    drop: float  # how much worse current is than base; negative when it is better
    allowed: float  # the largest drop that still passes, in metric units
    passed: bool

    @property
    def summary(self) -> str:
        name = self.metric.full_name
        change = self.current - self.base
        relative = f" ({change / self.base:+.2%})" if self.base else ""
        values = f"{name} {self.base:g} -> {self.current:g}, {change:+g}{relative}"
        if self.drop <= 0 or _is_zero(self.drop):
            return f"{values}: no regression"
        limit = f"allowed {self.allowed:g}" if self.allowed else "no drop allowed"
        if self.passed:
            return f"{values}: within the limit ({limit})"
        return f"{values}: regression beyond the limit ({limit})"


def _is_zero(value: float) -> bool:
    return math.isclose(value, 0.0, abs_tol=1e-12)


def allowed_drop(base: float, max_drop: float | None, max_drop_pct: float | None) -> float:
    if max_drop is not None:
        return max_drop
    if max_drop_pct is not None:
        return abs(base) * max_drop_pct / 100
    return 0.0


def judge(
    metric: MetricSpec,
    current: float,
    base: float,
    max_drop: float | None = None,
    max_drop_pct: float | None = None,
) -> Verdict:
    drop = -improvement(current - base, metric.direction)
    allowed = allowed_drop(base, max_drop, max_drop_pct)
    passed = drop <= 0 or _is_zero(drop) or at_least(allowed, drop)
    return Verdict(metric, current, base, drop, allowed, passed)


@dataclass(frozen=True)
class Allowance:
    """How much worse the metric may get: absolute (`max_drop`) or relative (`max_drop_pct`)."""

    max_drop: float | None = None
    max_drop_pct: float | None = None

    def describe(self) -> str:
        if self.max_drop is not None:
            return f"allowed drop {self.max_drop:g}"
        if self.max_drop_pct is not None:
            return f"allowed drop {self.max_drop_pct:g}% of the base"
        return "no drop allowed"


@dataclass(frozen=True)
class Judgement:
    """The gate on a comparison: the verdict, or why there is none (a missing value)."""

    subject: Subject
    base: Experiment | None
    verdict: Verdict | None
    problem: str | None = None  # set when verdict is None


def judge_comparison(
    comparison: Comparison, subject: Subject, metric: MetricSpec, allowance: Allowance
) -> Judgement:
    """The subject's metric against the base's: the same two numbers the table shows."""
    if comparison.base is None:
        why = comparison.note or "no base commit is known"
        return Judgement(subject, None, None, why)
    base = comparison.base.row
    values = {}
    for side, row in (("current", subject.row), ("base", base)):
        value = metric_value(row, metric)
        if value is None:
            reason = row.file_errors().get(metric.file, "it has no numeric value there")
            where = "files on disk" if row.rev == "workspace" else row.rev[:7]
            return Judgement(
                subject,
                base,
                None,
                f"{metric.full_name} is missing on the {side} side ({row.label}, {where}): "
                f"{reason}",
            )
        values[side] = value
    verdict = judge(
        metric, values["current"], values["base"], allowance.max_drop, allowance.max_drop_pct
    )
    return Judgement(subject, base, verdict)


def require_verdict(judgement: Judgement) -> Verdict:
    """The verdict, or a user error that says what is missing and how to get it."""
    if judgement.verdict is not None:
        return judgement.verdict
    if judgement.base is None:
        raise UserError(
            f"exp-ci gate has no base commit to compare with: {judgement.problem}. Pass "
            "--against REV (for example origin/main), or run it in a pull_request workflow."
        )
    raise UserError(
        f"{judgement.problem}. Run the pipeline (`dvc repro` or `dvc exp run`) and commit its "
        "metrics, or choose another --metric."
    )
