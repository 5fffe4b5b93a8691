"""Counted nouns: every message says "1 output" and "2 outputs" the same way."""

import pytest

from exp_ci.render.words import count


@pytest.mark.parametrize(
    ("number", "said"), [(0, "0 outputs"), (1, "1 output"), (2, "2 outputs"), (10, "10 outputs")]
)
def test_the_noun_takes_an_s_unless_there_is_exactly_one(number, said):
    assert count(number, "output") == said
