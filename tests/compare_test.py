"""The pull request's comparison (exp_ci/compare.py): sides, changes, Δ and the judged row."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from exp_ci.compare import (
    Base,
    BaseKind,
    Change,
    Comparison,
    changes,
    choose_base,
    choose_subject,
    differs,
    metric_deltas,
    pull_request_side,
    subject_delta,
)
from exp_ci.model import Baseline, Direction, Experiment, FileValues, MetricSpec
from exp_ci.render.formats import render_json, render_plain
from exp_ci.render.table import TableOptions, build_table

AUC = MetricSpec("metrics.json", "auc", Direction.MAX)
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def row(rev: str, baseline: str, name: str | None, *, auc=None, loss=None, lr=0.1) -> Experiment:
    metrics = {k: v for k, v in (("auc", auc), ("loss", loss)) if v is not None}
    return Experiment(
        rev=rev,
        baseline_rev=baseline,
        name=name,
        created=WHEN,
        params={"params.yaml": FileValues("params.yaml", {"train": {"lr": lr}})},
        metrics={"metrics.json": FileValues("metrics.json", metrics)},
    )


BASE_SHA, HEAD_SHA = "b" * 40, "h" * 40


@pytest.mark.parametrize(
    ("against", "event", "payload", "in_actions", "kind", "rev", "name"),
    [
        ("origin/main", "pull_request", {}, True, BaseKind.AGAINST, "origin/main", "origin/main"),
        ("abc1234", None, {}, False, BaseKind.AGAINST, "abc1234", None),  # a SHA is no name
        (
            None,
            "pull_request",
            {"pull_request": {"base": {"sha": BASE_SHA, "ref": "main"}}},
            True,
            BaseKind.EVENT,
            BASE_SHA,
            "main",
        ),
        (
            None,
            "workflow_run",
            {"workflow_run": {"pull_requests": [{"base": {"sha": BASE_SHA, "ref": "dev"}}]}},
            True,
            BaseKind.EVENT,
            BASE_SHA,
            "dev",
        ),
        (None, "pull_request", {"pull_request": {"number": 3}}, True, BaseKind.NONE, None, None),
        (None, "push", {"ref": "refs/heads/main"}, True, BaseKind.FIRST_PARENT, "HEAD^", None),
        (None, "schedule", {}, True, BaseKind.FIRST_PARENT, "HEAD^", None),
        (None, None, {}, False, BaseKind.MERGE_BASE, None, None),
        (
            None,
            "pull_request",
            {"pull_request": {"base": {"sha": 7}}},
            True,
            BaseKind.NONE,
            None,
            None,
        ),
    ],
)
def test_the_base_comes_from_the_flag_then_the_event_then_the_history(
    against, event, payload, in_actions, kind, rev, name
):
    choice = choose_base(against, event, payload, in_actions=in_actions)
    assert (choice.kind, choice.rev, choice.name) == (kind, rev, name)
    assert choice.how  # every choice says how it was made


def test_the_head_of_an_odd_payload_is_none():
    assert pull_request_side({"pull_request": "x"}, "head") == (None, None)
    assert pull_request_side({"workflow_run": {"pull_requests": []}}, "base") == (None, None)


def test_changes_are_listed_as_dvc_diff_lists_them():
    old = {"p.yaml:lr": 0.1, "p.yaml:epochs": 3, "p.yaml:gone": "x", "p.yaml:same": [1, 2]}
    new = {"p.yaml:lr": 0.3, "p.yaml:epochs": 3, "p.yaml:new": True, "p.yaml:same": [1, 2]}
    assert changes(old, new) == (
        Change("p.yaml", "lr", 0.1, 0.3),
        Change("p.yaml", "gone", "x", None),
        Change("p.yaml", "new", None, True),
    )
    assert Change("m.json", "auc", 0.5, 0.75).diff == 0.25
    assert Change("m.json", "auc", None, 0.75).diff is None
    assert Change("m.json", "auc", float("nan"), 0.75).diff is None


def test_the_workspace_counts_as_changed_only_when_its_values_differ():
    head = row(HEAD_SHA, HEAD_SHA, "main", auc=0.5)
    same = row("workspace", HEAD_SHA, "workspace", auc=0.5)
    assert not differs(same, head)
    assert differs(row("workspace", HEAD_SHA, "workspace", auc=0.6), head)
    assert differs(row("workspace", HEAD_SHA, "workspace", auc=0.5, lr=0.2), head)


def test_every_metric_gets_a_delta_when_both_sides_have_a_number():
    deltas = metric_deltas(row("e", "h", "e", auc=0.75, loss=0.5), row("b", "b", None, auc=0.5))
    assert deltas == {"metrics.json:auc": 0.25}


def _comparison(*, workspace: Experiment | None = None, with_base: bool = True) -> Comparison:
    base = row(BASE_SHA, BASE_SHA, "main", auc=0.5, loss=0.9)
    head = row(HEAD_SHA, HEAD_SHA, None, auc=0.6, loss=0.8, lr=0.2)
    experiments = (
        row("e1" * 20, HEAD_SHA, "lr-high", auc=0.9, loss=0.4, lr=0.5),
        row("e2" * 20, HEAD_SHA, "lr-low", auc=0.7, loss=0.6, lr=0.05),
    )
    return Comparison(
        Base(base, "the pull request's base (pull_request event)") if with_base else None,
        head,
        workspace,
        (Baseline(head, experiments),),
    )


@pytest.mark.parametrize(
    ("workspace_auc", "explicit", "judged", "delta"),
    [
        (None, None, "lr-high", 0.9 - 0.5),  # after exp-ci run: the best experiment
        (0.65, None, "workspace", 0.65 - 0.5),  # after dvc repro: the workspace
        (0.65, "lr-low", "lr-low", 0.7 - 0.5),  # --rev wins
    ],
)
def test_the_judged_row_is_said_and_its_delta_is_against_the_base(
    workspace_auc, explicit, judged, delta
):
    workspace = None
    if workspace_auc is not None:
        workspace = row("workspace", HEAD_SHA, "workspace", auc=workspace_auc, lr=0.2)
    comparison = _comparison(workspace=workspace)
    chosen = None
    if explicit:
        chosen = next(e for e in comparison.experiments() if e.name == explicit)
    subject = choose_subject(comparison, AUC, chosen)
    assert subject is not None and subject.row.label == judged and subject.why
    assert subject_delta(comparison, subject, AUC) == pytest.approx(delta)


def test_without_experiments_head_is_judged():
    comparison = Comparison(_comparison().base, row(HEAD_SHA, HEAD_SHA, None, auc=0.6), None, ())
    subject = choose_subject(comparison, AUC)
    assert subject is not None and subject.row.rev == HEAD_SHA


def test_the_table_shows_the_base_every_delta_and_the_changed_params():
    workspace = row("workspace", HEAD_SHA, "workspace", auc=0.65, loss=0.7, lr=0.3)
    table = build_table([], TableOptions(metric=AUC), _comparison(workspace=workspace))
    roles = [(r.role, r.experiment.label) for r in table.rows]
    assert roles == [
        ("base", "main"),
        ("workspace", "workspace"),
        ("head", "hhhhhhh"),
        ("experiment", "lr-high"),
        ("experiment", "lr-low"),
    ]
    assert table.delta_columns == ("metrics.json:auc", "metrics.json:loss")
    by_label = {r.experiment.label: r for r in table.rows}
    assert by_label["workspace"].deltas == pytest.approx(
        {"metrics.json:auc": 0.15, "metrics.json:loss": -0.2}
    )
    assert by_label["lr-high"].delta == pytest.approx(0.4)  # against the base, not HEAD
    assert by_label["main"].deltas == {}
    assert [(c.key, c.old, c.new) for c in table.params_changed] == [("train.lr", 0.1, 0.3)]
    assert table.subject is not None and table.subject.row.label == "workspace"
    text = render_plain(table)
    assert "main (base)" in text and "Δ loss" in text
    assert "Params changed against main (bbbbbbb):" in text
    assert "★ best by auc (max): lr-high = 0.9, +0.4 against main (bbbbbbb)" in text
    document = render_json(table)
    assert '"role": "workspace"' in document and '"params_changed"' in document


def test_without_a_base_delta_is_against_each_baseline_as_before():
    table = build_table([], TableOptions(metric=AUC), _comparison(with_base=False))
    assert table.delta_columns == ("metrics.json:auc",)
    lr_high = next(r for r in table.rows if r.experiment.label == "lr-high")
    assert lr_high.delta == pytest.approx(0.3)  # 0.9 - HEAD's 0.6
    assert table.params_changed == () and table.against is None


def test_a_head_that_is_the_base_is_one_row_named_as_the_base():
    comparison = _comparison()
    head = comparison.head
    assert head is not None
    same = Comparison(Base(head, "--against HEAD"), head, None, comparison.baselines)
    table = build_table([], TableOptions(metric=AUC), same)
    assert [r.role for r in table.rows] == ["head", "experiment", "experiment"]
    assert table.rows[0].is_base and "(base)" in render_plain(table)
