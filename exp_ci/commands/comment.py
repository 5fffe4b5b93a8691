"""`exp-ci comment`: one sticky pull-request comment with the comparison table.

The comment is found by a hidden marker on any page of the pull request's comments and
edited in place on every push (`--mode recreate` posts it anew at the bottom). Matrix jobs
share it with `--section KEY`. The table also goes to the job summary. A fork's read-only
token or a missing token never fails the build: a warning, the job summary, `--save-body`
for a `workflow_run` workflow to post later, exit 0 (`--strict`: exit 1).
"""

from __future__ import annotations

import os
import random
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from exp_ci.commands.common import (
    add_picture_arguments,
    max_drop_option,
    max_drop_pct_option,
    picture_request_from_args,
    positive_int,
    table_part,
    write_file,
)
from exp_ci.errors import EXIT_CHECK_FAILED, EXIT_OK, UserError
from exp_ci.options import option, part
from exp_ci.report import PictureRequest, TableRequest
from exp_ci.sticky.sync import Identity, Section

if TYPE_CHECKING:
    from exp_ci.adapters.actions import ActionsContext
    from exp_ci.github_event import PullRequestLookup
    from exp_ci.render.table import Table
    from exp_ci.report import ProjectContext

MODES = ("update", "recreate")


@dataclass(frozen=True)
class CommentOptions:
    request: TableRequest = table_part()
    pictures: PictureRequest = part(
        add_picture_arguments, picture_request_from_args, default_factory=PictureRequest
    )
    # the gate's limit: with either, its verdict is shown under the table
    max_drop: float | None = max_drop_option()
    max_drop_pct: float | None = max_drop_pct_option()
    pr: int | None = option(
        "--pr",
        type=positive_int,
        metavar="N",
        help="the pull request to comment on (default: found from the GitHub Actions event)",
    )
    marker: str | None = option(
        "--marker",
        metavar="ID",
        help="which sticky comment: the hidden marker <!-- exp-ci:ID --> (default: 'marker' "
        "in .exp-ci.yaml, else exp-ci); use another ID for a second, separate comment",
    )
    section: str | None = option(
        "--section",
        metavar="KEY",
        help="replace only this job's section of the comment and keep the others "
        "(matrix shards, several workflows), e.g. --section ${{ matrix.shard }}",
    )
    body_file: str | None = option(
        "--body-file",
        metavar="FILE",
        help="post this markdown instead of the table (as is: it is not escaped)",
    )
    mode: str = option(
        "--mode",
        choices=MODES,
        help="update: edit the comment in place, or create it (default); recreate: delete it "
        "and post it again at the bottom of the conversation",
        default="update",
    )
    save_body: str | None = option(
        "--save-body",
        metavar="FILE",
        help="also write this job's section to FILE (upload it as an artifact; a workflow_run "
        "workflow can post it with --body-file when a fork's token could not)",
    )
    strict: bool = option(
        "--strict",
        action="store_true",
        help="exit 1 when the comment could not be posted (no token, read-only token)",
    )
    dry_run: bool = option(
        "--dry-run",
        action="store_true",
        help="print the body and what would be done; write nothing anywhere",
    )
    author: str | None = option(
        "--author",
        metavar="LOGIN",
        help="the account the token writes as, when exp-ci cannot ask GitHub: a GitHub App's "
        "'my-app[bot]' (default: the token's user, or github-actions[bot])",
    )
    quiet: bool = False
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ, repr=False)


OPTIONS = CommentOptions


# --- what goes in the section ----------------------------------------------------------------


def _marker_id(options: CommentOptions, project: ProjectContext | None) -> str:
    from exp_ci.config import settings_for
    from exp_ci.sticky.format import DEFAULT_MARKER, checked_id

    chosen = options.marker
    if chosen is None and project is not None:
        chosen = project.settings.marker
    elif chosen is None:  # --body-file: no DVC project needed, only its settings
        chosen = settings_for(options.request.selection.repo).marker
    return checked_id(chosen or DEFAULT_MARKER, "--marker" if options.marker else "marker")


def _footer(ctx: ActionsContext, commit: str | None) -> str:
    pieces = []
    if commit and re.fullmatch(r"[0-9a-f]{7,40}", commit):
        pieces.append(f"commit `{commit[:7]}`")
    if ctx.run_url and ctx.run_id and ctx.run_id.isdigit():
        pieces.append(f"[run {ctx.run_id}]({ctx.run_url})")
    where = " for " + " in ".join(pieces) if pieces else ""
    return f"<sub>Posted by exp-ci{where}.</sub>"


