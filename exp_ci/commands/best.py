"""`exp-ci best`: the winning experiment(s) by one metric."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

from exp_ci.commands.common import (
    add_metric_arguments,
    add_selection_arguments,
    positive_int,
    selection_from_args,
    write_output,
)
from exp_ci.errors import EXIT_CHECK_FAILED, EXIT_OK, UserError
from exp_ci.report import Selection, all_rows, metric_from, read_project


@dataclass(frozen=True)
class BestOptions:
    selection: Selection
    metric: str | None = None
    direction: str | None = None
    top: int = 1
    min_improvement: float | None = None
    as_json: bool = False
    output: str | None = None
    quiet: bool = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_selection_arguments(parser)
    add_metric_arguments(parser, required_hint="(required unless set in .exp-ci.yaml)")
    parser.add_argument(
        "--top", type=positive_int, default=1, metavar="K", help="print the K best (default 1)"
    )
    parser.add_argument(
        "--min-improvement",
        type=float,
        metavar="X",
        help="keep only experiments better than their baseline by at least X (in metric units)",
    )
    parser.add_argument(
        "--json",
        dest="as_json",
        action="store_true",
        help="print a JSON list with name, rev, baseline, ref, value and delta",
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write the result to FILE")


def options_from_args(args: argparse.Namespace) -> BestOptions:
    return BestOptions(
        selection=selection_from_args(args),
        metric=args.metric,
        direction=args.direction,
        top=args.top,
        min_improvement=args.min_improvement,
        as_json=args.as_json,
        output=args.output,
        quiet=args.quiet,
    )


def run(options: BestOptions) -> int:
    from exp_ci.select import best

    project = read_project(options.selection)
    metric = metric_from(
        options.metric, options.direction, project.settings, all_rows(project.baselines)
    )
    if metric is None:
        raise UserError(
            "exp-ci best needs a metric to rank by: pass --metric NAME (and --direction "
            "min for losses), or set `metric:` in .exp-ci.yaml."
        )
    winners = best(project.baselines, metric, options.top, options.min_improvement)
    if options.as_json:
        document = [
            {
                "name": w.experiment.name,
                "rev": w.experiment.rev,
                "baseline": w.experiment.baseline_rev,
                "ref": w.experiment.ref,
                "metric": metric.full_name,
                "value": w.value,
                "baseline_value": w.baseline_value,
                "delta": w.delta,
            }
            for w in winners
        ]
        write_output(json.dumps(document, indent=2) + "\n", options.output, quiet=options.quiet)
    else:
        write_output(
            "".join(f"{w.experiment.label}\n" for w in winners), options.output, quiet=options.quiet
        )
    if not winners:
        reason = (
            f"improves on its baseline by {options.min_improvement} or more"
            if options.min_improvement is not None
            else "has a numeric value"
        )
        print(f"exp-ci: no experiment {reason} for {metric.full_name}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    return EXIT_OK
