"""The pictures' text (pure): ranking bar charts, training curves, sparklines, and their place
in the markdown table and the comment's size budget."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import pytest

from exp_ci.render.charts import (
    BLOCKS,
    GAP,
    MAX_LABEL,
    MAX_POINTS,
    Curve,
    Pictures,
    Trend,
    axis_range,
    curve_chart,
    mermaid_blocks,
    number,
    ranking_chart,
    resample,
    sanitize,
    short_labels,
    sparkline,
    trend_note,
)
from exp_ci.render.formats import render_markdown
from exp_ci.render.section import SectionParts, table_section
from exp_ci.sticky.format import COMMENT_LIMIT, comment_length
from tests.helpers.chart_cases import (
    CURVE_CASES,
    HOSTILE_NAMES,
    NO_CHART_CASES,
    RANKING_CASES,
    baseline,
    hundred,
    sha,
    table,
)

# What must never reach a quoted Mermaid label: it would end the label or the code fence,
# start a comment or directive, or form an entity.
FORBIDDEN = ['"', "[", "]", "\n", "\r", "`", "%%", ";", "<", ">", "{", "}"]


def parse_xychart(source: str) -> dict:
    """The parts of our xychart text, read back the way Mermaid's grammar reads them."""
    lines = source.splitlines()
    assert lines[0].startswith("%%{init: ")  # our own directive, first line only
    assert lines[1] == "xychart-beta"
    parsed: dict = {"bars": [], "lines": []}
    for line in lines[2:]:
        line = line.strip()
        if line.startswith("title "):
            parsed["title"] = re.fullmatch(r'title "([^"\n]*)"', line).group(1)
        elif line.startswith("x-axis ["):
            body = re.fullmatch(r"x-axis \[(.*)\]", line).group(1)
            labels = re.findall(r'"([^"\n]*)"', body)
            assert ", ".join(f'"{label}"' for label in labels) == body
            parsed["categories"] = labels
        elif line.startswith("x-axis "):
            match = re.fullmatch(r'x-axis "([^"\n]*)" (\S+) --> (\S+)', line)
            parsed["x"] = (match.group(1), float(match.group(2)), float(match.group(3)))
        elif line.startswith("y-axis "):
            match = re.fullmatch(r'y-axis "([^"\n]*)" (\S+) --> (\S+)', line)
            parsed["y"] = (match.group(1), float(match.group(2)), float(match.group(3)))
        else:
            kind, _, data = line.partition(" ")
            numbers = re.fullmatch(r"\[(.*)\]", data).group(1).split(", ")
            for text in numbers:
                assert re.fullmatch(r"[+-]?(?:\d+(?:\.\d+)?|\.\d+)", text), text
            parsed[f"{kind}s"].append([float(t) for t in numbers])
    return parsed


def chart_of(case: str) -> dict:
    markdown = ranking_chart(RANKING_CASES[case]())
    (source,) = mermaid_blocks(markdown)
    return parse_xychart(source)


# --- sanitising untrusted text ----------------------------------------------------------


@pytest.mark.parametrize("name", [*HOSTILE_NAMES, 'a"b[c]d`e%%f;g\nh<i>{j}', "%%%%%"])
def test_untrusted_text_cannot_break_a_label(name):
    clean = sanitize(name)
    for bad in FORBIDDEN:
        assert bad not in clean
    assert clean == clean.strip() and "  " not in clean


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lr-high", "lr-high"),
        ('say "hi"', "say 'hi'"),
        ("x[1]", "x(1)"),
        ("a\nb\r\nc", "a b c"),
        ("50%% done", "50% done"),
        ("a;b", "a,b"),
        ("été ★ 🚀", "été ★ 🚀"),  # other text stays as it is
    ],
)
def test_sanitize_keeps_the_text_readable(text, expected):
    assert sanitize(text) == expected


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([("a", sha("a")), ("b", sha("b"))], ["a", "b"]),
        ([("", sha("x"))], [sha("x")[:7]]),
        (
            [("sweep-lr-0.001-epochs-10-seed-1", "1" * 40)],
            ["sweep-lr-0.001-e…-seed-1"],
        ),
        ([("exp-1", "a" * 40), ("exp-1", "b" * 40)], ["exp-1@aaaaaaa", "exp-1@bbbbbbb"]),
        ([("x[1]", "a" * 40), ("x(1)", "b" * 40)], ["x(1)@aaaaaaa", "x(1)@bbbbbbb"]),
    ],
)
def test_labels_are_short_sanitised_and_unambiguous(items, expected):
    assert short_labels(items) == expected


