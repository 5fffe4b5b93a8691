"""`exp-ci show`: the comparison table of experiments."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING

from exp_ci.commands.common import (
    Selection,
    add_metric_arguments,
    add_selection_arguments,
    all_rows,
    metric_from,
    positive_int,
    read_project,
    selection_from_args,
    write_output,
)
from exp_ci.errors import EXIT_OK
from exp_ci.model import Direction

if TYPE_CHECKING:
    from exp_ci.render.table import Table

DEFAULT_PRECISION = 5
FORMATS = ("md", "plain", "json", "csv")


@dataclass(frozen=True)
class TableRequest:
    """What shapes a comparison table; `show` and `comment` both take it."""

    selection: Selection
    metric: str | None = None
    direction: str | None = None
    params: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    only_changed: bool = False
    sort_by: str | None = None
    top: int | None = None
    precision: int | None = None


@dataclass(frozen=True)
class ShowOptions:
    request: TableRequest
    format: str = "plain"
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


def table_request_from_args(args: argparse.Namespace) -> TableRequest:
    return TableRequest(
        selection=selection_from_args(args),
        metric=args.metric,
        direction=args.direction,
        params=tuple(args.params),
        metrics=tuple(args.metrics),
        only_changed=args.only_changed,
        sort_by=args.sort_by,
        top=args.top,
        precision=args.precision,
    )


def options_from_args(args: argparse.Namespace) -> ShowOptions:
    return ShowOptions(
        request=table_request_from_args(args),
        format=args.format,
        output=args.output,
        quiet=args.quiet,
    )


def build_requested_table(request: TableRequest) -> Table:
    """Read the project and build the table the request describes (settings fill gaps)."""
    from exp_ci.render.table import TableOptions, build_table

    project = read_project(request.selection)
    settings = project.settings
    metric = metric_from(request.metric, request.direction, settings, all_rows(project.baselines))
    direction = metric.direction if metric else Direction(request.direction or "max")
    return build_table(
        project.baselines,
        TableOptions(
            metric=metric,
            params=request.params or settings.params,
            metrics=request.metrics or settings.metrics,
            only_changed=request.only_changed,
            sort_by=request.sort_by,
            sort_direction=direction,
            top=request.top,
            precision=request.precision or settings.precision or DEFAULT_PRECISION,
        ),
    )


def run(options: ShowOptions) -> int:
    from exp_ci.render.formats import RENDERERS

    table = build_requested_table(options.request)
    write_output(RENDERERS[options.format](table), options.output, quiet=options.quiet)
    return EXIT_OK
