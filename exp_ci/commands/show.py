"""`exp-ci show`: the comparison table of experiments."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from exp_ci.commands.common import (
    Selection,
    add_metric_arguments,
    add_selection_arguments,
    metric_from,
    positive_int,
    read_project,
    selection_from_args,
    write_output,
)
from exp_ci.errors import EXIT_OK
from exp_ci.model import Direction

DEFAULT_PRECISION = 5
FORMATS = ("md", "plain", "json", "csv")


@dataclass(frozen=True)
class ShowOptions:
    selection: Selection
    format: str = "plain"
    metric: str | None = None
    direction: str | None = None
    params: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    only_changed: bool = False
    sort_by: str | None = None
    top: int | None = None
    precision: int | None = None
    output: str | None = None
    quiet: bool = False


def add_table_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that shape a table; `show` and `comment` share them."""
    add_selection_arguments(parser)
    add_metric_arguments(parser)
    parser.add_argument(
        "--params",
        action="append",
        default=[],
        metavar="GLOB",
        help="include only params whose name matches GLOB (repeatable), e.g. 'train.*'",
    )
    parser.add_argument(
        "--metrics",
        action="append",
        default=[],
        metavar="GLOB",
        help="include only metrics whose name matches GLOB (repeatable)",
    )
    parser.add_argument(
        "--only-changed",
        action="store_true",
        help="hide params and metrics whose value is the same in every row",
    )
    parser.add_argument(
        "--sort-by",
        metavar="COLUMN",
        help="order each baseline's experiments by COLUMN, best first by --direction",
    )
    parser.add_argument(
        "--top",
        type=positive_int,
        metavar="N",
        help="show only N experiments per baseline (the best N with --metric, else the newest)",
    )
    parser.add_argument(
        "--precision",
        type=positive_int,
        metavar="N",
        help=f"significant digits for decimal numbers (default {DEFAULT_PRECISION})",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_table_arguments(parser)
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="plain",
        help="md (GitHub markdown), plain (terminal), json (for machines) or csv",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write the table to FILE, not stdout"
    )


def options_from_args(args: argparse.Namespace) -> ShowOptions:
    return ShowOptions(
        selection=selection_from_args(args),
        format=args.format,
        metric=args.metric,
        direction=args.direction,
        params=tuple(args.params),
        metrics=tuple(args.metrics),
        only_changed=args.only_changed,
        sort_by=args.sort_by,
        top=args.top,
        precision=args.precision,
        output=args.output,
        quiet=args.quiet,
    )


def render(options: ShowOptions) -> str:
    from exp_ci.render.formats import RENDERERS
    from exp_ci.render.table import TableOptions, build_table

    project = read_project(options.selection)
    settings = project.settings
    metric = metric_from(options.metric, options.direction, settings, project.baselines)
    direction = metric.direction if metric else Direction(options.direction or "max")
    precision = options.precision or settings.precision or DEFAULT_PRECISION
    table = build_table(
        project.baselines,
        TableOptions(
            metric=metric,
            params=options.params or settings.params,
            metrics=options.metrics or settings.metrics,
            only_changed=options.only_changed,
            sort_by=options.sort_by,
            sort_direction=direction,
            top=options.top,
            precision=precision,
        ),
    )
    return RENDERERS[options.format](table)


def run(options: ShowOptions) -> int:
    write_output(render(options), options.output, quiet=options.quiet)
    return EXIT_OK
