"""The names of DVC's files, and which paths are DVC files (`exp_ci.read.dvcfiles` models
their content).

Apart from the model so that the pre-push hook can tell which files a push changes without
importing it: a push whose DVC files were all checked before needs nothing more.
"""

from __future__ import annotations

import posixpath

DVC_YAML = "dvc.yaml"
DVC_LOCK = "dvc.lock"


def is_dvc_file(path: str) -> bool:
    """Whether a (posix) path names a `dvc.lock` or a `.dvc` file."""
    name = posixpath.basename(path)
    return name == DVC_LOCK or (name.endswith(".dvc") and name != ".dvc")
