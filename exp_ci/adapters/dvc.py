"""All DVC access outside Git objects: the project's config and its local cache.

Mutating operations (`dvc exp run`, `dvc push`, ...) will live here too, as DVC CLI calls.
Reading the cache is plain file access: an object is at `files/md5/ab/cdef...` (DVC 3) or
`ab/cdef...` (DVC 2) under the cache folder. The network is never touched.
"""

from __future__ import annotations

import configparser
import contextlib
from pathlib import Path

from exp_ci.read.dvcyaml import CachedOut


def _read_config(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    # An unreadable config leaves DVC's defaults, as a missing one does.
    with contextlib.suppress(configparser.Error):
        parser.read(path, encoding="utf-8")
    return parser


def cache_dir(project_root: Path) -> Path:
    """The local cache folder: `cache.dir` from `.dvc/config.local` or `.dvc/config`."""
    dvc_dir = project_root / ".dvc"
    for name in ("config.local", "config"):
        config = _read_config(dvc_dir / name)
        if config.has_option("cache", "dir"):
            return (dvc_dir / config.get("cache", "dir").strip("'\"")).resolve()
    return dvc_dir / "cache"


class LocalCache:
    """Read-only view of a DVC project's local cache."""

    def __init__(self, project_root: Path) -> None:
        self.root = cache_dir(project_root)

    def object_path(self, out: CachedOut) -> Path:
        digest = out.md5
        base = self.root if out.legacy_layout else self.root / "files" / "md5"
        return base / digest[:2] / digest[2:]

    def read(self, out: CachedOut) -> bytes | None:
        try:
            return self.object_path(out).read_bytes()
        except OSError:
            return None


def is_dvc_project(root: Path) -> bool:
    return (root / ".dvc").is_dir()