def test_a_hundred_long_names_give_a_hundred_distinct_short_labels():
    items = [
        (f"experiment-{i % 3}-with-a-long-shared-middle-part-{i}", sha(str(i))) for i in range(100)
    ]
    labels = short_labels(items)
    assert len(set(labels)) == 100
    assert all(len(label) <= MAX_LABEL for label in labels)


# --- numbers and the y axis --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0"),
        (-0.0, "0"),
        (0.1, "0.1"),
        (0.1 + 0.2, "0.3"),
        (3.0, "3"),
        (-2.5, "-2.5"),
        (1e-7, "0.0000001"),
        (1.5e20, "150000000000000000000"),
        (0.123456789012345, "0.123456789"),
    ],
)
def test_numbers_are_written_as_mermaid_reads_them(value, text):
    assert number(value) == text


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.7, 0.72, 0.75, 0.8], (0.66, 0.82)),  # close values: the axis starts near them
        ([1.0, 2.0], (0.0, 2.25)),  # zero costs at most half the height: included
        ([0.8, 0.8, 0.8], (0.7, 0.84)),  # ties
        ([-3.2, -0.4, 0.7, -1.5], (-5.0, 2.0)),  # negative and positive
        ([-3.0, -2.5, -2.1, -2.0], (-3.4, -1.8)),  # all negative
        ([0.0, 0.0], (-0.25, 0.1)),
        ([5.0], (4.3, 5.3)),  # one value
    ],
)
def test_the_y_axis_shows_the_differences(values, expected):
    low, high = axis_range(values)
    assert (low, high) == pytest.approx(expected)
    lo, hi = min(values), max(values)
    assert low < lo or low == lo == 0  # a bar at the bottom of the axis would vanish
    assert high >= hi
    if hi > lo:
        assert (hi - lo) / (high - low) >= 0.4  # the spread takes a good part of the height


# --- the ranking chart ---------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(RANKING_CASES))
def test_every_ranking_chart_is_well_formed(case):
    chart = chart_of(case)
    (values,) = chart["bars"]
    assert len(chart["categories"]) == len(values)
    assert len(set(chart["categories"])) == len(values)  # equal categories share one bar
    _, low, high = chart["y"]
    assert all(low < v <= high for v in values)
    for label in [chart["title"], *chart["categories"]]:
        for bad in FORBIDDEN:
            assert bad not in label


@pytest.mark.parametrize(
    ("case", "categories", "values", "title"),
    [
        ("one-experiment", ["★ only", "main (baseline)"], [0.6, 0.5], "auc (higher is better)"),
        # ties: the winner (the earlier of a and b) first, then the rest by value
        ("ties", ["★ a", "b", "c", "main (baseline)"], [0.8, 0.8, 0.75, 0.7], None),
        ("negative-mixed", ["★ e3", "e2", "e1", "main (baseline)"], [0.7, -0.4, -3.2, -1.5], None),
        (
            "negative-min",
            ["★ e3", "e1", "e2", "main (baseline)"],
            [-3.0, -2.5, -2.1, -2.0],
            "loss (lower is better)",
        ),
        # experiments without a numeric value are left out; so is a baseline without one
        ("missing-metrics", ["★ e1", "e4"], [0.6, 0.55], None),
        (
            "same-name-two-baselines",
            [
                f"★ exp-1@{sha('release/exp-1/1')[:7]}",
                f"exp-1@{sha('main/exp-1/1')[:7]}",
                "release (baseline)",
            ],
            [0.72, 0.7, 0.62],
            None,
        ),
    ],
)
def test_ranking_chart_cases(case, categories, values, title):
    chart = chart_of(case)
    assert chart["categories"] == categories
    assert chart["bars"] == [values]
    if title:
        assert chart["title"] == title


def test_a_hundred_experiments_chart_the_best_ten_and_the_baseline():
    chart = chart_of("hundred")
    assert chart["title"] == "auc (higher is better), best 10 of 100"
    assert len(chart["categories"]) == 11
    assert chart["categories"][0].startswith("★ sweep-lr-0.0027")
    assert chart["categories"][-1] == "main (baseline)"
    values = chart["bars"][0]
    assert values[:10] == sorted(values[:10], reverse=True)


def test_top_limits_the_chart_as_it_limits_the_table():
    experiments = [(f"e{i}", 0.7 + i / 100) for i in range(8)]
    (source,) = mermaid_blocks(ranking_chart(table([baseline("main", 0.6, experiments)], top=3)))
    assert parse_xychart(source)["categories"] == ["★ e7", "e6", "e5", "main (baseline)"]


def test_a_baseline_without_experiments_has_no_chart():
    assert ranking_chart(table([baseline("main", 0.61, [])])) is None


