"""`exp-ci run`: run DVC experiments in CI: one, a grid, a random sample, a shard of either.

-S takes DVC's own syntax ([FILE:]KEY=V1,V2,...; repeatable; comma lists and range()
make a grid); --grid FILE a YAML mapping of params to lists. The plan is their cartesian
product, or --random N points of it (reproducible with --seed). --shard I/N runs the I-th
of N disjoint slices, the same on every machine, for a CI matrix. Each experiment is a real
`dvc exp run` on HEAD's commit, in a scratch clone that shares the project's DVC cache
(--jobs J at once); the project's workspace is left as it is. A failing experiment is
recorded and the others go on; exit 1 at the end if any failed (unless --allow-failures).
--push REMOTE shares every finished experiment (refs and data, `dvc exp push`).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exp_ci.commands.common import positive_int, write_file
from exp_ci.errors import EXIT_CHECK_FAILED, EXIT_OK, UserError
from exp_ci.options import option
from exp_ci.render.words import count

if TYPE_CHECKING:
    from exp_ci.adapters.dvc_fork import Channels
    from exp_ci.adapters.git import GitRepository
    from exp_ci.runner import Outcome, Task
    from exp_ci.sweep import Axis, Plan, Shard


@dataclass(frozen=True)
class RunOptions:
    repo: Path
    sets: tuple[str, ...] = option(
        "-S",
        "--set-param",
        action="append",
        default=(),
        metavar="[FILE:]KEY=V1,V2",
        help="a param and its values in DVC's -S syntax (repeatable); commas, range(A,B,STEP) "
        "and choice(...) give several values, and the plan is the product of all params",
    )
    grid: str | None = option(
        "--grid",
        metavar="FILE",
        help="a YAML (or JSON/TOML) mapping of params ([FILE:]KEY) to lists of values, "
        "added to the -S params",
    )
    random: int | None = option(
        "--random",
        type=positive_int,
        metavar="N",
        help="run N points drawn at random from the grid instead of all of them",
    )
    seed: int | None = option(
        "--seed",
        type=int,
        metavar="S",
        help="seed of --random (default 0): the same seed draws the same points everywhere",
    )
    shard: str | None = option(
        "--shard",
        metavar="I/N",
        help="run only the I-th of N disjoint, balanced slices of the plan (1-based); in a CI "
        'matrix: --shard "$SHARD/4", with SHARD set from the matrix in env:',
    )
    jobs: int = option(
        "-j",
        "--jobs",
        type=positive_int,
        metavar="J",
        help="run J experiments at once, each in its own scratch clone (default 1)",
        default=1,
    )
    name_prefix: str | None = option(
        "--name-prefix",
        metavar="P",
        help="name experiments P-1, P-2, ... by their place in the plan (zero-padded), "
        "the same on every shard (default P: gh<run id>-<attempt>[-s<I>of<N>] in GitHub "
        "Actions, else run-<date>-<time>[-s<I>of<N>])",
    )
    push: str | None = option(
        "--push",
        metavar="REMOTE",
        help="push every finished experiment to this Git remote, and its data to the DVC "
        "remote (dvc exp push), even when others failed",
    )
    dvc_remote: str | None = option(
        "--dvc-remote",
        metavar="NAME",
        help="with --push: the DVC remote for the data (default: the project's default remote)",
    )
    allow_failures: bool = option(
        "--allow-failures",
        action="store_true",
        help="exit 0 even when some experiments failed (they are still reported)",
    )
    summary: str | None = option(
        "--summary",
        metavar="FILE",
        help="write a JSON summary: the plan, the shard, and each experiment's name, params, "
        "state, metrics and log tail",
    )
    unshallow: bool = option(
        "--unshallow",
        action="store_true",
        help="in a shallow clone, fetch the full history first (experiments need it)",
    )
    quiet: bool = False
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)


OPTIONS = RunOptions


def _say(options: RunOptions, message: str) -> None:
    if not options.quiet:
        print(f"exp-ci: {message}", file=sys.stderr, flush=True)


# --- the plan: everything the command line says, checked before the repository is touched


@dataclass(frozen=True)
class SweepRequest:
    plan: Plan
    shard: Shard | None
    tasks: tuple[Task, ...]


def plan_request(options: RunOptions) -> SweepRequest:
    from exp_ci.runner import Task
    from exp_ci.sweep import (
        build_plan,
        check_prefix,
        default_prefix,
        experiment_name,
        parse_set,
        parse_shard,
        shard_points,
    )

    if options.seed is not None and options.random is None:
        raise UserError("--seed only chooses the points of --random N; add --random N.")
    axes = [parse_set(text) for text in options.sets]
    if options.grid is not None:
        axes += _grid_file_axes(options.grid)
    plan = build_plan(axes, options.random, options.seed or 0)
    shard = parse_shard(options.shard) if options.shard is not None else None
    from exp_ci.adapters.actions import run_identity

    prefix = options.name_prefix or default_prefix(
        *run_identity(options.environ), shard, datetime.now(timezone.utc)
    )
    check_prefix(prefix)
    tasks = tuple(
        Task(point, experiment_name(prefix, point, len(plan.points)))
        for point in shard_points(plan.points, shard)
    )
    return SweepRequest(plan, shard, tasks)


def _grid_file_axes(path: str) -> list[Axis]:
    from exp_ci.read.formats import FileFormatError, parse_file
    from exp_ci.sweep import grid_axes

    try:
        content = Path(path).read_bytes()
    except OSError as error:
        raise UserError(f"cannot read --grid {path}: {error.strerror}.") from None
    try:
        document = parse_file(path, content)
    except FileFormatError as error:
        raise UserError(f"--grid {error}. Fix the file.") from None
    return grid_axes(document, path)


# --- preflight: the repository, the params, the names, the remotes -----------------------


def _check_history(git: GitRepository, options: RunOptions) -> None:
    from exp_ci.adapters.git import is_shallow, unshallow

    if not is_shallow(git):
        return
    if not options.unshallow:
        raise UserError(
            f"{git.root} is a shallow clone; DVC experiments need the full history. Run "
            "`git fetch --unshallow` (in GitHub Actions: actions/checkout with "
            "`fetch-depth: 0`), or pass --unshallow to let exp-ci do it."
        )
    _say(options, "shallow clone: fetching the full history (--unshallow)")
    unshallow(git)


def _check_params(git: GitRepository, baseline: str, axes: Sequence[Axis]) -> None:
    from exp_ci.sweep import missing_params

    documents = _params_documents(git, baseline, [axis.file for axis in axes])
    problems = missing_params(axes, documents)
    if problems:
        raise UserError(
            f"the sweep sets params that HEAD ({baseline[:7]}) does not have; nothing was "
            "run:\n  " + "\n  ".join(problems)
        )


def _params_documents(git: GitRepository, commit: str, files: Sequence[str]) -> dict[str, Any]:
    """The params files of a commit, parsed (None: not there; a string: does not parse)."""
    from exp_ci.read.formats import FileFormatError, parse_file

    tree = git.commits([commit])[commit].tree
    documents: dict[str, Any] = {}
    for file in dict.fromkeys(files):
        entry = git.lookup(tree, git.dvc_prefix + file.removeprefix("./"))
        if entry is None or entry.is_tree:
            documents[file] = None
            continue
        try:
            documents[file] = parse_file(file, git.blob(entry.sha))
        except FileFormatError as error:
            documents[file] = str(error)
    return documents


def _check_names(
    git: GitRepository, baseline: str, tasks: Sequence[Task], axes: Sequence[Axis] = ()
) -> dict[str, str]:
    """Names that are free, or taken by the same experiment from an earlier run of the
    same plan (same name, same baseline, the same param values): those are kept, not run
    again, so rerunning a command that was interrupted completes it. The kept ones:
    name -> commit."""
    from exp_ci.refnames import experiment_name_error
    from exp_ci.sweep import point_matches

    for task in tasks:
        reason = experiment_name_error(task.name)
        if reason:
            raise UserError(f"'{task.name}' is not a valid experiment name: {reason}.")
    existing = {
        ref.name: ref.commit.sha for ref in git.experiment_refs() if ref.baseline == baseline
    }
    files = [axis.file for axis in axes]
    kept: dict[str, str] = {}
    taken = []
    for task in tasks:
        commit = existing.get(task.name)
        if commit is None:
            continue
        if point_matches(task.point, axes, _params_documents(git, commit, files)):
            kept[task.name] = commit
        else:
            taken.append(task.name)
    if taken:
        shown = ", ".join(taken[:5]) + (f" and {len(taken) - 5} more" if len(taken) > 5 else "")
        raise UserError(
            f"experiments named {shown} already exist for HEAD ({baseline[:7]}) with other "
            "params. Choose another --name-prefix, or remove them with `dvc exp remove NAME...`."
        )
    return kept


def _check_push(git: GitRepository, options: RunOptions) -> str | None:
    """The DVC remote to push data to, after checking both remotes exist."""
    from exp_ci.adapters.dvc import choose_remote
    from exp_ci.adapters.git import remote_names

    if options.push is None:
        if options.dvc_remote is not None:
            raise UserError("--dvc-remote only matters with --push REMOTE; add --push.")
        return None
    names = remote_names(git)
    looks_like_url = any(mark in options.push for mark in (":", "/", "\\"))
    if options.push not in names and not looks_like_url:
        known = ", ".join(names) or "none"
        raise UserError(
            f"--push {options.push}: there is no Git remote of that name in {git.root} "
            f"(known: {known}). Add it with `git remote add {options.push} URL`."
        )
    return choose_remote(git.dvc_root, options.dvc_remote)


def _warn_dirty(git: GitRepository, baseline: str, options: RunOptions) -> None:
    from exp_ci.adapters.git import dirty_tracked_files

    dirty = dirty_tracked_files(git)
    if dirty:
        shown = ", ".join(dirty[:5]) + (" ..." if len(dirty) > 5 else "")
        _say(
            options,
            f"warning: uncommitted changes ({shown}) are not part of these experiments: "
            f"they run on HEAD's commit {baseline[:7]}. Commit the changes to include them.",
        )


# --- the command --------------------------------------------------------------------------


def run(options: RunOptions) -> int:
    from exp_ci.runner import preload_dvc

    with contextlib.ExitStack() as stack:
        dvc = preload_dvc(options.jobs)  # imports while the plan is made and checked
        stack.callback(dvc.close)
        request = plan_request(options)
        dvc.keep(min(options.jobs, len(request.tasks)))
        from exp_ci.read.experiments import open_project  # its imports overlap DVC's too

        git = stack.enter_context(open_project(options.repo))
        _check_history(git, options)
        baseline = git.resolve_commit("HEAD")
        _check_params(git, baseline, request.plan.axes)
        kept = _check_names(git, baseline, request.tasks, request.plan.axes)
        dvc_remote = _check_push(git, options)
        _warn_dirty(git, baseline, options)
        _say(options, _describe(request, options.jobs, baseline))
        recovered = _recover(git, options)
        if recovered:
            kept = _check_names(git, baseline, request.tasks, request.plan.axes)
        outcomes = _run(git, baseline, request, options, kept, dvc)
        return _finish(git, baseline, request, outcomes, options, dvc_remote)


def _describe(request: SweepRequest, jobs: int, baseline: str) -> str:
    plan = request.plan
    axes = " × ".join(f"{axis.name} ({len(axis.values)})" for axis in plan.axes)
    text = f"plan: {count(len(plan.points), 'experiment')}"
    if plan.sample is not None and plan.sample < plan.grid_size:
        text += f" drawn at random (seed {plan.seed}) from a grid of {plan.grid_size}"
    elif plan.sample is not None:
        text += f" (--random {plan.sample}, but the grid has only {plan.grid_size}: all of it)"
    text += f" of {axes}" if axes else " with the params as committed"
    if request.shard is not None:
        text += f"; shard {request.shard}: {len(request.tasks)} of them"
    if request.tasks:
        running = min(jobs, len(request.tasks))
        text += f"; {running} at a time, on {baseline[:7]}"
    return text


def _recover(git: GitRepository, options: RunOptions) -> list[str]:
    """Experiments an earlier, killed run finished in its scratch clones, into the project."""
    from exp_ci.runner import SCRATCH_FOLDER, recover_scratch

    recovered = recover_scratch(git, git.dvc_root / SCRATCH_FOLDER)
    if recovered:
        names = ", ".join(ref.rsplit("/", 1)[-1] for ref in recovered)
        _say(options, f"kept {len(recovered)} experiment(s) an interrupted run finished: {names}")
    return recovered


def _run(
    git: GitRepository,
    baseline: str,
    request: SweepRequest,
    options: RunOptions,
    kept: Mapping[str, str],
    dvc: Channels,
) -> list[Outcome]:
    from exp_ci.progress import choose_reporter
    from exp_ci.runner import Outcome, experiment_ref, run_tasks

    if not request.tasks:
        _say(options, f"nothing to run in shard {request.shard}")
        return []
    earlier = [
        Outcome(
            task,
            "success",
            0,
            0.0,
            "exp-ci: finished by an earlier run of the same plan; kept, not run again\n",
            rev=kept[task.name],
            ref=experiment_ref(baseline, task.name),
        )
        for task in request.tasks
        if task.name in kept
    ]
    if earlier:
        names = ", ".join(o.task.name for o in earlier)
        _say(options, f"{len(earlier)} experiment(s) finished by an earlier run, kept: {names}")
    to_run = [task for task in request.tasks if task.name not in kept]
    outcomes = earlier
    if to_run:
        reporter = choose_reporter(options.environ, quiet=options.quiet)
        outcomes += run_tasks(git, baseline, to_run, options.jobs, reporter, dvc)
    order = {task.name: position for position, task in enumerate(request.tasks)}
    return sorted(outcomes, key=lambda outcome: order[outcome.task.name])


def _finish(
    git: GitRepository,
    baseline: str,
    request: SweepRequest,
    outcomes: Sequence[Outcome],
    options: RunOptions,
    dvc_remote: str | None,
) -> int:
    finished = [outcome for outcome in outcomes if outcome.ok]
    failed = [outcome for outcome in outcomes if not outcome.ok]
    metrics = _metrics(git, baseline, finished) if options.summary else {}
    push_error: UserError | None = None
    on_origin: dict[str, str] = {}
    if options.push and finished:
        try:
            _push(git, finished, options, dvc_remote)
        except UserError as error:
            push_error = error
        on_origin = _on_origin(git, options.push)
    pushed = {o.task.name for o in finished if o.ref and on_origin.get(o.ref) == o.rev}
    document = summary_document(request, baseline, outcomes, metrics, options.push, pushed)
    if options.summary:
        write_file(options.summary, json.dumps(document, indent=2) + "\n", "--summary")
    _job_summary(document, options.environ)
    _say(
        options,
        f"{len(finished)} finished, {len(failed)} failed"
        + (f" ({', '.join(o.task.name for o in failed)})" if failed else "")
        + (
            _pushed_phrase(len(pushed), len(finished), options.push)
            if options.push and finished
            else ""
        ),
    )
    if push_error is not None:
        raise push_error
    if failed and not options.allow_failures:
        return EXIT_CHECK_FAILED
    return EXIT_OK


def _push(
    git: GitRepository, finished: Sequence[Outcome], options: RunOptions, dvc_remote: str | None
) -> None:
    """The data of every finished experiment into the DVC remote, checked there object by
    object (`hooks.publish`); then the refs of those whose data is all there (`dvc exp push
    --no-cache`). One whose data is not stays at home, named in the error, and does not
    hold back the others: nothing on origin lacks its data."""
    from exp_ci.adapters.dvc import DvcCommandError, exp_push_refs
    from exp_ci.hooks.publish import ensure_data, missing_message

    remote = options.push or ""
    _say(options, f"pushing the data of {len(finished)} experiment(s) to DVC remote '{dvc_remote}'")
    checks = ensure_data(
        git.dvc_root,
        [o.rev for o in finished if o.rev],
        dvc_remote,
        say=lambda s: _say(options, s),
    )
    lacking = set().union(*(check.lacking for check in checks))
    complete = [o for o in finished if o.rev not in lacking]
    held = [o for o in finished if o.rev in lacking]
    if complete:
        _say(options, f"data checked in DVC remote '{dvc_remote}'; pushing the experiment refs")
        try:
            exp_push_refs(git.dvc_root, remote, [o.ref for o in complete if o.ref])
        except DvcCommandError as error:
            raise UserError(
                f"{error.message}\nThe data is in DVC remote '{dvc_remote}'; the summary lists "
                f"which experiments reached {remote}. Rerun to push the rest."
            ) from None
    if held:
        names = ", ".join(o.task.name for o in held)
        pushed = f"the other {len(complete)} are on {remote}; " if complete else ""
        raise UserError(
            missing_message(
                checks,
                f"experiment(s) {names}",
                f"So {names} stayed here, not pushed to {remote} ({pushed}nothing on "
                f"{remote} lacks its data). Put the data in the DVC remote (or rebuild it), "
                "then rerun the same `exp-ci run ... --push` command: it keeps the finished "
                "experiments, checks their data again and pushes them.",
            )
        )


def _on_origin(git: GitRepository, remote: str) -> dict[str, str]:
    """Experiment refs on the Git remote now: what the summary reports as pushed."""
    from exp_ci.adapters.git import remote_experiment_refs

    try:
        return remote_experiment_refs(git, remote)
    except UserError:
        return {}


def _pushed_phrase(pushed: int, finished: int, remote: str) -> str:
    if pushed == finished:
        return f"; the finished ones are on {remote}, their data checked in the DVC remote"
    return f"; {pushed} of the {finished} finished are on {remote}"


def _metrics(
    git: GitRepository, baseline: str, finished: Sequence[Outcome]
) -> dict[str, dict[str, Any]]:
    """Experiment name -> `file:key` -> value, read as `exp-ci show` reads them."""
    if not finished:
        return {}
    from exp_ci.read.experiments import read_baselines
    from exp_ci.select import flat_values

    names = {outcome.task.name for outcome in finished}
    found = {}
    for experiment in read_baselines(git, [baseline])[0].experiments:
        if experiment.name in names:
            found[experiment.name] = flat_values(experiment.metrics)
    return found


def summary_document(
    request: SweepRequest,
    baseline: str,
    outcomes: Sequence[Outcome],
    metrics: Mapping[str, Mapping[str, Any]],
    push: str | None,
    pushed: Collection[str],
) -> dict[str, Any]:
    """The --summary JSON (version 1)."""
    plan = request.plan
    by_name = {outcome.task.name: outcome for outcome in outcomes}
    experiments = []
    for task in request.tasks:
        outcome = by_name.get(task.name)
        entry: dict[str, Any] = {
            "index": task.point.index,
            "name": task.name,
            "params": {s.param: s.value for s in task.point.settings},
            "state": outcome.state if outcome else "not run",
        }
        if outcome is not None:
            entry.update(
                rev=outcome.rev,
                ref=outcome.ref,
                exit_code=outcome.exit_code,
                dvc_exit_code=outcome.dvc_exit_code,
                seconds=outcome.seconds,
                metrics=dict(metrics.get(task.name, {})),
                log_tail=[] if outcome.ok else outcome.tail(),
                log_file=str(outcome.log_file) if outcome.log_file else None,
                pushed=task.name in pushed,
            )
        experiments.append(entry)
    return {
        "version": 1,
        "baseline": baseline,
        "plan": {
            "params": {axis.name: list(axis.values) for axis in plan.axes},
            "grid_size": plan.grid_size,
            "random": {"count": plan.sample, "seed": plan.seed} if plan.sample else None,
            "size": len(plan.points),
        },
        "shard": (
            {"index": request.shard.index, "count": request.shard.count} if request.shard else None
        ),
        "push": push,
        "counts": {
            "planned": len(request.tasks),
            "success": sum(1 for o in outcomes if o.ok),
            "failed": sum(1 for o in outcomes if not o.ok),
        },
        "experiments": experiments,
    }


def _job_summary(document: Mapping[str, Any], environ: Mapping[str, str]) -> None:
    """A short table in the GitHub job summary, when there is one."""
    from exp_ci.adapters import actions
    from exp_ci.render.markdown import escape

    if actions.summary_room(environ) is None:
        return
    counts = document["counts"]
    shard = document["shard"]
    title = "exp-ci run" + (f", shard {shard['index']}/{shard['count']}" if shard else "")
    lines = [
        f"### {title}: {counts['success']} finished, {counts['failed']} failed",
        "",
        "| experiment | params | state |",
        "|---|---|---|",
    ]
    for entry in document["experiments"]:
        params = " ".join(f"{k}={v}" for k, v in entry["params"].items())
        state = entry["state"]
        if state == "failed":
            state = f"failed (exit {entry['exit_code']})"
        lines.append(f"| {escape(entry['name'])} | {escape(params) or '-'} | {state} |")
    actions.add_to_summary(environ, "\n".join(lines) + "\n\n", lines[0] + "\n\n")
