"""`exp-ci persist`: keep experiments as Git branches or annotated tags, data pushed first.

Experiments are named (DVC name, full ref or SHA prefix) or chosen as `exp-ci best` chooses
them. Everything is checked before anything is written: ref names, existing refs (locally
and on the Git remote), the DVC remote. With --push, the experiment's data goes to the DVC
remote first and is checked there (`hooks.publish`: every object its DVC files record),
then the experiment ref (`dvc exp push --no-cache`), then the branch or tag, so no pushed
ref points at missing data. A rerun is a no-op, or finishes what an interrupted run left.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from exp_ci.commands.common import (
    Selection,
    add_selection_arguments,
    direction_option,
    metric_option,
    min_improvement_option,
    positive_int,
    selection_from_args,
)
from exp_ci.config import DEFAULT_PRECISION
from exp_ci.errors import EXIT_CHECK_FAILED, EXIT_OK, UserError
from exp_ci.options import option, part

if TYPE_CHECKING:
    from exp_ci.adapters.git import GitRepository
    from exp_ci.model import Experiment, MetricSpec
    from exp_ci.persist_plan import RefStep
    from exp_ci.report import Project, ProjectContext

DEFAULT_TITLE = "Experiment {name}"
DEFAULT_TITLE_WITH_METRIC = "Experiment {name}: {metric} {value}"


@dataclass(frozen=True)
class PersistOptions:
    selection: Selection = part(add_selection_arguments, selection_from_args)
    experiments: tuple[str, ...] = option(
        "experiments",
        nargs="*",
        default=(),
        metavar="EXP",
        help="experiments to keep: DVC name, full ref (refs/exps/...) or SHA prefix "
        "(default: the best by --metric, as `exp-ci best` chooses)",
    )
    metric: str | None = metric_option("(needed when no EXP is named)")
    direction: str | None = direction_option()
    top: int | None = option(
        "--top", type=positive_int, metavar="K", help="keep the K best (default 1)"
    )
    min_improvement: float | None = min_improvement_option()
    kind: str = option(
        "--as",
        choices=["branch", "tag"],
        help="a branch at the experiment commit (default), or an annotated tag whose "
        "message lists its metrics and params",
        default="branch",
    )
    name: str | None = option(
        "--name",
        metavar="TEMPLATE",
        help="the branch or tag name, from {name} {rev} {baseline} {metric} {value} {date} "
        "(default: exp/{name} for branches, exp/{name}-{rev} for tags)",
    )
    push: str | None = option(
        "--push",
        metavar="REMOTE",
        help="push to this Git remote: first the data to the DVC remote (then checked "
        "there, object by object), then the experiment ref, then the branch or tag",
    )
    dvc_remote: str | None = option(
        "--dvc-remote",
        metavar="NAME",
        help="the DVC remote for the data (default: `remote` in .exp-ci.yaml, else the "
        "project's default DVC remote)",
    )
    force: bool = option(
        "--force",
        action="store_true",
        help="move a branch or tag that exists (locally or on the remote) but points elsewhere",
    )
    dry_run: bool = option(
        "--dry-run",
        action="store_true",
        help="print what would be created and pushed, and change nothing",
    )
    pr: bool = option(
        "--pr",
        action="store_true",
        help="open a pull request from the pushed branch (or update the open one); needs "
        "--as branch, --push, GITHUB_TOKEN or GH_TOKEN, and GITHUB_REPOSITORY",
    )
    base: str | None = option(
        "--base",
        metavar="BRANCH",
        help="the pull request's base (default: the branch of the experiment's baseline, "
        "else the repository's default branch)",
    )
    title: str | None = option(
        "--title",
        metavar="TEMPLATE",
        help=f"the pull request's title, same placeholders as --name (default: "
        f"'{DEFAULT_TITLE_WITH_METRIC}' with a metric, else '{DEFAULT_TITLE}')",
    )
    quiet: bool = False
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)


OPTIONS = PersistOptions


def _check_flags(options: PersistOptions) -> None:
    named = bool(options.experiments)
    if named and options.top is not None:
        raise UserError("--top chooses experiments by rank; leave it out when you name them.")
    if named and options.min_improvement is not None:
        raise UserError("--min-improvement filters the ranking; leave it out when you name EXP.")
    if options.pr and options.kind != "branch":
        raise UserError("--pr opens a pull request from a branch: use it with --as branch.")
    if options.pr and not options.push:
        raise UserError(
            "--pr needs the branch on GitHub first: add --push REMOTE (the GitHub remote)."
        )
    if options.base and not options.pr:
        raise UserError("--base is the pull request's base branch; it needs --pr.")
    if options.title and not options.pr:
        raise UserError("--title is the pull request's title; it needs --pr.")


def _say(options: PersistOptions, line: str) -> None:
    if not options.quiet:
        print(line, flush=True)


def _choose(options: PersistOptions, project: Project, metric: MetricSpec | None):
    """The experiments to keep, or None when the ranking has no winner (exit 1)."""
    from exp_ci.resolve import find_experiments
    from exp_ci.select import best

    if options.experiments:
        return find_experiments(project.baselines, options.experiments)
    if metric is None:
        raise UserError(
            "name the experiments to keep (EXP...), or choose the best with --metric NAME "
            "(or `metric:` in .exp-ci.yaml)."
        )
    winners = best(project.baselines, metric, options.top or 1, options.min_improvement)
    if not winners:
        return None
    return [w.experiment for w in winners]


def run(options: PersistOptions) -> int:
    from exp_ci.report import project_context

    _check_flags(options)
    with project_context(options.selection.repo) as context:
        return _keep(options, context)


def _keep(options: PersistOptions, context: ProjectContext) -> int:
    from exp_ci.persist_plan import Kind, make_target
    from exp_ci.render.messages import tag_message
    from exp_ci.report import all_rows, metric_from, read_project

    selection = options.selection
    if options.experiments and not (selection.revs or selection.all_baselines):
        selection = replace(selection, all_baselines=True)  # a named experiment, wherever
    project = read_project(context, selection)
    metric = metric_from(
        options.metric, options.direction, project.settings, all_rows(project.baselines)
    )
    experiments = _choose(options, project, metric)
    if experiments is None:
        print("exp-ci: no experiment qualifies, so nothing is kept", file=sys.stderr)
        return EXIT_CHECK_FAILED
    precision = project.settings.precision or DEFAULT_PRECISION
    commits = {b.commit.rev: b.commit for b in project.baselines}
    kind = Kind(options.kind)
    targets = [
        make_target(
            experiment,
            kind,
            options.name,
            metric,
            precision,
            tag_message(experiment, commits[experiment.baseline_rev], metric, precision)
            if kind is Kind.TAG
            else None,
        )
        for experiment in experiments
    ]
    return _persist(options, project, context.git, targets, metric, precision)


def _persist(options, project, git: GitRepository, targets, metric, precision) -> int:
    from exp_ci.adapters import dvc
    from exp_ci.adapters.git import ref_states, remote_ref_states
    from exp_ci.persist_plan import RefState, plan_refs

    local = {ref: RefState(*s) for ref, s in ref_states(git, "refs/heads/", "refs/tags/").items()}
    remote = dvc_remote = None
    if options.push:
        dvc_remote = dvc.choose_remote(
            project.dvc_root, options.dvc_remote or project.settings.remote
        )
        found = remote_ref_states(git, options.push, [t.ref for t in targets])
        remote = {ref: RefState(*s) for ref, s in found.items()}
    steps = plan_refs(targets, local, remote, force=options.force, remote_name=options.push or "")
    pulls = _plan_pulls(options, git, steps, metric, precision, project) if options.pr else []

    github_repo = None
    if pulls:
        from exp_ci.adapters import github

        github_repo = github.connect(options.environ)  # settings checked, nothing requested yet
    if options.dry_run:
        _report(options, steps, pulls, dvc_remote, done=False)
        return EXIT_OK
    _write_local(options, git, steps)
    if options.push:
        _push(options, project, git, steps, dvc_remote or "")
    try:
        urls = [_open_pull(options, github_repo, pull) for pull in pulls]
    finally:
        if github_repo is not None:
            github_repo.close()
    _write_outputs(options, steps, urls)
    return EXIT_OK


def _report(options, steps: Sequence[RefStep], pulls, dvc_remote, *, done: bool) -> None:
    """The whole plan at once (--dry-run); a real run reports each step as it is done."""
    from exp_ci.persist_plan import data_line, exp_ref_line, local_line, remote_line

    for step in steps:
        _say(options, local_line(step, done=done))
    if options.push:
        kept = {s.target.experiment.rev: s.target.experiment for s in steps}
        for experiment in kept.values():
            _say(options, data_line(experiment, dvc_remote, 0, done=done))
        for experiment in _experiments_to_push(steps):
            if experiment.ref:
                _say(options, exp_ref_line(experiment, options.push, done=done))
        for step in steps:
            _say(options, remote_line(step, options.push, done=done))
    for pull in pulls:
        _say(options, f"would open a pull request {pull.summary} (or update the open one)")


def _experiments_to_push(steps: Sequence[RefStep]) -> list[Experiment]:
    from exp_ci.persist_plan import needs_push

    chosen = {s.target.experiment.rev: s.target.experiment for s in steps if needs_push(s)}
    return list(chosen.values())


def _write_local(options: PersistOptions, git: GitRepository, steps: Sequence[RefStep]) -> None:
    """Create tag objects, then move every ref in one all-or-nothing transaction."""
    from exp_ci.adapters.git import create_tag_object, update_refs
    from exp_ci.persist_plan import Action, Kind, local_line

    updates = []
    for step in steps:
        if step.local is Action.UP_TO_DATE:
            continue
        target = step.target
        new = target.experiment.rev
        if target.kind is Kind.TAG:
            new = create_tag_object(git, target.name, new, target.message or "")
        updates.append((target.ref, new, step.local_old.object if step.local_old else None))
    update_refs(git, updates, "exp-ci persist")
    for step in steps:
        _say(options, local_line(step, done=True))


def _push(options, project, git: GitRepository, steps: Sequence[RefStep], dvc_remote: str):
    """Data first, verified in the DVC remote; then the experiment refs; then the branches
    or tags. A failure in between says what reached where and how to finish."""
    from exp_ci.adapters import dvc
    from exp_ci.adapters.git import GitWriteError, push_refs
    from exp_ci.hooks.publish import ensure_data, missing_message
    from exp_ci.persist_plan import data_line, exp_ref_line, needs_push, remote_line

    remote = options.push
    # Every kept experiment, also those whose ref is up to date on the remote: an earlier
    # run (or another tool) may have pushed the ref without its data.
    experiments = list({s.target.experiment.rev: s.target.experiment for s in steps}.values())
    for experiment in experiments:
        checks = ensure_data(project.dvc_root, [experiment.rev], dvc_remote)
        if not all(check.complete for check in checks):
            raise UserError(
                missing_message(
                    checks,
                    f"experiment {experiment.label} ({experiment.rev[:7]})",
                    f"No branch or tag reached {remote}. The local refs are in place; put the "
                    "data in the remote and rerun the same command to finish.",
                )
            )
        pushed = sum(check.pushed for check in checks)
        _say(options, data_line(experiment, dvc_remote, pushed, done=True))
    exp_refs = [e.ref for e in _experiments_to_push(steps) if e.ref]
    if exp_refs:
        try:
            dvc.exp_push_refs(project.dvc_root, remote, exp_refs)
        except dvc.DvcCommandError as error:
            raise UserError(
                f"{error.message}\nThe data is in DVC remote '{dvc_remote}'; no branch or tag "
                f"reached {remote}. The local refs are in place; fix the cause and rerun the "
                "same command to finish."
            ) from None
        for experiment in _experiments_to_push(steps):
            if experiment.ref:
                _say(options, exp_ref_line(experiment, remote, done=True))
    pushed_steps = [s for s in steps if needs_push(s)]
    try:
        push_refs(
            git,
            remote,
            [(s.target.ref, s.remote_old.object if s.remote_old else None) for s in pushed_steps],
        )
    except GitWriteError as error:
        names = ", ".join(s.target.name for s in pushed_steps)
        raise UserError(
            f"the data is in DVC remote '{dvc_remote}', but the Git remote '{remote}' did "
            f"not take {names} (none of them reached it: the push is atomic): "
            f"{error.message}. The local refs are in place; fix the cause and rerun the same "
            "command to finish the push."
        ) from None
    for step in steps:
        _say(options, remote_line(step, remote, done=True))


# --- pull requests ------------------------------------------------------------------------


@dataclass(frozen=True)
class PullPlan:
    branch: str
    base: str | None  # None: the repository's default branch
    title: str
    body: str

    @property
    def summary(self) -> str:
        into = self.base or "the repository's default branch"
        return f"from {self.branch} into {into}"


def _plan_pulls(options, git, steps, metric, precision, project) -> list[PullPlan]:
    from exp_ci.adapters.git import branches_at
    from exp_ci.persist_plan import render_template, template_values
    from exp_ci.render.messages import pull_request_body

    commits = {b.commit.rev: b.commit for b in project.baselines}
    pulls = []
    for step in steps:
        experiment = step.target.experiment
        base = options.base
        if base is None:
            at_baseline = branches_at(git, experiment.baseline_rev, remote=options.push)
            base = next((b for b in at_baseline if b != step.target.name), None)
        values = template_values(experiment, metric, precision)
        template = options.title or (
            DEFAULT_TITLE_WITH_METRIC if "value" in values else DEFAULT_TITLE
        )
        title = render_template(template, values, option="--title")
        body = pull_request_body(
            experiment,
            commits[experiment.baseline_rev],
            step.target.name,
            options.push,
            metric,
            precision,
            params=project.settings.params,
            metrics=project.settings.metrics,
        )
        pulls.append(PullPlan(step.target.name, base, title, body))
    return pulls


def _open_pull(options: PersistOptions, github_repo, pull: PullPlan) -> str:
    from exp_ci.adapters import github

    result = github.open_or_update_pull(
        github_repo, head=pull.branch, base=pull.base, title=pull.title, body=pull.body
    )
    verb = "opened" if result.created else "updated the body of"
    _say(options, f"{verb} pull request #{result.number} {pull.summary}: {result.url}")
    return result.url


def _write_outputs(options: PersistOptions, steps: Sequence[RefStep], urls: list[str]) -> None:
    """Step outputs for the winner (the first experiment): branch or tag, and rev."""
    from exp_ci.adapters.actions import write_output

    if not steps:
        return
    first = steps[0].target
    write_output(first.kind.value, first.name, options.environ)
    write_output("rev", first.experiment.rev, options.environ)
    if urls:
        write_output("pull-request", urls[0], options.environ)
