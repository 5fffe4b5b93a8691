"""`exp-ci apply`: bring an experiment's results into the workspace, optionally commit them.

The experiment is named as everywhere in exp-ci (DVC name, full ref or SHA prefix; a name
two baselines share is refused with the refs to use) and applied by `dvc exp apply`, so
params, code, `dvc.lock` and the DVC-tracked outputs all become the experiment's. With
--commit, the files it changed are committed with a message that names the experiment
and its metric values.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from exp_ci.config import DEFAULT_PRECISION
from exp_ci.errors import EXIT_OK, UserError
from exp_ci.options import option

if TYPE_CHECKING:
    from exp_ci.adapters.git import GitRepository
    from exp_ci.model import Experiment


@dataclass(frozen=True)
class ApplyOptions:
    repo: Path
    experiment: str = option(
        "experiment",
        metavar="EXP",
        help="the experiment: DVC name, full ref (refs/exps/...) or SHA prefix",
    )
    commit: bool = option(
        "--commit",
        action="store_true",
        help="commit what the experiment changed, with its name and metrics in the message",
    )
    message: str | None = option(
        "-m",
        "--message",
        metavar="MSG",
        help="the commit's first line (with --commit; the experiment and its metrics follow)",
    )
    quiet: bool = False


OPTIONS = ApplyOptions


def _say(options: ApplyOptions, line: str) -> None:
    if not options.quiet:
        print(line, flush=True)


def run(options: ApplyOptions) -> int:
    from exp_ci.report import Selection, project_context, read_project
    from exp_ci.resolve import find_experiment

    if options.message is not None and not options.commit:
        raise UserError("-m/--message is the commit message: use it with --commit.")
    with project_context(options.repo) as context:
        project = read_project(context, Selection(options.repo, all_baselines=True))
        experiment = find_experiment(project.baselines, options.experiment)
        commits = {b.commit.rev: b.commit for b in project.baselines}
        precision = project.settings.precision or DEFAULT_PRECISION
        return _apply(options, context.git, experiment, commits[experiment.baseline_rev], precision)


def _apply(
    options: ApplyOptions,
    git: GitRepository,
    experiment: Experiment,
    baseline: Experiment,
    precision: int,
) -> int:
    from exp_ci.adapters import dvc
    from exp_ci.adapters.git import changed_paths, commit_paths, committer_identity, staged_changes
    from exp_ci.render.messages import commit_message

    if options.commit:
        staged = staged_changes(git)
        if staged:
            shown = ", ".join(staged[:5]) + (" ..." if len(staged) > 5 else "")
            raise UserError(
                f"--commit would also commit changes already staged ({shown}). Commit or "
                "unstage them first (`git restore --staged PATH`), then apply again."
            )
        committer_identity(git)
    head = git.resolve_commit("HEAD")
    if head != experiment.baseline_rev:
        print(
            f"exp-ci: note: {experiment.label} was run on {experiment.baseline_rev[:7]}, "
            f"but HEAD is {head[:7]}: the workspace gets the experiment's files as they "
            "were, which also undoes changes made since its baseline.",
            file=sys.stderr,
        )
    dvc.exp_apply(git.dvc_root, experiment.ref or experiment.rev)
    _say(options, f"applied experiment {experiment.label} ({experiment.rev[:7]})")
    if not options.commit:
        return EXIT_OK
    paths = changed_paths(git, "HEAD", experiment.rev)
    if not paths:
        _say(options, "nothing to commit: HEAD already has the experiment's files")
        return EXIT_OK
    message = commit_message(experiment, baseline, precision, subject=options.message)
    sha = commit_paths(git, paths, message)
    _say(options, f"committed {sha[:7]}: {message.splitlines()[0]}")
    return EXIT_OK
