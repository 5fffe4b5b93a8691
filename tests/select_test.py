"""Column names, metric resolution and ranking (pure, with hand-made experiments)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from exp_ci.errors import UserError
from exp_ci.model import Baseline, Direction, Experiment, FileValues, MetricSpec
from exp_ci.select import best, columns_of, metric_spec, rank, resolve_column

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def row(rev: str, base: str, minutes: int = 0, name: str | None = None, **metrics) -> Experiment:
    files = {"m.json": FileValues("m.json", data=metrics)}
    return Experiment(rev, base, name or rev, T0 + timedelta(minutes=minutes), {}, files)


def group(base_value, *values, base="b" * 40):
    commit = row(base, base, **({} if base_value is None else {"auc": base_value}))
    experiments = tuple(
        row(f"e{i}{base[:3]}", base, minutes=i + 1, **({} if v is None else {"auc": v}))
        for i, v in enumerate(values)
    )
    return Baseline(commit, experiments)


def test_short_names_unless_a_key_repeats_across_files():
    exp = Experiment(
        "r",
        "r",
        None,
        T0,
        {"params.yaml": FileValues("params.yaml", {"lr": 1, "opt": {"name": "a"}})},
        {
            "a.json": FileValues("a.json", {"acc": 1, "Created": 2}),
            "b.json": FileValues("b.json", {"acc": 2, "f1": 3}),
        },
    )
    labels = [c.label for c in columns_of([exp])]
    assert labels == ["a.json:acc", "a.json:Created", "b.json:acc", "f1", "lr", "opt.name"]


def test_resolve_column_by_full_name_label_or_unique_key():
    exp = row("r", "r", auc=1, acc=2)
    columns = columns_of([exp])
    assert resolve_column("m.json:auc", columns).key == "auc"
    assert resolve_column("auc", columns).full_name == "m.json:auc"
    with pytest.raises(UserError, match=r"unknown column 'nope'.*auc, acc"):
        resolve_column("nope", columns)


def test_metric_spec_rejects_params():
    exp = Experiment("r", "r", None, T0, {"p.yaml": FileValues("p.yaml", {"lr": 1})}, {})
    with pytest.raises(UserError, match="unknown metric 'lr'"):
        metric_spec("lr", Direction.MAX, [exp])


@pytest.mark.parametrize(
    ("direction", "values", "expected"),
    [
        (Direction.MAX, [0.1, 0.9, 0.5], [0.9, 0.5, 0.1]),
        (Direction.MIN, [0.1, 0.9, 0.5], [0.1, 0.5, 0.9]),
        (Direction.MAX, [-3, -1, -2], [-1, -2, -3]),
        (Direction.MAX, [None, 0.2, "n/a"], [0.2]),
        (Direction.MAX, [float("nan"), 0.3], [0.3]),
    ],
)
def test_rank_orders_by_direction_and_skips_non_numbers(direction, values, expected):
    ranked = rank([group(0.5, *values)], MetricSpec("m.json", "auc", direction))
    assert [r.value for r in ranked] == expected


def test_ties_go_to_the_earlier_experiment():
    ranked = rank([group(0.5, 0.7, 0.7, 0.7)], MetricSpec("m.json", "auc"))
    assert [r.experiment.rev for r in ranked] == ["e0bbb", "e1bbb", "e2bbb"]


def test_deltas_are_against_each_experiments_own_baseline():
    groups = [group(0.5, 0.6, base="a" * 40), group(0.1, 0.3, base="c" * 40)]
    ranked = rank(groups, MetricSpec("m.json", "auc"))
    assert [(r.value, round(r.delta, 6)) for r in ranked] == [(0.6, 0.1), (0.3, 0.2)]


@pytest.mark.parametrize(
    ("direction", "min_improvement", "expected"),
    [
        (Direction.MAX, 0.1, [0.7, 0.6]),
        (Direction.MAX, 0.25, []),
        (Direction.MIN, 0.05, [0.4]),
    ],
)
def test_best_with_min_improvement(direction, min_improvement, expected):
    winners = best(
        [group(0.5, 0.6, 0.7, 0.4)], MetricSpec("m.json", "auc", direction), 5, min_improvement
    )
    assert [w.value for w in winners] == expected


def test_best_without_a_baseline_value_cannot_prove_an_improvement():
    assert best([group(None, 0.9)], MetricSpec("m.json", "auc"), 1, 0.0) == []
    assert [w.value for w in best([group(None, 0.9)], MetricSpec("m.json", "auc"))] == [0.9]
