"""The DVC remote of a sweep test read as what it holds, never through DVC: a local
folder's files or an S3 bucket's keys (moto), and the refs on origin that lack data there.

The kill tests and the scale test judge "no ref on origin without its data" with this:
the objects each ref's dvc.lock records for cached outputs (a directory: its manifest's
files too), looked up in the remote's own listing.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.helpers.project import run
from tests.helpers.s3 import S3


def origin_refs(repo: Path, env) -> dict[str, str]:
    """Ref -> commit on origin (tags peeled), only refs that need data."""
    out = run(repo, "git", "ls-remote", "origin", env=env)
    refs: dict[str, str] = {}
    for line in out.splitlines():
        sha, ref = line.split("\t")
        if ref.startswith(("refs/exps/", "refs/heads/exp/", "refs/tags/")):
            refs[ref.removesuffix("^{}")] = sha
    return refs


@dataclass(frozen=True)
class Store:
    """The DVC remote of a test, read as what it holds: a folder's files or a bucket's keys
    (`ab/cdef...` below `files/md5/`), without DVC."""

    root: Path  # the sweep project's folder (storage/ for the local kind)
    s3: S3 | None

    @property
    def kind(self) -> str:
        return "local" if self.s3 is None else "s3"

    def configure(self, repo: Path, env) -> None:
        if self.s3 is not None:
            self.s3.configure(repo, run, env)

    def objects(self) -> set[str]:
        if self.s3 is None:
            folder = self.root / "storage" / "files" / "md5"
            return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
        keys = self.s3.stored_keys()
        return {key.split("/files/md5/", 1)[1] for key in keys if "/files/md5/" in key}

    def read(self, md5: str) -> bytes:
        if self.s3 is None:
            return (self.root / "storage" / "files" / "md5" / md5[:2] / md5[2:]).read_bytes()
        answer = self.s3.client().get_object(Bucket=self.s3.bucket, Key=self.s3.object_key(md5))
        return answer["Body"].read()

    def empty(self) -> None:
        if self.s3 is None:
            shutil.rmtree(self.root / "storage")
            (self.root / "storage").mkdir()
            return
        client = self.s3.client()
        for key in self.s3.stored_keys():
            client.delete_object(Bucket=self.s3.bucket, Key=key)


def recorded_md5s(repo: Path, commit: str, env) -> list[str]:
    """The objects the commit's dvc.lock records for its cached outputs (`cache: false`
    ones stay in Git; the sweep project has no .dvc files)."""
    stages = yaml.safe_load(run(repo, "git", "show", f"{commit}:dvc.yaml", env=env))["stages"]
    cached = set()
    for stage, spec in stages.items():
        for kind in ("outs", "metrics", "plots"):
            for out in spec.get(kind, []):
                path, options = next(iter(out.items())) if isinstance(out, dict) else (out, {})
                if options.get("cache", True):
                    cached.add((stage, path))
    lock = yaml.safe_load(run(repo, "git", "show", f"{commit}:dvc.lock", env=env))
    return [
        out["md5"]
        for stage, entry in lock["stages"].items()
        for out in entry.get("outs", [])
        if (stage, out["path"]) in cached
    ]


def refs_without_data(repo: Path, env, store: Store) -> list[str]:
    held = store.objects()
    lacking = []
    for ref, commit in origin_refs(repo, env).items():
        run(repo, "git", "fetch", "-q", "origin", commit, env=env)
        wanted = []
        for md5 in recorded_md5s(repo, commit, env):
            wanted.append(md5)
            if md5.endswith(".dir") and f"{md5[:2]}/{md5[2:]}" in held:
                wanted += [entry["md5"] for entry in json.loads(store.read(md5))]
        if any(f"{md5[:2]}/{md5[2:]}" not in held for md5 in wanted):
            lacking.append(ref)
    return lacking
