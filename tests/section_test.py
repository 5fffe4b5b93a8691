"""Untrusted markdown in a section is closed again: later sections stay outside it.

Judged by GitHub's own engine (cmarkgfm with raw HTML kept, as GitHub renders before
sanitising) and a plain HTML parser: whatever a body file leaves open, the next section's
text is not inside a `<details>`, a table, a code block or an HTML comment.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from hypothesis import given, settings
from hypothesis import strategies as st

from exp_ci.render.section import fit_markdown, seal_markdown
from exp_ci.sticky.format import assemble

NEXT = "NEXT-SECTION-TEXT"
VOID = {"br", "img", "hr", "input", "wbr", "col", "source", "meta", "link", "area"}


class _Nesting(HTMLParser):
    """The elements open around NEXT, and whether it is inside a comment."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.around: list[str] | None = None
        self.in_comment = False

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data):
        if NEXT in data and self.around is None:
            self.around = list(self.stack)

    def handle_comment(self, data):
        if NEXT in data:
            self.in_comment = True


def swallowed(nesting: _Nesting) -> bool:
    """The next section's text is hidden, or inside an element the body left open."""
    return nesting.in_comment or nesting.around is None or not set(nesting.around) <= {"p"}


def around_next_section(body_markdown: str, *, summary: bool = False) -> _Nesting:
    """NEXT after `body_markdown`: as the next section of a comment, or, in a job summary
    (no markers between), as the next step's text."""
    if summary:
        body = body_markdown + "\n" + NEXT + "\n"
    else:
        body = assemble("m", {"a": body_markdown, "b": NEXT})
    html = cmarkgfm.github_flavored_markdown_to_html(body, options=Options.CMARK_OPT_UNSAFE)
    parser = _Nesting()
    parser.feed(html)
    parser.close()
    at = html.find(NEXT)
    # A browser ends an unclosed comment only at the end of the page: HTMLParser does not.
    # `<!-->` and `<!--->` are empty comments in HTML.
    found = re.finditer(r"<!--(?:>|->|.*?-->|.*\Z)", html, re.DOTALL)
    comments = (m.span() for m in found)
    parser.in_comment = parser.in_comment or any(a < at < b for a, b in comments)
    return parser


SWALLOWING = [
    "<details><summary>log</summary>\n\nall of it",
    "<table><tr><td>cell",
    "```python\nprint('x')",
    "~~~\nno end",
    "text\n\n<!-- never closed",
    "<div><blockquote><ul><li>deep",
    "<pre>raw",
]


@pytest.mark.parametrize("summary", [False, True], ids=["comment", "summary"])
@pytest.mark.parametrize("text", SWALLOWING)
def test_each_open_construct_is_closed(text, summary):
    if not (summary is False and "<!--" in text):  # a comment's own marker ends a `<!--`
        assert swallowed(around_next_section(text, summary=summary))  # the attack works
    assert not swallowed(around_next_section(seal_markdown(text), summary=summary))


def test_a_closed_body_is_left_as_it_is():
    text = "<details>\n<summary>x</summary>\n\n| a |\n|---|\n| 1 |\n\n</details>\n"
    assert seal_markdown(text) == text
    assert seal_markdown("`<details>` in a code span") == "`<details>` in a code span"


FRAGMENTS = st.sampled_from(
    [
        "<details>", "</details>", "<summary>", "<table>", "<tr>", "<td>", "</td>", "<div>",
        "<pre>", "<code>", "<b>", "</b>", "<!--", "-->", "```", "~~~", "`", "\n", "\n\n",
        "| a | b |\n|---|---|\n", "text", "<br>", "<img src=x>", "    ", "> ", "- ",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=30))
def test_no_body_takes_the_next_section_into_it(pieces):
    text = "".join(pieces).replace(NEXT, "")
    for summary in (False, True):
        nesting = around_next_section(fit_markdown(text, 60_000), summary=summary)
        assert not swallowed(nesting), (summary, nesting.around, nesting.in_comment)


# --- long values: shortened in the cell, the table still fits ---------------------------------


def _table_with_a_long_value(length: int, experiments: int = 20):
    from datetime import datetime, timezone

    from exp_ci.model import Baseline, Direction, Experiment, FileValues, MetricSpec
    from exp_ci.render.table import TableOptions, build_table

    when = datetime(2026, 1, 2, tzinfo=timezone.utc)

    def row(rev: str, name: str | None, note: str, auc: float) -> Experiment:
        return Experiment(
            rev=rev,
            baseline_rev="b" * 40,
            name=name,
            created=when,
            params={"params.yaml": FileValues("params.yaml", {"note": note})},
            metrics={"metrics.json": FileValues("metrics.json", {"auc": auc})},
        )

    base = row("b" * 40, "main", "short", 0.5)
    rows = tuple(
        row(f"{i:040x}", f"exp-{i}", "x" * length if i == 3 else "ok", 0.5 + i / 100)
        for i in range(1, experiments + 1)
    )
    metric = MetricSpec("metrics.json", "auc", Direction.MAX)
    return build_table([Baseline(base, rows)], TableOptions(metric=metric))


@pytest.mark.parametrize("length", [5_000, 66_000])
def test_one_huge_value_neither_blanks_the_table_nor_drops_rows(length):
    from exp_ci.limits import MAX_CELL_CHARS
    from exp_ci.render.section import SectionParts, table_section
    from exp_ci.sticky.format import COMMENT_LIMIT

    table = _table_with_a_long_value(length)
    fitted = table_section(table, SectionParts("Experiments"), COMMENT_LIMIT - 2_000)
    assert (fitted.shown, fitted.dropped) == (20, 0)
    assert "x" * MAX_CELL_CHARS not in fitted.text and "x…x" in fitted.text
