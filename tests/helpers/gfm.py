"""Markdown as GitHub renders it: cmarkgfm (GitHub's cmark-gfm) with the GFM extensions.

`render` gives the HTML GitHub's engine makes of a comment (raw HTML passed through, as
GitHub does before its sanitizer; the `tagfilter` extension on); `read` parses that HTML
into what a reader sees: the tags, the HTML comments, every table as rows of cell texts,
and the code blocks by language. `assert_valid_markdown` judges a comment by it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

EXTENSIONS = ("table", "autolink", "strikethrough", "tagfilter", "tasklist")


def render(markdown: str) -> str:
    return cmarkgfm.markdown_to_html_with_extensions(
        markdown,
        options=Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_GITHUB_PRE_LANG,
        extensions=list(EXTENSIONS),
    )


@dataclass
class Page:
    tags: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    tables: list[list[list[str]]] = field(default_factory=list)  # table -> row -> cell text
    code: list[tuple[str | None, str]] = field(default_factory=list)  # (language, text)

    @property
    def cells(self) -> list[str]:
        """The body cells (td) of every table, in order."""
        return [cell for table in self.tables for row in table[1:] for cell in row]


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._cell: list[str] | None = None
        self._code: tuple[str | None, list[str]] | None = None
        self._pre: str | None = None  # the language of the open <pre>, "" for none

    def handle_starttag(self, tag, attrs):
        self.page.tags.append(tag)
        if tag == "table":
            self.page.tables.append([])
        elif tag == "tr" and self.page.tables:
            self.page.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "pre":
            self._pre = dict(attrs).get("lang") or ""
        elif tag == "code" and self._pre is not None and self._code is None:
            self._code = (self._pre or None, [])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.page.tables[-1][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "pre" and self._code is not None:
            self.page.code.append((self._code[0], "".join(self._code[1])))
            self._code, self._pre = None, None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._code is not None:
            self._code[1].append(data)

    def handle_comment(self, data):
        self.page.comments.append(data)


def read(markdown: str) -> Page:
    reader = _Reader()
    reader.feed(render(markdown))
    reader.close()
    return reader.page


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def _source_tables(markdown: str) -> list[list[str]]:
    """Blocks of lines starting with `|` outside code fences: what the author meant as tables."""
    blocks: list[list[str]] = []
    current: list[str] = []
    fence = None
    for line in [*markdown.split("\n"), ""]:
        opener = re.match(r"^ {0,3}(`{3,}|~{3,})", line)
        if fence is None and opener:
            fence = opener.group(1)
            continue
        if fence is not None:
            if re.match(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$", line):
                fence = None
            continue
        if line.startswith("|"):
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    assert fence is None, "a code fence is left open: GitHub shows the rest as code"
    return blocks


def assert_valid_markdown(markdown: str) -> Page:
    """GitHub renders every `|` block as one table, every row with the header's cells.

    GitHub's engine pads a short row and drops a long row's extra cells without a word, so
    each source row's cell count (its unescaped pipes) must be the header's too.
    """
    html = render(markdown)
    page = read(markdown)
    sources = _source_tables(markdown)
    assert len(page.tables) == len(sources), (
        f"{len(sources)} tables written, GitHub renders {len(page.tables)}"
    )
    for source, table in zip(sources, page.tables, strict=True):
        assert len(table) == len(source) - 1, f"rows lost: {source[:3]}"  # less the rule
        width = _unescaped_pipes(source[0])
        ragged = [row for row in source if _unescaped_pipes(row) != width]
        assert not ragged, f"ragged table: {ragged[:2]}"
        assert all(len(row) == len(table[0]) for row in table)
    assert html.count("<details>") == html.count("</details>"), "a <details> is left open"
    return page
