"""The command line itself: help that teaches, a version, and a fast start."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timezone

import pytest

from exp_ci import __version__
from exp_ci.cli import main
from exp_ci.render.formats import format_created, format_delta, format_value


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"exp-ci {__version__}"


@pytest.mark.parametrize("command", ["show", "best"])
def test_every_option_of_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    for option in ("-C PATH", "--metric NAME", "--direction", "-A", "--rev REV", "-q"):
        assert option in text
    assert "%(default)" not in text


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "usage: exp-ci" in capsys.readouterr().err


@pytest.mark.slow  # starts processes
def test_help_starts_without_importing_git_dvc_github_or_other_commands():
    code = (
        "import sys, contextlib, io\n"
        "from exp_ci.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['show', '--help'])\n"
        "heavy = ('git', 'dvc', 'github', 'tabulate', 'yaml', 'ruamel')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print(','.join(heavy))\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith('exp_ci.commands.'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    heavy, commands = result.stdout.split("\n")[:2]
    assert heavy == ""
    assert commands == "exp_ci.commands.common,exp_ci.commands.show"  # the others: not built


@pytest.mark.parametrize(
    ("value", "precision", "expected"),
    [
        (0.123456789, 5, "0.12346"),
        (1234567.0, 3, "1.23e+06"),
        (3, 2, "3"),
        (True, 2, "True"),
        ([1, 2], 2, "[1, 2]"),
        ("sgd", 1, "sgd"),
    ],
)
def test_values_are_shown_with_significant_digits(value, precision, expected):
    assert format_value(value, precision) == expected


@pytest.mark.parametrize(
    ("delta", "expected"), [(0.2, "+0.2"), (-0.05, "-0.05"), (0.0, "0"), (None, "-")]
)
def test_deltas_carry_their_sign(delta, expected):
    assert format_delta(delta, 5) == expected


def test_created_is_a_time_today_and_a_date_before():
    moment = datetime(2026, 3, 4, 15, 30, tzinfo=timezone.utc)
    local = moment.astimezone()
    assert format_created(moment, today=local.date()) == local.strftime("%I:%M %p")
    assert format_created(moment, today=date(2027, 1, 1)) == local.strftime("%b %d, %Y")
