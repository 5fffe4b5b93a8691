"""The project as commands read it: settings, baselines, the pull request's comparison,
and the table and pictures built from them as a request asks.

`show`, `comment`, `gate`, `best`, `persist` and `apply` all read through here, so they
read the project the same way and show the same numbers.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from exp_ci.config import DEFAULT_PRECISION, Settings, settings_for
from exp_ci.errors import UserError
from exp_ci.model import Baseline, Direction, Experiment, MetricSpec

if TYPE_CHECKING:
    from pathlib import Path

    from exp_ci.adapters.git import GitRepository
    from exp_ci.compare import Comparison
    from exp_ci.render.charts import Pictures
    from exp_ci.render.table import Table


@dataclass(frozen=True)
class Selection:
    """Which baselines to read: HEAD by default, `--rev` ones, or all (`-A`)."""

    repo: Path
    revs: tuple[str, ...] = ()
    all_baselines: bool = False
    states: tuple[str, ...] = ("success",)  # of experiments; `show`/`comment` take --state


@dataclass(frozen=True)
class ProjectContext:
    """What a command opens once and reads through: the Git repository (with its DVC
    project's folder) and the project's settings (`.exp-ci.yaml`)."""

    git: GitRepository
    settings: Settings


@contextlib.contextmanager
def project_context(repo: Path) -> Iterator[ProjectContext]:
    """Open the project at `repo` for the length of a command, and close it after."""
    from exp_ci.read.experiments import open_project

    with open_project(repo) as git:
        yield ProjectContext(git, settings_for(git.dvc_root))


@dataclass(frozen=True)
class Project:
    settings: Settings
    baselines: list[Baseline]
    root: Path  # the Git repository's
    dvc_root: Path  # the DVC project's: the Git root, or a `dvc init --subdir` folder in it
    comparison: Comparison | None = None
    explicit_subject: Experiment | None = None  # `--judge`/`gate --rev`, resolved


def read_project(
    context: ProjectContext,
    selection: Selection,
    *,
    require_experiments: bool = True,
    compare: CompareRequest | None = None,
) -> Project:
    """Read the selected baselines of the open project.

    With `compare`, also the sides of the pull request's comparison (base, HEAD, the
    workspace); then no experiments is a normal case, as it is without
    `require_experiments`.
    """
    from exp_ci.read.experiments import read_baselines
    from exp_ci.select import with_states

    if selection.all_baselines and selection.revs:
        raise UserError("-A and --rev both choose baselines; use one of them.")
    git = context.git
    unfinished = any(state != "success" for state in selection.states)
    baselines = read_baselines(git, selection.revs, selection.all_baselines, unfinished)
    baselines = with_states(baselines, selection.states)
    comparison = subject = None
    if compare is not None:
        comparison = read_comparison(git, baselines, compare)
        subject = read_subject(git, comparison, compare.judge)
    if not selection.all_baselines:
        for baseline in baselines:
            # A chosen commit that does not read is a user error when nothing else is there
            # to show; with experiments (a merge commit with a conflicted dvc.lock, which its
            # experiments fixed) it is a row marked `!`, as DVC shows it.
            if baseline.commit.error and not baseline.experiments:
                raise UserError(
                    f"cannot read the DVC project at {baseline.commit.label}: "
                    f"{baseline.commit.error}. Fix the file and commit it."
                )
    if require_experiments and compare is None and not any(b.experiments for b in baselines):
        described = ", ".join(b.commit.label for b in baselines) or "any commit"
        raise UserError(
            f"no experiments found for {described} in {git.root}. Run some with "
            "`dvc exp run` (or `exp-ci run`), fetch them with "
            "`git fetch origin 'refs/exps/*:refs/exps/*'`, or use -A to look at every baseline."
        )
    settings = context.settings
    return Project(settings, baselines, git.root, git.dvc_root, comparison, subject)


def metric_from(
    name: str | None, direction: str | None, settings: Settings, rows: Iterable[Experiment]
) -> MetricSpec | None:
    """The metric named by the flag or the settings, resolved against the rows shown."""
    from exp_ci.select import metric_spec

    chosen = name or settings.metric
    if chosen is None:
        return None
    resolved_direction = Direction(direction) if direction else settings.direction or Direction.MAX
    return metric_spec(chosen, resolved_direction, rows)


def all_rows(baselines: Sequence[Baseline]) -> list[Experiment]:
    return [row for baseline in baselines for row in baseline.rows()]


@dataclass(frozen=True)
class CompareRequest:
    """What the pull request is compared with, and which row it is judged by."""

    against: str | None = None  # --against REV; default: the event's base, see compare.py
    judge: str | None = None  # --judge / gate --rev: an experiment name, ref, SHA or commit
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)
    # A base the event names but the clone lacks (a shallow checkout): the gate cannot judge
    # without it (exit 2); a table says so in a note and compares each row with its baseline.
    need_base: bool = False


def read_comparison(
    git: GitRepository, baselines: Sequence[Baseline], request: CompareRequest
) -> Comparison:
    """The sides of the comparison: base (as `compare.choose_base` decides), HEAD, workspace."""
    from exp_ci.adapters import actions
    from exp_ci.adapters.git import default_branch_merge_base, first_parent, ref_commit
    from exp_ci.compare import Base, BaseKind, Comparison, choose_base, differs
    from exp_ci.read.experiments import read_revision, read_workspace_row

    event_name, payload = actions.read_event(request.environ)
    choice = choose_base(
        request.against, event_name, payload, in_actions=actions.in_actions(request.environ)
    )
    head_sha = git.resolve_commit("HEAD")
    head = next((b.commit for b in baselines if b.commit.rev == head_sha), None)
    head = head or read_revision(git, head_sha)
    if head.name is None:  # detached, as actions/checkout leaves it: name it by the event
        head = replace(head, name=_pull_request_head_name(git, payload, head_sha))
        baselines = [replace(b, commit=head) if b.commit.rev == head_sha else b for b in baselines]
    workspace = read_workspace_row(git)
    changed = workspace if differs(workspace, head) else None

    base_sha: str | None = None
    name, how, note = choice.name, choice.how, None
    if choice.kind is BaseKind.AGAINST and choice.rev:
        base_sha = git.resolve_commit(choice.rev)
        name = _ref_name(git, choice.rev, base_sha)
    elif choice.kind is BaseKind.EVENT and choice.rev:
        base_sha = ref_commit(git, choice.rev)
        missing = (
            f"the pull request's base commit {choice.rev[:12]} (from the {event_name} event) "
            f"is not in the clone at {git.root}"
        )
        if base_sha is None and request.need_base:
            raise UserError(
                f"{missing}. Check out with full history (actions/checkout with "
                "`fetch-depth: 0`), or fetch the base branch before exp-ci runs."
            )
        if base_sha is None:
            note = f"{missing}; check out with `fetch-depth: 0` to compare with it"
    elif choice.kind is BaseKind.FIRST_PARENT:
        base_sha = first_parent(git, head_sha)
        note = None if base_sha else "HEAD is the first commit, it has no parent"
    elif choice.kind is BaseKind.MERGE_BASE:
        found = default_branch_merge_base(git, head_sha)
        if found and found[0] != head_sha:
            base_sha, branch = found
            tip = ref_commit(git, f"refs/remotes/origin/{branch}")
            name = f"origin/{branch}" if tip == base_sha else None
            how = f"the merge base with origin/{branch}"
        else:
            note = (
                "this is no pull request run, and HEAD is on origin's default branch or that "
                "branch is not known"
            )
    else:
        note = choice.how
    base = None
    if base_sha is not None:
        row = read_revision(git, base_sha)
        base = Base(replace(row, name=name or row.name), how)
    usual = choice.kind is BaseKind.MERGE_BASE  # a local run on the default branch
    return Comparison(base, head, changed, tuple(baselines), note, note_in_table=not usual)


def _pull_request_head_name(
    git: GitRepository, payload: Mapping[str, Any], head_sha: str
) -> str | None:
    """`tune-lr` for the pull request's head commit, `tune-lr (merge)` for the merge commit
    actions/checkout makes of it; None when the event says nothing about HEAD."""
    from exp_ci.adapters.git import ref_commit
    from exp_ci.compare import pull_request_side

    sha, ref = pull_request_side(payload, "head")
    if not (sha and ref):
        return None
    if sha == head_sha:
        return ref
    return f"{ref} (merge)" if ref_commit(git, f"{head_sha}^2") == sha else None


def _ref_name(git: GitRepository, rev: str, sha: str) -> str | None:
    """`rev` itself when it is a branch, remote branch or tag at `sha` (`main`, not `HEAD~1`)."""
    from exp_ci.adapters.git import ref_commit

    for prefix in ("refs/heads/", "refs/remotes/", "refs/tags/"):
        if ref_commit(git, prefix + rev) == sha:
            return rev
    return None


def read_subject(
    git: GitRepository, comparison: Comparison, judge: str | None
) -> Experiment | None:
    """The row `--judge` names: `workspace`, an experiment (name, ref, SHA prefix) or a
    commit (branch, tag, SHA)."""
    from exp_ci.adapters.git import ref_commit
    from exp_ci.read.experiments import read_revision, read_workspace_row
    from exp_ci.resolve import find_experiment

    if judge is None:
        return None
    if judge == "workspace":
        return comparison.workspace or read_workspace_row(git)
    try:
        return find_experiment(comparison.baselines, judge)
    except UserError as not_an_experiment:
        sha = ref_commit(git, judge)
        if sha is None:
            raise UserError(
                f"{not_an_experiment.message} It is no commit either (branch, tag or SHA)."
            ) from None
        return read_revision(git, sha)


@dataclass(frozen=True)
class TableRequest:
    """What shapes a comparison table; `show` and `comment` both take it."""

    selection: Selection
    metric: str | None = None
    direction: str | None = None
    params: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    only_changed: bool = False
    sort_by: str | None = None
    top: int | None = None
    precision: int | None = None
    compare: CompareRequest = field(default_factory=CompareRequest)


@dataclass(frozen=True)
class PictureRequest:
    """What to draw under a markdown table; `show --format md` and `comment` both take it."""

    chart: bool = False
    curve: str | None = None  # "" for the first curve, else a series name; None: no curve
    trend: int | None = None

    @property
    def wanted(self) -> bool:
        return self.chart or self.curve is not None or self.trend is not None


def build_requested_table(context: ProjectContext, request: TableRequest) -> Table:
    """Read the project and build the table the request describes (settings fill gaps)."""
    from exp_ci.render.table import TableOptions, build_table

    project = read_project(context, request.selection, compare=request.compare)
    settings = project.settings
    comparison = project.comparison
    assert comparison is not None
    metric = metric_from(request.metric, request.direction, settings, comparison.rows())
    direction = metric.direction if metric else Direction(request.direction or "max")
    return build_table(
        project.baselines,
        TableOptions(
            metric=metric,
            params=request.params or settings.params,
            metrics=request.metrics or settings.metrics,
            only_changed=request.only_changed,
            sort_by=request.sort_by,
            sort_direction=direction,
            top=request.top,
            precision=request.precision or settings.precision or DEFAULT_PRECISION,
        ),
        comparison,
        project.explicit_subject,
    )


def build_pictures(context: ProjectContext, table: Table, request: PictureRequest) -> Pictures:
    """Read what the pictures need (plots, history) and draw them for `table`."""
    from exp_ci.render.charts import DEFAULT_BARS, Pictures, ranking_chart
    from exp_ci.render.markdown import escape

    if not request.wanted:
        return Pictures()
    metric = table.metric
    if metric is None:
        raise UserError(
            "--chart, --curve and --trend draw the ranking metric: name it with --metric NAME "
            "(or set `metric` in .exp-ci.yaml)."
        )
    charts: list[str] = []
    notes: list[str] = []
    trends = {}
    git = context.git
    if request.chart:
        chart = ranking_chart(table, DEFAULT_BARS)
        if chart is None:
            notes.append(f"no chart: no experiment has a numeric value for {escape(metric.key)}")
        else:
            charts.append(chart)
    if request.curve is not None:
        curve, why = _curve_chart(git, table, request.curve)
        charts.extend([curve] if curve else [])
        notes.extend([why] if why else [])
    if request.trend is not None:
        from exp_ci.read.trend import read_trends

        revs = [row.experiment.rev for row in table.rows if row.is_commit]
        trends = read_trends(git, revs, metric, request.trend)
    return Pictures(tuple(charts), trends, tuple(notes))


def _curve_sides(table: Table) -> tuple[Experiment, str, Experiment | None, str] | None:
    """(new side, its role, old side, its role) of the curve, or None when there is none.

    With a base: the base against the row the pull request is judged by (the workspace after
    `dvc repro`, else the winner). Without: the winner against its baseline.
    """
    if table.against is not None and table.subject is not None:
        base = next((row.experiment for row in table.rows if row.is_base), None)
        role = (
            "winner"
            if table.winner and table.winner.experiment == table.subject.row
            else ("pull request")
        )
        return table.subject.row, role, base, "base"
    winner = table.winner
    if winner is None:
        return None
    experiment = winner.experiment
    baseline = next(
        (
            r.experiment
            for r in table.rows
            if r.is_commit and r.experiment.rev == experiment.baseline_rev
        ),
        None,
    )
    return experiment, "winner", baseline, "baseline"


def _curve_chart(git: GitRepository, table: Table, name: str) -> tuple[str | None, str | None]:
    """The training curve of the pull request (or the winner) and its base, or why none."""
    from exp_ci.read.plots import choose_series, read_row_plots
    from exp_ci.render.charts import Curve, curve_chart
    from exp_ci.render.markdown import escape

    sides = _curve_sides(table)
    if sides is None:
        return None, "no training curve: no experiment has a value for the metric"
    experiment, role, baseline, baseline_role = sides
    plots = read_row_plots(git, [experiment] + ([baseline] if baseline else []))
    won = plots[experiment.rev]
    base = plots[baseline.rev] if baseline else None
    available = list(won.series) + (list(base.series) if base else [])
    chosen = choose_series(name or None, available)
    label = escape(experiment.label)
    if chosen is None:
        errors = "; ".join(f"{escape(p)}: {escape(e)}" for p, e in won.errors.items())
        return None, f"no training curve: {label} has no plot data in dvc.yaml" + (
            f" ({errors})" if errors else ""
        )
    mine = next((s for s in won.series if s.name == chosen.name), None)
    if mine is None or len(mine.points) < 2:
        why = won.errors.get(chosen.file, "it has no such series")
        return (
            None,
            f"no training curve: {label} has no data for {escape(chosen.name)} ({escape(why)})",
        )
    theirs = next((s for s in base.series if s.name == chosen.name), None) if base else None
    curves = [Curve(experiment.label, role, mine.points)]
    if baseline is not None and theirs is not None and theirs.points:
        curves.insert(0, Curve(baseline.label, baseline_role, theirs.points))
    chart = curve_chart(f"{chosen.field} ({chosen.file})", chosen.x_field, chosen.field, curves)
    if chart is None:
        return None, f"no training curve: {escape(chosen.name)} has fewer than two points"
    return chart, None
