"""`exp-ci show`: the comparison table of experiments."""

from __future__ import annotations

from dataclasses import dataclass

from exp_ci.commands.common import (
    add_picture_arguments,
    picture_request_from_args,
    table_part,
    write_output,
)
from exp_ci.errors import EXIT_OK, UserError
from exp_ci.options import option, part
from exp_ci.report import (
    PictureRequest,
    TableRequest,
    build_pictures,
    build_requested_table,
    project_context,
)

FORMATS = ("md", "plain", "json", "csv")


@dataclass(frozen=True)
class ShowOptions:
    request: TableRequest = table_part()
    pictures: PictureRequest = part(
        add_picture_arguments, picture_request_from_args, default_factory=PictureRequest
    )
    format: str = option(
        "--format",
        choices=FORMATS,
        default="plain",
        help="md (GitHub markdown), plain (terminal), json (for machines) or csv",
    )
    output: str | None = option(
        "-o", "--output", metavar="FILE", help="write the table to FILE, not stdout"
    )
    quiet: bool = False


OPTIONS = ShowOptions


def run(options: ShowOptions) -> int:
    from exp_ci.render.formats import RENDERERS, render_markdown

    if options.pictures.wanted and options.format != "md":
        raise UserError(
            "--chart, --curve and --trend draw in markdown (Mermaid diagrams that GitHub "
            f"renders): add --format md (not {options.format})."
        )
    with project_context(options.request.selection.repo) as project:
        table = build_requested_table(project, options.request)
        if options.pictures.wanted:
            text = render_markdown(table, build_pictures(project, table, options.pictures))
        else:
            text = RENDERERS[options.format](table)
    write_output(text, options.output, quiet=options.quiet, format=options.format)
    return EXIT_OK