def _where_full(ctx: ActionsContext, environ: Mapping[str, str], fallback: str) -> str:
    if environ.get("GITHUB_STEP_SUMMARY"):
        return f"the [job summary]({ctx.run_url})" if ctx.run_url else "the job summary"
    return fallback


def _section(
    options: CommentOptions,
    ctx: ActionsContext,
    marker_id: str,
    key: str,
    commit: str | None,
    project: ProjectContext | None,
) -> Section:
    from exp_ci.render.markdown import escape
    from exp_ci.render.section import SectionParts, fit_markdown, table_section
    from exp_ci.sticky.format import comment_length, neutralize, utf8_length

    title = "Experiments" + (f" · {escape(options.section)}" if options.section else "")
    footer = _footer(ctx, commit)

    if options.body_file is not None:
        if options.pictures.wanted:
            raise UserError(
                "--chart, --curve and --trend draw the table's pictures, and --body-file "
                "posts your own markdown instead of the table: use one or the other."
            )
        text = neutralize(_read_body_file(options.body_file))
        where = _where_full(ctx, options.environ, escape(Path(options.body_file).name))

        def render_text(budget: int, for_summary: bool) -> str:
            if for_summary:
                return fit_markdown(
                    text,
                    budget,
                    measure=utf8_length,
                    full_text_at=escape(Path(options.body_file or "").name),
                    limit_name="job summary size limit",
                )
            return fit_markdown(text, budget, measure=comment_length, full_text_at=where)

        return Section(marker_id, key, render_text)

    from exp_ci.report import build_pictures, build_requested_table

    assert project is not None  # opened by `run` for the table
    table = build_requested_table(project, options.request)
    pictures = build_pictures(project, table, options.pictures)
    verdict = _gate_block(options, table)
    comment_parts = SectionParts(
        title,
        footer,
        _where_full(ctx, options.environ, "the output of `exp-ci show`"),
        after=verdict,
    )
    summary_parts = SectionParts(
        title,
        footer,
        "the output of `exp-ci show`",
        limit_name="job summary size limit",
        after=verdict,
    )

    def render_table(budget: int, for_summary: bool) -> str:
        if for_summary:
            return table_section(
                table,
                summary_parts,
                budget,
                measure=utf8_length,
                fold_rows=None,
                pictures=pictures,
            ).text
        return table_section(table, comment_parts, budget, pictures=pictures).text

    return Section(marker_id, key, render_table)


def _gate_block(options: CommentOptions, table: Table) -> str:
    """The gate's verdict on the table's comparison, when the gate's limit was given."""
    from exp_ci.gate import Allowance, judge_comparison
    from exp_ci.render.formats import render_judgement_markdown

    if options.max_drop is None and options.max_drop_pct is None:
        return ""
    if table.metric is None:
        raise UserError(
            "--max-drop and --max-drop-pct show the gate's verdict on the ranking metric: "
            "name it with --metric NAME (or set `metric:` in .exp-ci.yaml)."
        )
    if table.comparison is None or table.subject is None:
        return ""
    allowance = Allowance(options.max_drop, options.max_drop_pct)
    judgement = judge_comparison(table.comparison, table.subject, table.metric, allowance)
    return render_judgement_markdown(judgement, allowance, table.precision).strip("\n")


def _read_body_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"--body-file {path} does not exist. Check the path.") from None
    except UnicodeDecodeError:
        raise UserError(f"--body-file {path} is not UTF-8 text.") from None
    except OSError as error:
        raise UserError(f"cannot read --body-file {path}: {error.strerror}.") from None


# --- the sticky comment --------------------------------------------------------------------


# --- the command -----------------------------------------------------------------------------


class _Reporter:
    """Human lines on stderr (unless -q); annotations through the actions adapter."""

    def __init__(self, options: CommentOptions, token: str | None) -> None:
        self.options = options
        self.token = token

    def clean(self, text: str) -> str:
        from exp_ci.adapters.github import redact

        return redact(text, self.token)

    def say(self, text: str) -> None:
        if not self.options.quiet:
            print(f"exp-ci: {self.clean(text)}", file=sys.stderr)

    def warn(self, text: str) -> None:
        from exp_ci.adapters.actions import warning

        warning(self.clean(text), self.options.environ, title="exp-ci comment")

    def out(self, text: str) -> None:
        sys.stdout.write(self.clean(text))
        sys.stdout.flush()


