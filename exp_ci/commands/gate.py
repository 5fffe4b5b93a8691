"""`exp-ci gate`: fail the check when a metric regresses against the base commit."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exp_ci.commands.common import add_metric_arguments, finite_float
from exp_ci.errors import EXIT_CHECK_FAILED, EXIT_OK, UserError

if TYPE_CHECKING:
    from exp_ci.adapters.git import GitRepository
    from exp_ci.adapters.github import GitHub
    from exp_ci.model import Experiment


@dataclass(frozen=True)
class GateOptions:
    repo: Path
    metric: str | None = None
    direction: str | None = None
    against: str | None = None
    rev: str | None = None  # compare this commit instead of the workspace
    max_drop: float | None = None
    max_drop_pct: float | None = None
    status: bool = False
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_metric_arguments(parser, required_hint="(required unless set in .exp-ci.yaml)")
    parser.add_argument(
        "--against",
        metavar="REV",
        help="the base commit to compare with (default: the pull request's base, from the "
        "GitHub Actions event)",
    )
    parser.add_argument(
        "--rev",
        metavar="REV",
        help="compare this commit (e.g. HEAD) instead of the files in the workspace",
    )
    limit = parser.add_mutually_exclusive_group()
    limit.add_argument(
        "--max-drop",
        type=finite_float,
        metavar="X",
        help="allow the metric to get worse by up to X (metric units); default: no drop allowed",
    )
    limit.add_argument(
        "--max-drop-pct",
        type=finite_float,
        metavar="P",
        help="allow the metric to get worse by up to P percent of the base value",
    )
    parser.add_argument(
        "--status",
        action="store_true",
        help="also set the commit status 'exp-ci/gate' on the pull request's head commit "
        "(needs GITHUB_TOKEN with `statuses: write`; a read-only token only warns)",
    )


def options_from_args(args: argparse.Namespace) -> GateOptions:
    for name in ("max_drop", "max_drop_pct"):
        value = getattr(args, name)
        if value is not None and value < 0:
            flag = "--" + name.replace("_", "-")
            raise UserError(
                f"{flag} must be 0 or more (got {value}); it is how much worse is allowed."
            )
    return GateOptions(
        repo=Path(args.repo),
        metric=args.metric,
        direction=args.direction,
        against=args.against,
        rev=args.rev,
        max_drop=args.max_drop,
        max_drop_pct=args.max_drop_pct,
        status=args.status,
    )


def run(options: GateOptions) -> int:
    from exp_ci.adapters import actions
    from exp_ci.commands.common import metric_from
    from exp_ci.config import load_settings
    from exp_ci.gate import judge
    from exp_ci.read.experiments import open_project, read_revision, read_workspace_row
    from exp_ci.select import metric_value

    client = None
    if options.status:
        from exp_ci.adapters import github

        client = github.connect(options.environ)  # settings checked before any work
    git = open_project(options.repo)
    try:
        settings = load_settings(git.root)
        base_rev = options.against or _base_from_event(options.environ)
        base = read_revision(git, base_rev)
        current = read_revision(git, options.rev) if options.rev else read_workspace_row(git)
        status_sha = _status_commit(options, git, current) if options.status else None
    finally:
        git.close()
    metric = metric_from(options.metric, options.direction, settings, [current, base])
    if metric is None:
        raise UserError(
            "exp-ci gate needs a metric: pass --metric NAME (and --direction min for losses), "
            "or set `metric:` in .exp-ci.yaml."
        )
    values = {}
    for side, row in (("current", current), ("base", base)):
        value = metric_value(row, metric)
        if value is None:
            reason = row.file_errors().get(metric.file, "it has no numeric value there")
            raise UserError(
                f"{metric.full_name} is missing in the {side} side ({row.label}, "
                f"{row.rev[:7] if row.rev != 'workspace' else 'files on disk'}): {reason}. "
                "Run the pipeline (`dvc repro` or `dvc exp run`) and commit its metrics, "
                "or choose another --metric."
            )
        values[side] = value
    verdict = judge(
        metric, values["current"], values["base"], options.max_drop, options.max_drop_pct
    )
    summary = f"{current.label} against {base.label}: {verdict.summary}"
    actions.write_output("gate", "pass" if verdict.passed else "fail", options.environ)
    if actions.in_actions(options.environ):
        report = actions.notice if verdict.passed else actions.error
        report(summary, options.environ, title="exp-ci gate")
    elif verdict.passed:
        print(summary)
    else:
        print(f"exp-ci gate: {summary}", file=sys.stderr)
    if client is not None and status_sha is not None:
        _set_status(client, options.environ, status_sha, verdict.passed, summary)
    return EXIT_OK if verdict.passed else EXIT_CHECK_FAILED


STATUS_CONTEXT = "exp-ci/gate"


def _pull_request_sha(payload: Mapping[str, Any], side: str) -> str | None:
    """`pull_request.<side>.sha` of an event payload, or None when it has none."""
    node: Any = payload
    for key in ("pull_request", side, "sha"):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, str) and node else None


def _status_commit(options: GateOptions, git: GitRepository, current: Experiment) -> str:
    """The commit the status belongs to: the pull request's head, else the row's commit."""
    from exp_ci.adapters import actions

    if options.rev:
        return current.rev
    _, payload = actions.read_event(options.environ)
    return _pull_request_sha(payload, "head") or git.resolve_commit("HEAD")


def _set_status(
    client: GitHub, environ: Mapping[str, str], sha: str, passed: bool, summary: str
) -> None:
    """A commit status through the API; a token that may not write it only warns."""
    from exp_ci.adapters import actions, github

    context = actions.ActionsContext.from_environ(environ)
    try:
        client.set_commit_status(
            sha, "success" if passed else "failure", summary, STATUS_CONTEXT, context.run_url
        )
    except github.WriteRefused as error:
        actions.warning(f"{error.message}; the gate's verdict stands without a status.", environ)
    except github.GitHubError as error:
        raise UserError(error.message) from None
    finally:
        client.close()


def _base_from_event(environ: Mapping[str, str]) -> str:
    """The pull request's base commit, from the event of a pull_request workflow."""
    from exp_ci.adapters import actions

    name, payload = actions.read_event(environ)
    base = _pull_request_sha(payload, "base")
    if base:
        return base
    where = f"the {name} event has no pull request" if name else "this is not a GitHub Actions run"
    raise UserError(
        f"exp-ci gate needs a base commit to compare with, and {where}. Pass --against REV "
        "(for example origin/main), or run it in a pull_request workflow."
    )
