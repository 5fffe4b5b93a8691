"""Property tests: arbitrary text from a pull request cannot act on GitHub.

Markdown is rendered with GitHub's own library (cmarkgfm, GitHub's cmark-gfm with its
table and autolink extensions, raw HTML let through as GitHub does before sanitizing);
stdout and stderr are read the way the Actions runner reads them (tests/helpers/
runner_model.py). No list of bad inputs: hypothesis draws the text.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from exp_ci.adapters import actions
from exp_ci.errors import UserError, run_guarded
from exp_ci.model import Baseline, Experiment, FileValues
from exp_ci.output import InertStream, inert
from exp_ci.render.formats import RENDERERS
from exp_ci.render.markdown import escape, visible
from exp_ci.render.table import TableOptions, build_table
from tests.helpers.gfm import assert_valid_markdown
from tests.helpers.gfm import read as gfm
from tests.helpers.runner_model import command_lines, runner_lines

ACTIONS = {"GITHUB_ACTIONS": "true"}
SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Any text, with the characters that matter drawn often.
SPECIAL = [
    *"|`\\*_[]~<>&@#:!()$\r\n\t\x00\x0b\x85 ",
    "::",
    "##[",
    "<!--",
    "-->",
    "<img src=x>",
    "</td>",
    "http://x.io",
    "www.x.io",
    "a@b.co",
    "owner/repo#3",
    "#12",
    "GH-4",
    "\u2028",
    "\u2029",
    "\u202e",
    "\u200b",
    "\ufeff",
    "\u00ad",
    "\ud800",
]
TEXT = st.lists(st.one_of(st.text(), st.sampled_from(SPECIAL)), max_size=8).map("".join)

ALLOWED_TAGS = {"table", "thead", "tbody", "tr", "th", "td", "code", "strong"}


def expected_cell(text: str) -> str:
    return visible(text).strip(" ")


@SETTINGS
@given(st.lists(TEXT, min_size=1, max_size=4))
@example(["a|b", "`x`@y", "<!-- z", "\\"])
@example(["@a@b", "x`", "www.a.b`c", "\\|"])
def test_a_table_row_of_any_text_keeps_its_cells_and_forms_no_html_or_link(cells):
    header = "| " + " | ".join(f"h{i}" for i in range(len(cells))) + " |"
    rule = "|" + "---|" * len(cells)
    row = "| " + " | ".join(escape(cell) for cell in cells) + " |"
    parsed = gfm(f"{header}\n{rule}\n{row}\n")
    assert parsed.tags.count("table") == 1
    assert parsed.tags.count("td") == len(cells)
    assert set(parsed.tags) <= ALLOWED_TAGS, parsed.tags
    assert "a" not in parsed.tags and not parsed.comments
    assert parsed.cells == [expected_cell(cell) for cell in cells]


def _row(rev: str, name: str | None, params: dict, metrics: dict, baseline: str) -> Experiment:
    return Experiment(
        rev=rev,
        baseline_rev=baseline,
        name=name,
        created=datetime(2024, 1, 1, tzinfo=timezone.utc),
        params={"params.yaml": FileValues("params.yaml", params)},
        metrics={"metrics.json": FileValues("metrics.json", metrics)},
    )


def _table(name: str, key: str, value: str, error: str):
    base = "a" * 40
    commit = _row(base, "main", {key: "0"}, {"auc": 0.5}, base)
    experiment = _row("b" * 40, name or None, {key: value}, {"auc": 0.7}, base)
    broken = Experiment(
        rev="c" * 40,
        baseline_rev=base,
        name="broken",
        created=commit.created,
        params={"params.yaml": FileValues("params.yaml", error=error)},
    )
    return build_table([Baseline(commit, (experiment, broken))], TableOptions())


@SETTINGS
@given(TEXT, TEXT, TEXT, TEXT)
def test_every_renderer_on_stdout_is_inert_in_actions(monkeypatch, name, key, value, error):
    from exp_ci.commands.common import write_output

    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    table = _table(name, key or "k", value, error)
    for format, render in RENDERERS.items():
        text = render(table)
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            write_output(text, None)
        out = captured.getvalue()
        assert command_lines(out) == [], format
        if format == "json":
            assert json.loads(out) == json.loads(text)


@SETTINGS
@given(TEXT, TEXT)
def test_the_markdown_table_keeps_its_shape(name, value):
    table = _table(name, "k", value, "bad")
    markdown = RENDERERS["md"](table)
    parsed = assert_valid_markdown(markdown)  # GitHub's engine: one table, no ragged row
    assert parsed.tags.count("table") == 1
    assert "a" not in parsed.tags and not parsed.comments
    assert set(parsed.tags) <= ALLOWED_TAGS | {"p", "ul", "li", "em"}, parsed.tags
    columns = parsed.tags.count("th")
    assert parsed.tags.count("td") == columns * parsed.tags.count("tr") - columns


def _lossless(original: str, escaped: str) -> bool:
    """`escaped` is `original` with backslashes added, and nothing else."""
    rest = iter(escaped)
    for char in original:
        for got in rest:
            if got == char:
                break
            if got != "\\":
                return False
        else:
            return False
    return all(got == "\\" for got in rest)


@SETTINGS
@given(TEXT, st.lists(st.integers(0, 40), max_size=6))
def test_inert_text_has_no_command_loses_nothing_and_streams_the_same(text, cuts):
    escaped = inert(text)
    assert command_lines(escaped) == []
    assert _lossless(text, escaped)
    assert inert(escaped) == escaped
    raw = io.StringIO()
    stream = InertStream(raw)
    position = 0
    for cut in cuts:
        stream.write(text[position : position + cut])
        position += cut
    stream.write(text[position:])
    assert raw.getvalue() == escaped


@SETTINGS
@given(TEXT)
def test_error_messages_are_inert_in_actions(monkeypatch, message):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):

        def command() -> int:
            print(message)
            print(message, file=sys.stderr)
            raise UserError(message)

        assert run_guarded(command) == 2
    assert command_lines(out.getvalue()) == [] and command_lines(err.getvalue()) == []


@SETTINGS
@given(TEXT, TEXT)
def test_an_annotation_is_one_command_whatever_its_text(message, title):
    out = io.StringIO()
    actions.warning(message, ACTIONS, title=title, stdout=InertStream(out))
    lines = [line for line in runner_lines(out.getvalue()) if line]
    assert len(lines) == 1
    prefix = f"::warning title={actions.escape_property(title)}::" if title else "::warning::"
    assert lines[0].startswith(prefix)


@SETTINGS
@given(TEXT, TEXT, TEXT)
def test_a_sweeps_output_carries_only_exp_cis_own_commands(name, value, log):
    from exp_ci.progress import ActionsReporter
    from exp_ci.runner import Outcome, Task
    from exp_ci.sweep import Point, Setting

    stream = io.StringIO()
    reporter = ActionsReporter(ACTIONS, InertStream(stream))
    task = Task(Point(1, (Setting("lr", value),)), name)
    reporter.begin([task], 1)
    reporter.started(task)
    reporter.finished(Outcome(task, "failed", 3, 1.0, log))
    found = command_lines(stream.getvalue())
    assert [line.split("::")[1].split(" ")[0] for line in found] == [
        "group",
        "stop-commands",
        found[2].strip(":"),  # the one-time token that resumes commands
        "endgroup",
        "error",
    ]
    assert found[2] == f"::{found[1].split('::')[2]}::"


@pytest.mark.parametrize("name", ["a\u2028b", "x\u202eexe.fdp"])
def test_names_with_separators_or_bidi_stay_in_one_cell(name):
    test_a_table_row_of_any_text_keeps_its_cells_and_forms_no_html_or_link.hypothesis.inner_test(
        [name, "v"]
    )


# --- the real command line, in Actions mode, on a project whose files are hostile -------------

HOSTILE_PARAMS = (
    'train:\n  lr: "0.1\\r::add-mask::lr ##[group]grp"\n  epochs: 10\n'
    '"::error::key": 1\n"##[warning]k2": "x\\n  ::notice::v"\nseed: 7\n'
)


@pytest.fixture
def hostile_project(tmp_path):
    from tests.helpers.synthetic import SyntheticExperiment, add_experiments, make_project

    root = tmp_path / "p"
    baseline = make_project(root)
    add_experiments(
        root,
        baseline,
        [
            SyntheticExperiment("hostile", {"params.yaml": HOSTILE_PARAMS}),
            SyntheticExperiment("broken", {"params.yaml": "a: [1,\n::add-mask::x: ##[y\n"}),
        ],
    )
    return root


@pytest.mark.parametrize("format", ["md", "plain", "csv", "json"])
def test_show_in_actions_prints_no_command_in_any_format(hostile_project, env, format):
    from tests.helpers.project import exp_ci

    result = exp_ci(hostile_project, {**env, "GITHUB_ACTIONS": "true"}, "show", "--format", format)
    assert result.returncode == 0, result.stderr
    assert command_lines(result.stdout) == [] and command_lines(result.stderr) == []
    assert "add-mask" in result.stdout  # shown, defused, not dropped
    if format == "json":
        plain = exp_ci(hostile_project, env, "show", "--format", "json")
        assert json.loads(result.stdout) == json.loads(plain.stdout)


def test_an_error_quoting_a_hostile_key_is_inert_in_actions(hostile_project, env):
    from tests.helpers.project import exp_ci

    key = "##[group]x"
    result = exp_ci(hostile_project, {**env, "GITHUB_ACTIONS": "true"}, "run", "-S", f"{key}=1,2")
    assert result.returncode == 2, result.stderr
    assert "##\\[group]x" in result.stderr
    assert command_lines(result.stdout + result.stderr) == []
