"""Declare a command's options once: each field of its frozen options dataclass is also the
command-line argument that fills it, so the parser and the typed options cannot drift apart.

    @dataclass(frozen=True)
    class BestOptions:
        selection: Selection = part(add_selection_arguments, selection_from_args)
        top: int = option("--top", type=positive_int, default=1, metavar="K", help="...")
        quiet: bool = False  # -q, one of the options every command shares

`add_arguments(BestOptions, parser)` declares the arguments in field order (the order of
`--help`), and `from_args(BestOptions, args)` builds the options from what argparse parsed.
A field with neither is filled from the shared options (-C, -v, -q, declared by
`add_shared_arguments` for every command and the hook) when its name is one of theirs, and
otherwise keeps its default (`environ`, for example).

`dataclasses` is imported only where a field is declared or read: the pre-push hook takes
the shared options from here and starts without it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

if TYPE_CHECKING:
    import dataclasses

T = TypeVar("T")

SHARED = ("repo", "verbose", "quiet")  # -C/--repo, -v/--verbose, -q/--quiet

_KEY = "exp_ci.option"


def add_shared_arguments(
    parser: argparse.ArgumentParser,
    *,
    repo_help: str = "the DVC project (a Git repository) to work in (default: the current folder)",
    verbose_help: str = "say more; show tracebacks of internal errors",
    quiet_help: str = "print only the result",
) -> None:
    """-C/--repo PATH, and -v/--verbose or -q/--quiet: what every command and the hook take
    (each may word its help for what it does)."""
    parser.add_argument("-C", "--repo", type=Path, default=".", metavar="PATH", help=repo_help)
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="store_true", help=verbose_help)
    loudness.add_argument("-q", "--quiet", action="store_true", help=quiet_help)


class _Argument(NamedTuple):
    flags: tuple[str, ...]
    settings: dict[str, Any]
    exclusive: str | None


class _Part(NamedTuple):
    add: Callable[[argparse.ArgumentParser], None]
    build: Callable[[argparse.Namespace], Any]


def option(*flags: str, default: Any = None, exclusive: str | None = None, **settings: Any) -> Any:
    """A field filled by the argument `flags` (with argparse's `settings`). `default` is the
    field's and the parser's; a list argparse collects (`append`, `nargs="*"`) arrives as a
    tuple; a switch (`store_true`) defaults to False. Options sharing an `exclusive` name
    may not be given together."""
    import dataclasses

    if default is None and settings.get("action") == "store_true":
        default = False
    argument = _Argument(flags, settings, exclusive)
    return dataclasses.field(default=default, metadata={_KEY: argument})


def part(
    add: Callable[[argparse.ArgumentParser], None],
    build: Callable[[argparse.Namespace], T],
    default_factory: Callable[[], T] | None = None,
) -> Any:
    """A field built from a set of arguments several commands share (the selection, the
    table): `add` declares them, `build` makes the field's value from the parsed ones."""
    import dataclasses

    metadata = {_KEY: _Part(add, build)}
    if default_factory is None:
        return dataclasses.field(metadata=metadata)
    return dataclasses.field(default_factory=default_factory, metadata=metadata)


def add_arguments(options_class: type, parser: argparse.ArgumentParser) -> None:
    """Declare the arguments of `options_class`'s fields on `parser`, in field order."""
    import dataclasses

    groups: dict[str, Any] = {}
    for field in dataclasses.fields(options_class):
        declared = field.metadata.get(_KEY)
        if isinstance(declared, _Part):
            declared.add(parser)
        elif isinstance(declared, _Argument):
            target: Any = parser
            if declared.exclusive is not None:
                if declared.exclusive not in groups:
                    groups[declared.exclusive] = parser.add_mutually_exclusive_group()
                target = groups[declared.exclusive]
            target.add_argument(*declared.flags, **_settings(field, declared))


def from_args(options_class: type[T], args: argparse.Namespace) -> T:
    """The options `options_class` holds, from what `add_arguments`' parser parsed."""
    import dataclasses

    values: dict[str, Any] = {}
    for field in dataclasses.fields(options_class):  # type: ignore[arg-type]
        declared = field.metadata.get(_KEY)
        if isinstance(declared, _Part):
            values[field.name] = declared.build(args)
        elif isinstance(declared, _Argument):
            value = getattr(args, field.name)
            values[field.name] = tuple(value) if isinstance(value, list) else value
        elif field.name in SHARED and hasattr(args, field.name):
            values[field.name] = getattr(args, field.name)
    return options_class(**values)


def _settings(field: dataclasses.Field[Any], declared: _Argument) -> dict[str, Any]:
    settings = dict(declared.settings)
    positional = not declared.flags[0].startswith("-")
    if positional:
        if declared.flags != (field.name,):
            raise TypeError(f"the positional argument of field {field.name!r} must be named so")
    else:
        settings["dest"] = field.name
    collects = settings.get("action") == "append" or settings.get("nargs") in ("*", "+")
    default: Any = field.default
    settings["default"] = list(default) if collects and default is not None else default
    return settings
