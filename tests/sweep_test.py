"""Sweep plans as pure functions: -S parsing, grids, products, random samples, shards, names."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime, timezone

import pytest

from exp_ci.errors import UserError
from exp_ci.refnames import experiment_name_error
from exp_ci.sweep import (
    Axis,
    Point,
    Setting,
    Shard,
    _simple_override,
    build_plan,
    check_prefix,
    default_prefix,
    experiment_name,
    grid_axes,
    missing_params,
    override_value,
    parse_set,
    parse_shard,
    sample_indices,
    shard_points,
)

# --- -S in DVC's syntax ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "file", "name", "values"),
    [
        ("lr=0.1", "params.yaml", "lr", ("0.1",)),
        ("lr=0.1,0.2,0.3", "params.yaml", "lr", ("0.1", "0.2", "0.3")),
        ("train.lr=1e-3,0.01", "params.yaml", "train.lr", ("0.001", "0.01")),
        ("epochs=1,2,10", "params.yaml", "epochs", ("1", "2", "10")),
        ("opt=adam,sgd", "params.yaml", "opt", ("adam", "sgd")),
        ("other.json:alpha=0.5,0.9", "other.json", "other.json:alpha", ("0.5", "0.9")),
        ("conf/p.yaml:a.b=1", "conf/p.yaml", "conf/p.yaml:a.b", ("1",)),
        ("x=range(1,4)", "params.yaml", "x", ("1", "2", "3")),
        ("x=range(0,1,0.25)", "params.yaml", "x", ("0.0", "0.25", "0.5", "0.75")),
        ("x=choice(1,[2,3])", "params.yaml", "x", ("1", "[2,3]")),
        ("x=sort(3,1,2)", "params.yaml", "x", ("1", "2", "3")),
        ("layers=[1,2],[3,4]", "params.yaml", "layers", ("[1,2]", "[3,4]")),
        ("flag=true,false", "params.yaml", "flag", ("True", "False")),
        ("name='a,b',c", "params.yaml", "name", ("'a,b'", "c")),
        ("+new.key=1,2", "params.yaml", "+new.key", ("1", "2")),
    ],
)
def test_a_set_param_becomes_an_axis_with_dvcs_values(text, file, name, values):
    axis = parse_set(text)
    assert (axis.file, axis.name, axis.values) == (file, name, values)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lr", "has no '='"),
        ("=1", "names no param"),
        (":lr=1", "names no params file"),
        ("lr=", "no value after '='"),
        ("lr=1,,2", "is not a valid param override"),
        ("lr=[1,2", "is not a valid param override"),
        ("a b=1", "is not a valid param override"),
        ("lr=0.1,0.1", "lists '0.1' more than once"),
        ("lr=1e-3,0.001", "lists '0.001' more than once"),
        ("~lr=1", "deletes a param"),
        ("x=interval(0,1)", "interval() is a continuous range"),
        ("x=shuffle(1,2,3)", "shuffle() gives a different order"),
        ("x=glob(*)", "glob() is not supported"),
        ("x=range(3,1)", "gives no values"),
    ],
)
def test_an_invalid_set_param_is_refused_naming_it(text, message):
    with pytest.raises(UserError) as error:
        parse_set(text)
    assert message in error.value.message
    assert f"'{text}'" in error.value.message


@pytest.mark.parametrize(
    "text",
    ["lr=0.1", "lr=1,2,10", "x=-0.5,-2,0", "a.b.c=1e-3,2.5E+2,7e5", "opt=adam,sgd_2,Adam", "k=0"],
)
def test_the_fast_path_agrees_with_hydra(text):
    from exp_ci.sweep import _parser

    key, values = _simple_override(text)
    override = _parser().parse_override(text)
    expected = (
        list(override.sweep_string_iterator())
        if override.is_sweep_override()
        else [override.get_value_element_as_str()]
    )
    assert (key, list(values)) == (override.get_key_element(), expected)


@pytest.mark.parametrize(
    "text", ["flag=true", "x=null", "x=inf", "x=01", "x='q'", "x=[1]", "x=range(2)", "+k=1"]
)
def test_the_fast_path_leaves_anything_special_to_hydra(text):
    assert _simple_override(text) is None


# --- grid files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (0.1, "0.1"),
        (1e-05, "1e-05"),
        (3, "3"),
        (True, "true"),
        (None, "null"),
        ("adam", "adam"),
        ("true", "'true'"),
        ("1.5", "'1.5'"),
        ("a b", "'a b'"),
        ("it's", "'it\\'s'"),
        ([1, "x"], "[1,x]"),
        ({"a": 1, "b": [2]}, "{a:1,b:[2]}"),
    ],
)
def test_grid_values_are_written_so_dvc_reads_them_back_the_same(value, written):
    assert override_value(value) == written


def test_a_grid_file_gives_one_axis_per_param_in_file_order():
    axes = grid_axes(
        {"train.lr": [0.1, 0.01], "other.json:alpha": [0.5], "opt": "adam", "flag": [True]},
        "grid.yaml",
    )
    assert [(a.file, a.name, a.values) for a in axes] == [
        ("params.yaml", "train.lr", ("0.1", "0.01")),
        ("other.json", "other.json:alpha", ("0.5",)),
        ("params.yaml", "opt", ("adam",)),
        ("params.yaml", "flag", ("True",)),
    ]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([1, 2], "must be a mapping"),
        ({}, "must be a mapping"),
        ({"lr": []}, "empty list of values"),
        ({"lr": [1, 1]}, "more than once"),
        ({"bad key": [1]}, "not a valid param override"),
    ],
)
def test_a_bad_grid_file_is_refused_naming_the_item(document, message):
    with pytest.raises(UserError) as error:
        grid_axes(document, "grid.yaml")
    assert message in error.value.message
    assert "grid.yaml" in error.value.message


# --- the plan: product and sample ---------------------------------------------------------


def test_the_plan_is_the_product_with_the_last_param_varying_fastest():
    plan = build_plan([parse_set("a=1,2"), parse_set("b=x,y,z")])
    assert [p.overrides for p in plan.points] == [
        ("a=1", "b=x"),
        ("a=1", "b=y"),
        ("a=1", "b=z"),
        ("a=2", "b=x"),
        ("a=2", "b=y"),
        ("a=2", "b=z"),
    ]
    assert [p.index for p in plan.points] == [1, 2, 3, 4, 5, 6]
    assert plan.grid_size == 6


def test_no_params_plan_one_experiment_with_the_committed_params():
    plan = build_plan([])
    assert plan.points == (Point(1, ()),)
    assert plan.points[0].describe() == "(the params as committed)"


def test_a_param_given_twice_is_refused():
    with pytest.raises(UserError, match="given twice"):
        build_plan([parse_set("lr=1"), parse_set("params.yaml:lr=2")])


def test_a_random_sample_is_reproducible_distinct_and_in_plan_order():
    axes = [parse_set("a=range(0,10)"), parse_set("b=range(0,10)")]
    first = build_plan(axes, sample=7, seed=42)
    again = build_plan(axes, sample=7, seed=42)
    other = build_plan(axes, sample=7, seed=43)
    assert first == again
    assert first.points != other.points
    combos = [p.overrides for p in first.points]
    assert len(set(combos)) == 7
    grid = [p.overrides for p in build_plan(axes).points]
    assert combos == sorted(combos, key=grid.index)
    assert [p.index for p in first.points] == list(range(1, 8))
    assert (first.sample, first.seed, first.grid_size) == (7, 42, 100)


def test_the_sample_does_not_depend_on_the_machine():
    # SHA-256 of the seed, not Python's `random` or hash seeds: these never change.
    assert sample_indices(1000, 5, 0) == sample_indices(1000, 5, 0)
    assert sample_indices(1000, 5, 0) == [330, 358, 411, 873, 877]
    assert sample_indices(10, 3, 7) == [1, 7, 9]


def test_a_sample_larger_than_the_grid_is_the_whole_grid():
    plan = build_plan([parse_set("a=1,2,3")], sample=10, seed=1)
    assert [p.overrides for p in plan.points] == [("a=1",), ("a=2",), ("a=3",)]


def test_every_point_is_about_equally_likely():
    counts = Counter(i for seed in range(3000) for i in sample_indices(10, 3, seed))
    assert sum(counts.values()) == 9000
    assert all(800 <= counts[i] <= 1000 for i in range(10)), counts


def test_a_huge_grid_is_sampled_without_being_listed():
    axes = [parse_set(f"p{i}=range(0,10)") for i in range(20)]  # 10**20 points
    plan = build_plan(axes, sample=5, seed=3)
    assert plan.grid_size == 10**20
    assert len({p.overrides for p in plan.points}) == 5


# --- shards -------------------------------------------------------------------------------


@pytest.mark.parametrize("count", range(1, 8))
def test_shards_are_disjoint_complete_balanced_and_stable(count):
    for size in range(1, 51):
        points = [Point(i, (Setting("x", str(i)),)) for i in range(1, size + 1)]
        slices = [shard_points(points, Shard(index, count)) for index in range(1, count + 1)]
        taken = [point for part in slices for point in part]
        assert sorted(p.index for p in taken) == list(range(1, size + 1)), (count, size)
        sizes = [len(part) for part in slices]
        assert max(sizes) - min(sizes) <= 1, (count, size, sizes)
        again = [shard_points(list(points), Shard(index, count)) for index in range(1, count + 1)]
        assert again == slices


def test_no_shard_is_the_whole_plan():
    points = [Point(i) for i in range(1, 4)]
    assert shard_points(points, None) == tuple(points)


@pytest.mark.parametrize(
    ("text", "shard"), [("1/1", Shard(1, 1)), ("2/3", Shard(2, 3)), (" 4 / 4 ", Shard(4, 4))]
)
def test_a_shard_is_i_of_n(text, shard):
    assert parse_shard(text) == shard
    assert str(shard) == f"{shard.index}/{shard.count}"


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/0", "2", "a/b", "-1/3", "1/3/5", ""])
def test_a_bad_shard_is_refused(text):
    with pytest.raises(UserError, match="--shard"):
        parse_shard(text)


# --- names --------------------------------------------------------------------------------

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("run_id", "attempt", "shard", "prefix"),
    [
        ("8123456789", "1", None, "gh8123456789-1"),
        ("8123456789", "2", Shard(3, 4), "gh8123456789-2-s3of4"),
        ("77", None, Shard(1, 1), "gh77-1"),
        (None, None, None, "run-20260102-030405"),
        (None, None, Shard(2, 2), "run-20260102-030405-s2of2"),
        ("x;rm -rf", "$(id)", None, "run-20260102-030405"),
    ],
)
def test_the_default_prefix_comes_from_the_github_run_and_the_shard(run_id, attempt, shard, prefix):
    assert default_prefix(run_id, attempt, shard, NOW) == prefix


def test_names_are_unique_across_shards_and_runs_and_valid():
    plan = build_plan([parse_set("a=range(0,12)")])
    names = [
        experiment_name(default_prefix(run, "1", Shard(i, 3), NOW), point, len(plan.points))
        for run in ("100", "101")
        for i in range(1, 4)
        for point in shard_points(plan.points, Shard(i, 3))
    ]
    assert len(names) == len(set(names)) == 24
    assert all(experiment_name_error(name) is None for name in names)
    assert names[:2] == ["gh100-1-s1of3-01", "gh100-1-s1of3-04"]


def test_a_bad_prefix_is_refused():
    check_prefix("nightly")
    with pytest.raises(UserError, match="--name-prefix 'bad name'"):
        check_prefix("bad name")


# --- params the commit must have ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "documents", "problem"),
    [
        ("train.lr=1", {"params.yaml": {"train": {"lr": 0.1}}}, None),
        ("layers.1=5", {"params.yaml": {"layers": [1, 2]}}, None),
        ("+train.new=1", {"params.yaml": {"train": {}}}, None),
        ("+k=1", {"params.yaml": None}, None),
        ("train.lrr=1", {"params.yaml": {"train": {"lr": 0.1}}}, "has no param 'train.lrr'"),
        ("lr=1", {"params.yaml": None}, "params.yaml is not in the commit"),
        ("o.json:a=1", {"o.json": "o.json does not parse: x"}, "o.json does not parse"),
    ],
)
def test_params_are_checked_against_the_committed_files(text, documents, problem):
    problems = missing_params([parse_set(text)], documents)
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1
        assert problem in problems[0]


def test_an_unknown_param_lists_the_known_ones():
    [problem] = missing_params([parse_set("lrr=1")], {"params.yaml": {"lr": 1, "opt": {"b": 2}}})
    assert "(it has: lr, opt.b)" in problem
    assert "+lrr=..." in problem


def test_axis_names_keep_the_file_only_when_given():
    assert Axis("params.yaml", "lr", ("1",)).name == "lr"
    assert Axis("o.json", "a", ("1",), explicit_file=True).name == "o.json:a"
    assert Axis("params.yaml", "+a", ("1",)).param == "a"
    assert list(itertools.chain(Point(1, (Setting("lr", "1"),)).overrides)) == ["lr=1"]


def test_a_grid_above_the_limit_is_refused_unless_sampled():
    from exp_ci.limits import MAX_GRID_POINTS

    axes = [Axis("params.yaml", f"p{i}", tuple(map(str, range(10)))) for i in range(12)]
    with pytest.raises(UserError, match=r"the grid has 1,000,000,000,000 points.*--random N"):
        build_plan(axes)
    plan = build_plan(axes, sample=3, seed=1)
    assert plan.grid_size == 10**12 and [p.index for p in plan.points] == [1, 2, 3]
    assert len(build_plan(axes[:4]).points) == MAX_GRID_POINTS


def test_a_range_too_long_to_list_is_refused_without_being_listed():
    with pytest.raises(UserError, match="takes more than 1,000,000 values"):
        parse_set("lr=range(0,1000000000000)")
