"""What several commands share: the selection, metric and table options, argparse types,
and writing results to stdout or a file."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exp_ci.config import DEFAULT_PRECISION
from exp_ci.errors import UserError
from exp_ci.model import Direction
from exp_ci.options import add_arguments, from_args, option, part
from exp_ci.read.states import STATES
from exp_ci.report import Selection

if TYPE_CHECKING:
    from exp_ci.report import PictureRequest, TableRequest


def positive_int(text: str) -> int:
    """argparse type for counts: a clear message (and exit 2) for 0, negatives and words."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def allowance(text: str) -> float:
    """argparse type for --max-drop/--max-drop-pct: a finite number of 0 or more."""
    from exp_ci.numbers import finite_number

    value = finite_number(text, text=True)
    if value is None:
        raise argparse.ArgumentTypeError(f"expected a number such as 0.01, got '{text}'")
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"must be 0 or more (got {text}); it is how much worse is allowed"
        )
    return value


def max_drop_option() -> Any:
    """How much worse the metric may get: the gate's limit, also shown in the comment."""
    return option(
        "--max-drop",
        type=allowance,
        exclusive="allowance",
        metavar="X",
        help="allow the metric to get worse by up to X (metric units); default: no drop allowed",
    )


def max_drop_pct_option() -> Any:
    return option(
        "--max-drop-pct",
        type=allowance,
        exclusive="allowance",
        metavar="P",
        help="allow the metric to get worse by up to P percent of the base value",
    )


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


def metric_option(required_hint: str = "") -> Any:
    return option(
        "--metric",
        metavar="NAME",
        help="metric to rank by: its short name when unique, or FILE:KEY"
        + (f" {required_hint}" if required_hint else ""),
    )


def direction_option() -> Any:
    return option(
        "--direction",
        choices=[d.value for d in Direction],
        help="whether a larger (max, the default) or smaller (min) metric is better",
    )


def min_improvement_option() -> Any:
    return option(
        "--min-improvement",
        type=float,
        metavar="X",
        help="keep only experiments better than their baseline by at least X (in metric units)",
    )


AGAINST_HELP = (
    "the base commit to compare with: Δ of every metric and the changed params are against "
    "it (default: the pull request's base from the GitHub Actions event; a push or schedule "
    "run: HEAD's first parent; locally: the merge base with origin's default branch)"
)


def against_option() -> Any:
    return option("--against", metavar="REV", help=AGAINST_HELP)


def judge_option(*flags: str) -> Any:
    return option(
        *(flags or ("--judge",)),
        metavar="NAME",
        help="the row the pull request is judged by: an experiment (name, ref or SHA prefix), "
        "a commit, or `workspace` (default: the workspace when it differs from HEAD, else "
        "the best experiment by --metric, else HEAD)",
    )


STATE_HELP = (
    "show only experiments in STATE (repeatable; default: every state, as `dvc exp show`): "
    "success (finished, an experiment ref), queued (`dvc exp run --queue`, not started), "
    "running (a `dvc queue` worker has it), failed (its run failed: `dvc queue logs NAME` "
    "has the log). Queued, running and failed ones live only in the clone that queued them"
)


@dataclass(frozen=True)
class TableArguments:
    """The options that shape a table; `show` and `comment` share them (see `TableRequest`)."""

    selection: Selection = part(add_selection_arguments, lambda args: selection_from_args(args))
    states: tuple[str, ...] = option(
        "--state", action="append", choices=STATES, default=(), metavar="STATE", help=STATE_HELP
    )
    metric: str | None = metric_option()
    direction: str | None = direction_option()
    against: str | None = against_option()
    judge: str | None = judge_option()
    params: tuple[str, ...] = option(
        "--params",
        action="append",
        default=(),
        metavar="GLOB",
        help="include only params whose name matches GLOB (repeatable), e.g. 'train.*'",
    )
    metrics: tuple[str, ...] = option(
        "--metrics",
        action="append",
        default=(),
        metavar="GLOB",
        help="include only metrics whose name matches GLOB (repeatable)",
    )
    only_changed: bool = option(
        "--only-changed",
        action="store_true",
        help="hide params and metrics whose value is the same in every row",
    )
    sort_by: str | None = option(
        "--sort-by",
        metavar="COLUMN",
        help="order each baseline's experiments by COLUMN, best first by --direction",
    )
    top: int | None = option(
        "--top",
        type=positive_int,
        metavar="N",
        help="show only N experiments per baseline (the best N with --metric, else the newest)",
    )
    precision: int | None = option(
        "--precision",
        type=positive_int,
        metavar="N",
        help=f"significant digits for decimal numbers (default {DEFAULT_PRECISION})",
    )

    def request(self) -> TableRequest:
        from exp_ci.report import CompareRequest, TableRequest

        return TableRequest(
            selection=self.selection,
            metric=self.metric,
            direction=self.direction,
            params=self.params,
            metrics=self.metrics,
            only_changed=self.only_changed,
            sort_by=self.sort_by,
            top=self.top,
            precision=self.precision,
            compare=CompareRequest(against=self.against, judge=self.judge),
        )


def table_part() -> Any:
    """A `TableRequest` field and the options that fill it."""
    return part(
        lambda parser: add_arguments(TableArguments, parser),
        lambda args: from_args(TableArguments, args).request(),
    )


def add_picture_arguments(parser: argparse.ArgumentParser) -> None:
    """Charts GitHub draws itself (Mermaid) and the metric's trend; markdown only."""
    parser.add_argument(
        "--chart",
        action="store_true",
        help="draw a bar chart of the ranking metric (the best experiments and their "
        "baseline) under the table",
    )
    parser.add_argument(
        "--curve",
        nargs="?",
        const="",
        metavar="NAME",
        help="draw the winner's and its baseline's training curve from the DVC plots in "
        "dvc.yaml: NAME is FILE:FIELD, a file or a field (default: the first plot)",
    )
    parser.add_argument(
        "--trend",
        type=positive_int,
        metavar="N",
        help="show the ranking metric over the baseline's last N first-parent commits as a "
        "sparkline beside its value",
    )


def picture_request_from_args(args: argparse.Namespace) -> PictureRequest:
    from exp_ci.report import PictureRequest

    return PictureRequest(chart=args.chart, curve=args.curve, trend=args.trend)


def selection_from_args(args: argparse.Namespace) -> Selection:
    chosen = getattr(args, "states", None)  # None: a command without --state, finished only
    states = ("success",) if chosen is None else tuple(dict.fromkeys(chosen or STATES))
    return Selection(Path(args.repo), tuple(args.rev), args.all_baselines, states)


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
    write_file(output, text)
    if not quiet:
        print(f"wrote {output}", file=sys.stderr)


def write_file(path: str, text: str, flag: str = "") -> None:
    """Write a file the user named (with `flag`, the option that named it), or say why not."""
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as error:
        named = f"{flag} {path}" if flag else path
        raise UserError(
            f"cannot write {named}: {error.strerror}. Choose a writable path."
        ) from None


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
