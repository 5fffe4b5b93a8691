"""Time `exp-ci run --jobs 1` and `--jobs 2` against a plain shell loop of `dvc exp run -S`.

Builds a DVC project in a temporary folder whose one stage burns about `--cpu` seconds of
CPU (a busy loop on `time.process_time()`), then, `--repeats` times and in a rotating
order, runs the same `--points` experiments three ways:

- loop:   `for v in ...; do dvc exp run -S lr=$v -n NAME; done` in the project's workspace
- jobs 1: `exp-ci run -S lr=v1,v2,... --jobs 1`
- jobs 2: `exp-ci run -S lr=v1,v2,... --jobs 2`

and reports the median wall time of each, the ratios to the loop, and the share of the
machine's limit (all points' CPU seconds spread over the cores) that `--jobs 2` reaches.
Then the same for a `--short-cpu` step (loop and `--jobs 1`): the per-experiment overhead,
the median wall time per point minus the stage command's own wall time run alone. That
average includes the sweep's one-time start (exp-ci's preloaded DVC imports DVC once), so
`--jobs 1` also runs twice as many points: the slope between the two sizes, minus the stage,
is the overhead of each further experiment, and the intercept the sweep's start. Every run
must leave exactly as many new experiments as it has points, or the benchmark stops. Each
run sets a `salt` param of its own, so DVC's run-cache never skips a training. The workspace
is reset (untimed) after the loop, which leaves its last experiment there. The machine may
be shared: the load average is printed before and after, and medians damp the noise.

    python benchmarks/bench_sweep.py [--points 8] [--cpu 1.0] [--short-cpu 0.05] [--repeats 5]
        [--markdown]

EXP_CI_DVC_FORK=0 measures exp-ci with a `python -m dvc` subprocess per experiment.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.helpers.project import commit_all, environment, init_project, run, write  # noqa: E402

TRAIN = """\
import json, time, yaml
p = yaml.safe_load(open("params.yaml"))
start = time.process_time()
while time.process_time() - start < p["cpu"]:
    pass
json.dump({"score": p["lr"] * 2}, open("metrics.json", "w"))
open("model.txt", "w").write(str(p))
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [lr, cpu, salt]
    outs: [model.txt]
    metrics:
      - metrics.json:
          cache: false
"""

VARIANTS = ("loop", "jobs 1", "jobs 2")
SHORT_VARIANTS = ("loop", "jobs 1", "jobs 1 x2")


def build_project(root: Path, env: Mapping[str, str], cpu: float) -> None:
    init_project(root, env)
    params = f"lr: 0.0\ncpu: {cpu}\nsalt: none\n"
    write(root, {"train.py": TRAIN, "params.yaml": params, "dvc.yaml": DVC_YAML})
    commit_all(root, "project", env)
    run(root, "dvc", "repro", "-q", env=env)
    commit_all(root, "baseline", env)


def experiment_count(root: Path, env: Mapping[str, str]) -> int:
    refs = run(root, "git", "for-each-ref", "--format=%(refname)", "refs/exps/", env=env)
    return sum(1 for ref in refs.splitlines() if ref.count("/") == 4 and "/exec/" not in ref)


def command(variant: str, values: list[str], name: str) -> list[str]:
    if variant == "loop":
        runs = "; ".join(
            f"dvc exp run -q -S lr={value} -S salt={name} -n {name}-{i}"
            for i, value in enumerate(values, 1)
        )
        return ["bash", "-c", f"set -e; {runs}"]
    jobs = variant.split()[1]
    sets = ["-S", "lr=" + ",".join(values), "-S", f"salt={name}"]
    return [sys.executable, "-m", "exp_ci", "run", "-q", *sets, "-j", jobs]


def timed(variant: str, root: Path, env: Mapping[str, str], values: list[str], name: str) -> float:
    args = command(variant, values, name)
    if variant != "loop":
        args += ["--name-prefix", name]
    before = experiment_count(root, env)
    start = time.perf_counter()
    completed = subprocess.run(args, cwd=root, env=dict(env), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if completed.returncode != 0:
        sys.exit(f"error: {variant} failed ({completed.returncode}):\n{completed.stderr}")
    made = experiment_count(root, env) - before
    if made != len(values):
        sys.exit(f"error: {variant} made {made} experiments, expected {len(values)}")
    if variant == "loop":  # the loop leaves its last experiment in the workspace
        run(root, "git", "reset", "--hard", "-q", env=env)
        run(root, "dvc", "checkout", "-q", "--force", env=env)
    return seconds


def stage_seconds(root: Path, env: Mapping[str, str], repeats: int) -> float:
    """Median wall time of the stage command alone (`python train.py`), as DVC runs it."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(["python", "train.py"], cwd=root, env=dict(env), check=True)
        times.append(time.perf_counter() - start)
    run(root, "git", "checkout", "-q", "--", ".", env=env)
    return statistics.median(times)