def test_hostile_names_are_drawn_sanitised_and_distinct():
    chart = chart_of("hostile-names")
    assert "x(1)" in " ".join(chart["categories"])
    assert chart["categories"][-1] == "main'), (baseline)"
    assert len(set(chart["categories"])) == 11


def test_a_baseline_without_a_value_is_explained_under_the_chart():
    markdown = ranking_chart(RANKING_CASES["missing-metrics"]())
    assert markdown.endswith("_The baseline main has no value for auc; it is not drawn._")


@pytest.mark.parametrize("case", sorted(NO_CHART_CASES))
def test_no_numeric_value_means_no_chart(case):
    assert ranking_chart(NO_CHART_CASES[case]()) is None


def test_no_metric_means_no_chart():
    plain = replace(RANKING_CASES["ties"](), metric=None)
    assert ranking_chart(plain) is None


# --- the training curve --------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(CURVE_CASES))
def test_every_curve_chart_is_well_formed(case):
    curves = CURVE_CASES[case]
    markdown = curve_chart("loss", "step", "loss", curves)
    (source,) = mermaid_blocks(markdown)
    chart = parse_xychart(source)
    assert len(chart["lines"]) == len(curves)
    lengths = {len(line) for line in chart["lines"]}
    assert len(lengths) == 1 and 2 <= lengths.pop() <= MAX_POINTS
    _, low, high = chart["y"]
    assert all(low <= v <= high for line in chart["lines"] for v in line)
    caption = markdown.split("```")[-1]
    for curve in curves:
        assert f"({curve.role})" in caption


@pytest.mark.parametrize(
    ("series", "xs", "lines", "held"),
    [
        # the same even steps, few enough: drawn as they are
        ([[(0, 1.0), (1, 0.5), (2, 0.25)], [(0, 0.8), (1, 0.4), (2, 0.2)]], [0, 1, 2], None, None),
        # a shorter series is held flat at its last value after its end
        (
            [[(0, 1.0), (1, 0.5)], [(0, 0.9), (1, 0.6), (2, 0.3), (3, 0.2)]],
            [0, 1, 2, 3],
            [[1.0, 0.5, 0.5, 0.5], [0.9, 0.6, 0.3, 0.2]],
            [(False, True), (False, False)],
        ),
        # NaN and infinite values are dropped; repeated x values are averaged
        (
            [[(0, 1.0), (1, math.nan), (1, 0.4), (1, 0.6), (2, math.inf), (2, 0.1)]],
            [0, 1, 2],
            [[1.0, 0.5, 0.1]],
            None,
        ),
    ],
)
def test_resample_cases(series, xs, lines, held):
    result = resample(series)
    assert list(result.xs) == xs
    if lines is not None:
        assert len(result.lines) == len(lines)
        for got, expected in zip(result.lines, lines, strict=True):
            assert list(got) == pytest.approx(expected)
    if held is not None:
        assert list(result.held) == held


def test_a_long_series_is_downsampled_to_bucket_means():
    points = [(i, float(i % 2)) for i in range(1000)]  # a fast zigzag between 0 and 1
    result = resample([points], max_points=50)
    assert len(result.xs) == 50 and result.points == 1000
    assert result.xs[0] == 0 and result.xs[-1] == 999
    assert all(0.3 <= v <= 0.7 for v in result.lines[0][1:-1])  # means, not aliased samples


def test_uneven_steps_are_placed_on_an_even_grid():
    result = resample([[(0, 0.0), (10, 1.0), (100, 10.0)]], max_points=11)
    assert list(result.xs) == [float(x) for x in range(0, 101, 10)]
    assert result.lines[0][1] == pytest.approx(1.0)
    assert result.lines[0][5] == pytest.approx(5.0)  # between 10 and 100, on the straight line


@pytest.mark.parametrize(
    "series", [[[(0, 1.0)]], [[(0, 1.0), (0, 2.0)]], [[]], [[(0, 1.0), (1, 2.0)], []]]
)
def test_fewer_than_two_x_values_or_an_empty_series_draw_no_curve(series):
    assert resample(series) is None
    assert curve_chart("loss", "step", "loss", [Curve("a", "winner", s) for s in series]) is None


def test_the_caption_names_the_lines_and_what_was_changed():
    markdown = curve_chart("loss", "step", "loss", CURVE_CASES["different-lengths"])
    caption = markdown.split("```")[-1].strip()
    assert caption == (
        "Lines: orange: main (baseline), blue: fast-lr (winner). 120 points drawn as 50; "
        "main has step 0–59 only and is held flat beyond."
    )
    hostile = curve_chart("loss", "step", "loss", CURVE_CASES["negative-values"])
    assert 'evil"\\]\\`%%' in hostile.split("```")[-1]  # markdown-escaped outside the diagram


