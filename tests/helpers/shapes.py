"""DVC projects in the shapes real projects have, for agreement tests against `dvc exp show`.

Each shape is a dict of files (path -> text) committed as the baseline of a fresh Git+DVC
project (`build`); experiments are then added with Git plumbing (`tests.helpers.synthetic`),
so a project with dozens of experiments takes a second or two.

- `TEMPLATED`: `vars` (the default params.yaml, two vars files, one entry with a key
  selection, an inline mapping), a metrics path made of a param (`${train.project}/...`,
  as YOLO training repos have), `foreach` over a list and over a dict (with a templated
  `wdir`), `matrix`, and a params file named by a template.
- `dvc2_project`: files as DVC 2 wrote them (lock and `.dvc` entries without `hash: md5`,
  their objects in the old cache layout, a top-level metric tracked by a `.dvc` file,
  `checkpoint:` outputs, plots with `x`/`y`), with experiments run by DVC 3 beside them,
  one whose cached metric was never pulled, and lock files DVC 3 refuses (DVC 1's, an
  empty one, an unknown schema).
- `conflicted_merge`: a merge commit that kept Git's conflict markers in its `dvc.lock`,
  with an experiment that fixed the lock and one that did not.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from tests.helpers.synthetic import SyntheticExperiment, add_experiments, git, git_env

TEMPLATED_DVC_YAML = """\
vars:
  - config/extra.yaml:data
  - vars2.yaml
  - local_var: 7
stages:
  train:
    cmd: echo ${train.lr} ${local_var}
    params:
      - train.lr
    metrics:
      - ${train.project}/results.json:
          cache: false
  eval:
    foreach: ${models}
    do:
      cmd: echo ${item} ${thr}
      metrics:
        - ${out_dir}/${item}.json:
            cache: false
  grid:
    matrix:
      m: [x, y]
      k: [1, 2]
    cmd: echo ${item.m} ${item.k}
    params:
      - ${data.name}.yaml:
  regions:
    foreach:
      us: {n: 1}
      eu: {n: 2}
    do:
      wdir: sub_${key}
      cmd: echo ${item.n}
      metrics:
        - m.json:
            cache: false
"""

TEMPLATED: dict[str, str] = {
    "params.yaml": "train:\n  project: runs\n  lr: 0.1\nmodels: [a, b]\n",
    "config/extra.yaml": "data:\n  name: ds1\n  size: 3\nother: 5\n",
    "vars2.yaml": "out_dir: outs\nthr: 0.5\n",
    "dvc.yaml": TEMPLATED_DVC_YAML,
    "runs/results.json": '{"acc": 0.9}\n',
    "outs/a.json": '{"f": 1}\n',
    "outs/b.json": '{"f": 2}\n',
    "sub_us/m.json": '{"z": 3}\n',
    "ds1.yaml": "w: 1\n",
    "ds2.yaml": "w: 2\n",
}


def templated_experiments() -> list[SyntheticExperiment]:
    """Experiments that move what templating depends on: the metrics folder, the vars
    files, the list foreach iterates, the params file a template names."""
    return [
        SyntheticExperiment("lr", {"params.yaml": TEMPLATED["params.yaml"].replace("0.1", "0.3")}),
        SyntheticExperiment(
            "project",
            {
                "params.yaml": "train:\n  project: other\n  lr: 0.2\nmodels: [a, b]\n",
                "other/results.json": '{"acc": 0.95}\n',
            },
        ),
        SyntheticExperiment(
            "models", {"params.yaml": "train:\n  project: runs\n  lr: 0.1\nmodels: [a]\n"}
        ),
        SyntheticExperiment("thr", {"vars2.yaml": "out_dir: outs\nthr: 0.75\n"}),
        SyntheticExperiment(
            "dataset", {"config/extra.yaml": "data:\n  name: ds2\n  size: 3\nother: 5\n"}
        ),
        SyntheticExperiment("metric", {"outs/a.json": json.dumps({"f": 10})}),
        SyntheticExperiment(
            "broken-vars", {"vars2.yaml": "thr: 0.5\n"}
        ),  # `${out_dir}` no longer resolves: DVC and exp-ci both say so for that row
    ]


def build(path: Path, files: Mapping[str, str], subdir: str = "") -> str:
    """A fresh Git repository at `path` with `files` committed on `main` and a DVC project
    (`dvc init`, or `dvc init --subdir` in `subdir`); returns the commit's SHA."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    project = path / subdir if subdir else path
    project.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "dvc", "init", "-q", *(["--subdir"] if subdir else [])],
        cwd=project,
        env=git_env(),
        check=True,
        capture_output=True,
    )
    for name, text in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "Baseline", timestamp=1_690_000_000)
    return git(path, "rev-parse", "HEAD")


