"""exp_ci.options: a command's option is declared once, as a field, and parsed into it."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from exp_ci import cli
from exp_ci.options import add_arguments, from_args, option, part


@dataclasses.dataclass(frozen=True)
class Pair:
    left: str
    right: str


def _add_pair(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--left", default="l")
    parser.add_argument("--right", default="r")


@dataclasses.dataclass(frozen=True)
class Example:
    pair: Pair = part(_add_pair, lambda args: Pair(args.left, args.right))
    name: str = option("name", help="a positional argument, named as its field")
    count: int = option("-n", "--count", type=int, default=3, help="a typed option")
    tags: tuple[str, ...] = option("--tag", action="append", default=(), help="repeatable")
    force: bool = option("--force", action="store_true", help="a switch")
    summary: bool = option("--no-summary", action="store_false", default=True, help="off")
    low: float | None = option("--low", type=float, exclusive="limit", help="one of two")
    high: float | None = option("--high", type=float, exclusive="limit", help="or the other")
    quiet: bool = False  # a shared option (-q), filled when the parser has it
    environ: dict[str, str] = dataclasses.field(default_factory=dict)  # not an option


def _parse(argv: list[str]) -> Example:
    parser = argparse.ArgumentParser()
    parser.add_argument("-q", "--quiet", action="store_true")
    add_arguments(Example, parser)
    return from_args(Example, parser.parse_args(argv))


def test_the_field_defaults_are_the_parser_defaults():
    assert _parse(["x"]) == Example(pair=Pair("l", "r"), name="x")


def test_every_kind_of_option_fills_its_field():
    parsed = _parse(["x", "-n", "7", "--tag", "a", "--tag", "b", "--force", "--no-summary"])
    assert (parsed.count, parsed.tags, parsed.force, parsed.summary) == (7, ("a", "b"), True, False)


def test_a_repeatable_option_arrives_as_a_tuple_so_the_options_stay_hashable():
    parsed = _parse(["x", "--tag", "a"])
    assert parsed.tags == ("a",)
    assert hash(parsed.tags)


def test_a_part_builds_its_field_from_its_own_arguments():
    assert _parse(["x", "--left", "L"]).pair == Pair("L", "r")


def test_a_shared_option_fills_the_field_of_its_name():
    assert _parse(["-q", "x"]).quiet is True


def test_a_field_that_is_no_option_keeps_its_default():
    assert _parse(["x"]).environ == {}


def test_exclusive_options_may_not_be_given_together(capsys):
    with pytest.raises(SystemExit) as stopped:
        _parse(["x", "--low", "1", "--high", "2"])
    assert stopped.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_switch_without_a_default_is_off():
    @dataclasses.dataclass(frozen=True)
    class Switch:
        on: bool = option("--on", action="store_true")

    assert Switch().on is False


def test_a_positional_argument_must_be_named_as_its_field():
    @dataclasses.dataclass(frozen=True)
    class Misnamed:
        target: str = option("TARGET")

    with pytest.raises(TypeError, match="target"):
        add_arguments(Misnamed, argparse.ArgumentParser())


REQUIRED = {"collect": ("remote", "origin"), "apply": ("experiment", "exp")}


@pytest.mark.parametrize("command", [name for name in cli.COMMANDS if name != "check-pushed"])
def test_every_command_parses_its_bare_command_line_into_its_defaults(command):
    """The parser's defaults and the dataclass's are one: nothing given, nothing changed."""
    module = cli._command_module(command)
    positional, value = REQUIRED.get(command, (None, None))
    argv = [command] if value is None else [command, value]
    options = cli._options(module, cli.build_parser(argv[0]).parse_args(argv))
    for field in dataclasses.fields(options):
        if field.name == "repo":
            assert options.repo == Path()
        elif field.name == positional:
            assert getattr(options, field.name) == value
        elif field.default is not dataclasses.MISSING:
            assert getattr(options, field.name) == field.default, field.name
