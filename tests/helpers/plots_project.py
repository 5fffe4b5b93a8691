"""A real DVC project with a history on `main`, DVC plots, and experiments with curves.

History of `main` (first parent, oldest first) and its `auc` in `metrics.json`:

    skeleton      no metrics file yet            -> gap
    second        0.61
    merge side    0.65  (the side branch had 0.99, then 0.65; only the merge is on main)
    broken        metrics.json does not parse    -> gap
    baseline      0.7   (HEAD; DVCLive-style plots and the experiments' baseline)

Plots: top-level `dvclive/plots/metrics` (x: step) holding `acc.tsv`, `eval/loss.tsv`,
`train/loss.tsv`; stage plots `plots/roc.csv` (x: fpr, y: tpr) and `plots/lr.json` (x:
epoch, y: lr, records nested in a mapping). Experiments of the baseline (fabricated with
Git plumbing, which `dvc exp show` lists like any other): `fast-lr` (the winner, auc 0.8,
120 training steps against the baseline's 60), `slow-lr` (0.75), `no-auc` (no auc) and
one whose name carries quotes, brackets, `;`, `%%` and backticks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

from tests.helpers.project import commit_all, init_project, run, write
from tests.helpers.synthetic import SyntheticExperiment, add_experiments

HOSTILE_NAME = 'x"];%%{init}%%`y`<b>'

DVC_YAML = """\
stages:
  train:
    cmd: python -c "print('trained')"
    params: [train]
    metrics:
      - metrics.json:
          cache: false
    plots:
      - plots/roc.csv:
          cache: false
          x: fpr
          y: tpr
      - plots/lr.json:
          cache: false
          x: epoch
          y: lr
plots:
  - dvclive/plots/metrics:
      x: step
"""


def loss_tsv(steps: int, start: float, rate: float) -> str:
    rows = ["timestamp\tstep\tloss"]
    for step in range(steps):
        loss = start * math.exp(-rate * step) + 0.05 * math.sin(step)
        rows.append(f"{1_700_000_000 + step}\t{step}\t{round(loss, 6)}")
    return "\n".join(rows) + "\n"


def acc_tsv(steps: int, top: float) -> str:
    rows = ["step\tacc"] + [
        f"{step}\t{round(top * (1 - math.exp(-step / 15)), 6)}" for step in range(steps)
    ]
    return "\n".join(rows) + "\n"


def plot_files(steps: int, rate: float, top: float) -> dict[str, str]:
    return {
        "dvclive/plots/metrics/train/loss.tsv": loss_tsv(steps, 1.0, rate),
        "dvclive/plots/metrics/eval/loss.tsv": loss_tsv(steps, 1.2, rate * 0.8),
        "dvclive/plots/metrics/acc.tsv": acc_tsv(steps, top),
        "plots/roc.csv": "fpr,tpr\n0,0\n0.1,0.5\n0.3,0.8\n1,1\n",
        "plots/lr.json": json.dumps(
            {"schedule": [{"epoch": e, "lr": round(0.1 * 0.9**e, 6)} for e in range(5)]}
        ),
    }


def metrics(auc: float) -> str:
    return json.dumps({"auc": auc, "loss": round(1 - auc, 6)})


def build_plots_project(root: Path, env: Mapping[str, str]) -> dict[str, str]:
    """Build the project at `root`; returns the commits by name (see the module docstring)."""
    init_project(root, env)
    write(root, {"params.yaml": "train:\n  lr: 0.1\n", "dvc.yaml": DVC_YAML})
    shas = {"skeleton": commit_all(root, "skeleton", env)}
    write(root, {"metrics.json": metrics(0.61)})
    shas["second"] = commit_all(root, "second", env)
    run(root, "git", "checkout", "-q", "-b", "side", env=env)
    write(root, {"metrics.json": metrics(0.99)})
    shas["side-1"] = commit_all(root, "side 1", env)
    write(root, {"metrics.json": metrics(0.65), "notes.txt": "side\n"})
    shas["side-2"] = commit_all(root, "side 2", env)
    run(root, "git", "checkout", "-q", "main", env=env)
    write(root, {"README.md": "project\n"})
    commit_all(root, "readme", env)  # so the merge below is a real merge commit
    run(root, "git", "merge", "-q", "--no-ff", "-m", "merge side", "side", env=env)
    shas["merge"] = run(root, "git", "rev-parse", "HEAD", env=env).strip()
    write(root, {"metrics.json": '{"auc": [unclosed'})
    shas["broken"] = commit_all(root, "broken", env)
    write(root, {"metrics.json": metrics(0.7), **plot_files(60, 0.04, 0.8)})
    shas["baseline"] = commit_all(root, "baseline", env)

    experiments = [
        SyntheticExperiment(
            "slow-lr",
            {"params.yaml": "train:\n  lr: 0.05\n", "metrics.json": metrics(0.75)},
        ),
        SyntheticExperiment(
            "fast-lr",
            {
                "params.yaml": "train:\n  lr: 0.3\n",
                "metrics.json": metrics(0.8),
                **plot_files(120, 0.08, 0.9),
            },
        ),
        SyntheticExperiment(
            "no-auc",
            {"params.yaml": "train:\n  lr: 0.2\n", "metrics.json": json.dumps({"loss": 0.3})},
        ),
        SyntheticExperiment(
            HOSTILE_NAME,
            {"params.yaml": "train:\n  lr: 0.15\n", "metrics.json": metrics(0.72)},
        ),
    ]
    for experiment, sha in zip(
        experiments, add_experiments(root, shas["baseline"], experiments), strict=True
    ):
        shas[experiment.name] = sha
    return shas


def plots_project(base: Path, env: Mapping[str, str]) -> tuple[Path, dict[str, str]]:
    """The project under `base`, built on first use (test modules share it read-only)."""
    root = base / "plots-project" / "project"
    marker = root.parent / "shas.json"
    if not marker.exists():
        shas = build_plots_project(root, env)
        marker.write_text(json.dumps(shas))
    return root, json.loads(marker.read_text())
