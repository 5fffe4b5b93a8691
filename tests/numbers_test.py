from __future__ import annotations

import math

import pytest

from exp_ci.numbers import finite_number


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1.0),
        (0.25, 0.25),
        (-3, -3.0),
        (0, 0.0),
        (True, None),  # YAML true is not the number 1
        (False, None),
        (math.nan, None),
        (math.inf, None),
        (-math.inf, None),
        ("0.5", None),  # text is not a number unless the format stores numbers as text
        (None, None),
        ([1], None),
        ({"a": 1}, None),
    ],
)
def test_a_metric_value_is_a_finite_int_or_float(value, expected):
    assert finite_number(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" 0.5 ", 0.5),
        ("1e3", 1000.0),
        ("nan", None),
        ("inf", None),
        ("-Infinity", None),
        ("abc", None),
        ("", None),
        (2, 2.0),
        (True, None),
    ],
)
def test_text_counts_as_a_number_only_when_asked(text, expected):
    assert finite_number(text, text=True) == expected