# --- DVC 2-era files, and dvc.lock files DVC 3 refuses ------------------------------------

DVC2_DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params:
      - lr
      - other.yaml:
          - depth
    outs:
      - model.pkl:
          checkpoint: true
    metrics:
      - metrics.json:
          cache: false
      - cached.json
    plots:
      - plots.csv:
          cache: false
          x: step
          y: acc
metrics:
  - eval.json
"""

TRAIN_SCRIPT = "print('trained')\n"


def md5_of(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def lock_entry(path: str, content: str, *, dvc3: bool) -> str:
    """One `outs`/`deps` entry of a dvc.lock, as DVC 3 (`hash: md5`) or DVC 2 writes it."""
    tag = "      hash: md5\n" if dvc3 else ""
    return f"    - path: {path}\n{tag}      md5: {md5_of(content)}\n      size: {len(content)}\n"


def dvc2_lock(lr: float, cached: str, *, dvc3: bool = False) -> str:
    """The dvc.lock of `DVC2_DVC_YAML`'s stage after a run with `lr` that wrote `cached`."""
    outs = "".join(
        lock_entry(path, content, dvc3=dvc3)
        for path, content in (
            ("cached.json", cached),
            ("metrics.json", "{}"),
            ("model.pkl", "model"),
            ("plots.csv", "step,acc"),
        )
    )
    return (
        "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    deps:\n"
        + lock_entry("train.py", TRAIN_SCRIPT, dvc3=dvc3)
        + f"    params:\n      params.yaml:\n        lr: {lr}\n      other.yaml:\n"
        "        depth: 3\n    outs:\n" + outs
    )


def dvc_file(path: str, content: str, *, dvc3: bool = False) -> str:
    """A `.dvc` file as `dvc add` writes it (DVC 2: no `hash: md5`)."""
    tag = "  hash: md5\n" if dvc3 else ""
    return f"outs:\n- md5: {md5_of(content)}\n  size: {len(content)}\n{tag}  path: {path}\n"


EVAL_V2 = '{"top": 3}\n'
EVAL_V3 = '{"top": 4}\n'
CACHED = {"base": '{"f1": 0.4}\n', "lr": '{"f1": 0.7}\n', "dvc3": '{"f1": 0.8}\n'}
NEVER_PULLED = '{"f1": 0.9}\n'  # recorded in a dvc.lock, not in the local cache

DVC2: dict[str, str] = {
    "dvc.yaml": DVC2_DVC_YAML,
    "params.yaml": "lr: 0.1\n",
    "other.yaml": "depth: 3\nunused: 1\n",
    "train.py": TRAIN_SCRIPT,
    "metrics.json": '{"auc": 0.5}\n',
    "plots.csv": "step,acc\n0,0.1\n",
    ".gitignore": "/cached.json\n/eval.json\n/model.pkl\n",
    "eval.json.dvc": dvc_file("eval.json", EVAL_V2),
    "dvc.lock": dvc2_lock(0.1, CACHED["base"]),
}

DVC1_LOCK = (
    "train:\n  cmd: python train.py\n  deps:\n  - path: train.py\n"
    f"    md5: {md5_of(TRAIN_SCRIPT)}\n  params:\n    params.yaml:\n      lr: 0.2\n  outs:\n"
    f"  - path: cached.json\n    md5: {md5_of(CACHED['base'])}\n"
)


