"""Tables and curves that the chart tests check as text and render in a real browser.

Each ranking case is a `Table` built from model records the way `exp-ci show` builds it;
each curve case is a list of `Curve`s. tests/charts_test.py checks their Mermaid text,
tests/charts_render_test.py draws every one of them with the real `mermaid` package.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta, timezone
from typing import Any

from exp_ci.model import Baseline, Direction, Experiment, FileValues, MetricSpec
from exp_ci.render.charts import Curve
from exp_ci.render.table import Table, TableOptions, build_table

START = datetime(2024, 5, 1, tzinfo=timezone.utc)
AUC = MetricSpec("metrics.json", "auc", Direction.MAX)
LOSS = MetricSpec("metrics.json", "loss", Direction.MIN)

HOSTILE_NAMES = [
    'say "hi"',
    "x[1]",
    "x(1)",  # the same as the one above once brackets are made harmless
    "y]z[",
    "new\nline",
    "back`tick`",
    "```",
    '%%{init: {"theme": "dark"}}%%',
    "semi;colon #quot;",
    "<img src=x onerror=alert(1)>",
    "tab\tand\u2028separator",
]


def sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def row(name: str | None, values: dict[str, Any] | None, *, base: str, n: int = 0) -> Experiment:
    rev = sha(f"{base}/{name}/{n}") if name != base else sha(base)
    metrics = {} if values is None else {"metrics.json": FileValues("metrics.json", data=values)}
    return Experiment(
        rev=rev,
        baseline_rev=sha(base),
        name=name,
        created=START + timedelta(minutes=n),
        metrics=metrics,
    )


def baseline(name: str, value: Any, experiments: list[tuple[str, Any]], key: str = "auc"):
    commit = row(name, None if value is None else {key: value}, base=name)
    rows = tuple(
        row(exp, None if v is None else {key: v}, base=name, n=i + 1)
        for i, (exp, v) in enumerate(experiments)
    )
    return Baseline(commit, rows)


def table(baselines: list[Baseline], metric: MetricSpec = AUC, top: int | None = None) -> Table:
    return build_table(baselines, TableOptions(metric=metric, top=top))


def hundred() -> Table:
    experiments = [
        (f"sweep-lr-0.{i:04d}-epochs-{10 + i % 7}-seed-{i}", round(0.5 + (i * 37 % 100) / 250, 4))
        for i in range(100)
    ]
    return table([baseline("main", 0.61, experiments)])


RANKING_CASES = {
    "one-experiment": lambda: table([baseline("main", 0.5, [("only", 0.6)])]),
    "ties": lambda: table([baseline("main", 0.7, [("a", 0.8), ("b", 0.8), ("c", 0.75)])]),
    "all-equal": lambda: table([baseline("main", 0.8, [("a", 0.8), ("b", 0.8)])]),
    "negative-mixed": lambda: table(
        [baseline("main", -1.5, [("e1", -3.2), ("e2", -0.4), ("e3", 0.7)], key="auc")]
    ),
    "negative-min": lambda: table(
        [baseline("main", -2.0, [("e1", -2.5), ("e2", -2.1), ("e3", -3.0)], key="loss")],
        metric=LOSS,
    ),
    "hundred": hundred,
    "hostile-names": lambda: table(
        [baseline('main"];', 0.5, [(n, 0.5 + i / 100) for i, n in enumerate(HOSTILE_NAMES)])]
    ),
    "missing-metrics": lambda: table(
        [baseline("main", None, [("e1", 0.6), ("e2", None), ("e3", "n/a"), ("e4", 0.55)])]
    ),
    "same-name-two-baselines": lambda: table(
        [
            baseline("main", 0.6, [("exp-1", 0.7)]),
            baseline("release", 0.62, [("exp-1", 0.72)]),
        ]
    ),
    "long-names-colliding": lambda: table(
        [
            baseline(
                "main",
                0.4,
                [
                    (f"experiment-with-a-long-name-{c}-and-the-same-end", 0.5 + i / 10)
                    for i, c in enumerate("ABC")
                ],
            )
        ]
    ),
    "tiny-differences": lambda: table(
        [baseline("main", 0.91234, [("a", 0.91241), ("b", 0.91238)])]
    ),
    "large-values": lambda: table([baseline("main", 1.2e9, [("a", 1.25e9), ("b", 1.3e9)])]),
}

NO_CHART_CASES = {
    "no-values": lambda: table([baseline("main", 0.5, [("e1", None), ("e2", "text")])]),
}


def _points(n: int, f, start: float = 0.0, step: float = 1.0):
    return tuple((start + i * step, f(i)) for i in range(n))


CURVE_CASES = {
    "same-steps": [
        Curve("main", "baseline", _points(20, lambda i: 1 / (i + 1))),
        Curve("fast-lr", "winner", _points(20, lambda i: 0.8 / (i + 1))),
    ],
    "thousand-points": [
        Curve("main", "baseline", _points(1000, lambda i: math.exp(-i / 300) + 0.01 * math.sin(i))),
        Curve("fast-lr", "winner", _points(1000, lambda i: math.exp(-i / 200))),
    ],
    "different-lengths": [
        Curve("main", "baseline", _points(60, lambda i: 1 - i / 100)),
        Curve("fast-lr", "winner", _points(120, lambda i: 1 - i / 150)),
    ],
    "uneven-x": [
        Curve("main", "baseline", ((0, 1.0), (1, 0.8), (2, 0.7), (5, 0.5), (10, 0.4), (100, 0.1))),
        Curve("w", "winner", ((0, 0.9), (3, 0.6), (50, 0.2), (100, 0.05))),
    ],
    "winner-only": [Curve("fast-lr", "winner", _points(10, lambda i: i * i))],
    "negative-values": [
        Curve("main", "baseline", _points(30, lambda i: -5 + i / 10)),
        Curve('evil"]`%%', "winner", _points(30, lambda i: -4 + i / 8)),
    ],
}
