"""The GitHub Action's main step (`action.yml`): run, table, best, gate, persist, comment.

action.yml hands every input over as an `EXP_CI_*` environment variable, never as `${{ }}`
inside a script, so no input and no experiment name can become shell code. This module turns
them into typed `ActionInputs`, plans the exp-ci commands with pure functions, and runs each
one in its own process, as a user would, so every command keeps its own messages, exit codes
and step outputs (`branch`, `comment-url`, `gate`). The token reaches only the commands that
talk to GitHub or push: a sweep's training code never sees it unless the sweep pushes.

Exit code: 2 as soon as a command says the input or environment is wrong; else 1 when
experiments failed or the gate failed (after the table, the winner and the comment are
done, so the pull request shows why); else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from exp_ci.errors import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USER_ERROR, UserError, run_guarded
from exp_ci.numbers import finite_number

INPUT_PREFIX = "EXP_CI_"
PERSIST_KINDS = ("none", "branch", "tag")
DIRECTIONS = ("max", "min")


@dataclass(frozen=True)
class ActionInputs:
    """The action's inputs, checked; None means the input was left empty."""

    directory: str = "."
    run: tuple[str, ...] | None = None  # arguments for `exp-ci run`; None: run nothing
    metric: str | None = None
    direction: str | None = None
    persist: str = "none"
    name_template: str | None = None
    push: str | None = None
    comment: bool = True
    marker: str | None = None
    save_body: str | None = None
    gate_limit: tuple[str, str] | None = None  # ("--max-drop", "0.01") or ("--max-drop-pct", "2")
    against: str | None = None  # the base (input `against`, formerly `gate-against`)
    rev: str | None = None  # the row the pull request is judged by (gate --rev, --judge)
    chart: bool = False
    curve: str | None = None  # "" for the first plot, else a plot name; None: no curve
    trend: int | None = None
    gate_status: bool = False
    token: str | None = field(default=None, repr=False)  # never printed

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ActionInputs:
        def text(name: str) -> str | None:
            value = environ.get(INPUT_PREFIX + name.upper().replace("-", "_"), "").strip()
            return value or None

        direction = text("direction")
        if direction is not None and direction not in DIRECTIONS:
            raise UserError(f"input direction must be max or min, not '{direction}'.")
        persist = text("persist") or "none"
        if persist not in PERSIST_KINDS:
            raise UserError(f"input persist must be none, branch or tag, not '{persist}'.")
        return cls(
            directory=text("working-directory") or ".",
            run=_run_arguments(environ.get(INPUT_PREFIX + "RUN", "")),
            metric=text("metric"),
            direction=direction,
            persist=persist,
            name_template=text("name-template"),
            push=text("push"),
            comment=_flag("comment", text("comment"), default=True),
            marker=text("marker"),
            save_body=text("save-body"),
            gate_limit=_gate_limit(text("gate-max-drop")),
            against=text("against") or text("gate-against"),
            rev=text("rev"),
            chart=_flag("chart", text("chart"), default=False),
            curve=_curve(text("curve")),
            trend=_count("trend", text("trend")),
            gate_status=_flag("gate-status", text("gate-status"), default=False),
            token=text("token"),
        )


def _flag(name: str, value: str | None, *, default: bool) -> bool:
    if value is None:
        return default
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise UserError(f"input {name} must be true or false, not '{value}'.")


def _curve(value: str | None) -> str | None:
    """`true`: the first plot; `false`/empty: none; anything else names a plot."""
    if value is None or value.lower() == "false":
        return None
    return "" if value.lower() == "true" else value


