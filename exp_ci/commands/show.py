"""`exp-ci show`: the comparison table of experiments."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from exp_ci.commands.common import (
    add_picture_arguments,
    add_table_arguments,
    picture_request_from_args,
    table_request_from_args,
    write_output,
)
from exp_ci.errors import EXIT_OK, UserError
from exp_ci.report import PictureRequest, TableRequest, build_pictures, build_requested_table

FORMATS = ("md", "plain", "json", "csv")


@dataclass(frozen=True)
class ShowOptions:
    request: TableRequest
    format: str = "plain"
    output: str | None = None
    quiet: bool = False
    pictures: PictureRequest = field(default_factory=PictureRequest)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_table_arguments(parser)
    add_picture_arguments(parser)
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
        request=table_request_from_args(args),
        format=args.format,
        output=args.output,
        quiet=args.quiet,
        pictures=picture_request_from_args(args),
    )


def run(options: ShowOptions) -> int:
    from exp_ci.render.formats import RENDERERS, render_markdown

    if options.pictures.wanted and options.format != "md":
        raise UserError(
            "--chart, --curve and --trend draw in markdown (Mermaid diagrams that GitHub "
            f"renders): add --format md (not {options.format})."
        )
    table = build_requested_table(options.request)
    if options.pictures.wanted:
        pictures = build_pictures(options.request.selection.repo, table, options.pictures)
        text = render_markdown(table, pictures)
    else:
        text = RENDERERS[options.format](table)
    write_output(text, options.output, quiet=options.quiet, format=options.format)
    return EXIT_OK
