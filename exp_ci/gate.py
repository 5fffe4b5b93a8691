"""The quality gate's verdict: did a metric regress beyond what the team allows? (pure)

A drop is measured in the metric's own direction: for `max` metrics a lower value is a
drop, for `min` metrics (losses) a higher one. `max_drop` allows an absolute drop,
`max_drop_pct` a drop relative to the base value; with neither, any drop fails. Float
noise never fails a gate: 0.3 - 0.1 - 0.2 is no drop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from exp_ci.model import MetricSpec
from exp_ci.select import at_least, improvement


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
