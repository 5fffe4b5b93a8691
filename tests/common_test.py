"""Shared command-line pieces: the argparse types refuse what would silently misbehave."""

from __future__ import annotations

import argparse

import pytest

from exp_ci.cli import main
from exp_ci.commands.common import allowance


@pytest.mark.parametrize("text", ["0", "0.05", "1e-3", "3", " 2 "])
def test_finite_allowances_of_zero_or_more_are_taken(text):
    assert allowance(text) == float(text)


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999", "x", "-1e-3"])
def test_nan_inf_negatives_and_words_are_refused(text):
    with pytest.raises(argparse.ArgumentTypeError):
        allowance(text)


@pytest.mark.parametrize("command", ["gate", "comment"])
@pytest.mark.parametrize("flag", ["--max-drop", "--max-drop-pct"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_non_finite_allowance_is_exit_2(command, flag, value, capsys):
    with pytest.raises(SystemExit) as stopped:
        main([command, f"{flag}={value}"])
    assert stopped.value.code == 2
    assert f"argument {flag}:" in capsys.readouterr().err
