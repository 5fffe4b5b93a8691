"""Pictures GitHub draws by itself: Mermaid charts and sparklines (pure: text in, text out).

GitHub renders ```` ```mermaid ```` blocks in comments, job summaries and READMEs, so a
pull request can show which experiment won and how its training went without sending a
single image to a hosting service. Three pictures:

- the ranking chart: a `xychart-beta` bar chart of the ranking metric for the best
  experiments (the winner first) and their baseline, with a y axis that starts near the
  smallest value so that differences of a few hundredths are visible;
- the training curve: a line chart of one plot series for the baseline and the winner,
  both resampled onto one even grid of at most `MAX_POINTS` points (Mermaid spreads a
  line's values evenly over the x axis, and lines of one chart share it);
- the trend: a sparkline `▁▂▃▄▅▆▇█` of the metric over the base branch's last commits,
  with a gap where a commit has no value.

Experiment names, metric keys and plot fields come from a pull request's author. Inside a
diagram they are untrusted text: `sanitize` removes everything that could end a quoted
label or the code fence, start a Mermaid comment or directive (`%%`), or form an entity
(`#…;`).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise

from exp_ci.model import Direction
from exp_ci.numbers import finite_number
from exp_ci.render.markdown import escape
from exp_ci.render.table import Table, TableRow
from exp_ci.render.words import count

BLOCKS = "▁▂▃▄▅▆▇█"
GAP = "\u00a0"  # a commit without a value: a no-break space, which code spans never trim
DEFAULT_BARS = 10  # experiments in the ranking chart (fewer with --top)
MAX_LABEL = 24  # characters of a bar's label
MAX_TITLE = 60
MAX_POINTS = 50  # points of a training curve
CURVE_DIGITS = 6  # significant digits of a curve's values
WINNER = "★ "
BAR_COLOUR = "#2563eb"
# Colours of the curve chart's lines (baseline, winner) and the words that name them.
CURVE_COLOURS = (("#f97316", "orange"), ("#2563eb", "blue"))

_REPLACED = {
    '"': "'",
    "`": "'",
    "[": "(",
    "]": ")",
    "{": "(",
    "}": ")",
    "<": "‹",
    ">": "›",
    ";": ",",
}


def sanitize(text: str, limit: int | None = None) -> str:
    """Untrusted text that is safe as a quoted Mermaid label (and inside a code fence).

    Quotes, backticks, brackets, `;` (which ends an entity such as `#quot;`), `<` and `>`
    become harmless look-alikes; line breaks and other control characters become spaces;
    `%%` (a comment or directive) loses a `%`. With `limit`, long text keeps its start and
    end around `…`.
    """
    chars = []
    for char in text:
        if unicodedata.category(char)[0] in "CZ" and char != " ":
            chars.append(" ")  # newlines, tabs, line separators, zero-width and bidi marks
        else:
            chars.append(_REPLACED.get(char, char))
    clean = " ".join("".join(chars).split())
    while "%%" in clean:
        clean = clean.replace("%%", "%")
    return shorten(clean, limit) if limit is not None else clean


def shorten(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else its start, `…` and its end."""
    if len(text) <= limit:
        return text
    tail = max(1, (limit - 1) // 3)
    head = max(1, limit - 1 - tail)
    return f"{text[:head]}…{text[-tail:]}"


def short_labels(items: Sequence[tuple[str, str]], limit: int = MAX_LABEL) -> list[str]:
    """Sanitised, shortened labels of (name, rev) pairs, all different from each other.

    Names that shorten (or sanitise) to the same text get their short SHA instead of their
    end; Mermaid would draw two equal categories as one bar.
    """
    clean = [sanitize(name) or rev[:7] for name, rev in items]
    labels = [shorten(text, limit) for text in clean]
    counts = Counter(labels)
    for i, (_, rev) in enumerate(items):
        if counts[labels[i]] > 1:
            labels[i] = f"{shorten(clean[i], max(limit - 9, 4))}@{rev[:7]}"
    seen: set[str] = set()
    for i, label in enumerate(labels):
        unique, n = label, 1
        while unique in seen:
            n += 1
            unique = f"{label} ({n})"
        labels[i] = unique
        seen.add(unique)
    return labels


def number(value: float, digits: int = 10) -> str:
    """A number as Mermaid reads it: plain decimal notation, never an exponent."""
    if value == 0:
        return "0"
    text = format(Decimal(format(value, f".{digits}g")).normalize(), "f")
    return text[:-2] if text.endswith(".0") else text


def nice_step(span: float) -> float:
    """1, 2, 2.5 or 5 times a power of ten, at least `span`."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    power = 10 ** math.floor(math.log10(span))
    for factor in (1, 2, 2.5, 5, 10):
        if span <= factor * power:
            return factor * power
    return 10 * power


def axis_range(values: Sequence[float], below: float = 0.25) -> tuple[float, float]:
    """A y range that shows the differences between `values`.

    Mermaid draws bars up from the bottom of the axis, so the range starts a little below
    the smallest value (never at it: that bar would vanish; `below` is how far, as a part
    of the values' spread; lines need less room than bars). Zero is included when it
    costs at most half of the height, so small positive values are not exaggerated.
    """
    lo, hi = min(values), max(values)
    span = hi - lo
    if span == 0:
        span = abs(hi) / 2 or 1.0
    low, high = lo - span * below, hi + span * 0.1
    if 0 <= lo <= span and hi > 0:
        low = 0.0
    if -span <= hi <= 0 and lo < 0:
        high = 0.0
    step = nice_step((high - low) / 10)
    low = math.floor(round(low / step, 9)) * step
    high = math.ceil(round(high / step, 9)) * step
    if low >= lo and lo != 0:
        low -= step
    return round(low, 12), round(high, 12)


def _label_list(labels: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{label}"' for label in labels) + "]"


def _values(values: Sequence[float], digits: int = 10) -> str:
    return "[" + ", ".join(number(v, digits) for v in values) + "]"


def _palette(colours: Iterable[str]) -> str:
    """Mermaid's directive for the series colours (the chart's first line, our own text)."""
    palette = ", ".join(colours)
    return '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "' + palette + '"}}}}%%'


def fence(source: str) -> str:
    return f"```mermaid\n{source.rstrip()}\n```"


# --- the ranking chart ---------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    name: str  # untrusted: an experiment's or branch's name
    rev: str
    value: float
    baseline: bool = False
    winner: bool = False


def ranking_bars(table: Table, top: int = DEFAULT_BARS) -> tuple[list[Bar], int, TableRow | None]:
    """The bars of the ranking chart: the winner, the next best, then the base of the
    comparison (the pull request's base; without one, the winner's baseline).

    Returns (bars, experiments with a value, the winner's baseline row when it has no value).
    """
    metric = table.metric
    if metric is None:
        return [], 0, None
    sign = -1 if metric.direction is Direction.MAX else 1
    ranked = []
    for row in table.rows:
        value = finite_number(row.values.get(metric.full_name))
        if not row.is_experiment or value is None:
            continue
        key = (not row.winner, sign * value, row.experiment.created, row.experiment.rev)
        ranked.append((key, row, value))
    ranked.sort(key=lambda item: item[0])
    bars = [
        Bar(row.experiment.label, row.experiment.rev, value, winner=row.winner)
        for _, row, value in ranked[:top]
    ]
    if not bars:
        return [], 0, None
    first = ranked[0][1].experiment
    base = next((r for r in table.rows if r.is_base), None) or next(
        (r for r in table.rows if r.is_commit and r.experiment.rev == first.baseline_rev),
        None,
    )
    missing_base = None
    if base is not None:
        value = finite_number(base.values.get(metric.full_name))
        if value is None:
            missing_base = base
        else:
            bars.append(Bar(base.experiment.label, base.experiment.rev, value, baseline=True))
    return bars, len(ranked), missing_base


def bar_chart(bars: Sequence[Bar], title: str, axis: str) -> str:
    """Mermaid source of a bar chart; `title` and `axis` are untrusted and sanitised here."""
    labels = short_labels([(bar.name, bar.rev) for bar in bars])
    labels = [
        f"{WINNER}{label}" if bar.winner else f"{label} (baseline)" if bar.baseline else label
        for bar, label in zip(bars, labels, strict=True)
    ]
    low, high = axis_range([bar.value for bar in bars])
    return "\n".join(
        [
            _palette([BAR_COLOUR]),
            "xychart-beta",
            f'    title "{sanitize(title, MAX_TITLE)}"',
            f"    x-axis {_label_list(labels)}",
            f'    y-axis "{sanitize(axis, MAX_LABEL)}" {number(low)} --> {number(high)}',
            f"    bar {_values([bar.value for bar in bars])}",
        ]
    )


def ranking_chart(table: Table, top: int = DEFAULT_BARS) -> str | None:
    """The ranking chart as markdown (a mermaid block and a caption), or None without values."""
    metric = table.metric
    bars, ranked, missing_base = ranking_bars(table, top)
    if metric is None or not bars:
        return None
    column = next((c for c in table.columns if c.full_name == metric.full_name), None)
    name = column.label if column else metric.key
    better = "higher" if metric.direction is Direction.MAX else "lower"
    shown = sum(1 for bar in bars if not bar.baseline)
    title = f"{name} ({better} is better)"
    if ranked > shown:
        title += f", best {shown} of {ranked}"
    source = bar_chart(bars, title, name)
    caption = []
    if missing_base is not None:
        caption.append(
            f"_The baseline {escape(missing_base.experiment.label)} has no value for "
            f"{escape(name)}; it is not drawn._"
        )
    return "\n\n".join([fence(source), *caption])


# --- the training curve --------------------------------------------------------------------


@dataclass(frozen=True)
class Curve:
    """One line: who it is (untrusted name), its role, and its (x, y) points."""

    name: str
    role: str  # "baseline" or "winner"
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Resampled:
    xs: tuple[float, ...]
    lines: tuple[tuple[float, ...], ...]
    held: tuple[tuple[bool, bool], ...]  # per line: held flat before its first / after its last x
    ranges: tuple[tuple[float, float], ...]  # per line: its own first and last x
    points: int  # distinct x values before resampling


def _finite(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    kept = sorted((x, y) for x, y in points if math.isfinite(x) and math.isfinite(y))
    merged: dict[float, list[float]] = {}
    for x, y in kept:
        merged.setdefault(x, []).append(y)
    return [(x, sum(ys) / len(ys)) for x, ys in merged.items()]


def _evenly_spaced(xs: Sequence[float]) -> bool:
    if len(xs) < 3:
        return True
    step = xs[1] - xs[0]
    return all(math.isclose(b - a, step, rel_tol=1e-9, abs_tol=1e-12) for a, b in pairwise(xs))


def resample(series: Sequence[Sequence[tuple[float, float]]], max_points: int = MAX_POINTS):
    """Every series on one even grid of x values, at most `max_points` long.

    A grid point takes the mean of the series' points around it (a long, noisy curve is
    smoothed rather than aliased), the straight line between its neighbours when none is
    around it, and the first or last value outside the series' own range (`held`).
    Returns None when there are fewer than two distinct x values.
    """
    cleaned = [_finite(points) for points in series]
    xs = sorted({x for points in cleaned for x, _ in points})
    if len(xs) < 2 or any(not points for points in cleaned):
        return None
    if len(xs) <= max_points and _evenly_spaced(xs):
        grid = xs
    else:  # too many points, or uneven ones (which Mermaid would draw evenly spaced)
        grid = [xs[0] + (xs[-1] - xs[0]) * i / (max_points - 1) for i in range(max_points)]
    half = (grid[1] - grid[0]) / 2
    lines = []
    held = []
    for points in cleaned:
        line = [_at(points, x, half) for x in grid]
        lines.append(tuple(line))
        held.append((points[0][0] > grid[0] + half, points[-1][0] < grid[-1] - half))
    ranges = tuple((points[0][0], points[-1][0]) for points in cleaned)
    return Resampled(tuple(grid), tuple(lines), tuple(held), ranges, len(xs))


def _at(points: Sequence[tuple[float, float]], x: float, half: float) -> float:
    """The series' value at grid point `x`: bucket mean, interpolation, or the held end."""
    around = [y for px, y in points if x - half <= px < x + half or px == x]
    if around:
        return sum(around) / len(around)
    if x <= points[0][0]:
        return points[0][1]
    if x >= points[-1][0]:
        return points[-1][1]
    for (x0, y0), (x1, y1) in pairwise(points):
        if x0 <= x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]  # pragma: no cover - the loop always finds the interval


