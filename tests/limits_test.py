"""The bounds on work that repository content can ask for: each says what and why."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from exp_ci.limits import (
    MAX_FILE_BYTES,
    MAX_GRID_POINTS,
    alias_problem,
    axis_problem,
    expanded_values,
    grid_problem,
    size_problem,
)


def test_a_file_up_to_the_cap_is_read_and_above_it_says_its_size():
    assert size_problem(MAX_FILE_BYTES) is None
    assert size_problem(200_000_000) == (
        "it is 200.0 MB, more than the 10 MB exp-ci parses of one file"
    )


def test_shared_parts_count_once_per_use_without_being_walked_again():
    leaf = ["x"] * 10
    level = [leaf] * 10
    document = {"top": [level] * 10}
    # 1 dict + key + list + 10 * (list + 10 * (list + 10 strings))
    assert expanded_values(document) == 1 + 1 + 1 + 10 * (1 + 10 * (1 + 10))
    assert expanded_values([level] * 10**6, limit=1000) > 1000  # stops early


def test_a_recursive_document_counts_as_over_the_limit():
    loop: list = []
    loop.append(loop)
    assert expanded_values(loop, limit=50) > 50


def test_only_documents_with_an_alias_are_counted():
    shared = [[1] * 1000] * 1000
    assert alias_problem(shared, "no alias in this text", limit=10) is None
    assert "YAML aliases expand to more than 10 values" in alias_problem(shared, "*a", limit=10)


@given(st.recursive(st.integers() | st.text(max_size=3), lambda c: st.lists(c, max_size=4)))
def test_without_sharing_the_count_is_the_number_of_values(value):
    def plain(node) -> int:
        return 1 + sum(map(plain, node)) if isinstance(node, list) else 1

    assert expanded_values(value, limit=10**9) == plain(value)


def test_grids_above_the_limit_need_random_and_samples_are_bounded_too():
    assert grid_problem(MAX_GRID_POINTS, None) is None
    assert "--random N" in grid_problem(MAX_GRID_POINTS + 1, None)
    assert grid_problem(10**12, 5) is None
    assert grid_problem(4, 10**6) is None  # a sample larger than the grid is the grid
    assert "--random 20,000 asks for more than 10,000" in grid_problem(10**12, 20_000)


def test_one_param_may_take_up_to_a_million_values():
    assert axis_problem("-S 'lr=range(0,9)'", 10) is None
    assert "more than 1,000,000 values" in axis_problem("-S x", 1_000_001)