def dvc2_experiments() -> list[SyntheticExperiment]:
    """Experiments of the DVC 2 baseline: one more DVC 2 run, a DVC 3 run (new entries and
    layout, the `.dvc` file added again), one whose cached metric was never pulled, and
    three whose dvc.lock DVC 3 refuses."""
    return [
        SyntheticExperiment(
            "lr",
            {
                "params.yaml": "lr: 0.3\n",
                "metrics.json": '{"auc": 0.6}\n',
                "dvc.lock": dvc2_lock(0.3, CACHED["lr"]),
            },
        ),
        SyntheticExperiment(
            "dvc3",
            {
                "params.yaml": "lr: 0.4\n",
                "metrics.json": '{"auc": 0.65}\n',
                "dvc.lock": dvc2_lock(0.4, CACHED["dvc3"], dvc3=True),
                "eval.json.dvc": dvc_file("eval.json", EVAL_V3, dvc3=True),
            },
        ),
        SyntheticExperiment(
            "not-pulled",
            {"params.yaml": "lr: 0.5\n", "dvc.lock": dvc2_lock(0.5, NEVER_PULLED)},
        ),
        SyntheticExperiment("dvc1-lock", {"params.yaml": "lr: 0.2\n", "dvc.lock": DVC1_LOCK}),
        SyntheticExperiment("empty-lock", {"dvc.lock": ""}),
        SyntheticExperiment("schema-3", {"dvc.lock": DVC2["dvc.lock"].replace("'2.0'", "'3.0'")}),
    ]


def dvc2_project(path: Path) -> str:
    """`DVC2` committed, its cached objects in the local cache (DVC 2's layout, and DVC 3's
    for the DVC 3 run), and `dvc2_experiments`; returns the baseline's SHA."""
    baseline = build(path, DVC2)
    cache = path / ".dvc" / "cache"
    objects = [(CACHED["base"], False), (CACHED["lr"], False), (EVAL_V2, False)]
    objects += [(CACHED["dvc3"], True), (EVAL_V3, True)]
    for content, dvc3 in objects:
        digest = md5_of(content)
        target = (cache / "files" / "md5" if dvc3 else cache) / digest[:2] / digest[2:]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    add_experiments(path, baseline, dvc2_experiments())
    return baseline


# --- a merge commit with a conflicted dvc.lock ----------------------------------------------

MERGE_DVC_YAML = (
    "stages:\n  train:\n    cmd: python train.py\n    params: [lr]\n    metrics:\n"
    "      - metrics.json:\n          cache: false\n"
)


def _merge_lock(lr: float) -> str:
    return (
        "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    params:\n"
        f"      params.yaml:\n        lr: {lr}\n    outs:\n"
        + lock_entry("metrics.json", str(lr), dvc3=True)
    )


def conflicted_merge(path: Path) -> str:
    """`main` and `feature` both rerun the stage; `main` merges `feature` and commits the
    dvc.lock with Git's conflict markers left in it. Two experiments of the merge commit:
    `fixed` (its dvc.lock resolved) and `still` (only a new metric). Returns the merge's SHA."""
    build(
        path,
        {
            "dvc.yaml": MERGE_DVC_YAML,
            "params.yaml": "lr: 0.1\n",
            "metrics.json": '{"auc": 0.5}\n',
            "dvc.lock": _merge_lock(0.1),
        },
    )
    for branch, lr, when in (("feature", 0.2, 100), ("main", 0.3, 200)):
        if branch == "feature":
            git(path, "checkout", "-q", "-b", "feature")
        else:
            git(path, "checkout", "-q", "main")
        (path / "params.yaml").write_text(f"lr: {lr}\n")
        (path / "dvc.lock").write_text(_merge_lock(lr))
        (path / "metrics.json").write_text(json.dumps({"auc": lr * 2}))
        git(path, "commit", "-q", "-am", f"{branch}: lr {lr}", timestamp=1_690_000_000 + when)
    subprocess.run(["git", "merge", "-q", "feature"], cwd=path, env=git_env(), capture_output=True)
    assert "<<<<<<<" in (path / "dvc.lock").read_text()  # the conflict, as Git leaves it
    (path / "params.yaml").write_text("lr: 0.25\n")
    (path / "metrics.json").write_text('{"auc": 0.55}\n')
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "Merge feature (dvc.lock conflicted)", timestamp=1_690_000_300)
    merge = git(path, "rev-parse", "HEAD")
    add_experiments(
        path,
        merge,
        [
            SyntheticExperiment(
                "fixed", {"dvc.lock": _merge_lock(0.25), "metrics.json": '{"auc": 0.8}\n'}
            ),
            SyntheticExperiment("still", {"metrics.json": '{"auc": 0.9}\n'}),
        ],
    )
    return merge