def curve_chart(
    title: str,
    x_label: str,
    y_label: str,
    curves: Sequence[Curve],
    max_points: int = MAX_POINTS,
) -> str | None:
    """The training curve as markdown: a mermaid line chart and a caption naming the lines.

    Mermaid's xychart (as GitHub has it) draws no legend, so the lines get fixed colours
    and the caption names them. None when the curves have fewer than two x values.
    """
    if not curves or len(curves) > len(CURVE_COLOURS):
        return None
    resampled = resample([c.points for c in curves], max_points)
    if resampled is None:
        return None
    low, high = axis_range([y for line in resampled.lines for y in line], below=0.05)
    first, last = resampled.xs[0], resampled.xs[-1]
    colours = CURVE_COLOURS[-len(curves) :]  # the winner's line is blue, with or without a baseline
    lines = [
        _palette(colour for colour, _ in colours),
        "xychart-beta",
        f'    title "{sanitize(title, MAX_TITLE)}"',
        f'    x-axis "{sanitize(x_label, MAX_LABEL)}" {number(first)} --> {number(last)}',
        f'    y-axis "{sanitize(y_label, MAX_LABEL)}" {number(low)} --> {number(high)}',
    ]
    lines += [f"    line {_values(line, CURVE_DIGITS)}" for line in resampled.lines]
    legend = ", ".join(
        f"{word}: {escape(curve.name)} ({curve.role})"
        for (_, word), curve in zip(colours, curves, strict=True)
    )
    notes = []
    if len(resampled.xs) < resampled.points:
        notes.append(f"{resampled.points} points drawn as {len(resampled.xs)}")
    for curve, (before, after), (start, end) in zip(
        curves, resampled.held, resampled.ranges, strict=True
    ):
        if before or after:
            notes.append(
                f"{escape(curve.name)} has {escape(x_label)} {number(start)}–{number(end)} "
                "only and is held flat beyond"
            )
    caption = f"Lines: {legend}."
    if notes:
        text = "; ".join(notes)
        caption += f" {text[0].upper()}{text[1:]}."
    return f"{fence(chr(10).join(lines))}\n\n{caption}"


