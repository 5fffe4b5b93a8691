"""Time `dvc exp show --json` against `exp-ci show --format json` and check they agree.

For each size N this builds a fresh DVC project in a temporary folder, adds N synthetic
experiments to its baseline (`tests.helpers.synthetic`, plain Git objects), then runs the two
commands alternately `--repeats` times each and reports the medians. DVC runs cold: its
experiment cache `.dvc/tmp/exps/cache` is deleted before every run, as in a fresh CI clone.
Finally the params and metrics of every revision are compared value for value.

    python benchmarks/bench_show.py [--sizes 100,300,1000] [--repeats 3] [--markdown]
                                    [--before PATH] [--all] [--dvc-max N]

`--all` times `show -A` of both tools (every baseline). Sizes above `--dvc-max` (default
1000) time exp-ci alone: `dvc exp show` takes about 14 ms per experiment (over two minutes
at 10,000, each run); there exp-ci's rows are counted instead (N + 1 revisions).

`--before PATH` also times the exp-ci of another checkout (say, `git worktree add PATH
REV`) in the same loop and prints how long this one takes against it: the cost of a change.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.helpers.synthetic import add_experiments, git_env, make_project, sweep  # noqa: E402

# {revision SHA: {"file:dotted.key": value}}, params and metrics together.
Values = dict[str, dict[str, Any]]

DVC_LABEL = "dvc exp show --json (cold)"
EXP_CI_LABEL = "exp-ci show --format json"
EXP_CI_COMMAND = [sys.executable, "-m", "exp_ci", "show", "--format", "json"]


@dataclass(frozen=True)
class Result:
    size: int
    generate_seconds: float
    dvc_seconds: float | None  # None: above --dvc-max, not run
    exp_ci_seconds: float
    before_seconds: float | None = None  # the exp-ci of --before PATH

    @property
    def ratio(self) -> float | None:
        return None if self.dvc_seconds is None else self.dvc_seconds / self.exp_ci_seconds


def tool_env() -> dict[str, str]:
    """Isolated Git config, with this interpreter's `bin` folder first on PATH (for `dvc`)."""
    env = git_env()
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def dvc_command(env: Mapping[str, str]) -> list[str]:
    dvc = shutil.which("dvc", path=env["PATH"])
    if dvc is None:
        sys.exit("error: `dvc` not found next to this Python or on PATH")
    return [dvc, "exp", "show", "--json"]


def run_timed(command: list[str], cwd: Path, env: Mapping[str, str]) -> tuple[float, str]:
    """Run `command`; return (wall-clock seconds, standard output). Exit on failure."""
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if completed.returncode != 0:
        sys.exit(
            f"error: {' '.join(command)} exited with {completed.returncode}:\n{completed.stderr}"
        )
    return seconds, completed.stdout


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts to dotted keys: {"train": {"lr": 0.1}} -> {"train.lr": 0.1}."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten(value, dotted))
        else:
            flat[dotted] = value
    return flat