def run(options: CommentOptions) -> int:
    from exp_ci.sticky.format import DEFAULT_SECTION, checked_id

    if options.mode not in MODES:
        raise UserError(f"--mode must be one of {', '.join(MODES)}, not '{options.mode}'.")
    key = checked_id(options.section, "--section") if options.section else DEFAULT_SECTION
    if options.marker is not None:
        checked_id(options.marker, "--marker")  # before anything is read
    if options.body_file is not None:
        return _comment(options, key, None)
    from exp_ci.report import project_context

    with project_context(options.request.selection.repo) as project:
        return _comment(options, key, project)


def _comment(options: CommentOptions, key: str, project: ProjectContext | None) -> int:
    """Post (or update) section `key`: the table of `project`, or the --body-file."""
    from exp_ci.adapters.actions import ActionsContext
    from exp_ci.github_event import lookup_pull_request

    ctx = ActionsContext.from_environ(options.environ)
    report = _Reporter(options, ctx.token)
    marker_id = _marker_id(options, project)
    lookup = lookup_pull_request(
        ctx.event_name,
        ctx.event,
        repository=ctx.repository,
        sha=ctx.sha,
        ref=ctx.ref,
        explicit=options.pr,
    )
    raw = _section(options, ctx, marker_id, key, lookup.head_sha or ctx.sha, project)
    rendered: dict[tuple[int, bool], str] = {}

    # Each fit is made once (a big table takes a few renders), and the token never reaches
    # a comment, summary or file, not even inside a param value.
    def render(budget: int, summary: bool) -> str:
        if (budget, summary) not in rendered:
            rendered[budget, summary] = report.clean(raw.render(budget, summary))
        return rendered[budget, summary]

    section = Section(marker_id, key, render)

    _write_summary(options, section, report)
    _save_body(options, section, report)

    if ctx.token is None:
        return _not_posted(
            options,
            report,
            "no token: set GITHUB_TOKEN (or GH_TOKEN) for this step, e.g. "
            "`env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}`, with `pull-requests: write` "
            "permission",
            section,
            lookup,
        )
    if not ctx.repository:
        raise UserError(
            "GITHUB_REPOSITORY is not set: export it as owner/name (GitHub Actions sets it)."
        )
    return _post(options, ctx, report, section, lookup)


