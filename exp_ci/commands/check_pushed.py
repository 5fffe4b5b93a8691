"""`exp-ci check-pushed`: block Git history whose DVC data is not in the DVC remote.

The pre-commit hook `exp-ci-check-pushed` as a subcommand: the same options and checks.
Outside pre-commit it checks the commits of HEAD (or --to-ref) that no remote branch has
yet; `--stage pre-commit` checks the staged DVC files instead.
"""

from __future__ import annotations

import argparse
import os

from exp_ci.hooks import check_pushed as hook


def add_arguments(parser: argparse.ArgumentParser) -> None:
    hook.add_arguments(parser)


def options_from_args(args: argparse.Namespace) -> hook.CheckOptions:
    return hook.options_from_args(args, os.environ)


def run(options: hook.CheckOptions) -> int:
    return hook.check_pushed(options)
