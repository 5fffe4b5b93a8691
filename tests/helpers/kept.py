"""An experiment and its baseline as the pure tests of persist and its messages see them."""

from __future__ import annotations

from datetime import datetime, timezone

from exp_ci.model import Direction, Experiment, FileValues, MetricSpec

BASE = "b" * 40
REV = "e" * 40
OTHER = "0123456789" * 4
AUC = MetricSpec("metrics.json", "auc", Direction.MAX)
T0 = datetime(2026, 3, 4, 23, 30, tzinfo=timezone.utc)


def experiment(
    name="lr-high", rev=REV, auc=0.85, lr=0.3, base=BASE, created=T0, loss=0.7
) -> Experiment:
    metrics = {"auc": auc, "loss": {"val": loss}} if auc is not None else {"loss": {"val": loss}}
    return Experiment(
        rev=rev,
        baseline_rev=base,
        name=name,
        created=created,
        params={"params.yaml": FileValues("params.yaml", {"train": {"lr": lr}, "seed": 7})},
        metrics={"metrics.json": FileValues("metrics.json", metrics)},
        ref=f"refs/exps/{base[:2]}/{base[2:]}/{name}",
    )


BASELINE = Experiment(
    BASE,
    BASE,
    "main",
    T0,
    {"params.yaml": FileValues("params.yaml", {"train": {"lr": 0.1}, "seed": 7})},
    {"metrics.json": FileValues("metrics.json", {"auc": 0.65, "loss": {"val": 0.9}})},
)
