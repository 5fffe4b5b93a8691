"""What templating costs the reader: `exp-ci show -A` on a templated project against the
same project untemplated, with `dvc exp show --json -A` on both in the same run.

Two projects get the same N synthetic experiments (`tests.helpers.synthetic.sweep`: each
changes params.yaml and metrics.json). The untemplated one is `make_project`'s. The
templated one declares the same stage through `vars:` (a vars file, and params.yaml
loaded by default, so every experiment's templating differs), a metrics path made of a
var and a `foreach` over a list. exp-ci runs `--repeats` times per project (medians),
DVC `--dvc-repeats` times, cold (its `.dvc/tmp/exps/cache` deleted before each run, as in
a fresh CI clone). Values of both tools are compared for every revision.

    python benchmarks/bench_templated.py [--size 1000] [--repeats 5] [--dvc-repeats 1]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from bench_show import (  # noqa: E402
    canonical,
    describe_mismatch,
    dvc_command,
    dvc_values,
    exp_ci_values,
    format_ratio,
    run_timed,
    tool_env,
    versions,
)

from tests.helpers.synthetic import add_experiments, git, make_project, sweep  # noqa: E402

TEMPLATED_DVC_YAML = """\
vars:
  - cfg.yaml
stages:
  train:
    cmd: python -c "print(${train.lr}, ${train.epochs})"
    params:
      - train
      - seed
    metrics:
      - ${metrics_file}:
          cache: false
  eval:
    foreach: ${splits}
    do:
      cmd: echo ${item} ${train.lr}
      metrics:
        - eval/${item}.json:
            cache: false
"""
CFG_YAML = "metrics_file: metrics.json\nsplits: [val, test]\n"
EXP_CI_ALL = [sys.executable, "-m", "exp_ci", "show", "-A", "--format", "json"]


def make_templated(project: Path) -> str:
    make_project(project)
    (project / "dvc.yaml").write_text(TEMPLATED_DVC_YAML)
    (project / "cfg.yaml").write_text(CFG_YAML)
    (project / "eval").mkdir()
    for split in ("val", "test"):
        (project / "eval" / f"{split}.json").write_text('{"acc": 0.5}\n')
    git(project, "add", "-A")
    git(project, "commit", "-q", "--amend", "-m", "Baseline", timestamp=1_690_000_000)
    return git(project, "rev-parse", "HEAD")


def measure(project: Path, repeats: int, dvc_repeats: int, env: Mapping[str, str]):
    exp_ci_times, dvc_times = [], []
    exp_ci_output = dvc_output = ""
    dvc = [*dvc_command(env), "-A"]
    for index in range(max(repeats, dvc_repeats)):
        if index < dvc_repeats:
            shutil.rmtree(project / ".dvc" / "tmp" / "exps" / "cache", ignore_errors=True)
            seconds, dvc_output = run_timed(dvc, project, env)
            dvc_times.append(seconds)
        if index < repeats:
            seconds, exp_ci_output = run_timed(EXP_CI_ALL, project, env)
            exp_ci_times.append(seconds)
    expected, actual = dvc_values(dvc_output), exp_ci_values(exp_ci_output)
    if canonical(actual) != canonical(expected):
        print(f"{project.name}: values DISAGREE", *describe_mismatch(expected, actual), sep="\n")
        sys.exit(1)
    return statistics.median(exp_ci_times), statistics.median(dvc_times), len(actual)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000, help="experiments (default 1000)")
    parser.add_argument("--repeats", type=int, default=5, help="exp-ci runs (default 5)")
    parser.add_argument("--dvc-repeats", type=int, default=1, help="DVC runs (default 1)")
    args = parser.parse_args(argv)
    if min(args.size, args.repeats, args.dvc_repeats) < 1:
        sys.exit("error: --size, --repeats and --dvc-repeats must be positive")
    env = tool_env()
    print(
        f"# {versions(env)}; N={args.size}; exp-ci median of {args.repeats}, "
        f"dvc (cold) median of {args.dvc_repeats}",
        flush=True,
    )
    results = {}
    with tempfile.TemporaryDirectory(prefix="exp-ci-bench-templated-") as folder:
        for name, make in (("untemplated", make_project), ("templated", make_templated)):
            project = Path(folder) / name
            baseline = make(project)
            start = time.perf_counter()
            add_experiments(project, baseline, sweep(args.size))
            generated = time.perf_counter() - start
            ours, theirs, rows = measure(project, args.repeats, args.dvc_repeats, env)
            results[name] = ours
            print(
                f"{name:12} rows={rows}  exp-ci show -A: {ours:.2f} s  "
                f"dvc exp show --json -A: {theirs:.1f} s  "
                f"dvc/exp-ci {format_ratio(theirs / ours)}  values agree  "
                f"(generated in {generated:.2f} s)",
                flush=True,
            )
    ratio = results["templated"] / results["untemplated"]
    print(f"templated / untemplated (exp-ci): {ratio:.2f}x (target: at most 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
