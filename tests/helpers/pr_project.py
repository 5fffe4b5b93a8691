"""A pull request's CI checkout, as actions/checkout makes it: the merge commit.

`main` has committed metrics; the branch `tune-lr` changes params only (its author did not
run the pipeline); `main` moved on after the branch was made; CI checks out the merge of
the branch into `main` (first parent: main's tip), so HEAD's committed metrics are the
base's and only `dvc repro` shows what the pull request does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.project import commit_all, init_project, run, write

TRAIN = """\
import json, yaml
p = yaml.safe_load(open("params.yaml"))
lr, epochs = p["train"]["lr"], p["train"]["epochs"]
json.dump({"auc": round(0.5 + lr / 2, 6), "loss": {"val": round(1 - lr, 6)}},
          open("metrics.json", "w"))
json.dump({"acc": round(0.3 + epochs / 100, 6)}, open("scores.json", "w"))
with open("curve.tsv", "w") as f:
    f.write("step\\tloss\\n")
    for step in range(4):
        f.write(f"{step}\\t{round(1 - lr * step / 4, 6)}\\n")
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [train]
    metrics:
      - metrics.json:
          cache: false
      - scores.json:
          cache: false
    plots:
      - curve.tsv:
          cache: false
          x: step
          y: loss
"""


@dataclass(frozen=True)
class PullRequestCheckout:
    root: Path
    base: str  # main's tip: the event's pull_request.base.sha
    head: str  # the branch's tip: pull_request.head.sha
    merge: str  # HEAD: the merge commit


def build_pull_request_checkout(root: Path, env: Mapping[str, str]) -> PullRequestCheckout:
    init_project(root, env)
    write(
        root,
        {
            "train.py": TRAIN,
            "params.yaml": "train:\n  lr: 0.1\n  epochs: 3\n  optimizer: sgd\n",
            "dvc.yaml": DVC_YAML,
        },
    )
    run(root, "dvc", "repro", "-q", env=env)
    commit_all(root, "the model, with its metrics", env)
    run(root, "git", "checkout", "-q", "-b", "tune-lr", env=env)
    write(root, {"params.yaml": "train:\n  lr: 0.3\n  epochs: 5\n  optimizer: sgd\n"})
    head = commit_all(root, "tune the learning rate", env)
    run(root, "git", "checkout", "-q", "main", env=env)
    write(root, {"README.md": "# the model\n"})
    base = commit_all(root, "docs", env)
    run(root, "git", "checkout", "-q", "--detach", base, env=env)
    run(root, "git", "merge", "-q", "--no-ff", "-m", f"Merge {head} into {base}", head, env=env)
    merge = run(root, "git", "rev-parse", "HEAD", env=env).strip()
    return PullRequestCheckout(root, base, head, merge)


def pull_request_payload(checkout: PullRequestCheckout) -> dict:
    """The `pull_request` event as GitHub sends it, reduced to what exp-ci reads."""
    return {
        "action": "synchronize",
        "number": 7,
        "pull_request": {
            "number": 7,
            "base": {"sha": checkout.base, "ref": "main", "repo": {"full_name": "octo/models"}},
            "head": {"sha": checkout.head, "ref": "tune-lr", "repo": {"full_name": "octo/models"}},
        },
        "repository": {"full_name": "octo/models"},
    }
