"""DVC projects in the shapes real projects have, for agreement tests against `dvc exp show`.

Each shape is a dict of files (path -> text) committed as the baseline of a fresh Git+DVC
project (`build`); experiments are then added with Git plumbing (`tests.helpers.synthetic`),
so a project with dozens of experiments takes a second or two.

- `TEMPLATED`: `vars` (the default params.yaml, two vars files, one entry with a key
  selection, an inline mapping), a metrics path made of a param (`${train.project}/...`,
  as YOLO training repos have), `foreach` over a list and over a dict (with a templated
  `wdir`), `matrix`, and a params file named by a template.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from tests.helpers.synthetic import SyntheticExperiment, git, git_env

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
