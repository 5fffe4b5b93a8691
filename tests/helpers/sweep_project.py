"""A small real DVC project for sweep tests, with a bare `origin` and a shared DVC remote.

Its one stage trains in well under a second: `score = lr * 10 + depth`, a `model.txt`
output kept in the DVC cache, and a failure on purpose when `lr == fail_on`. The template
(origin.git and storage/) is built once per session; each test copies it and clones
`origin` as many times as it needs; every clone uses the test's `storage/` as its DVC
remote, as CI runners share a bucket.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from tests.helpers.project import commit_all, run, write

TRAIN = """\
import json, sys, yaml
p = yaml.safe_load(open("params.yaml"))
if p["lr"] == p["fail_on"]:
    print(f"training diverged at lr={p['lr']}", file=sys.stderr)
    sys.exit(3)
json.dump({"score": round(p["lr"] * 10 + p["depth"], 6)}, open("metrics.json", "w"))
open("model.txt", "w").write(f"lr={p['lr']} depth={p['depth']}\\n")
"""

PARAMS = "lr: 0.1\ndepth: 1\nfail_on: -1\n"

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [lr, depth, fail_on]
    outs: [model.txt]
    metrics:
      - metrics.json:
          cache: false
"""


def build_template(root: Path, env: Mapping[str, str]) -> Path:
    """origin.git and storage/ under `root` (once: a marker file says it is done)."""
    done = root / "built"
    if done.exists():
        return root
    work = root / "work"
    work.mkdir(parents=True)
    run(work, "git", "init", "-q", "-b", "main", env=env)
    run(work, "dvc", "init", "-q", env=env)
    (root / "storage").mkdir()
    # Relative to the current folder on the command line, stored relative to .dvc/.
    run(work, "dvc", "remote", "add", "-d", "storage", "../storage", env=env)
    write(work, {"train.py": TRAIN, "params.yaml": PARAMS, "dvc.yaml": DVC_YAML})
    commit_all(work, "project", env)
    run(work, "dvc", "repro", "-q", env=env)
    commit_all(work, "baseline", env)
    run(root, "git", "init", "-q", "--bare", "origin.git", env=env)
    run(work, "git", "push", "-q", str(root / "origin.git"), "main", env=env)
    run(work, "dvc", "push", "-q", env=env)
    done.write_text("")
    return root


def copy_template(template: Path, target: Path) -> Path:
    for name in ("origin.git", "storage"):
        shutil.copytree(template / name, target / name)
    return target


def clone(root: Path, name: str, env: Mapping[str, str], *, depth: int | None = None) -> Path:
    """A clone of `root/origin.git` at `root/name`, as a CI runner checks it out."""
    source = (root / "origin.git").as_uri() if depth else str(root / "origin.git")
    args = ["git", "clone", "-q"] + (["--depth", str(depth)] if depth else []) + [source, name]
    run(root, *args, env=env)
    # `dvc exp push` resolves a relative remote URL of the committed .dvc/config against the
    # file system's root (DVC 3.67), so each clone names the shared remote by absolute path.
    (root / name / ".dvc" / "config.local").write_text(
        f"['remote \"storage\"']\n    url = {root / 'storage'}\n"
    )
    return root / name


def head(repo: Path, env: Mapping[str, str]) -> str:
    return run(repo, "git", "rev-parse", "HEAD", env=env).strip()


def experiment_refs(repo: Path, env: Mapping[str, str], remote: str | None = None) -> dict:
    """Experiment ref -> commit, locally or on a remote (DVC's machinery refs left out)."""
    if remote:
        out = run(repo, "git", "ls-remote", remote, "refs/exps/*", env=env)
        pairs = [line.split("\t")[::-1] for line in out.splitlines()]
    else:
        out = run(repo, "git", "for-each-ref", "--format=%(refname)\t%(objectname)", env=env)
        pairs = [line.split("\t") for line in out.splitlines()]
    return {
        ref: sha
        for ref, sha in pairs
        if ref.startswith("refs/exps/") and ref.count("/") == 4 and "/exec/" not in ref
    }


def lock_md5(repo: Path, rev: str, path: str, env: Mapping[str, str]) -> str:
    """The md5 that the dvc.lock of commit `rev` records for output `path`."""
    import yaml

    lock = yaml.safe_load(run(repo, "git", "show", f"{rev}:dvc.lock", env=env))
    for out in lock["stages"]["train"]["outs"]:
        if out["path"] == path:
            return out["md5"]
    raise AssertionError(f"{path} not in the dvc.lock of {rev}")


def object_path(folder: Path, md5: str) -> Path:
    return folder / "files" / "md5" / md5[:2] / md5[2:]


def synthetic_experiment(
    repo: Path, env: Mapping[str, str], baseline: str, name: str, message: str = "exp"
) -> str:
    """An experiment commit on `baseline` made with Git plumbing (no DVC run), its ref set."""
    tree = run(repo, "git", "rev-parse", f"{baseline}^{{tree}}", env=env).strip()
    sha = run(repo, "git", "commit-tree", tree, "-p", baseline, "-m", message, env=env).strip()
    ref = f"refs/exps/{baseline[:2]}/{baseline[2:]}/{name}"
    run(repo, "git", "update-ref", ref, sha, env=env)
    return sha
