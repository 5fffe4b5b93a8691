"""A section's markdown fitted into a size budget: tables and free markdown (pure).

A body cut at an arbitrary character can leave a code fence or table open and wreck the
rest of the page. So sections are fitted, never cut: a long table folds into
`<details>`; when even that is too long, whole experiment rows are dropped from the
`Table` (the winner and the best by the metric stay) and a line says how many and where
the full table is. Markdown from `--body-file` is shortened at block boundaries; a fence or
table that must be shortened keeps its header and is closed again.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from exp_ci.numbers import finite_number
from exp_ci.render.charts import Pictures
from exp_ci.render.markdown import escape
from exp_ci.render.table import Table, TableRow
from exp_ci.render.words import count
from exp_ci.sticky.format import Measure, comment_length

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

FOLD_ROWS = 10  # more experiment rows than this fold into <details>


# --- tables ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SectionParts:
    """The trusted text around a table (already markdown; the caller escaped it)."""

    title: str
    footer: str = ""
    full_table_at: str = "the output of `exp-ci show`"  # where a reader finds dropped rows
    limit_name: str = "comment size limit"
    after: str = ""  # trusted markdown under the table (the gate's verdict)


@dataclass(frozen=True)
class Fitted:
    text: str
    shown: int  # experiment rows shown
    dropped: int  # experiment rows left out for the size limit
    charts: int = 0  # charts shown under the table


def experiment_count(table: Table) -> int:
    return sum(1 for row in table.rows if row.is_experiment)


def _keep_order(table: Table) -> list[int]:
    """Experiment rows, the ones to keep first: winner, then best by the metric, then order."""
    indexed = [(i, row) for i, row in enumerate(table.rows) if row.is_experiment]
    metric = table.metric
    if metric is None:
        return [i for i, _ in indexed]

    def key(item: tuple[int, TableRow]) -> tuple[int, int, float, int]:
        i, row = item
        value = finite_number(row.values.get(metric.full_name))
        score = 0.0 if value is None else (-value if metric.direction.value == "max" else value)
        return (0 if row.winner else 1, 0 if value is not None else 1, score, i)

    return [i for i, _ in sorted(indexed, key=key)]


def limit_rows(table: Table, keep: int) -> Table:
    """The table with only `keep` experiment rows (see `_keep_order`), in table order.

    The base, the workspace and HEAD's rows always stay (they are the comparison); another
    baseline's row stays when one of its experiments does. The tree is redrawn so the last
    kept child of each baseline closes it. Values, winner and deltas are untouched.
    """
    if keep >= experiment_count(table):
        return table
    kept = set(_keep_order(table)[: max(keep, 0)])
    groups: list[tuple[TableRow, list[TableRow]]] = []
    for i, row in enumerate(table.rows):
        if not row.is_experiment:
            groups.append((row, []))
        elif i in kept and groups:
            groups[-1][1].append(row)
    rows: list[TableRow] = []
    for baseline, children in groups:
        if not children and baseline.role == "baseline":
            continue
        rows.append(baseline)
        rows.extend(
            replace(child, is_last_child=n == len(children) - 1) for n, child in enumerate(children)
        )
    return replace(table, rows=tuple(rows))


def split_table_and_notes(markdown: str) -> tuple[str, str]:
    """`render_markdown` output -> (the table's lines, the notes under it)."""
    lines = markdown.rstrip("\n").split("\n")
    n = 0
    while n < len(lines) and lines[n].startswith("|"):
        n += 1
    return "\n".join(lines[:n]), "\n".join(lines[n:]).strip("\n")


def details(summary: str, inner: str) -> str:
    """A folded block; blank lines keep the markdown inside it rendered."""
    return f"<details>\n<summary>{summary}</summary>\n\n{inner}\n\n</details>"


def split_failed(table: Table) -> tuple[Table, str]:
    """The table without its failed experiments, and those folded into `<details>` with
    why each failed (empty when none did): in a comment they take no table rows."""
    failed = [row for row in table.rows if row.is_experiment and row.experiment.state == "failed"]
    if not failed:
        return table, ""
    kept = [row for row in table.rows if row not in failed]
    rows = tuple(
        replace(row, is_last_child=i + 1 == len(kept) or not kept[i + 1].is_experiment)
        if row.is_experiment
        else row
        for i, row in enumerate(kept)
    )
    lines = [
        f"- {escape(row.experiment.label)} (`{row.experiment.rev[:7]}`, on "
        f"{escape(_baseline_label(table, row))}): "
        + escape(row.experiment.reason or "the run failed")
        for row in failed
    ]
    block = details(
        f"{count(len(failed), 'failed experiment')} (not in the table)",
        "\n".join(lines) + "\n\n_`dvc queue logs NAME` shows a run's log._",
    )
    return replace(table, rows=rows), block


def _baseline_label(table: Table, row: TableRow) -> str:
    baseline = next(
        (r.experiment for r in table.rows if r.experiment.rev == row.experiment.baseline_rev),
        None,
    )
    return baseline.label if baseline is not None else row.experiment.baseline_rev[:7]


def _compose(
    table: Table,
    parts: SectionParts,
    total: int,
    fold: bool,
    pictures: Pictures | None = None,
    charts: int = 0,
    failed: str = "",
) -> str:
    """The section's markdown with the first `charts` of `pictures.charts` under the table."""
    from exp_ci.render.formats import render_markdown

    shown = experiment_count(table)
    dropped = total - shown
    from exp_ci.render.formats import render_changes_markdown

    table_md, notes = split_table_and_notes(
        render_markdown(table, pictures.without_charts() if pictures else None, changes=False)
    )
    blocks = [f"### {parts.title}"]
    if notes:
        blocks.append(notes)
    if fold:
        baselines = sum(1 for row in table.rows if row.role in ("head", "baseline"))
        counted = f"{shown} of {total} experiments" if dropped else count(total, "experiment")
        blocks.append(
            details(f"Comparison table: {counted}, {count(baselines, 'baseline')}", table_md)
        )
    else:
        blocks.append(table_md)
    if dropped:
        blocks.append(
            f"_{count(dropped, 'more experiment')} not shown ({parts.limit_name}); "
            f"the full table is in {parts.full_table_at}._"
        )
    changes = render_changes_markdown(table).strip("\n")
    if changes:
        blocks.append(changes)
    if failed:
        blocks.append(failed)
    if parts.after:
        blocks.append(parts.after)
    if pictures is not None:
        blocks.extend(pictures.charts[:charts])
        left_out = len(pictures.charts) - charts
        if left_out:
            blocks.append(f"_{count(left_out, 'chart')} not shown ({parts.limit_name})._")
    if parts.footer:
        blocks.append(parts.footer)
    return "\n\n".join(blocks) + "\n"


def _too_wide(table: Table, parts: SectionParts, total: int) -> str:
    blocks = [
        f"### {parts.title}",
        f"_The table ({count(total, 'experiment')}, {count(len(table.columns), 'column')}) "
        f"does not fit ({parts.limit_name}); choose fewer columns with --params, --metrics or "
        f"--only-changed. The full table is in {parts.full_table_at}._",
    ]
    if parts.after:
        blocks.append(parts.after)
    if parts.footer:
        blocks.append(parts.footer)
    return "\n\n".join(blocks) + "\n"


def table_section(
    table: Table,
    parts: SectionParts,
    budget: int,
    *,
    measure: Measure = comment_length,
    fold_rows: int | None = FOLD_ROWS,
    pictures: Pictures | None = None,
) -> Fitted:
    """The section for `table` within `budget`: whole, folded, or with rows dropped.

    Charts (`pictures.charts`, under the table) go first, the last one first, before any
    row does. The number of rows kept is the largest that fits, found by interpolating
    between rendered sizes (a handful of renders even for thousands of rows).
    """
    table, failed = split_failed(table)
    total = experiment_count(table)
    fold = fold_rows is not None and total > fold_rows

    def render(keep: int) -> str:
        return _compose(limit_rows(table, keep), parts, total, fold, pictures, failed=failed)

    def nothing_fits() -> Fitted:
        text = _too_wide(table, parts, total)
        if measure(text) > budget:
            text = f"### {parts.title}\n\n_Not shown ({parts.limit_name})._\n"
        return Fitted(text, 0, total)

    charts = len(pictures.charts) if pictures else 0
    for kept in range(charts, 0, -1):
        with_charts = _compose(table, parts, total, fold, pictures, kept, failed)
        if measure(with_charts) <= budget:
            return Fitted(with_charts, total, 0, kept)
    full = render(total)
    if measure(full) <= budget:
        return Fitted(full, total, 0)
    if total == 0:
        return nothing_fits()
    one = render(1)
    if measure(one) > budget:  # not even the winner's row: the columns are the problem
        return nothing_fits()

    # Largest k in [1, total) whose rendering fits: `good` fits, `bad` does not.
    good, good_size, good_text = 1, measure(one), one
    bad, bad_size = total, measure(full)
    step = 0
    while bad - good > 1:
        step += 1
        if step % 3 == 0:  # a plain bisection now and then guarantees progress
            guess = (good + bad) // 2
        else:
            slope = (bad_size - good_size) / (bad - good)
            guess = good + int((budget - good_size) / slope) if slope > 0 else (good + bad) // 2
            guess = min(max(guess, good + 1), bad - 1)
        text = render(guess)
        size = measure(text)
        if size <= budget:
            good, good_size, good_text = guess, size, text
        else:
            bad, bad_size = guess, size
    return Fitted(good_text, good, total - good)


# --- free markdown (--body-file) ---------------------------------------------------------


@dataclass(frozen=True)
class _Block:
    kind: str  # "fence", "table", "text", "blank"
    lines: tuple[str, ...]
    closing: str = ""  # for a fence: the line that closes it


def _blocks(text: str) -> list[_Block]:
    """`text`'s top-level blocks as GitHub reads them (markdown-it-py with GFM tables), and
    the lines between them, so a cut falls between blocks or inside one it can close."""
    lines = text.split("\n")
    blocks: list[_Block] = []
    at = 0

    def between(end: int) -> None:
        for line in lines[at:end]:  # blank lines, and link definitions (no token of their own)
            blocks.append(_Block("blank" if not line.strip() else "text", (line,)))

    for token in _gfm().parse(text):
        if token.level != 0 or token.nesting == -1 or token.map is None:
            continue
        start, end = token.map
        between(start)
        if token.type == "fence":
            blocks.append(_Block("fence", tuple(lines[start:end]), token.markup))
        else:
            kind = "table" if token.type == "table_open" else "text"
            blocks.append(_Block(kind, tuple(lines[start:end])))
        at = end
    between(len(lines))
    return blocks


def _partial(block: _Block, room: int, measure: Measure) -> list[str]:
    """As much of one block as fits in `room`, still valid on its own."""
    kept: list[str] = []
    used = 0

    def take(line: str) -> bool:
        nonlocal used
        cost = measure(line) + 1
        if used + cost > room:
            return False
        kept.append(line)
        used += cost
        return True

    if block.kind == "fence":
        closing = block.closing
        room -= measure(closing) + 1
        if not take(block.lines[0]):
            return []
        for line in block.lines[1:-1]:
            if not take(line):
                break
        return [*kept, closing] if len(kept) > 1 else []
    if block.kind == "table":
        if len(block.lines) < 2 or not (take(block.lines[0]) and take(block.lines[1])):
            return []
        for line in block.lines[2:]:
            if not take(line):
                break
        return kept if len(kept) > 2 else []
    for line in block.lines:
        if not take(line):
            # A paragraph may end mid-way, at a space, so one huge line still shows its start.
            words = _prefix(line, room - used - 3, measure).rsplit(" ", 1)[0]
            if words.strip():
                kept.append(words + " …")
            break
    return kept


def _prefix(text: str, room: int, measure: Measure) -> str:
    used = 0
    for i, char in enumerate(text):
        used += measure(char)
        if used > room:
            return text[:i]
    return text


# Elements GitHub keeps that would swallow what follows when left open; void elements
# (<br>, <img>, <hr>) close themselves. More open elements than MAX_SEALED: the rest of the
# text is not shown (see `seal_markdown`).
_CONTAINERS = frozenset(
    {
        *("a", "abbr", "b", "bdi", "bdo", "blockquote", "caption", "cite", "code", "dd"),
        *("del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1"),
        *("h2", "h3", "h4", "h5", "h6", "i", "ins", "kbd", "li", "mark", "ol"),
        *("picture", "pre", "q", "rp", "rt", "ruby", "s", "samp", "section", "small"),
        *("span", "strike", "strong", "sub", "summary", "sup", "table", "tbody", "td"),
        *("tfoot", "th", "thead", "time", "tr", "tt", "u", "ul", "var"),
    }
)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)\b[^<>]*?(/?)>")
MAX_SEALED = 32
_SENTINEL = "exp-ci-end-of-untrusted-markdown"
# How the raw HTML blocks that run until an end marker (CommonMark types 1 to 5) end.
_HTML_BLOCK_ENDS = (
    (re.compile(r"<(pre|script|style|textarea)\b", re.IGNORECASE), None),
    (re.compile(r"<!--"), "-->"),
    (re.compile(r"<\?"), "?>"),
    (re.compile(r"<![A-Za-z]"), ">"),
    (re.compile(r"<!\[CDATA\["), "]]>"),
)


