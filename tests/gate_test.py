"""The gate's verdict for tables of cases (pure)."""

from __future__ import annotations

import pytest

from exp_ci.gate import judge
from exp_ci.model import Direction, MetricSpec

AUC = MetricSpec("metrics.json", "auc", Direction.MAX)
LOSS = MetricSpec("metrics.json", "loss", Direction.MIN)


@pytest.mark.parametrize(
    ("metric", "current", "base", "max_drop", "max_drop_pct", "passed"),
    [
        (AUC, 0.9, 0.8, None, None, True),  # better
        (AUC, 0.8, 0.8, None, None, True),  # same
        (AUC, 0.79, 0.8, None, None, False),  # any drop fails by default
        (AUC, 0.79, 0.8, 0.01, None, True),  # a drop of exactly the allowance passes
        (AUC, 0.78, 0.8, 0.01, None, False),
        (AUC, 0.76, 0.8, None, 5, True),  # 5% of 0.8 is 0.04
        (AUC, 0.75, 0.8, None, 5, False),
        (LOSS, 0.2, 0.3, None, None, True),  # lower loss is better
        (LOSS, 0.31, 0.3, None, None, False),
        (LOSS, 0.31, 0.3, 0.02, None, True),
        (AUC, 0.3 - 0.1 - 0.2 + 0.5, 0.5, None, None, True),  # float noise is no drop
        (AUC, -0.6, -0.5, None, 10, False),  # negative metrics: 10% of |-0.5|
        (AUC, -0.54, -0.5, None, 10, True),
        (AUC, 0.1, 0.0, None, 10, True),  # base 0: a percentage allows no drop, a gain passes
        (AUC, -0.1, 0.0, None, 10, False),
    ],
)
def test_judge(metric, current, base, max_drop, max_drop_pct, passed):
    assert judge(metric, current, base, max_drop, max_drop_pct).passed is passed


def test_summary_names_both_values_and_the_limit():
    failed = judge(AUC, 0.75, 0.8, max_drop=0.01)
    assert failed.summary == (
        "metrics.json:auc 0.8 -> 0.75, -0.05 (-6.25%): regression beyond the limit (allowed 0.01)"
    )
    assert "no regression" in judge(LOSS, 0.2, 0.3).summary
    assert "within the limit" in judge(AUC, 0.79, 0.8, max_drop=0.02).summary
