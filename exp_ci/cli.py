"""The `exp-ci` command line: build the parsers, then dispatch in one flat block.

Only the command being run has its module imported and its arguments declared (the
others are listed by name and summary), so each start pays for one command, and
`exp-ci --help` and the hooks start without importing DVC, GitPython or PyGithub.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence

from exp_ci import __version__
from exp_ci.errors import run_guarded
from exp_ci.options import add_arguments, add_shared_arguments

COMMANDS = {
    "show": "comparison table of experiments (md, plain, json, csv)",
    "best": "the winning experiment(s) by a metric",
    "run": "run experiments: one, a grid, a random sample or a shard of it; push the results",
    "collect": "fetch every shard's pushed experiments from the Git remote into this clone",
    "persist": "keep experiments as Git branches or annotated tags, data pushed first",
    "apply": "bring an experiment's results into the workspace, optionally commit them",
    "gate": "fail the check when a metric regresses against the base commit",
    "comment": "one sticky pull-request comment with the table, mirrored to the job summary",
    "check-pushed": "block Git history whose DVC data is not in the DVC remote (the hook)",
    "quickstart": "the whole flow on a bundled example project, offline, in a new folder",
}

DESCRIPTION = """\
Run DVC experiments in CI, compare them where you review code, keep the winners.

Experiments are read straight from Git (refs/exps/...) and give the same values as
`dvc exp show`. Exit codes: 0 done, 1 a check said no, 2 the input or environment is
wrong (the message says how to fix it).
"""


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    add_shared_arguments(common)
    return common


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with the arguments of `command` (None: of none; building every
    command's took 0.1 s of each start)."""
    parser = argparse.ArgumentParser(
        prog="exp-ci",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"exp-ci {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = _common_options()
    for name, summary in COMMANDS.items():
        if name != command:
            subparsers.add_parser(name, help=summary)
            continue
        module = _command_module(name)
        sub = subparsers.add_parser(
            name,
            parents=[common],
            help=summary,
            description=(module.__doc__ or summary).strip(),
        )
        if hasattr(module, "OPTIONS"):
            add_arguments(module.OPTIONS, sub)
        else:
            module.add_arguments(sub)
    return parser


def _command_module(name: str):
    return importlib.import_module(f"exp_ci.commands.{name.replace('-', '_')}")


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """`exp-ci ARGV` in the environment `environ` (default: this process's).

    The command, DVC and Git see `environ` as their whole environment while it runs, as if
    exp-ci had been started with it; tests run commands in-process this way.
    """
    from exp_ci.output import guarded_streams

    with _environment(environ):
        with guarded_streams(os.environ):  # argparse's own errors quote the arguments
            args = build_parser(_chosen_command(argv)).parse_args(argv)
        module = _command_module(args.command)
        return run_guarded(lambda: module.run(_options(module, args)), verbose=args.verbose)


def _chosen_command(argv: Sequence[str] | None) -> str | None:
    """The command an argument list runs: its first argument (options come after it)."""
    arguments = sys.argv[1:] if argv is None else argv
    return arguments[0] if arguments and arguments[0] in COMMANDS else None


def _options(module, args: argparse.Namespace):
    if hasattr(module, "OPTIONS"):
        from exp_ci.options import from_args

        return from_args(module.OPTIONS, args)
    return module.options_from_args(args)


@contextlib.contextmanager
def _environment(environ: Mapping[str, str] | None) -> Iterator[None]:
    if environ is None:
        yield
        return
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
