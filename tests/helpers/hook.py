"""A DVC project whose data is all pushed, for the `exp-ci-check-pushed` tests.

Built once per module and copied into each test: Git history on `main`, pushed to a bare
`origin`; a 1,000-file directory tracked by `images.dvc`; a pipeline whose `dvc.lock` records
a cached output (`model.pkl`), a `push: false` output and a `cache: false` metrics file; a
local folder as the default DVC remote, reached through relative paths so copies stay
self-contained.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Mapping
from pathlib import Path

from tests.helpers.project import commit_all, run, write

IMAGES = 1000

TRAIN = """\
seed = open("seed.txt").read().strip()
open("model.pkl", "w").write(f"model trained with seed {seed}\\n")
open("scratch.bin", "w").write(f"scratch {seed}\\n")
open("metrics.json", "w").write('{"auc": 0.5}\\n')
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py, seed.txt]
    outs:
      - model.pkl
      - scratch.bin:
          push: false
    metrics:
      - metrics.json:
          cache: false
"""

ZERO = "0" * 40


def build_pushed_project(root: Path, env: Mapping[str, str]) -> str:
    """The project at `root` (origin and storage beside it), everything pushed; main's SHA."""
    root.mkdir(parents=True)
    run(root, "git", "init", "-q", "-b", "main", env=env)
    run(root, "dvc", "init", "-q", env=env)
    run(root.parent, "git", "init", "-q", "--bare", f"{root.name}-origin.git", env=env)
    run(root, "git", "remote", "add", "origin", f"../{root.name}-origin.git", env=env)
    (root.parent / f"{root.name}-storage").mkdir()
    run(root, "dvc", "remote", "add", "-d", "storage", f"../{root.name}-storage", env=env)
    write(root, {f"images/img-{i:04d}.txt": f"image {i}\n" for i in range(IMAGES)})
    write(root, {"train.py": TRAIN, "dvc.yaml": DVC_YAML, "seed.txt": "1\n"})
    run(root, "dvc", "add", "-q", "images", env=env)
    run(root, "dvc", "repro", "-q", env=env)
    sha = commit_all(root, "data and pipeline", env)
    run(root, "dvc", "push", "-q", env=env)
    run(root, "git", "push", "-q", "-u", "origin", "main", env=env)
    return sha


def copy_project(source: Path, destination: Path) -> Path:
    """A private copy of the project and its siblings (origin, storage)."""
    for sibling in source.parent.iterdir():
        if sibling.name.startswith(source.name):
            shutil.copytree(sibling, destination / sibling.name, symlinks=True)
    return destination / source.name


def storage_of(root: Path) -> Path:
    return root.parent / f"{root.name}-storage"


def md5(content: str | bytes) -> str:
    data = content.encode() if isinstance(content, str) else content
    return hashlib.md5(data).hexdigest()


def object_path(base: Path, digest: str, *, legacy: bool = False) -> Path:
    """Where DVC keeps an object under a cache or remote folder (DVC 3, or DVC 2 layout)."""
    folder = base if legacy else base / "files" / "md5"
    return folder / digest[:2] / digest[2:]


def pre_push_env(from_sha: str, to_sha: str, remote: str = "origin") -> dict[str, str]:
    """What pre-commit's pre-push hook passes to hooks for `git push REMOTE main`."""
    return {
        "PRE_COMMIT": "1",
        "PRE_COMMIT_FROM_REF": from_sha,
        "PRE_COMMIT_TO_REF": to_sha,
        "PRE_COMMIT_REMOTE_NAME": remote,
        "PRE_COMMIT_REMOTE_URL": f"../{remote}.git",
        "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main",
        "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main",
    }