def dvc_row_values(data: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for kind in ("params", "metrics"):
        for file, content in (data.get(kind) or {}).items():
            for key, value in flatten(content.get("data") or {}).items():
                values[f"{file}:{key}"] = value
    return values


def dvc_values(output: str) -> Values:
    """Values of every baseline and experiment in `dvc exp show --json` output."""
    values: Values = {}
    for baseline in json.loads(output):
        if baseline["rev"] == "workspace":
            continue
        values[baseline["rev"]] = dvc_row_values(baseline["data"])
        for experiment in baseline.get("experiments") or []:
            rev = experiment["revs"][0]
            values[rev["rev"]] = dvc_row_values(rev["data"])
    return values


def exp_ci_values(output: str) -> Values:
    """Values of every baseline and experiment in `exp-ci show --format json` output."""
    values: Values = {}
    for baseline in json.loads(output)["baselines"]:
        for row in [baseline, *baseline["experiments"]]:
            values[row["rev"]] = {**row["params"], **row["metrics"]}
    return values


def canonical(values: Values) -> dict[str, dict[str, str]]:
    """Values as JSON text, so that 1, 1.0 and true count as different values."""
    return {
        rev: {key: json.dumps(value, sort_keys=True) for key, value in row.items()}
        for rev, row in values.items()
    }


def describe_mismatch(dvc_raw: Values, exp_ci_raw: Values, limit: int = 10) -> list[str]:
    dvc, exp_ci = canonical(dvc_raw), canonical(exp_ci_raw)
    lines: list[str] = []
    for rev in sorted(dvc.keys() - exp_ci.keys()):
        lines.append(f"  {rev}: listed by dvc, missing from exp-ci")
    for rev in sorted(exp_ci.keys() - dvc.keys()):
        lines.append(f"  {rev}: listed by exp-ci, missing from dvc")
    for rev in sorted(dvc.keys() & exp_ci.keys()):
        ours, theirs = exp_ci[rev], dvc[rev]
        for key in sorted(ours.keys() | theirs.keys()):
            if key not in theirs or key not in ours or ours[key] != theirs[key]:
                dvc_value = theirs.get(key, "(absent)")
                exp_ci_value = ours.get(key, "(absent)")
                lines.append(f"  {rev} {key}: dvc {dvc_value}, exp-ci {exp_ci_value}")
    if len(lines) > limit:
        lines = [*lines[:limit], f"  ... and {len(lines) - limit} more differences"]
    return lines


def bench_size(
    size: int,
    repeats: int,
    env: Mapping[str, str],
    before: Path | None = None,
    *,
    all_baselines: bool = False,
    with_dvc: bool = True,
) -> Result:
    flags = ["-A"] if all_baselines else []
    dvc_cmd = [*dvc_command(env), *flags]
    exp_ci_cmd = [*EXP_CI_COMMAND, *flags]
    with tempfile.TemporaryDirectory(prefix="exp-ci-bench-") as folder:
        project = Path(folder) / "project"
        baseline = make_project(project)
        start = time.perf_counter()
        add_experiments(project, baseline, sweep(size))
        generate_seconds = time.perf_counter() - start

        dvc_times: list[float] = []
        exp_ci_times: list[float] = []
        before_times: list[float] = []
        before_env = {**env, "PYTHONPATH": str(before)} if before else None
        dvc_output = exp_ci_output = ""
        for _ in range(repeats):
            if with_dvc:
                shutil.rmtree(project / ".dvc" / "tmp" / "exps" / "cache", ignore_errors=True)
                seconds, dvc_output = run_timed(dvc_cmd, project, env)
                dvc_times.append(seconds)
            seconds, exp_ci_output = run_timed(exp_ci_cmd, project, env)
            exp_ci_times.append(seconds)
            if before_env is not None:
                before_times.append(run_timed(exp_ci_cmd, project, before_env)[0])

        actual = exp_ci_values(exp_ci_output)
        if not with_dvc:
            if len(actual) != size + 1:
                sys.exit(f"error: exp-ci listed {len(actual)} revisions, expected {size + 1}")
            return Result(size, generate_seconds, None, statistics.median(exp_ci_times))
        expected = dvc_values(dvc_output)
        if len(expected) != size + 1:
            sys.exit(f"error: dvc listed {len(expected)} revisions, expected {size + 1}")
        if canonical(actual) != canonical(expected):
            print(f"N={size}  values DISAGREE:", *describe_mismatch(expected, actual), sep="\n")
            sys.exit(1)
    return Result(
        size,
        generate_seconds,
        statistics.median(dvc_times),
        statistics.median(exp_ci_times),
        statistics.median(before_times) if before_times else None,
    )


def format_ratio(ratio: float | None) -> str:
    if ratio is None:
        return "—"
    return f"{ratio:.1f}x" if ratio < 9.95 else f"{ratio:.0f}x"


def format_dvc(seconds: float | None) -> str:
    return "not run (too slow)" if seconds is None else f"{seconds:.1f} s"


def markdown_table(results: list[Result], all_baselines: bool = False) -> str:
    flag = " -A" if all_baselines else ""
    lines = [
        f"| Experiments | `dvc exp show{flag} --json` (cold) | `exp-ci show{flag} --format json` "
        "| Speed-up |",
        "|---:|---:|---:|---:|",
    ]
    for result in results:
        lines.append(
            f"| {result.size} | {format_dvc(result.dvc_seconds)} | {result.exp_ci_seconds:.2f} s "
            f"| {format_ratio(result.ratio)} |"
        )
    return "\n".join(lines)


def versions(env: Mapping[str, str]) -> str:
    dvc = subprocess.run(
        [*dvc_command(env)[:1], "--version"], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    git = subprocess.run(
        ["git", "--version"], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    return f"dvc {dvc}, {git}, Python {platform.python_version()}, {os.cpu_count()} CPUs"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="100,300,1000",
        type=lambda text: [int(size) for size in text.split(",") if size.strip()],
        help="comma-separated numbers of experiments (default: 100,300,1000)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per command (default: 3)")
    parser.add_argument("--markdown", action="store_true", help="also print a markdown table")
    parser.add_argument("--all", action="store_true", help="time `show -A` of both tools")
    parser.add_argument(
        "--dvc-max",
        type=int,
        default=1000,
        metavar="N",
        help="time DVC only at sizes up to N (default: 1000); above, exp-ci alone",
    )
    parser.add_argument(
        "--before",
        type=Path,
        metavar="PATH",
        help="also time the exp-ci of this checkout (e.g. a `git worktree` of an older commit)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.repeats < 1 or not args.sizes or min(args.sizes) < 1:
        sys.exit("error: --sizes and --repeats must be positive")
    env = tool_env()
    load = " ".join(f"{n:.2f}" for n in os.getloadavg())
    print(
        f"# {versions(env)}; median of {args.repeats} run(s) each; load average {load}",
        flush=True,
    )
    results: list[Result] = []
    for size in args.sizes:
        result = bench_size(
            size,
            args.repeats,
            env,
            args.before,
            all_baselines=args.all,
            with_dvc=size <= args.dvc_max,
        )
        results.append(result)
        before = ""
        if result.before_seconds is not None:
            before = (
                f"  before ({args.before}): {result.before_seconds:.2f} s, now/before "
                f"{result.exp_ci_seconds / result.before_seconds:.3f}"
            )
        agree = "values agree" if result.dvc_seconds is not None else f"{size + 1} revisions"
        flag = " -A" if args.all else ""
        print(
            f"N={size}  {DVC_LABEL.replace(' --', flag + ' --', 1)}: "
            f"{format_dvc(result.dvc_seconds)}  "
            f"{EXP_CI_LABEL.replace(' --', flag + ' --', 1)}: {result.exp_ci_seconds:.2f} s  "
            f"ratio {format_ratio(result.ratio)}  {agree}  "
            f"(generated in {result.generate_seconds:.2f} s){before}",
            flush=True,
        )
    load = " ".join(f"{n:.2f}" for n in os.getloadavg())
    print(f"# load average at the end {load}", flush=True)
    if args.markdown:
        print()
        print(markdown_table(results, args.all))
    return 0


if __name__ == "__main__":
    sys.exit(main())
