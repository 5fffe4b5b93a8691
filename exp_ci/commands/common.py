"""What several commands share: reading the project, its settings, and table options."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from exp_ci.config import Settings, load_settings
from exp_ci.errors import UserError
from exp_ci.model import Baseline, Direction, Experiment, MetricSpec


@dataclass(frozen=True)
class Selection:
    """Which baselines to read: HEAD by default, `--rev` ones, or all (`-A`)."""

    repo: Path
    revs: tuple[str, ...] = ()
    all_baselines: bool = False


def positive_int(text: str) -> int:
    """argparse type for counts: a clear message (and exit 2) for 0, negatives and words."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def finite_float(text: str) -> float:
    """argparse type for allowances: `nan` would compare false with everything and `inf`
    would let every regression pass, so only finite numbers are taken (exit 2 otherwise)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got '{text}'")
    return value


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-A",
        "--all-baselines",
        action="store_true",
        help="every baseline commit that has experiments, also ones no branch reaches any more",
    )
    parser.add_argument(
        "--rev",
        action="append",
        default=[],
        metavar="REV",
        help="show the experiments of this commit, branch or tag (repeatable; default: HEAD)",
    )


def add_metric_arguments(parser: argparse.ArgumentParser, *, required_hint: str = "") -> None:
    parser.add_argument(
        "--metric",
        metavar="NAME",
        help="metric to rank by: its short name when unique, or FILE:KEY"
        + (f" {required_hint}" if required_hint else ""),
    )
    parser.add_argument(
        "--direction",
        choices=[d.value for d in Direction],
        help="whether a larger (max, the default) or smaller (min) metric is better",
    )


def selection_from_args(args: argparse.Namespace) -> Selection:
    return Selection(Path(args.repo), tuple(args.rev), args.all_baselines)


@dataclass(frozen=True)
class Project:
    settings: Settings
    baselines: list[Baseline]
    root: Path


def read_project(selection: Selection) -> Project:
    """Open the project, load its settings, and read the selected baselines."""
    from exp_ci.read.experiments import open_project, read_baselines

    if selection.all_baselines and selection.revs:
        raise UserError("-A and --rev both choose baselines; use one of them.")
    git = open_project(selection.repo)
    try:
        settings = load_settings(git.root)
        baselines = read_baselines(git, selection.revs, selection.all_baselines)
    finally:
        git.close()
    if not selection.all_baselines:
        for baseline in baselines:
            if baseline.commit.error:
                raise UserError(
                    f"cannot read the DVC project at {baseline.commit.label}: "
                    f"{baseline.commit.error}. Fix the file and commit it."
                )
    if not any(b.experiments for b in baselines):
        described = ", ".join(b.commit.label for b in baselines) or "any commit"
        raise UserError(
            f"no experiments found for {described} in {git.root}. Run some with "
            "`dvc exp run` (or `exp-ci run`), fetch them with "
            "`git fetch origin 'refs/exps/*:refs/exps/*'`, or use -A to look at every baseline."
        )
    return Project(settings, baselines, git.root)


def metric_from(
    name: str | None, direction: str | None, settings: Settings, rows: Iterable[Experiment]
) -> MetricSpec | None:
    """The metric named by the flag or the settings, resolved against the rows shown."""
    from exp_ci.select import metric_spec

    chosen = name or settings.metric
    if chosen is None:
        return None
    resolved_direction = Direction(direction) if direction else settings.direction or Direction.MAX
    return metric_spec(chosen, resolved_direction, rows)


def all_rows(baselines: Sequence[Baseline]) -> list[Experiment]:
    return [row for baseline in baselines for row in baseline.rows()]


def write_output(
    text: str, output: str | None, *, quiet: bool = False, format: str | None = None
) -> None:
    """The result to stdout (made inert in GitHub Actions, see `exp_ci.output`) or a file.

    `format` "json" keeps JSON valid and equal when escaped; None tells JSON by parsing.
    """
    if output is None:
        from exp_ci.output import for_actions

        sys.stdout.write(for_actions(text, os.environ, json=_is_json(text, format)))
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as error:
        raise UserError(
            f"cannot write {output}: {error.strerror}. Choose a writable path."
        ) from None
    if not quiet:
        print(f"wrote {output}", file=sys.stderr)


def _is_json(text: str, format: str | None) -> bool:
    if format is not None:
        return format == "json"
    if "##" not in text or text.lstrip()[:1] not in ("{", "["):
        return False  # nothing the JSON escape would change, or not JSON
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