def _post(
    options: CommentOptions,
    ctx: ActionsContext,
    report: _Reporter,
    section: Section,
    lookup: PullRequestLookup,
) -> int:
    from exp_ci.adapters import github as github_adapter
    from exp_ci.adapters.actions import write_output
    from exp_ci.sticky.sync import (
        find_pull_request,
        identity,
        same_login,
        should_ask_user_endpoint,
        token_kind,
        upsert,
    )

    pacing = github_adapter.DEFAULT_PACING
    github = github_adapter.GitHub(ctx.token or "", ctx.repository or "", ctx.api_url, pacing)
    try:
        number = find_pull_request(github, lookup)
        if number is None:
            report.say(
                f"no open pull request found for this run ({lookup.source}); nothing to "
                "comment on. Pass --pr N to choose one."
                + (" The table is in the job summary." if _has_summary(options) else "")
            )
            if options.dry_run:
                report.out(_whole_body(section))
            return EXIT_OK
        must_ask = should_ask_user_endpoint(token_kind(ctx.token or ""), options.author)
        known: list[Identity] = []

        def whoami() -> Identity:
            if not known:
                asked = github.authenticated_login() if must_ask else None
                known.append(identity(options.author, asked))
            return known[0]

        outcome = upsert(
            github,
            number,
            section,
            whoami,
            mode=options.mode,
            dry_run=options.dry_run,
            verify=options.section is not None,
            settle=lambda: (
                time.sleep(pacing.settle_seconds * random.uniform(0.5, 1.5))
                if pacing.settle_seconds
                else None
            ),
        )
    except github_adapter.GitHubError as error:
        raise UserError(
            report.clean(error.message)
            + (" The table is in the job summary." if _has_summary(options) else "")
        ) from None
    finally:
        github.close()

    where = f"pull request #{number} in {ctx.repository}"
    for other in outcome.foreign:
        writer = whoami()
        report.say(
            f"left alone comment {other.id} by {other.author}: it has the marker but "
            f"exp-ci writes as {writer.login} ({writer.how}); pass --author if that is wrong."
        )
    if options.dry_run:
        report.out(outcome.body)
        target = f" {outcome.comment.url}" if outcome.comment else ""
        report.say(f"dry run: {outcome.action} the comment{target} on {where}; wrote nothing.")
        return EXIT_OK
    if outcome.action == "refused":
        return _not_posted(
            options,
            report,
            f"{outcome.refused}. "
            + (
                "The pull request comes from a fork, whose token is read-only"
                if lookup.fork
                else "The token cannot write comments here (it needs `pull-requests: write`"
                " or `issues: write`)"
            ),
            section,
            lookup,
        )
    comment = outcome.comment
    assert comment is not None
    # Without a request to spare, check the account we would assume next time (no GET /user
    # for installation tokens): a custom GitHub App writes as another bot.
    who = whoami() if (known or not must_ask) else None
    if who is not None and who.assumed and not same_login(outcome.login, who.login):
        report.warn(
            f"the comment was written as {outcome.login}, not {who.login}: pass "
            f"--author '{outcome.login}' so later runs update it instead of adding new ones."
        )
    if outcome.removed:
        report.say(
            "removed duplicate comment(s) "
            + ", ".join(map(str, outcome.removed))
            + " made at the same time"
        )
    report.say(f"{outcome.action} the comment on {where}: {comment.url}")
    if comment.url:
        report.out(comment.url + "\n")
        write_output("comment-url", comment.url, options.environ)
    write_output("comment-id", str(comment.id), options.environ)
    return EXIT_OK


def _whole_body(section: Section) -> str:
    from exp_ci.sticky.format import build_body

    return build_body(section.marker_id, section.key, lambda budget: section.render(budget, False))


def _has_summary(options: CommentOptions) -> bool:
    return bool(options.environ.get("GITHUB_STEP_SUMMARY")) and not options.dry_run


def _not_posted(
    options: CommentOptions,
    report: _Reporter,
    why: str,
    section: Section,
    lookup: PullRequestLookup,
) -> int:
    if options.dry_run:
        report.out(_whole_body(section))
        report.say(f"dry run: the comment could not be posted ({why}); wrote nothing.")
        return EXIT_OK
    fallback = []
    if _has_summary(options):
        fallback.append("the table is in the job summary")
    if options.save_body:
        fallback.append(f"the body is saved in {options.save_body}")
    hint = ""
    if lookup.fork or options.save_body:
        hint = (
            " To comment on pull requests from forks, upload the saved body as an artifact "
            "and post it from a `workflow_run` workflow with `exp-ci comment --body-file`."
        )
    report.warn(
        f"the pull request comment was not posted: {why}."
        + (f" Instead, {' and '.join(fallback)}." if fallback else "")
        + hint
    )
    return EXIT_CHECK_FAILED if options.strict else EXIT_OK


def _write_summary(options: CommentOptions, section: Section, report: _Reporter) -> None:
    from exp_ci.adapters.actions import append_summary, summary_room

    room = summary_room(options.environ)
    if room is None:
        return
    budget = room - 2  # the blank line before and the newline after
    text = section.render(budget, True) if budget > 0 else ""
    if not text:
        report.warn("the job summary is full (1 MiB); the table was not added to it.")
        return
    if options.dry_run:
        report.say(f"dry run: would add {len(text.encode('utf-8'))} bytes to the job summary")
        return
    append_summary(report.clean("\n" + text.rstrip("\n") + "\n"), options.environ)


def _save_body(options: CommentOptions, section: Section, report: _Reporter) -> None:
    from exp_ci.sticky.format import COMMENT_LIMIT, MIN_SECTION_ROOM, neutralize

    if not options.save_body:
        return
    # Room for the markers and another job's sections when it is posted later.
    text = neutralize(section.render(COMMENT_LIMIT - MIN_SECTION_ROOM, False))
    if options.dry_run:
        report.say(f"dry run: would save the body to {options.save_body}")
        return
    write_file(options.save_body, report.clean(text), "--save-body")
    report.say(f"saved the body to {options.save_body}")
