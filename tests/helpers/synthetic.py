"""Fabricate DVC experiments quickly, with Git plumbing instead of `dvc exp run`.

A DVC 3 experiment is an ordinary commit whose parent is its baseline commit, referenced by
`refs/exps/<baseline[:2]>/<baseline[2:]>/<name>`. `dvc exp show` lists any such commit like
an experiment it ran itself, so tests and benchmarks can create a thousand experiments in a
second or two: one `git fast-import` process writes every blob, commit and ref.

Typical use::

    baseline = make_project(tmp_path)
    shas = add_experiments(tmp_path, baseline, sweep(100))

Every Git call runs with `GIT_CONFIG_NOSYSTEM=1`, an empty global config and a fixed
identity (see `git_env`), so results never depend on the machine's configuration. Commit
dates are fixed too and increase by one second per experiment, so the order of experiments
and every commit SHA are deterministic.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "SyntheticExperiment",
    "add_experiments",
    "exp_ref",
    "git",
    "git_env",
    "make_project",
    "metrics_json",
    "params_yaml",
    "sweep",
]

AUTHOR_NAME = "exp-ci tests"
AUTHOR_EMAIL = "tests@exp-ci.invalid"
# Date of the baseline commit made by `make_project`; experiments default to later dates.
BASELINE_TIME = 1_690_000_000

# The baseline's values, as read back by DVC:
#   params.yaml: train.lr 0.1, train.epochs 10, seed 7
#   metrics.json: auc 0.5, loss.train 0.25, loss.val 0.2
BASELINE_LR = 0.1
BASELINE_EPOCHS = 10
BASELINE_SEED = 7
BASELINE_AUC = 0.5
BASELINE_LOSS_TRAIN = 0.25
BASELINE_LOSS_VAL = 0.2

DVC_YAML = """\
stages:
  train:
    cmd: python -c "print('training')"
    params:
      - train
      - seed
    metrics:
      - metrics.json:
          cache: false