# --- sparklines ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 2, 3, 4, 5, 6, 7, 8], BLOCKS),
        ([8, 1], "█▁"),
        ([0.5, None, 0.7], f"▁{GAP}█"),
        ([None, None], GAP * 2),
        ([0.3, 0.3, 0.3], "▄▄▄"),
        ([-1.0, 0.0, 1.0], "▁▅█"),
        ([0.61, 0.61, 0.65, None, 0.7], f"▁▁▄{GAP}█"),
        ([], ""),
        ([math.nan, 1.0], f"{GAP}▄"),
    ],
)
def test_sparkline_cases(values, expected):
    assert sparkline(values) == expected


def test_the_trend_note_says_what_the_sparkline_shows():
    note = trend_note(Trend((None, 0.61, 0.65, None, 0.7)), "main", "auc", 5)
    assert note == (
        f"auc over the last 5 commits up to main (oldest → newest): `{GAP}▁▄{GAP}█` "
        "0.61 → 0.7 (min 0.61, max 0.7); 2 without a value"
    )
    assert "_" not in trend_note(Trend((1.0,)), "fix_*", "a_b", 3).replace("\\_", "")


# --- the markdown table and the comment ----------------------------------------------------


def pictures_for(tbl, charts=True) -> Pictures:
    base = next(row for row in tbl.rows if row.experiment.is_baseline).experiment.rev
    blocks = (ranking_chart(tbl), curve_chart("loss", "step", "loss", CURVE_CASES["same-steps"]))
    return Pictures(blocks if charts else (), {base: Trend((0.5, None, 0.7))}, ("a note",))


def test_markdown_puts_the_sparkline_beside_the_baseline_value_and_charts_under_the_table():
    tbl = RANKING_CASES["ties"]()
    text = render_markdown(tbl, pictures_for(tbl))
    lines = text.splitlines()
    assert lines[2].startswith("| main ") and f"| 0.7 `▁{GAP}█` |" in lines[2]
    assert f"- auc over the last 3 commits up to main (oldest → newest): `▁{GAP}█`" in text
    assert "- a note" in text
    table_end = max(i for i, line in enumerate(lines) if line.startswith("|"))
    first_chart = lines.index("```mermaid")
    assert first_chart > table_end
    assert len(mermaid_blocks(text)) == 2
    assert render_markdown(tbl) == render_markdown(tbl, None)  # unchanged without pictures


PARTS = SectionParts("Experiments", "<sub>footer</sub>")


def test_the_comment_shows_charts_under_the_table_when_they_fit():
    tbl = RANKING_CASES["ties"]()
    fitted = table_section(tbl, PARTS, COMMENT_LIMIT, pictures=pictures_for(tbl))
    assert fitted.charts == 2 and fitted.dropped == 0
    text = fitted.text
    assert text.index("| main") < text.index("```mermaid") < text.index("<sub>footer")
    assert "▁" in text.split("| main")[1].splitlines()[0]


def test_charts_are_dropped_before_any_table_row():
    tbl = hundred()
    pictures = pictures_for(tbl)
    whole = table_section(tbl, PARTS, COMMENT_LIMIT, pictures=pictures)
    without = table_section(tbl, PARTS, COMMENT_LIMIT, pictures=pictures.without_charts())
    chart_sizes = [comment_length(chart) for chart in pictures.charts]
    # Room for every row and the first chart, not for the second one.
    budget = comment_length(without.text) + chart_sizes[0] + 80
    fitted = table_section(tbl, PARTS, budget, pictures=pictures)
    assert (fitted.shown, fitted.dropped, fitted.charts) == (100, 0, 1)
    assert "_1 chart not shown (comment size limit)._" in fitted.text
    # Room for every row only: no chart, every row.
    fitted = table_section(tbl, PARTS, comment_length(without.text) + 60, pictures=pictures)
    assert (fitted.shown, fitted.dropped, fitted.charts) == (100, 0, 0)
    assert "_2 charts not shown (comment size limit)._" in fitted.text
    # Less: rows go too, the winner stays, and the section still fits.
    small = comment_length(without.text) - 2_000
    fitted = table_section(tbl, PARTS, small, pictures=pictures)
    assert fitted.charts == 0 and 0 < fitted.shown < 100
    assert comment_length(fitted.text) <= small
    assert "★" in fitted.text
    assert whole.charts == 2


def test_the_job_summary_keeps_every_chart():
    from exp_ci.sticky.format import utf8_length

    tbl = hundred()
    fitted = table_section(
        tbl, PARTS, 1 << 20, measure=utf8_length, fold_rows=None, pictures=pictures_for(tbl)
    )
    assert fitted.charts == 2 and fitted.shown == 100