@functools.cache
def _commonmark() -> MarkdownIt:
    """One CommonMark parser (markdown-it-py, imported when a body file is first sealed)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


@functools.cache
def _gfm() -> MarkdownIt:
    """CommonMark with GFM's tables: the blocks GitHub sees, for cutting at their edges."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table")


def _block_left_open(text: str) -> str | None:
    """The line that ends a fence or raw HTML block `text` leaves open at its top level."""
    tokens = _commonmark().parse(text + "\n\n" + _SENTINEL)
    for token in tokens:
        if _SENTINEL not in token.content:
            continue
        if token.type == "fence":
            return token.markup
        if token.type == "html_block":
            for start, end in _HTML_BLOCK_ENDS:
                opened = start.match(token.content.lstrip())
                if opened:
                    return end or f"</{opened.group(1).lower()}>"
        return None
    return None


_COMPLETE_TAG = re.compile(
    r"</?[A-Za-z][A-Za-z0-9-]*"
    r"""(?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*\s*/?>"""
)


def _tidy_html_line(line: str) -> str:
    """A raw HTML line whose every `<` starts a complete tag, else is written `&lt;`."""
    out, at = [], 0
    while (found := line.find("<", at)) >= 0:
        out.append(line[at:found])
        tag = _COMPLETE_TAG.match(line, found)
        if tag:
            out.append(tag.group(0))
            at = tag.end()
        else:
            out.append("&lt;")
            at = found + 1
    out.append(line[at:])
    return "".join(out)