def measure(
    root: Path, env: Mapping[str, str], points: int, variants: tuple[str, ...], repeats: int
) -> dict[str, list[float]]:
    """Wall times of each variant, run in a rotating order (this machine's speed drifts
    over minutes: each round has every variant). A variant ending in `x2` runs twice the
    points."""
    times: dict[str, list[float]] = {variant: [] for variant in variants}
    for repeat in range(repeats):
        shift = repeat % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            name = f"{variant.replace(' ', '')}-{root.name}-r{repeat}"
            size = 2 * points if variant.endswith("x2") else points
            values = [f"{0.1 * i:.1f}" for i in range(1, size + 1)]
            seconds = timed(variant, root, env, values, name)
            times[variant].append(seconds)
            load = os.getloadavg()[0]  # the machine may be shared: each run says how busy
            print(
                f"  {root.name} {repeat + 1}: {variant:9} {seconds:6.2f} s  (load {load:.2f})",
                file=sys.stderr,
            )
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=8, help="experiments per variant")
    parser.add_argument("--cpu", type=float, default=1.0, help="CPU seconds of each training")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each variant")
    parser.add_argument(
        "--short-cpu", type=float, default=0.05, help="CPU seconds of the overhead run's step"
    )
    parser.add_argument("--markdown", action="store_true", help="print a markdown table too")
    args = parser.parse_args()
    cores = os.cpu_count() or 1

    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as folder:
        env = environment(Path(folder) / "home")
        root = Path(folder) / "long"
        short = Path(folder) / "short"
        build_project(root, env, args.cpu)
        build_project(short, env, args.short_cpu)
        load_before = os.getloadavg()
        times = measure(root, env, args.points, VARIANTS, args.repeats)
        short_times = measure(short, env, args.points, SHORT_VARIANTS, args.repeats)
        stage = stage_seconds(short, env, args.repeats)
        load_after = os.getloadavg()

    medians = {variant: statistics.median(values) for variant, values in times.items()}
    loop = medians["loop"]
    print(
        f"{args.points} experiments of {args.cpu:g} s CPU each, medians of {args.repeats} runs "
        f"per variant (rotating order); {cores} cores; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after; dvc "
        f"{run(REPO_ROOT, sys.executable, '-m', 'dvc', '--version').strip()}, Python "
        f"{platform.python_version()}"
    )
    targets = {"loop": "", "jobs 1": "≤ 0.75", "jobs 2": "≤ 0.40"}
    for variant in VARIANTS:
        runs = ", ".join(f"{t:.1f}" for t in times[variant])
        print(
            f"{variant:7} median {medians[variant]:6.2f} s  "
            f"({medians[variant] / loop:.2f} of the loop; target {targets[variant] or '-'})  "
            f"runs: {runs}"
        )
    # The machine's limit: every point's CPU seconds spread over all cores, nothing else.
    limit = args.points * args.cpu / min(cores, 2)
    print(
        f"machine's limit {limit:.2f} s ({args.points} x {args.cpu:g} s on {min(cores, 2)} "
        f"cores): --jobs 2 reaches {limit / medians['jobs 2']:.0%} of it"
    )
    overhead = {
        variant: statistics.median(short_times[variant]) / args.points - stage
        for variant in ("loop", "jobs 1")
    }
    print(
        f"per-experiment overhead ({args.short_cpu:g} s step; the step alone {stage:.2f} s): "
        f"--jobs 1 {overhead['jobs 1']:.2f} s (target ≤ 0.40), loop of `dvc exp run` "
        f"{overhead['loop']:.2f} s; --jobs 1 runs at "
        f"{stage / (stage + overhead['jobs 1']):.0%} of the one-core limit"
    )
    # The slope over N and 2N points: what each further experiment costs; the intercept:
    # what the sweep costs once, whatever its size.
    double_times = short_times["jobs 1 x2"]
    single, double = statistics.median(short_times["jobs 1"]), statistics.median(double_times)
    slope = (double - single) / args.points
    print(
        f"--jobs 1 over {args.points} and {2 * args.points} points: {single:.2f} s and "
        f"{double:.2f} s (runs: {', '.join(f'{t:.1f}' for t in double_times)}); each further "
        f"experiment {slope:.2f} s, an overhead of {slope - stage:.2f} s over the step; the "
        f"sweep's one-time start {single - args.points * slope:.2f} s"
    )
    if args.markdown:
        print("\n| Variant | Median wall time | Ratio to the loop | Target |")
        print("|---|---:|---:|---|")
        labels = {
            "loop": "shell loop of `dvc exp run -S`",
            "jobs 1": "`exp-ci run --jobs 1`",
            "jobs 2": "`exp-ci run --jobs 2`",
        }
        for variant in VARIANTS:
            print(
                f"| {labels[variant]} | {medians[variant]:.1f} s | "
                f"{medians[variant] / loop:.2f} | {targets[variant]} |"
            )


if __name__ == "__main__":
    main()
