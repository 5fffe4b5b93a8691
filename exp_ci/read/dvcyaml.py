"""Which params and metrics files a commit declares, from its `dvc.yaml` files (pure).

Follows DVC 3: stage `params:` entries are keys of the stage's `params.yaml` or
`{file: [keys]}` (an empty list tracks the whole file); top-level `params:` and
`metrics:` list whole files; stage outputs under `metrics:` are metrics files. Paths are
relative to the `dvc.yaml` folder (and a stage's `wdir`). Across all files, a params file
tracked whole anywhere is read whole, and the root `params.yaml` is always read whole.
Templated entries (`${...}`) are skipped: resolving DVC's templating is out of scope.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_PARAMS_FILE = "params.yaml"


class DvcYamlError(ValueError):
    """A `dvc.yaml` whose structure DVC would reject."""


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


def _join(folder: str, *parts: str) -> str:
    return posixpath.normpath(posixpath.join(folder, *parts))


def _is_templated(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def _stage_bodies(stages: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for body in stages.values():
        if not isinstance(body, Mapping):
            continue
        if "do" in body and isinstance(body["do"], Mapping):  # foreach / matrix stages
            yield body["do"]
        else:
            yield body


def declared_files(
    document: Any, dvc_yaml_path: str
) -> tuple[list[dict[str, list[str]]], list[str]]:
    """Params entries (one dict per stage or top-level file) and metrics paths of one dvc.yaml."""
    if not isinstance(document, Mapping):
        raise DvcYamlError(f"{dvc_yaml_path}: expected a mapping with `stages:`")
    folder = posixpath.dirname(dvc_yaml_path)
    params: list[dict[str, list[str]]] = []
    metrics: list[str] = []

    stages = document.get("stages") or {}
    if not isinstance(stages, Mapping):
        raise DvcYamlError(f"{dvc_yaml_path}: `stages` must be a mapping of stage names")
    for body in _stage_bodies(stages):
        wdir = body.get("wdir") or "."
        if _is_templated(wdir):
            continue
        stage_params = body.get("params") or []
        if not isinstance(stage_params, list):
            raise DvcYamlError(f"{dvc_yaml_path}: stage `params` must be a list")
        for entry in stage_params:
            params.append(_stage_params_entry(entry, folder, str(wdir), dvc_yaml_path))
        for entry in body.get("metrics") or []:
            path = next(iter(entry)) if isinstance(entry, Mapping) and entry else entry
            if isinstance(path, str) and not _is_templated(path):
                metrics.append(_join(folder, str(wdir), path))

    for entry in document.get("params") or []:
        if isinstance(entry, str) and not _is_templated(entry):
            params.append({_join(folder, entry): []})
    for entry in document.get("metrics") or []:
        if isinstance(entry, str) and not _is_templated(entry):
            metrics.append(_join(folder, entry))
    return params, metrics


def _stage_params_entry(entry: Any, folder: str, wdir: str, where: str) -> dict[str, list[str]]:
    if isinstance(entry, str):
        return {_join(folder, wdir, DEFAULT_PARAMS_FILE): [] if _is_templated(entry) else [entry]}
    if isinstance(entry, Mapping):
        result: dict[str, list[str]] = {}
        for file, keys in entry.items():
            if _is_templated(file):
                continue
            if keys is None:
                keys = []
            if not isinstance(keys, list):
                raise DvcYamlError(
                    f"{where}: params of '{file}' must be a list of keys, got {type(keys).__name__}"
                )
            result[_join(folder, wdir, str(file))] = [str(k) for k in keys if not _is_templated(k)]
        return result
    raise DvcYamlError(f"{where}: a stage `params` entry must be a key or a mapping")


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
    lock_document: Any, dvc_lock_path: str, stage_wdirs: Mapping[str, str]
) -> dict[str, CachedOut | RefusedOut]:
    """Repo-relative path -> cache entry, for each output recorded in one dvc.lock; an
    entry whose hash is not an object id is a `RefusedOut` saying so."""
    if not isinstance(lock_document, Mapping):
        return {}
    stages = lock_document.get("stages") or {}
    if not isinstance(stages, Mapping):
        return {}
    folder = posixpath.dirname(dvc_lock_path)
    outputs: dict[str, CachedOut | RefusedOut] = {}
    for name, stage in stages.items():
        if not isinstance(stage, Mapping) or not isinstance(stage.get("outs") or [], list):
            continue
        wdir = stage_wdirs.get(str(name).split("@")[0], ".")
        for out in stage.get("outs") or []:
            if not isinstance(out, Mapping) or out.get("md5") in (None, ""):
                continue  # nothing in the cache (cloud-versioned, --no-download)
            path = _join(folder, wdir, str(out.get("path")))
            problem = object_id_problem(out["md5"])
            if problem is None:
                outputs[path] = CachedOut(md5=out["md5"], legacy_layout=out.get("hash") != "md5")
            else:
                outputs[path] = RefusedOut(
                    f"{path} is not read from the DVC cache: its md5 in {dvc_lock_path}, "
                    f"{shown(out['md5'])}, {problem}"
                )
    return outputs


def uncached_paths(document: Any, dvc_yaml_path: str) -> set[str]:
    """Outputs declared with `cache: false`: DVC never reads these from its cache."""
    if not isinstance(document, Mapping) or not isinstance(document.get("stages"), Mapping):
        return set()
    folder = posixpath.dirname(dvc_yaml_path)
    paths = set()
    for body in _stage_bodies(document["stages"]):
        wdir = str(body.get("wdir") or ".")
        for kind in ("outs", "metrics", "plots"):
            for entry in body.get(kind) or []:
                if not isinstance(entry, Mapping) or len(entry) != 1:
                    continue
                path, flags = next(iter(entry.items()))
                if isinstance(flags, Mapping) and flags.get("cache") is False:
                    paths.add(_join(folder, wdir, str(path)))
    return paths


def stage_wdirs(document: Any) -> dict[str, str]:
    if not isinstance(document, Mapping) or not isinstance(document.get("stages"), Mapping):
        return {}
    return {
        str(name): str(body.get("wdir") or ".")
        for name, body in document["stages"].items()
        if isinstance(body, Mapping)
    }