def _inert_html(text: str) -> str:
    """Untrusted markdown whose raw HTML cannot hide what follows it.

    HTML comments, declarations, CDATA and processing instructions show a reader nothing,
    but one left open hides everything after it (a browser reads a bogus `<?` or `<!x`
    comment up to the next `>`), the closing tags markdown writes for its own blockquotes
    and lists included; so every `<!` and `<?` outside code blocks is written as text. In
    raw HTML blocks, a `<` that starts no complete tag (`<a title="…` with no end) would
    take what follows as its attributes, so it is written as text too. Code blocks show
    all of it as text already and are left alone.
    """
    if "<" not in text:
        return text
    lines = text.split("\n")
    code: set[int] = set()
    html: set[int] = set()
    for token in _commonmark().parse(text):
        if token.type in ("fence", "code_block") and token.map:
            code.update(range(*token.map))
        elif token.type == "html_block" and token.map:
            html.update(range(*token.map))
    tidy = []
    for n, line in enumerate(lines):
        if n not in code:
            line = line.replace("<!", "&lt;!").replace("<?", "&lt;?")
            if n in html:
                line = _tidy_html_line(line)
        tidy.append(line)
    return "\n".join(tidy)


def _closing_tags(text: str) -> list[str]:
    """End tags for the HTML elements `text`'s raw HTML may leave open, innermost first.

    Only what markdown passes through as HTML counts (blocks and inline HTML): tags in code
    spans, fences and plain text are shown as text by GitHub. How a browser nests
    misnested tags (and the paragraphs markdown wraps around inline HTML) is not modelled:
    an element opened more often than closed gets end tags too, because an end tag with
    nothing open to close is dropped by every HTML parser, so one too many costs nothing.
    """
    pieces = []
    for token in _commonmark().parse(text):
        if token.type == "html_block":
            pieces.append(token.content)
        pieces.extend(c.content for c in token.children or () if c.type == "html_inline")
    stack: list[str] = []
    balance: Counter[str] = Counter()
    for piece in pieces:
        for tag in _TAG.finditer(piece):
            closing, name, self_closing = tag.group(1), tag.group(2).lower(), tag.group(3)
            if name not in _CONTAINERS or self_closing:
                continue
            balance[name] += -1 if closing else 1
            if not closing:
                stack.append(name)
            elif name in stack:
                while stack and stack.pop() != name:
                    pass
    closers = list(reversed(stack))
    for name in closers:
        balance[name] -= 1
    closers += [name for name, more in balance.items() for _ in range(max(more, 0))]
    return closers[:MAX_SEALED]