"""


@dataclass(frozen=True)
class SyntheticExperiment:
    """One experiment to fabricate: its name and the files it changes.

    `files` maps repo-relative POSIX paths to their full new text content; every other file
    is the baseline's.
    """

    name: str
    files: Mapping[str, str]


def git_env(timestamp: int | None = None) -> dict[str, str]:
    """The environment for Git (and DVC) calls: isolated config, fixed identity and dates."""
    env = dict(os.environ)
    env.update(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_AUTHOR_NAME": AUTHOR_NAME,
            "GIT_AUTHOR_EMAIL": AUTHOR_EMAIL,
            "GIT_COMMITTER_NAME": AUTHOR_NAME,
            "GIT_COMMITTER_EMAIL": AUTHOR_EMAIL,
            "GIT_TERMINAL_PROMPT": "0",
            "DVC_NO_ANALYTICS": "1",
        }
    )
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    env.pop("GIT_INDEX_FILE", None)
    if timestamp is not None:
        date = f"@{timestamp} +0000"
        env["GIT_AUTHOR_DATE"] = date
        env["GIT_COMMITTER_DATE"] = date
    return env


def git(repo: Path, *args: str, stdin: bytes | None = None, timestamp: int | None = None) -> str:
    """Run `git <args>` in `repo` with `git_env`; return its stripped standard output."""
    completed = subprocess.run(
        ["git", *args],
        cwd=repo,
        env=git_env(timestamp),
        input=stdin,
        check=True,
        capture_output=True,
    )
    return completed.stdout.decode().strip()


def exp_ref(baseline: str, name: str) -> str:
    """The ref DVC 3 uses for experiment `name` of the (full, 40-hex) `baseline` commit."""
    if len(baseline) != 40:
        raise ValueError(f"baseline must be a full 40-character SHA, got {baseline!r}")
    return f"refs/exps/{baseline[:2]}/{baseline[2:]}/{name}"


def params_yaml(lr: float, epochs: int, seed: int) -> str:
    """`params.yaml` text with nested `train.lr`, `train.epochs` and top-level `seed`."""
    # repr() is the shortest text that reads back as the same float; callers keep `lr` at or
    # above 1e-4 so it never uses an exponent, which YAML 1.1 readers would take for a string.
    return f"train:\n  lr: {lr!r}\n  epochs: {epochs}\nseed: {seed}\n"


def metrics_json(auc: float, loss_train: float, loss_val: float) -> str:
    """`metrics.json` text with `auc` and nested `loss.train`, `loss.val`."""
    document = {"auc": auc, "loss": {"train": loss_train, "val": loss_val}}
    return json.dumps(document, indent=2) + "\n"


def make_project(path: Path) -> str:
    """Create a small committed DVC project in `path` (made if missing); return its SHA.

    The project is a Git repository on branch `main` with `dvc init`, a `params.yaml`
    (`train.lr`, `train.epochs`, `seed`), a `dvc.yaml` with one stage `train` declaring
    `params: [train, seed]` and the uncached metrics file `metrics.json`, and that file.
    """
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    subprocess.run(
        [sys.executable, "-m", "dvc", "init", "-q"],
        cwd=path,
        env=git_env(),
        check=True,
        capture_output=True,
    )
    (path / "params.yaml").write_text(params_yaml(BASELINE_LR, BASELINE_EPOCHS, BASELINE_SEED))
    (path / "dvc.yaml").write_text(DVC_YAML)
    metrics = metrics_json(BASELINE_AUC, BASELINE_LOSS_TRAIN, BASELINE_LOSS_VAL)
    (path / "metrics.json").write_text(metrics)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "Baseline", timestamp=BASELINE_TIME)
    return git(path, "rev-parse", "HEAD")


def _data(payload: bytes) -> bytes:
    """A fast-import `data` command holding `payload` (exact byte count, no delimiter)."""
    return b"data %d\n%s\n" % (len(payload), payload)


def _fast_import_stream(
    baseline: str, experiments: Sequence[SyntheticExperiment], start_time: int
) -> bytes:
    identity = f"{AUTHOR_NAME} <{AUTHOR_EMAIL}>".encode()
    chunks: list[bytes] = []
    for index, experiment in enumerate(experiments):
        when = b"%d +0000" % (start_time + index)
        chunks.append(b"commit %s\n" % exp_ref(baseline, experiment.name).encode())
        chunks.append(b"mark :%d\n" % (index + 1))
        chunks.append(b"author %s %s\n" % (identity, when))
        chunks.append(b"committer %s %s\n" % (identity, when))
        chunks.append(_data(f"Synthetic experiment {experiment.name}".encode()))
        chunks.append(b"from %s\n" % baseline.encode())
        for file_path, content in sorted(experiment.files.items()):
            if "\n" in file_path or file_path.startswith('"'):
                raise ValueError(f"unsupported path for fast-import: {file_path!r}")
            chunks.append(b"M 100644 inline %s\n" % file_path.encode())
            chunks.append(_data(content.encode()))
        chunks.append(b"\n")
    chunks.append(b"done\n")
    return b"".join(chunks)


def add_experiments(
    repo: Path,
    baseline: str,
    experiments: Sequence[SyntheticExperiment],
    start_time: int = 1_700_000_000,
) -> list[str]:
    """Write `experiments` as DVC experiments of `baseline`; return their commit SHAs.

    Each experiment becomes a commit whose parent is `baseline` and whose tree is the
    baseline's with `files` replaced, dated `start_time + index` seconds (UTC), referenced by
    `exp_ref(baseline, name)`. An existing ref of the same name is overwritten. One
    `git fast-import` process writes everything; the work tree and index are not touched.
    """
    baseline = git(repo, "rev-parse", "--verify", f"{baseline}^{{commit}}")
    names = [experiment.name for experiment in experiments]
    if len(set(names)) != len(names):
        raise ValueError("experiment names must be unique")
    if not experiments:
        return []
    stream = _fast_import_stream(baseline, experiments, start_time)
    with tempfile.TemporaryDirectory(prefix="exp-ci-synthetic-") as folder:
        marks = Path(folder) / "marks"
        git(
            repo,
            "fast-import",
            "--quiet",
            "--force",
            "--done",
            f"--export-marks={marks}",
            stdin=stream,
        )
        by_mark: dict[int, str] = {}
        for line in marks.read_text().splitlines():
            mark, sha = line.split()
            by_mark[int(mark.lstrip(":"))] = sha
    return [by_mark[index + 1] for index in range(len(experiments))]


def sweep(n: int, seed: int = 0) -> list[SyntheticExperiment]:
    """`n` deterministic experiments named `syn-00000`, `syn-00001`, ...

    Each changes `params.yaml` (`train.lr` in [0.001, 0.1] to 4 decimals, `train.epochs` in
    [1, 50], `seed` kept at the baseline's) and `metrics.json` (`auc`, `loss.train` and
    `loss.val`, 4 decimals). The same `n` and `seed` always give the same experiments.
    """
    rng = random.Random(seed)
    experiments: list[SyntheticExperiment] = []
    for index in range(n):
        lr = round(rng.uniform(0.001, 0.1), 4)
        epochs = rng.randint(1, 50)
        auc = round(rng.uniform(0.5, 0.99), 4)
        loss_val = round(rng.uniform(0.05, 1.0), 4)
        loss_train = round(loss_val * rng.uniform(0.5, 1.0), 4)
        files = {
            "params.yaml": params_yaml(lr, epochs, BASELINE_SEED),
            "metrics.json": metrics_json(auc, loss_train, loss_val),
        }
        experiments.append(SyntheticExperiment(name=f"syn-{index:05d}", files=files))
    return experiments
