"""`exp-ci best`: the winning experiment(s) by one metric."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

from exp_ci.commands.common import (
    add_selection_arguments,
    direction_option,
    metric_option,
    min_improvement_option,
    positive_int,
    selection_from_args,
    write_output,
)
from exp_ci.errors import EXIT_CHECK_FAILED, EXIT_OK, UserError
from exp_ci.options import option, part
from exp_ci.report import Selection, all_rows, metric_from, project_context, read_project


@dataclass(frozen=True)
class BestOptions:
    selection: Selection = part(add_selection_arguments, selection_from_args)
    metric: str | None = metric_option("(required unless set in .exp-ci.yaml)")
    direction: str | None = direction_option()
    top: int = option(
        "--top", type=positive_int, default=1, metavar="K", help="print the K best (default 1)"
    )
    min_improvement: float | None = min_improvement_option()
    as_json: bool = option(
        "--json",
        action="store_true",
        help="print a JSON list with name, rev, baseline, ref, value and delta",
    )
    output: str | None = option("-o", "--output", metavar="FILE", help="write the result to FILE")
    quiet: bool = False


OPTIONS = BestOptions


def run(options: BestOptions) -> int:
    from exp_ci.select import best

    with project_context(options.selection.repo) as context:
        project = read_project(context, options.selection)
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