def seal_markdown(text: str) -> str:
    """Untrusted markdown closed again at its end, so what follows stays outside it.

    A body file (a fork's artifact) that leaves a code fence, a raw HTML block, an HTML
    comment or a `<details>`/`<table>` open would take every later section of the comment
    (and every later step's job summary) into it. Its raw HTML is made unable to hide what
    follows (`_inert_html`: comments and unfinished tags shown as text); blocks are found
    as markdown parses them (markdown-it-py, the CommonMark parser rich already brings):
    an open fence or raw HTML block gets its end line; then the elements its raw HTML left
    open are closed (`_closing_tags`), in a block of their own.
    """
    sealed = _inert_html(text).rstrip("\n")
    for _ in range(4):  # a fence's end can reveal a block opened inside it: a few rounds
        end = _block_left_open(sealed)
        if end is None:
            break
        sealed += "\n" + end
    closers = _closing_tags(sealed)
    if closers:
        sealed += "\n\n" + "".join(f"</{name}>" for name in closers)
    return text if sealed == text.rstrip("\n") else sealed + "\n"


def fit_markdown(
    text: str,
    budget: int,
    *,
    measure: Measure = comment_length,
    full_text_at: str = "the job summary",
    limit_name: str = "comment size limit",
) -> str:
    """`text` if it fits, else its leading blocks and a line saying what was left out.

    Either way its open elements, fences and comments are closed (`seal_markdown`).
    """
    text = seal_markdown(text.replace("\r\n", "\n").strip("\n")).strip("\n")
    if measure(text) + 1 <= budget:
        return text + "\n"
    total = measure(text)

    def note(omitted: int) -> str:
        return (
            f"_… {omitted} characters not shown ({limit_name}); "
            f"the full text is in {full_text_at}._"
        )

    reserve = measure(note(total)) + 4 + 64  # the note, blank lines, some closing tags
    room = budget - reserve
    for _ in range(4):  # more closing tags than reserved: cut earlier and try again
        out: list[str] = []
        used = 0
        for block in _blocks(text):
            cost = sum(measure(line) + 1 for line in block.lines)
            if used + cost <= room:
                out.extend(block.lines)
                used += cost
                continue
            out.extend(_partial(block, room - used, measure))
            break
        while out and not out[-1].strip():
            out.pop()
        kept = seal_markdown("\n".join(out)).strip("\n")
        omitted = max(0, total - measure(kept))
        result = "\n\n".join(p for p in (kept, note(omitted)) if p) + "\n"
        over = measure(result) - budget
        if over <= 0:
            return result
        room -= over
    return ""  # only when the budget is smaller than the note itself
