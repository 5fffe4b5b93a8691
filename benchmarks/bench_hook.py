"""Time `exp-ci-check-pushed` against `dvc status -c` and `dvc push` on a large directory.

Builds, in a temporary folder, a DVC project whose `data/` directory holds N small files
(default 20,000) tracked by `data.dvc`, pushed to a local DVC remote and to a bare Git
`origin`. Then commit B adds one file to the directory (its data pushed too) and commit C
changes only README.md; neither is on `origin` yet. Measured, in rounds so that every
command sees the same machine state, `--repeats` times each (medians):

- hook cold: the pre-push check of B (`PRE_COMMIT_FROM_REF`=origin's main,
  `PRE_COMMIT_TO_REF`=B) with its index deleted first, so every object of the directory is
  asked of the remote: what a fresh clone sees;
- hook incremental: the same push, the index filled by the push of the first commit only:
  B's new manifest and new file are asked, the 20,000 others are known;
- hook warm: the same push again, its DVC file versions checked before;
- hook, no DVC change: the push of C alone;
- `dvc status -c`: DVC's comparison of the workspace with the remote;
- `dvc push`: what DVC's own pre-push hook runs (here: nothing left to push).

The hook runs as users install it and pre-commit runs it: this checkout is built into a
wheel and installed (not editable) in a new virtual environment, whose console script
runs in a new process, with no arguments, in the project's folder. That environment finds
exp-ci's dependencies (DVC, for the cold and incremental checks) in the running Python's
site-packages, named by a `.pth` line after its own. Every command runs with Python's
bytecode cache allowed (PYTHONDONTWRITEBYTECODE unset), as installed tools run on a
user's machine. Each row gives the median and the best run.

`--before PATH` also times the warm and the no-DVC-change pushes with the exp-ci of
another checkout (say, `git worktree add PATH REV`, run through PYTHONPATH by the same
console script), in the same rounds, so a change is measured against the same machine
state.

    python benchmarks/bench_hook.py [--files 20000] [--repeats 5] [--markdown] [--before PATH]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.helpers.project import environment  # noqa: E402

BIN = Path(sys.executable).parent
DVC = str(BIN / "dvc")


def run(cwd: Path, env: Mapping[str, str], *args: str) -> str:
    result = subprocess.run(list(args), cwd=cwd, env=dict(env), capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result.stdout


def timed(cwd: Path, env: Mapping[str, str], *args: str) -> float:
    start = time.perf_counter()
    run(cwd, env, *args)
    return time.perf_counter() - start


def commit(root: Path, env: Mapping[str, str], message: str) -> str:
    run(root, env, "git", "add", "-A")
    run(root, env, "git", "commit", "-q", "-m", message)
    return run(root, env, "git", "rev-parse", "HEAD").strip()


def build(folder: Path, files: int, env: Mapping[str, str]) -> tuple[Path, dict[str, str]]:
    """The project; returns its root and the commits {first, data, docs}."""
    root = folder / "project"
    data = root / "data"
    data.mkdir(parents=True)
    run(root, env, "git", "init", "-q", "-b", "main")
    run(root, env, "dvc", "init", "-q")
    run(folder, env, "git", "init", "-q", "--bare", "origin.git")
    run(root, env, "git", "remote", "add", "origin", "../origin.git")
    (folder / "storage").mkdir()
    run(root, env, "dvc", "remote", "add", "-d", "storage", "../storage")
    width = len(str(files))
    for number in range(files):
        (data / f"sample-{number:0{width}d}.txt").write_bytes(b"sample %d\n" % number)
    run(root, env, "dvc", "add", "-q", "data")
    first = commit(root, env, "data")
    run(root, env, "dvc", "push", "-q")
    run(root, env, "git", "push", "-q", "-u", "origin", "main")
    (data / "extra.txt").write_text("one more sample\n")
    run(root, env, "dvc", "add", "-q", "data")
    second = commit(root, env, "one more sample")
    run(root, env, "dvc", "push", "-q")
    (root / "README.md").write_text("docs\n")
    docs = commit(root, env, "docs only")
    return root, {"first": first, "data": second, "docs": docs}


def install(folder: Path, env: Mapping[str, str]) -> str:
    """This checkout installed from a wheel into a new virtual environment; its hook's
    console script. The environment's `.pth` line makes this Python's packages (DVC and the
    rest) importable after its own."""
    import sysconfig

    wheels, venv = folder / "wheels", folder / "venv"
    pip_wheel = ["-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    run(REPO_ROOT, env, sys.executable, *pip_wheel, "-w", str(wheels), str(REPO_ROOT))
    run(folder, env, sys.executable, "-m", "venv", str(venv))
    python = str(venv / "bin" / "python")
    (wheel,) = wheels.glob("exp_ci-*.whl")
    run(folder, env, python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel))
    purelib = run(
        folder, env, python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"
    )
    deps = sysconfig.get_path("purelib")
    (Path(purelib.strip()) / "exp_ci_bench_deps.pth").write_text(f"{deps}\n")
    return str(venv / "bin" / "exp-ci-check-pushed")


def pre_push(env: Mapping[str, str], from_ref: str, to_ref: str) -> dict[str, str]:
    """The environment pre-commit gives a pre-push hook for `git push origin main`."""
    return {
        **env,
        "PRE_COMMIT": "1",
        "PRE_COMMIT_FROM_REF": from_ref,
        "PRE_COMMIT_TO_REF": to_ref,
        "PRE_COMMIT_REMOTE_NAME": "origin",
        "PRE_COMMIT_REMOTE_URL": "../origin.git",
        "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main",
        "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main",
    }


def measure(
    root: Path,
    commits: Mapping[str, str],
    env: Mapping[str, str],
    hook: str,
    repeats: int,
    before: Path | None = None,
) -> dict[str, list[float]]:
    index = root / ".dvc" / "tmp" / "exp-ci"
    push_data = pre_push(env, commits["first"], commits["data"])
    push_first = pre_push(env, "0" * 40, commits["first"])
    push_docs = pre_push(env, commits["data"], commits["docs"])

    def forget() -> None:
        shutil.rmtree(index, ignore_errors=True)

    def learn_first_push() -> None:
        forget()
        run(root, {**push_first, "PRE_COMMIT_REMOTE_NAME": "nowhere"}, hook)

    steps: list[tuple[str, Callable[[], None], Mapping[str, str], list[str]]] = [
        ("hook cold", forget, push_data, [hook]),
        ("hook incremental", learn_first_push, push_data, [hook]),
        ("hook warm", lambda: None, push_data, [hook]),
        ("hook, no DVC change", lambda: None, push_docs, [hook]),
        ("dvc status -c", lambda: None, env, [DVC, "status", "-c", "-q"]),
        ("dvc push", lambda: None, env, [DVC, "push", "-q"]),
    ]
    if before is not None:
        old = {"PYTHONPATH": str(before)}

        def learn_before() -> None:  # its memory may be kept elsewhere than today's
            run(root, {**push_data, **old}, hook)

        steps[3:3] = [
            ("hook warm, before", learn_before, {**push_data, **old}, [hook]),
            ("hook, no DVC change, before", lambda: None, {**push_docs, **old}, [hook]),
        ]
    times: dict[str, list[float]] = {name: [] for name, *_ in steps}
    run(root, env, DVC, "status", "-c", "-q")  # DVC's own hash cache, as on a used machine
    for _ in range(repeats):
        for name, prepare, step_env, command in steps:
            prepare()
            times[name].append(timed(root, step_env, *command))
    return times


def ratio(slow: float, fast: float) -> str:
    value = slow / fast
    return f"{value:.1f}x" if value < 9.95 else f"{value:.0f}x"


def report(times: Mapping[str, list[float]], markdown: bool) -> str:
    """Median and best of each command; ratios of medians, and of bests for the warm check."""
    median = {name: statistics.median(values) for name, values in times.items()}
    best = {name: min(values) for name, values in times.items()}
    status, push = median["dvc status -c"], median["dvc push"]
    labels = {
        "hook cold": ("hook cold (no index)", "dvc status -c"),
        "hook incremental": ("hook incremental (1 new file)", "dvc push"),
        "hook warm": ("hook warm (checked before)", "dvc push"),
        "hook warm, before": ("hook warm, --before", "dvc push"),
        "hook, no DVC change": ("hook, push without DVC change", "dvc push"),
        "hook, no DVC change, before": ("hook, no DVC change, --before", "dvc push"),
        "dvc status -c": ("dvc status -c", None),
        "dvc push": ("dvc push (nothing to push)", None),
    }
    rows = []
    for name, (label, against) in labels.items():
        if name not in times:
            continue
        note = ""
        if against is not None:
            reference = status if against == "dvc status -c" else push
            note = f"{ratio(reference, median[name])} vs {against}"
            if name.startswith("hook warm"):
                note += f" (best: {ratio(best['dvc push'], best[name])})"
        rows.append((label, median[name], best[name], note))
    if markdown:
        lines = ["| Command | Median | Best | Ratio |", "|---|---:|---:|---:|"]
        lines += [f"| {n} | {m:.3f} s | {b:.3f} s | {note} |" for n, m, b, note in rows]
    else:
        lines = [f"{n:32} {m:7.3f} s  best {b:7.3f} s   {note}" for n, m, b, note in rows]
    return "\n".join(lines)


def versions(env: Mapping[str, str]) -> str:
    dvc = run(REPO_ROOT, env, DVC, "--version").strip()
    git = run(REPO_ROOT, env, "git", "--version").strip()
    return f"dvc {dvc}, {git}, Python {platform.python_version()}, {os.cpu_count()} CPUs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000, help="files in data/ (20000)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per command (5)")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument(
        "--before",
        type=Path,
        metavar="PATH",
        help="also time the warm and no-DVC-change pushes with the exp-ci of this checkout",
    )
    args = parser.parse_args(argv)
    if args.files < 1 or args.repeats < 1:
        sys.exit("error: --files and --repeats must be positive")
    with tempfile.TemporaryDirectory(prefix="exp-ci-bench-hook-") as folder:
        env = environment(Path(folder) / "home")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.pop("PYTHONPATH", None)  # the installed exp-ci, not a checkout on the path
        print(f"# {versions(env)}", flush=True)
        hook = install(Path(folder), env)
        start = time.perf_counter()
        root, commits = build(Path(folder), args.files, env)
        print(
            f"# data/ of {args.files + 1} files, pushed to a local DVC remote "
            f"(built in {time.perf_counter() - start:.0f} s); {args.repeats} runs each",
            flush=True,
        )
        print(f"# load average (1, 5, 15 min) before: {os.getloadavg()}", flush=True)
        times = measure(root, commits, env, hook, args.repeats, args.before)
        print(f"# load average after: {os.getloadavg()}", flush=True)
        print(report(times, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