# --- the trend ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Trend:
    """The metric at the last commits of a branch, oldest first; None where it has none."""

    values: tuple[float | None, ...]
    revs: tuple[str, ...] = ()


def sparkline(values: Sequence[float | None]) -> str:
    """`▁▂▃▄▅▆▇█` from the smallest to the largest value; GAP for a missing one."""
    known = [v for v in values if v is not None and math.isfinite(v)]
    if not known:
        return GAP * len(values)
    lo, hi = min(known), max(known)
    out = []
    for value in values:
        if value is None or not math.isfinite(value):
            out.append(GAP)
        elif hi == lo:
            out.append(BLOCKS[3])
        else:
            out.append(BLOCKS[round((value - lo) / (hi - lo) * (len(BLOCKS) - 1))])
    return "".join(out)


def trend_note(trend: Trend, where: str, metric: str, precision: int) -> str:
    """One markdown line that says what the sparkline shows (`where`, `metric`: untrusted)."""
    known = [v for v in trend.values if v is not None]
    commits = len(trend.values)
    text = (
        f"{escape(metric)} over the last {count(commits, 'commit')} up to "
        f"{escape(where)} (oldest → newest): `{sparkline(trend.values)}`"
    )
    if known:
        first, last = known[0], known[-1]
        text += (
            f" {format(first, f'.{precision}g')} → {format(last, f'.{precision}g')}"
            f" (min {format(min(known), f'.{precision}g')},"
            f" max {format(max(known), f'.{precision}g')})"
        )
    missing = commits - len(known)
    if missing:
        text += f"; {missing} without a value"
    return text


# --- what the renderers receive ----------------------------------------------------------


@dataclass(frozen=True)
class Pictures:
    """What `--chart`, `--curve` and `--trend` add to a markdown table.

    `charts` are markdown blocks drawn under the table, in order of importance (the comment
    drops them from the end when it runs out of room); `trends` are keyed by baseline rev;
    `notes` are trusted markdown lines (why a picture is missing).
    """

    charts: tuple[str, ...] = ()
    trends: Mapping[str, Trend] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def without_charts(self) -> Pictures:
        return Pictures((), self.trends, self.notes)


def spark_cell(cell: str, trend: Trend) -> str:
    return f"{cell} `{sparkline(trend.values)}`"


_MERMAID_BLOCK = re.compile(r"^```mermaid\n(.*?)\n```$", re.MULTILINE | re.DOTALL)


def mermaid_blocks(markdown: str) -> list[str]:
    """The source of every mermaid block in `markdown` (what GitHub would draw)."""
    return [m.group(1) for m in _MERMAID_BLOCK.finditer(markdown)]
