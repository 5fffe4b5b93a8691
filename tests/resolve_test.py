"""Naming experiments: DVC name, full ref or SHA prefix; ambiguity is refused (pure)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from exp_ci.errors import UserError
from exp_ci.model import Baseline, Experiment
from exp_ci.resolve import find_experiment, find_experiments

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
FIRST = "1" * 40
SECOND = "2" * 40


def exp(name: str, rev: str, base: str) -> Experiment:
    return Experiment(rev, base, name, T0, ref=f"refs/exps/{base[:2]}/{base[2:]}/{name}")


LR_FIRST = exp("lr-high", "abcd0001" + "0" * 32, FIRST)
LR_SECOND = exp("lr-high", "abcd0002" + "0" * 32, SECOND)
ALPHA = exp("alpha", "f00d" + "0" * 36, SECOND)
BASELINES = [
    Baseline(Experiment(SECOND, SECOND, "main", T0), (LR_SECOND, ALPHA)),
    Baseline(Experiment(FIRST, FIRST, None, T0), (LR_FIRST,)),
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("alpha", ALPHA),
        (LR_SECOND.ref, LR_SECOND),
        (LR_FIRST.ref, LR_FIRST),
        ("f00d", ALPHA),
        ("F00D0", ALPHA),
        ("abcd0001", LR_FIRST),
        (LR_SECOND.rev, LR_SECOND),
    ],
)
def test_found_by_name_full_ref_or_sha_prefix(query, expected):
    assert find_experiment(BASELINES, query) == expected


def test_a_name_two_baselines_share_is_ambiguous_and_lists_the_full_refs():
    with pytest.raises(UserError) as error:
        find_experiment(BASELINES, "lr-high")
    message = error.value.message
    assert "ambiguous" in message
    assert LR_FIRST.ref in message and LR_SECOND.ref in message


def test_a_prefix_of_two_commits_is_ambiguous_and_lists_them():
    with pytest.raises(UserError, match="start of 2 experiment commits") as error:
        find_experiment(BASELINES, "abcd")
    assert LR_FIRST.rev in error.value.message and LR_SECOND.rev in error.value.message


def test_a_prefix_shorter_than_four_is_not_a_sha():
    with pytest.raises(UserError, match="4 or more hex digits"):
        find_experiment(BASELINES, "f00")


def test_unknown_names_the_known_experiments_and_how_to_fetch():
    with pytest.raises(UserError) as error:
        find_experiment(BASELINES, "beta")
    message = error.value.message
    assert "no experiment 'beta'" in message
    assert "Known: alpha, lr-high" in message
    assert "git fetch origin 'refs/exps/*:refs/exps/*'" in message


def test_baselines_are_not_experiments():
    with pytest.raises(UserError, match="no experiment 'main'"):
        find_experiment(BASELINES, "main")


def test_several_names_give_each_experiment_once_in_order():
    found = find_experiments(BASELINES, ["alpha", LR_FIRST.ref, "f00d"])
    assert found == [ALPHA, LR_FIRST]
