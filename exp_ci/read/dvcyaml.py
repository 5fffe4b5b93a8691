"""Which params and metrics files a commit declares, from its `dvc.yaml` files (pure).

Follows DVC 3: stage `params:` entries are keys of the stage's `params.yaml` or
`{file: [keys]}` (an empty list tracks the whole file); top-level `params:` and
`metrics:` list whole files; stage outputs under `metrics:` are metrics files. Paths are
relative to the `dvc.yaml` folder (and a stage's `wdir`). Across all files, a params file
tracked whole anywhere is read whole, and the root `params.yaml` is always read whole.
The structure of DVC files is modelled in `exp_ci.read.dvcfiles`; this module decides
what the reader takes from it, and holds the one check of object ids and recorded paths.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from exp_ci.read.dvcfiles import (
    DEFAULT_PARAMS_FILE,
    DvcFileError,
    Pipeline,
    RecordedOut,
    is_templated,
    lock_outs,
    pipeline,
)

__all__ = ["DEFAULT_PARAMS_FILE", "DvcYamlError", "declared_files", "merge_params"]


DvcYamlError = DvcFileError  # a `dvc.yaml` whose structure DVC would reject


class BadObjectId(ValueError):
    """A recorded hash that is not a DVC object id; it must never become a path."""


_OBJECT_ID = re.compile(r"[0-9a-f]{32}(?:\.dir)?")
SHOWN_CHARS = 60  # of an untrusted value quoted in a message


def shown(value: object) -> str:
    """An untrusted value for a message: quoted, escaped, and cut short."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def object_id_problem(value: object) -> str | None:
    """Why a recorded md5 is not a DVC object id (to follow the value in a message), or
    None when it is one.

    Ids become paths in the cache and the remote (`ab/cdef…`): anything but 32 lowercase
    hex digits (plus `.dir` for a directory's manifest) could name another file, such as
    `xx/etc/passwd`. This is the one check; every reader of DVC files goes through it.
    """
    if isinstance(value, str) and _OBJECT_ID.fullmatch(value):
        return None
    return "is not a DVC object id (32 lowercase hex digits, followed by .dir for a directory)"


def path_problem(path: str) -> str | None:
    """Why a path recorded in a DVC file or a `.dir` manifest could leave the folder it is
    relative to (to follow "it" in a message), or None when it stays inside."""
    if not path or "\0" in path:
        return "is empty or has a NUL character"
    if posixpath.isabs(path):
        return "is an absolute path"
    if ".." in path.split("/"):
        return "goes up with '..'"
    return None


@dataclass(frozen=True)
class CachedOut:
    """An output DVC caches: where its content lives in the cache, by hash.

    Valid by construction (`BadObjectId` otherwise), so no path is ever built from a
    hash a repository made up.
    """

    md5: str
    legacy_layout: bool  # DVC 2 entries (no `hash: md5`) live at cache/ab/cdef, not files/md5/

    def __post_init__(self) -> None:
        problem = object_id_problem(self.md5)
        if problem is not None:
            raise BadObjectId(f"md5 {shown(self.md5)} {problem}")


@dataclass(frozen=True)
class RefusedOut:
    """An output whose recorded hash is not an object id: shown as unreadable, never read."""

    note: str


def declared_files(
    document: Any, dvc_yaml_path: str
) -> tuple[list[dict[str, list[str]]], list[str]]:
    """Params entries (one dict per stage or top-level file) and metrics paths of one
    dvc.yaml (a document, or its `Pipeline`); what is still templated is left out."""
    model = document if isinstance(document, Pipeline) else pipeline(document, dvc_yaml_path)
    params: list[dict[str, list[str]]] = []
    metrics: list[str] = []
    for stage in model.stages:
        if stage.templated:
            continue
        for entry in stage.params:
            params.append(
                {file: list(keys) for file, keys in entry.items() if not is_templated(file)}
            )
        metrics.extend(
            out.path for out in stage.outs if out.kind == "metrics" and not out.templated
        )
    params.extend({file: []} for file in model.params if not is_templated(file))
    metrics.extend(file for file in model.metrics if not is_templated(file))
    return params, metrics


def merge_params(entries: Iterable[dict[str, list[str]]]) -> dict[str, list[str]]:
    """DVC's merge: a file tracked whole anywhere is read whole; otherwise keys accumulate."""
    entries = list(entries)
    whole = {file for entry in entries for file, keys in entry.items() if not keys}
    merged: dict[str, list[str]] = {}
    for entry in entries:
        for file, keys in entry.items():
            if file in whole:
                merged[file] = []
            else:
                merged.setdefault(file, []).extend(k for k in keys if k not in merged[file])
    return merged


def cached_outputs(
    lock_document: Any, dvc_lock_path: str, declared: Pipeline | None = None
) -> dict[str, CachedOut | RefusedOut]:
    """Project-relative path -> cache entry, for each output recorded in one dvc.lock that
    DVC reads from its cache (not `cache: false` in the dvc.yaml beside it); an entry whose
    hash is not an object id is a `RefusedOut` saying so. A dvc.lock DVC would reject
    records nothing here."""
    try:
        recorded = lock_outs(lock_document, dvc_lock_path, declared)
    except DvcFileError:
        return {}
    return cache_entries(recorded)


def cache_entries(recorded: Iterable[RecordedOut]) -> dict[str, CachedOut | RefusedOut]:
    """Path -> cache entry of the recorded outputs DVC reads from its cache (a `dvc.lock`'s
    or a `.dvc` file's): outputs with nothing in the cache or `cache: false` are left out."""
    outputs: dict[str, CachedOut | RefusedOut] = {}
    for out in recorded:
        if not out.in_cache or not out.cache:
            continue  # nothing in the cache (cloud-versioned, --no-download, cache: false)
        problem = object_id_problem(out.md5)
        if problem is None:
            outputs[out.path] = CachedOut(md5=out.md5, legacy_layout=not out.hash_md5)
        else:
            outputs[out.path] = RefusedOut(
                f"{out.path} is not read from the DVC cache: its md5 in {out.source}, "
                f"{shown(out.md5)}, {problem}"
            )
    return outputs