def _count(name: str, value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or int(value) < 1:
        raise UserError(f"input {name} must be a whole number of 1 or more, not '{value}'.")
    return int(value)


def _run_arguments(value: str) -> tuple[str, ...] | None:
    """Split like a shell command line (quotes group words), but never run by a shell."""
    if not value.strip():
        return None
    try:
        return tuple(shlex.split(value))
    except ValueError as error:
        raise UserError(
            f"input run cannot be split into arguments ({error}): close every quote, e.g. "
            "`-S 'train.lr=0.1,0.2'`."
        ) from None


def _gate_limit(value: str | None) -> tuple[str, str] | None:
    """`0.01` (metric units) -> --max-drop; `2%` (of the base value) -> --max-drop-pct."""
    if value is None:
        return None
    percent = value.endswith("%")
    number = value[:-1].strip() if percent else value
    limit = finite_number(number, text=True)
    if limit is None or limit < 0:
        raise UserError(
            f"input gate-max-drop must be a number of 0 or more (`0.01`) or a percentage "
            f"(`2%`), not '{value}'."
        )
    return ("--max-drop-pct", number) if percent else ("--max-drop", number)


# --- the plan: which exp-ci commands, with which arguments (pure) ----------------------------


@dataclass(frozen=True)
class Command:
    """One exp-ci invocation; `with_token` gives it GITHUB_TOKEN."""

    args: tuple[str, ...]
    with_token: bool = False


@dataclass(frozen=True)
class Winner:
    name: str
    rev: str
    ref: str


def metric_args(inputs: ActionInputs) -> list[str]:
    args = ["--metric", inputs.metric] if inputs.metric else []
    return args + (["--direction", inputs.direction] if inputs.direction else [])


def comparison_args(inputs: ActionInputs, judge: str = "--judge") -> list[str]:
    """The base and the judged row: the same for the table, the gate and the comment."""
    args = ["--against", inputs.against] if inputs.against else []
    return args + ([judge, inputs.rev] if inputs.rev else [])


def picture_args(inputs: ActionInputs) -> list[str]:
    args = ["--chart"] if inputs.chart else []
    if inputs.curve is not None:
        args += ["--curve", inputs.curve] if inputs.curve else ["--curve"]
    return args + (["--trend", str(inputs.trend)] if inputs.trend else [])


def _common(name: str, inputs: ActionInputs) -> list[str]:
    return [name, "-C", inputs.directory]


def run_command(inputs: ActionInputs) -> Command | None:
    if inputs.run is None:
        return None
    pushes = any(a == "--push" or a.startswith("--push=") for a in inputs.run)
    return Command((*_common("run", inputs), *inputs.run), with_token=pushes)


def table_command(inputs: ActionInputs, path: Path) -> Command:
    args = [*_common("show", inputs), "--format", "md", *metric_args(inputs)]
    args += [*comparison_args(inputs), *picture_args(inputs), "-o", str(path)]
    return Command(tuple(args))


def comparison_command(inputs: ActionInputs, path: Path) -> Command:
    """The same comparison as JSON: the winner and the judged row's Δ against the base."""
    args = [*_common("show", inputs), "--format", "json", *metric_args(inputs)]
    return Command(tuple([*args, *comparison_args(inputs), "-o", str(path)]))


def gate_command(inputs: ActionInputs) -> Command | None:
    """The judged row against the base (see `exp-ci gate --rev`); None without a gate."""
    if inputs.gate_limit is None:
        return None
    args = [*_common("gate", inputs), *metric_args(inputs), *inputs.gate_limit]
    args += comparison_args(inputs, judge="--rev")
    if inputs.comment:
        args.append("--no-summary")  # the comment's section, mirrored there, has the verdict
    if inputs.gate_status:
        args.append("--status")
    return Command(tuple(args), with_token=inputs.gate_status)


def persist_command(inputs: ActionInputs, winner: Winner | None) -> Command | None:
    if inputs.persist == "none" or winner is None:
        return None
    # The full ref: DVC names are unique per baseline only.
    args = [*_common("persist", inputs), winner.ref, "--as", inputs.persist, *metric_args(inputs)]
    if inputs.name_template:
        args += ["--name", inputs.name_template]
    if inputs.push:
        args += ["--push", inputs.push]
    return Command(tuple(args), with_token=inputs.push is not None)


def comment_command(inputs: ActionInputs) -> Command | None:
    if not inputs.comment:
        return None
    args = [*_common("comment", inputs), *metric_args(inputs), *comparison_args(inputs)]
    args += picture_args(inputs)
    if inputs.gate_limit is not None:
        args += inputs.gate_limit  # the gate's verdict under the table
    if inputs.marker:
        args += ["--marker", inputs.marker]
    if inputs.save_body:
        args += ["--save-body", inputs.save_body]
    return Command(tuple(args), with_token=True)


def winner_from(document: object) -> Winner | None:
    """The winner (★) of `exp-ci show --format json`."""
    baselines = document.get("baselines") if isinstance(document, dict) else None
    for baseline in baselines if isinstance(baselines, list) else []:
        for entry in baseline.get("experiments") or [] if isinstance(baseline, dict) else []:
            if isinstance(entry, dict) and entry.get("winner"):
                rev = str(entry.get("rev") or "")
                name = str(entry.get("name") or rev[:7])
                return Winner(name=name, rev=rev, ref=str(entry.get("ref") or ""))
    return None


def delta_from(document: object) -> float | None:
    """The judged row's ranking metric against the base, from `show --format json`."""
    comparison = document.get("comparison") if isinstance(document, dict) else None
    subject = comparison.get("subject") if isinstance(comparison, dict) else None
    delta = subject.get("delta") if isinstance(subject, dict) else None
    return finite_number(delta)


# --- running it ------------------------------------------------------------------------------

Execute = Callable[[Command], int]


def command_environment(
    environ: Mapping[str, str], token: str | None, with_token: bool
) -> dict[str, str]:
    """The step's environment without the action's inputs; GITHUB_TOKEN only when needed."""
    env = {k: v for k, v in environ.items() if not k.startswith(INPUT_PREFIX)}
    if with_token and token:
        env["GITHUB_TOKEN"] = token
    return env


def subprocess_executor(environ: Mapping[str, str], token: str | None) -> Execute:
    def execute(command: Command) -> int:
        print(f"exp-ci action: exp-ci {shlex.join(command.args)}", flush=True)
        env = command_environment(environ, token, command.with_token)
        return subprocess.run([sys.executable, "-m", "exp_ci", *command.args], env=env).returncode

    return execute


def run_action(
    inputs: ActionInputs, environ: Mapping[str, str], execute: Execute, workdir: Path
) -> int:
    from exp_ci.adapters import actions

    _check_needs(inputs)
    failed = False

    command = run_command(inputs)
    if command is not None:
        code = execute(command)
        if code >= EXIT_USER_ERROR:
            return code
        failed = code != EXIT_OK  # some experiments failed: the others are still compared

    table = workdir / "table.md"
    code = execute(table_command(inputs, table))
    if code != EXIT_OK:
        return code
    actions.write_output("table-file", str(table), environ)
    if not inputs.comment:
        _summarize(table, environ)

    winner = None
    if inputs.metric or _configured_metric(inputs.directory):
        compared = workdir / "comparison.json"
        code = execute(comparison_command(inputs, compared))
        if code != EXIT_OK:
            return code
        document = json.loads(compared.read_text(encoding="utf-8"))
        winner = winner_from(document)
        delta = delta_from(document)
        if winner is not None:
            actions.write_output("best", winner.name, environ)
            actions.write_output("best-rev", winner.rev, environ)
        elif inputs.persist != "none":
            print("exp-ci action: no experiment to rank, so none is kept", file=sys.stderr)
        if delta is not None:
            actions.write_output("delta", repr(delta), environ)

    for planned in (
        gate_command(inputs),
        persist_command(inputs, winner),
        comment_command(inputs),
    ):
        if planned is None:
            continue
        code = execute(planned)
        if code >= EXIT_USER_ERROR:
            return code
        failed = failed or code != EXIT_OK
    return EXIT_CHECK_FAILED if failed else EXIT_OK


def _check_needs(inputs: ActionInputs) -> None:
    """Inputs that need a metric, checked before any experiment runs."""
    if inputs.metric or not (inputs.gate_limit or inputs.persist != "none"):
        return
    if _configured_metric(inputs.directory):
        return
    needs = "gate-max-drop" if inputs.gate_limit else f"persist: {inputs.persist}"
    raise UserError(
        f"{needs} needs a metric: set the input metric (e.g. `metric: auc`), or `metric:` in "
        ".exp-ci.yaml."
    )


def _configured_metric(directory: str) -> str | None:
    from exp_ci.config import settings_for

    return settings_for(Path(directory)).metric


def _summarize(table: Path, environ: Mapping[str, str]) -> None:
    """Without a comment (which writes the summary itself), the table goes to the summary."""
    from exp_ci.adapters import actions

    if actions.summary_room(environ) is None:
        return
    text = "\n### Experiments\n\n" + table.read_text(encoding="utf-8")
    if actions.add_to_summary(environ, text) is False:
        actions.warning(
            f"the table is too large for the job summary; it is in {table} (output table-file).",
            environ,
            title="exp-ci",
        )


def main(argv: Sequence[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="python -m exp_ci.action",
        description="The main step of exp-ci's GitHub Action. It reads the action's inputs "
        f"from {INPUT_PREFIX}* environment variables (see action.yml); not meant to be run "
        "by hand.",
    ).parse_args(argv)

    def action() -> int:
        inputs = ActionInputs.from_environ(os.environ)
        temp = os.environ.get("RUNNER_TEMP") or None
        try:
            workdir = Path(tempfile.mkdtemp(prefix="exp-ci-", dir=temp))
        except OSError as error:
            raise UserError(f"cannot create a temporary folder: {error.strerror}.") from None
        return run_action(
            inputs, os.environ, subprocess_executor(os.environ, inputs.token), workdir
        )

    return run_guarded(action)


if __name__ == "__main__":
    sys.exit(main())
