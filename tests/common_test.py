"""Shared command-line pieces: the argparse types refuse what would silently misbehave."""

from __future__ import annotations

import argparse

import pytest

from exp_ci.cli import main
from exp_ci.commands.common import finite_float


@pytest.mark.parametrize("text", ["0", "0.05", "-1e-3", "3"])
def test_finite_numbers_are_taken(text):
    assert finite_float(text) == float(text)


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999", "x"])
def test_nan_inf_and_words_are_refused(text):
    with pytest.raises(argparse.ArgumentTypeError):
        finite_float(text)


@pytest.mark.parametrize("flag", ["--max-drop", "--max-drop-pct"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_gate_refuses_a_non_finite_allowance_with_exit_2(flag, value, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["gate", f"{flag}={value}"])
    assert stopped.value.code == 2
    assert f"argument {flag}:" in capsys.readouterr().err
