"""`exp-ci gate`: fail the check when a metric regresses against the base commit."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from exp_ci.commands.common import (
    against_option,
    direction_option,
    judge_option,
    max_drop_option,
    max_drop_pct_option,
    metric_option,
)
from exp_ci.config import DEFAULT_PRECISION
from exp_ci.errors import EXIT_CHECK_FAILED, EXIT_OK, UserError
from exp_ci.options import option

if TYPE_CHECKING:
    from exp_ci.adapters.github import GitHub
    from exp_ci.model import Experiment


@dataclass(frozen=True)
class GateOptions:
    repo: Path
    metric: str | None = metric_option("(required unless set in .exp-ci.yaml)")
    direction: str | None = direction_option()
    against: str | None = against_option()
    rev: str | None = judge_option("--rev", "--judge")  # default: compare.py's choice
    max_drop: float | None = max_drop_option()
    max_drop_pct: float | None = max_drop_pct_option()
    status: bool = option(
        "--status",
        action="store_true",
        help="also set the commit status 'exp-ci/gate' on the pull request's head commit "
        "(needs GITHUB_TOKEN with `statuses: write`; a read-only token only warns)",
    )
    summary: bool = option(  # add the verdict to the job summary
        "--no-summary",
        action="store_false",
        default=True,
        help="do not add the verdict to the job summary (the action's comment step has it)",
    )
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


OPTIONS = GateOptions


def run(options: GateOptions) -> int:
    from exp_ci.adapters import actions
    from exp_ci.compare import choose_subject
    from exp_ci.gate import Allowance, judge_comparison, require_verdict
    from exp_ci.render.formats import render_judgement_markdown
    from exp_ci.report import CompareRequest, Selection, metric_from, project_context, read_project

    client = None
    if options.status:
        from exp_ci.adapters import github

        client = github.connect(options.environ)  # settings checked before any work
    with project_context(options.repo) as context:
        project = read_project(
            context,
            Selection(options.repo),
            compare=CompareRequest(options.against, options.rev, options.environ, need_base=True),
        )
        head = context.git.resolve_commit("HEAD")
    comparison = project.comparison
    assert comparison is not None
    rows = comparison.rows() + ([project.explicit_subject] if project.explicit_subject else [])
    metric = metric_from(options.metric, options.direction, project.settings, rows)
    if metric is None:
        raise UserError(
            "exp-ci gate needs a metric: pass --metric NAME (and --direction min for losses), "
            "or set `metric:` in .exp-ci.yaml."
        )
    subject = choose_subject(comparison, metric, project.explicit_subject)
    assert subject is not None
    allowance = Allowance(options.max_drop, options.max_drop_pct)
    judgement = judge_comparison(comparison, subject, metric, allowance)
    verdict = require_verdict(judgement)
    base = comparison.base
    assert base is not None
    summary = f"{subject.row.label} against {base.row.label}: {verdict.summary}"
    actions.write_output("gate", "pass" if verdict.passed else "fail", options.environ)
    actions.write_output("delta", repr(verdict.current - verdict.base), options.environ)
    if options.summary:
        text = render_judgement_markdown(judgement, allowance, DEFAULT_PRECISION)
        actions.add_to_summary(options.environ, "\n" + text)
    judged = f" (judged: {subject.why}; base: {base.how})"
    if actions.in_actions(options.environ):
        report = actions.notice if verdict.passed else actions.error
        report(summary + judged, options.environ, title="exp-ci gate")
    elif verdict.passed:
        print(summary + judged)
    else:
        print(f"exp-ci gate: {summary}{judged}", file=sys.stderr)
    if client is not None:
        status_sha = _status_commit(options, subject.row, head)
        _set_status(client, options.environ, status_sha, verdict.passed, summary)
    return EXIT_OK if verdict.passed else EXIT_CHECK_FAILED


STATUS_CONTEXT = "exp-ci/gate"


def _status_commit(options: GateOptions, judged: Experiment, head: str) -> str:
    """The commit the status belongs to: the pull request's head, else the judged commit
    (`head`, HEAD's commit, for the workspace)."""
    from exp_ci.adapters import actions
    from exp_ci.compare import pull_request_side

    _, payload = actions.read_event(options.environ)
    pull_request_head, _ = pull_request_side(payload, "head")
    if pull_request_head:
        return pull_request_head
    return judged.rev if judged.rev != "workspace" else head


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
