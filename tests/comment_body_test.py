"""The sticky comment's body, ownership and the run's pull request, decided without I/O."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from exp_ci.adapters import actions
from exp_ci.errors import UserError
from exp_ci.github_event import (
    LookupKind,
    PullRequestCandidate,
    lookup_pull_request,
    pick_pull_request,
)
from exp_ci.model import Baseline, Comment, Direction, Experiment, FileValues, MetricSpec
from exp_ci.render.section import SectionParts, fit_markdown, limit_rows, table_section
from exp_ci.render.table import TableOptions, build_table
from exp_ci.sticky.format import (
    COMMENT_LIMIT,
    assemble,
    build_body,
    checked_id,
    comment_length,
    has_marker,
    neutralize,
    parse_sections,
    removed_section_note,
    utf8_length,
)
from exp_ci.sticky.sync import (
    ACTIONS_BOT,
    TokenKind,
    duplicates,
    find_sticky,
    identity,
    merged_sections,
    should_ask_user_endpoint,
    token_kind,
)
from tests.helpers.gfm import assert_valid_markdown

AUC = MetricSpec("metrics.json", "auc", Direction.MAX)
CREATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
HOSTILE = "| <img src=x onerror=alert(1)> @user"


# --- helpers: tables and a markdown validity check ----------------------------------------


def _experiment(rev: str, baseline: str, name: str | None, auc: float, lr) -> Experiment:
    return Experiment(
        rev=rev,
        baseline_rev=baseline,
        name=name,
        created=CREATED,
        params={"params.yaml": FileValues("params.yaml", {"lr": lr, "opt": "sgd"})},
        metrics={"metrics.json": FileValues("metrics.json", {"auc": auc})},
    )


def make_table(experiments: int, *, baselines: int = 1, name=lambda i: f"exp-{i}", lr=None):
    groups = []
    per = experiments // baselines
    for b in range(baselines):
        base = f"{0xB000 + b:040x}"
        children = tuple(
            _experiment(
                f"{(b + 1) * 1_000_000 + i:040x}",
                base,
                name(b * per + i),
                0.5 + ((b * per + i) * 7919 % 1000) / 10_000,
                lr(b * per + i) if lr else 0.001 * (b * per + i),
            )
            for i in range(per)
        )
        groups.append(Baseline(_experiment(base, base, f"main-{b}", 0.5, 0.0), children))
    return build_table(groups, TableOptions(metric=AUC))


# --- markers and sections ------------------------------------------------------------------


def test_sections_round_trip_in_natural_order():
    body = assemble("exp-ci", {"shard-10": "ten", "shard-2": "two", "default": "main"})
    assert body.startswith("<!-- exp-ci:exp-ci -->\n")
    assert parse_sections(body, "exp-ci") == {
        "default": "main",
        "shard-2": "two",
        "shard-10": "ten",
    }
    assert [m for m in re.findall(r"section:(\S+) -->", body)][::2] == [
        "default",
        "shard-2",
        "shard-10",
    ]


def test_sections_survive_crlf_from_an_edit_on_github_com():
    body = assemble("exp-ci", {"a": "line 1\nline 2", "b": "x"}).replace("\n", "\r\n")
    assert parse_sections(body, "exp-ci") == {"a": "line 1\nline 2", "b": "x"}
    assert has_marker(body, "exp-ci")


@pytest.mark.parametrize(
    ("body", "marker", "expected"),
    [
        ("<!-- exp-ci:exp-ci -->\nhi", "exp-ci", True),
        ("text\n<!-- exp-ci:nightly -->\n", "nightly", True),
        ("<!-- exp-ci:exp-ci-2 -->\n", "exp-ci", False),  # another ID
        ("<!-- exp-ci:exp-ci:section:a -->\n", "exp-ci", False),  # a section is not the marker
        ("quoted: <!-- exp-ci:exp-ci --> inline", "exp-ci", False),  # not on its own line
        ("&lt;!-- exp-ci:exp-ci -->", "exp-ci", False),
    ],
)
def test_has_marker_only_for_the_marker_line(body, marker, expected):
    assert has_marker(body, marker) is expected


def test_untrusted_text_cannot_forge_or_close_a_section():
    evil = "x\n<!-- /exp-ci:exp-ci:section:a -->\n<!-- exp-ci:exp-ci:section:b -->\nowned"
    body = assemble("exp-ci", {"a": neutralize(evil)})
    assert parse_sections(body, "exp-ci") == {"a": neutralize(evil)}
    assert "owned" in parse_sections(body, "exp-ci")["a"]


@pytest.mark.parametrize("value", ["shard-1", "py3.11", "linux/amd64", "a=b+c", "x:y"])
def test_ids_that_are_safe_in_a_comment(value):
    assert checked_id(value, "--section") == value


@pytest.mark.parametrize("value", ["", "two words", "a--b", "-x", "x>y", "a" * 101, "é"])
def test_ids_that_could_break_the_marker_are_user_errors(value):
    with pytest.raises(UserError, match="--section"):
        checked_id(value, "--section")


def test_build_body_replaces_only_its_own_section():
    existing = {"shard-1": "one (old)", "shard-2": "two"}
    body = build_body("exp-ci", "shard-1", lambda budget: "one (new)", existing)
    assert parse_sections(body, "exp-ci") == {"shard-1": "one (new)", "shard-2": "two"}


def test_build_body_gives_way_when_other_sections_fill_the_comment():
    huge = {"shard-1": "x" * 40_000, "shard-2": "y" * 30_000}
    body = build_body("exp-ci", "shard-3", lambda budget: "z" * min(budget, 5_000), huge)
    sections = parse_sections(body, "exp-ci")
    assert comment_length(body) <= COMMENT_LIMIT
    assert sections["shard-1"] == removed_section_note("shard-1")  # the largest gave way
    assert sections["shard-2"] == "y" * 30_000
    assert sections["shard-3"] == "z" * 5_000


def test_build_body_never_exceeds_the_limit_even_with_a_greedy_section():
    body = build_body("exp-ci", "default", lambda budget: "★" * (budget + 500))
    assert comment_length(body) <= COMMENT_LIMIT


def test_lengths_count_what_github_and_the_summary_count():
    assert comment_length("a★😀") == 4  # the emoji is two UTF-16 units
    assert utf8_length("a★😀") == 1 + 3 + 4


# --- tables within a budget ---------------------------------------------------------------

PARTS = SectionParts("Experiments", "<sub>footer</sub>", "the [job summary](https://x/run)")


def test_a_short_table_is_shown_inline_with_the_winner_first():
    fitted = table_section(make_table(3), PARTS, COMMENT_LIMIT)
    assert fitted.dropped == 0 and fitted.shown == 3
    assert "<details>" not in fitted.text
    assert fitted.text.index("★ best by auc") < fitted.text.index("| Experiment")
    assert_valid_markdown(fitted.text)


def test_a_long_table_folds_into_details():
    fitted = table_section(make_table(40), PARTS, COMMENT_LIMIT)
    assert fitted.dropped == 0
    assert "<summary>Comparison table: 40 experiments, 1 baseline</summary>" in fitted.text
    assert_valid_markdown(fitted.text)


@pytest.mark.parametrize("experiments", [5000, 10_000])
def test_a_huge_table_stays_under_the_limit_as_valid_markdown(experiments):
    table = make_table(experiments, baselines=4)
    fitted = table_section(table, PARTS, COMMENT_LIMIT - 200)
    text = fitted.text
    assert comment_length(text) <= COMMENT_LIMIT - 200
    assert comment_length(text) > COMMENT_LIMIT - 200 - 2_000  # the budget is used, not wasted
    assert_valid_markdown(text)
    rows = [line for line in text.split("\n") if line.startswith("| ") and "──" in line]
    assert len(rows) == fitted.shown and fitted.shown + fitted.dropped == experiments
    assert f"_{fitted.dropped} more experiments not shown (comment size limit); " in text
    assert "the full table is in the [job summary](https://x/run)._" in text
    winner = table.winner.experiment.label
    assert any(winner in row and "★" in row for row in rows)  # the winner always stays


def test_the_same_table_in_the_job_summary_keeps_every_row_within_1_mib():
    table = make_table(5000, baselines=4)
    fitted = table_section(
        table, PARTS, actions.SUMMARY_LIMIT_BYTES, measure=utf8_length, fold_rows=None
    )
    assert fitted.dropped == 0 and "<details>" not in fitted.text
    assert utf8_length(fitted.text) <= actions.SUMMARY_LIMIT_BYTES


def test_a_10000_row_job_summary_keeps_every_row_within_1_mib_as_valid_markdown():
    table = make_table(10_000, baselines=4)
    fitted = table_section(
        table, PARTS, actions.SUMMARY_LIMIT_BYTES, measure=utf8_length, fold_rows=None
    )
    text = fitted.text
    assert utf8_length(text) <= actions.SUMMARY_LIMIT_BYTES  # about 860 KiB: every row
    assert_valid_markdown(text)
    rows = [line for line in text.split("\n") if line.startswith("| ") and "──" in line]
    assert fitted.dropped == 0 and len(rows) == fitted.shown == 10_000


def test_limit_rows_keeps_the_best_and_redraws_the_tree():
    table = make_table(6, baselines=2)
    kept = limit_rows(table, 2)
    experiments = [r for r in kept.rows if not r.experiment.is_baseline]
    assert len(experiments) == 2 and any(r.winner for r in experiments)
    best_two = sorted(
        (r for r in table.rows if not r.experiment.is_baseline),
        key=lambda r: -r.values["metrics.json:auc"],
    )[:2]
    assert {r.experiment.rev for r in experiments} == {r.experiment.rev for r in best_two}
    for i, row in enumerate(kept.rows):
        if not row.experiment.is_baseline:
            following = kept.rows[i + 1] if i + 1 < len(kept.rows) else None
            closes = following is None or following.experiment.is_baseline
            assert row.is_last_child is closes
    assert limit_rows(table, 99) is table


def test_a_table_too_wide_for_any_row_says_so_instead():
    wide = make_table(3, lr=lambda i: "w" * 3_000)
    fitted = table_section(wide, PARTS, 800)  # cells are cut to 200 characters
    assert fitted.shown == 0 and fitted.dropped == 3
    assert "does not fit (comment size limit)" in fitted.text
    assert "|" not in fitted.text
    assert comment_length(fitted.text) <= 800


def test_hostile_names_and_params_are_escaped_in_the_comment():
    table = make_table(3, name=lambda i: f"{HOSTILE}-{i}", lr=lambda i: HOSTILE)
    body = build_body("exp-ci", "default", lambda b: table_section(table, PARTS, b).text)
    assert "<img" not in body and " @user" not in body
    assert "&lt;img src=x onerror=alert(1)&gt; `@user`" in body  # a code span pings nobody
    assert_valid_markdown(body)  # every row keeps its cell count: the pipes are escaped


# --- free markdown (--body-file) -----------------------------------------------------------

FENCED = "Intro\n\n```python\n" + "\n".join(f"line_{i} = {i}" for i in range(400)) + "\n```\n"
TABLE = "| a | b |\n|---|---|\n" + "\n".join(f"| {i} | {i * i} |" for i in range(400)) + "\n"
DETAILS = "<details>\n<summary>More</summary>\n\n" + "para\n\n" * 400 + "</details>\n"
TILDES = "~~~~\n" + "```\n" * 300 + "~~~~\n"


@pytest.mark.parametrize(
    ("text", "budget", "must_contain"),
    [
        (FENCED, 1_500, "```python\nline_0 = 0"),
        (TABLE, 1_000, "| a | b |\n|---|---|\n| 0 | 0 |"),
        (DETAILS, 800, "</details>"),
        (TILDES, 600, "~~~~\n```"),
        ("word " * 5_000, 1_000, "word word"),
        ("Intro\n\n" + TABLE, 300, "Intro"),
    ],
)
def test_fit_markdown_cuts_between_blocks_and_closes_what_it_opened(text, budget, must_contain):
    fitted = fit_markdown(text, budget, full_text_at="`body.md`")
    assert comment_length(fitted) <= budget
    assert must_contain in fitted
    assert "characters not shown (comment size limit); the full text is in `body.md`._" in fitted
    assert_valid_markdown(fitted)


def test_fit_markdown_leaves_text_that_fits_alone():
    assert fit_markdown("# Title\n\nbody\n", 100) == "# Title\n\nbody\n"


# --- ownership, duplicates, identity --------------------------------------------------------


def _comment(cid: int, author: str, body: str, minute: int = 0) -> Comment:
    return Comment(cid, author, body, f"2026-01-02T03:{minute:02d}:00Z")


MARKED = assemble("exp-ci", {"default": "table"})


def test_a_marker_comment_by_someone_else_is_never_ours():
    comments = [
        _comment(1, "mallory", MARKED, 1),
        _comment(2, "octocat", "lgtm", 2),
        _comment(3, "GitHub-Actions[bot]", MARKED, 3),  # logins ignore case
    ]
    found = find_sticky(comments, "exp-ci", ACTIONS_BOT)
    assert found.ours is not None and found.ours.id == 3
    assert [c.id for c in found.foreign] == [1]
    assert find_sticky(comments, "other", ACTIONS_BOT).ours is None


def test_duplicates_keep_the_oldest_and_merge_the_others_sections():
    old = _comment(10, ACTIONS_BOT, assemble("exp-ci", {"shard-1": "one"}), 1)
    new = _comment(11, ACTIONS_BOT, assemble("exp-ci", {"shard-2": "two"}), 1)
    foreign = _comment(9, "mallory", assemble("exp-ci", {"shard-9": "evil"}), 0)
    found = duplicates([new, foreign, old, new], "exp-ci", ACTIONS_BOT)
    assert found.keep == old and found.remove == (new,)
    own = assemble("exp-ci", {"shard-2": "two (ours, newest)"})
    assert merged_sections(old, found.remove, own, "exp-ci") == {
        "shard-1": "one",
        "shard-2": "two (ours, newest)",
    }
    assert duplicates([foreign], "exp-ci", ACTIONS_BOT).keep is None


@pytest.mark.parametrize(
    ("token", "kind", "asks"),
    [
        ("ghs_16C7e42F292c6912E7710c838347Ae178B4a", TokenKind.INSTALLATION, False),
        ("ghp_16C7e42F292c6912E7710c838347Ae178B4a", TokenKind.USER, True),
        ("github_pat_11ABCDEFG0123456789_abcdef", TokenKind.USER, True),
        ("0123456789abcdef0123456789abcdef01234567", TokenKind.UNKNOWN, True),
    ],
)
def test_token_kind_decides_whether_get_user_is_worth_a_request(token, kind, asks):
    assert token_kind(token) is kind
    assert should_ask_user_endpoint(kind, None) is asks
    assert should_ask_user_endpoint(kind, "my-app[bot]") is False


def test_identity_prefers_the_flag_then_the_api_then_the_actions_convention():
    assert identity("my-app[bot]", "someone").login == "my-app[bot]"
    assert identity(None, "octocat").login == "octocat"
    assumed = identity(None, None)
    assert assumed.login == ACTIONS_BOT and assumed.assumed


# --- which pull request ----------------------------------------------------------------------

SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
REPO = "octo-org/project"


@pytest.mark.parametrize(
    ("event", "payload", "kind", "number", "fork"),
    [
        ("pull_request", {"number": 5, "pull_request": {"number": 5}}, LookupKind.NUMBER, 5, False),
        (
            "pull_request_target",
            {"pull_request": {"number": 6, "head": {"repo": {"full_name": "fork/project"}}}},
            LookupKind.NUMBER,
            6,
            True,
        ),
        (
            "issue_comment",
            {"issue": {"number": 8, "pull_request": {"url": "x"}}},
            LookupKind.NUMBER,
            8,
            False,
        ),
        ("issue_comment", {"issue": {"number": 8}}, LookupKind.NONE, None, False),
        (
            "workflow_run",
            {
                "workflow_run": {
                    "head_sha": SHA,
                    "pull_requests": [
                        {"number": 99, "url": "https://api.github.com/repos/other/repo/pulls/99"},
                        {"number": 12, "url": f"https://api.github.com/repos/{REPO}/pulls/12"},
                    ],
                }
            },
            LookupKind.NUMBER,
            12,
            False,
        ),
        (
            "workflow_run",
            {
                "workflow_run": {
                    "head_sha": SHA,
                    "head_branch": "patch-1",
                    "pull_requests": [],
                    "head_repository": {"full_name": "fork/project", "owner": {"login": "fork"}},
                }
            },
            LookupKind.HEAD_SHA,
            None,
            True,
        ),
        ("push", {"ref": "refs/heads/feature", "after": SHA}, LookupKind.COMMIT, None, False),
        ("schedule", {}, LookupKind.COMMIT, None, False),
        ("workflow_dispatch", {"ref": "refs/heads/main"}, LookupKind.COMMIT, None, False),
    ],
)
def test_lookup_from_each_event(event, payload, kind, number, fork):
    lookup = lookup_pull_request(event, payload, repository=REPO, sha=SHA)
    assert (lookup.kind, lookup.number, lookup.fork) == (kind, number, fork)
    if kind is LookupKind.HEAD_SHA:
        assert (lookup.sha, lookup.head_owner, lookup.branch) == (SHA, "fork", "patch-1")


def test_explicit_pr_wins_and_no_commit_means_nothing_to_look_for():
    assert lookup_pull_request("push", {}, repository=REPO, sha=SHA, explicit=3).number == 3
    assert lookup_pull_request(None, {}, repository=None, sha=None).kind is LookupKind.NONE


def test_pick_prefers_the_open_pull_request_of_this_branch_and_commit():
    lookup = lookup_pull_request("push", {}, repository=REPO, sha=SHA, ref="refs/heads/feature")
    candidates = [
        PullRequestCandidate(1, "closed", SHA, "feature"),
        PullRequestCandidate(4, "open", "0" * 40, "other"),
        PullRequestCandidate(3, "open", SHA, "feature"),
    ]
    assert pick_pull_request(candidates, lookup).number == 3
    assert pick_pull_request(candidates[:1], lookup) is None  # merged ones are never chosen


# --- the Actions adapter ---------------------------------------------------------------------


def test_workflow_commands_escape_their_data_and_are_plain_outside_actions(capsys):
    out = io.StringIO()
    actions.warning("50% done\nnext", {"GITHUB_ACTIONS": "true"}, title="a:b, c", stdout=out)
    assert out.getvalue() == "::warning title=a%3Ab%2C c::50%25 done%0Anext\n"
    actions.warning("careful", {})
    assert capsys.readouterr().err == "exp-ci: warning: careful\n"


def test_write_output_uses_a_delimiter_for_multiline_values(tmp_path):
    path = tmp_path / "out"
    environ = {"GITHUB_OUTPUT": str(path)}
    assert actions.write_output("url", "https://x", environ)
    assert actions.write_output("body", "a\nb=c", environ)
    text = path.read_text()
    assert text.startswith("url=https://x\nbody<<exp_ci_")
    delimiter = text.split("body<<")[1].split("\n")[0]
    assert text.endswith(f"\na\nb=c\n{delimiter}\n")
    assert not actions.write_output("url", "x", {})


def test_append_summary_counts_what_the_file_already_holds(tmp_path):
    path = tmp_path / "summary.md"
    path.write_bytes(b"x" * (actions.SUMMARY_LIMIT_BYTES - 10))
    environ = {"GITHUB_STEP_SUMMARY": str(path)}
    assert actions.summary_room(environ) == 10
    assert actions.append_summary("0123456789", environ)
    with pytest.raises(ValueError, match="exceeds"):
        actions.append_summary("!", environ)
    assert actions.summary_room({}) is None


def test_add_to_summary_adds_the_first_text_that_fits_or_says_none_did(tmp_path):
    path = tmp_path / "summary.md"
    path.write_bytes(b"x" * (actions.SUMMARY_LIMIT_BYTES - 10))
    environ = {"GITHUB_STEP_SUMMARY": str(path)}
    assert actions.add_to_summary(environ, "a long table", "short") is True
    assert path.read_bytes().endswith(b"xshort")
    assert actions.add_to_summary(environ, "too long") is False
    assert actions.add_to_summary({}, "anything") is None


def test_a_broken_event_payload_is_a_user_error(tmp_path):
    path = tmp_path / "event.json"
    path.write_text("{nope")
    with pytest.raises(UserError, match="not valid JSON"):
        actions.read_event({"GITHUB_EVENT_PATH": str(path), "GITHUB_EVENT_NAME": "push"})


def test_the_context_hides_the_token_and_builds_the_run_url():
    ctx = actions.ActionsContext.from_environ(
        {
            "GITHUB_TOKEN": "ghs_secret",
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_RUN_ID": "42",
            "GITHUB_RUN_ATTEMPT": "2",
            "GITHUB_SERVER_URL": "https://ghe.example.com/",
        }
    )
    assert "ghs_secret" not in repr(ctx)
    assert ctx.run_url == f"https://ghe.example.com/{REPO}/actions/runs/42/attempts/2"
    assert actions.ActionsContext.from_environ({"GH_TOKEN": " t "}).token == "t"


# --- failed experiments --------------------------------------------------------------------


def _with_failed(reason: str, name: str = "broke") -> Baseline:
    base = "b" * 40
    ok = _experiment("1" * 40, base, "ok", 0.6, 0.1)
    queued = replace(_experiment("2" * 40, base, "waits", 0.0, 0.2), metrics={}, state="queued")
    failed = replace(
        _experiment("3" * 40, base, name, 0.0, 0.3), metrics={}, state="failed", reason=reason
    )
    return Baseline(_experiment(base, base, "main", 0.5, 0.0), (ok, queued, failed))


def test_failed_experiments_fold_into_details_with_their_error_not_table_rows():
    table = build_table([_with_failed("KeyError: 'lr'; exit 1")], TableOptions(metric=AUC))
    fitted = table_section(table, PARTS, COMMENT_LIMIT)
    table_md = fitted.text.split("<details>")[0]
    assert "broke" not in table_md
    assert "└── waits (queued)" in table_md  # the queued one is the last row of the tree
    assert "<summary>1 failed experiment (not in the table)</summary>" in fitted.text
    assert "- broke (`3333333`, on main): KeyError: 'lr'; exit 1" in fitted.text
    assert fitted.shown == 2
    assert_valid_markdown(fitted.text)


def test_a_failed_experiments_hostile_name_and_error_are_inert_in_the_fold():
    table = build_table([_with_failed(HOSTILE, name=HOSTILE)], TableOptions(metric=AUC))
    text = table_section(table, PARTS, COMMENT_LIMIT).text
    fold = text[text.index("<details>") :]
    assert "<img" not in fold
    assert fold.count("@user") == fold.count("`@user`") == 2  # a code span mentions no one
    assert_valid_markdown(text)
