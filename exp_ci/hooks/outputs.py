"""Which outputs a `dvc.lock` or `.dvc` file records, and which of them DVC pushes (pure).

An output is pushed unless it says `cache: false` or `push: false`. In a `.dvc` file the
flags sit on the output itself; `dvc.lock` records only hashes, so the flags come from the
stage's declaration in the `dvc.yaml` beside it (`outs`, `metrics` and `plots` entries,
`{path: {cache: false}}`). Paths are relative to the file's folder (and a stage's `wdir`).
DVC 2 entries carry no `hash: md5` key: their objects use the old cache layout. The files
themselves are read through the one model of DVC files, `exp_ci.read.dvcfiles`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from exp_ci.read.dvcfiles import (
    DVC_LOCK,
    DVC_YAML,
    DvcFileError,
    Pipeline,
    RecordedOut,
    dvc_file_outs,
    join,
    lock_outs,
    pipeline,
)
from exp_ci.read.dvcnames import is_dvc_file
from exp_ci.read.dvcyaml import CachedOut, object_id_problem, path_problem, shown

if TYPE_CHECKING:
    from exp_ci.read.templating import Files

__all__ = [
    "DVC_LOCK",
    "DVC_YAML",
    "DvcFileError",
    "Output",
    "is_dvc_file",
    "outputs_of",
    "parse_manifest",
]


@dataclass(frozen=True)
class Output:
    """One cached output as a DVC file records it."""

    path: str  # repo-relative (posix)
    obj: CachedOut  # the file's object, or a directory's `.dir` manifest
    source: str  # the dvc.lock or .dvc file that records it
    remote: str | None = None  # the output's own `remote:`; None means the default
    commit: str | None = None  # the commit that records it; None for the staged file

    @property
    def is_dir(self) -> bool:
        return self.obj.md5.endswith(".dir")


def load_yaml(path: str, content: bytes) -> Any:
    """A DVC file's document, read as DVC reads it (YAML 1.2); errors name the line.
    Bounded as every parsed file is (`exp_ci.limits`)."""
    from exp_ci.limits import alias_problem, size_problem

    too_large = size_problem(len(content))
    if too_large is not None:
        raise DvcFileError(path, f"not read: {too_large}")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DvcFileError(path, f"not UTF-8 text ({error.reason})") from None
    from exp_ci.read import fastyaml

    # DVC's own layout, without importing PyYAML; then libyaml; then DVC's parser (ruamel).
    document = fastyaml.load_block(text)
    if document is None:
        document = fastyaml.load(text)
    if document is not None:
        return document
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        document = YAML(typ="safe").load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        reason = " ".join(f"{error.context or ''} {error.problem or ''}".split())
        raise DvcFileError(
            path, reason or "invalid YAML", mark.line + 1 if mark else None
        ) from None
    except YAMLError as error:
        raise DvcFileError(path, " ".join(str(error).split())) from None
    aliases = alias_problem(document, text)
    if aliases is not None:
        raise DvcFileError(path, aliases)
    return {} if document is None else document


def _cached_out(out: RecordedOut) -> CachedOut | None:
    if not out.in_cache:
        return None  # nothing in the cache: `import-url --no-download`, cloud-versioned outs
    if not isinstance(out.md5, str):  # e.g. an unquoted hash of digits only, read as a number
        raise DvcFileError(
            out.source, f"the md5 of output {shown(out.path)} is not a string: quote it"
        )
    problem = object_id_problem(out.md5)
    if problem is not None:
        raise DvcFileError(
            out.source, f"the md5 of output {shown(out.path)}, {shown(out.md5)}, {problem}"
        )
    return CachedOut(md5=out.md5, legacy_layout=not out.hash_md5)


def _pushed(recorded: list[RecordedOut]) -> list[Output]:
    outputs = []
    for out in recorded:
        obj = _cached_out(out)
        if obj is not None and out.cache and out.push:
            outputs.append(Output(out.path, obj, out.source, out.remote))
    return outputs


def outputs_of_dvc_file(document: Any, path: str) -> list[Output]:
    """The pushed outputs of one `.dvc` file."""
    return _pushed(dvc_file_outs(document, path))


def outputs_of_lock(
    lock: Any, lock_path: str, dvc_yaml: Any = None, files: Files | None = None
) -> list[Output]:
    """The pushed outputs of one `dvc.lock`; `dvc_yaml` is the dvc.yaml beside it (a
    document or its `Pipeline`), if any, its templating resolved over `files` (the same
    commit's) as DVC resolves it.

    A dvc.yaml that does not resolve (or that DVC would reject) declares no flags here:
    every output its dvc.lock records is then checked, the safe side for a push."""
    declared = None
    if isinstance(dvc_yaml, Pipeline):
        declared = dvc_yaml
    elif isinstance(dvc_yaml, Mapping) and isinstance(dvc_yaml.get("stages"), Mapping):
        from exp_ci.read.templating import SnapshotFs, needs_resolving, resolve

        yaml_path = join(posixpath.dirname(lock_path), DVC_YAML)
        try:
            if files is not None and needs_resolving(dvc_yaml):
                declared = resolve(dvc_yaml, yaml_path, SnapshotFs(files))
            else:
                declared = pipeline(dvc_yaml, yaml_path)
        except DvcFileError:
            declared = None
    return _pushed(lock_outs(lock, lock_path, declared))


def outputs_of(
    path: str, content: bytes, dvc_yaml: bytes | None = None, files: Files | None = None
) -> list[Output]:
    """Parse one DVC file's bytes (and, for a dvc.lock, its dvc.yaml's) into pushed
    outputs; `files` reads the commit's other files for templating."""
    document = load_yaml(path, content)
    if posixpath.basename(path) != DVC_LOCK:
        return outputs_of_dvc_file(document, path)
    yaml_path = join(posixpath.dirname(path), DVC_YAML)
    declarations = load_yaml(yaml_path, dvc_yaml) if dvc_yaml is not None else None
    return outputs_of_lock(document, path, declarations, files)


def parse_manifest(data: bytes, legacy_layout: bool) -> list[tuple[str, CachedOut]] | None:
    """A `.dir` manifest's (relpath, object) entries; None when it is not one, also when an
    entry's md5 is not an object id or its relpath leaves the directory."""
    import json

    try:
        entries = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(entries, list):
        return None
    members = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            return None
        md5, relpath = entry.get("md5"), entry.get("relpath")
        if not isinstance(relpath, str) or path_problem(relpath):
            return None
        if not isinstance(md5, str) or object_id_problem(md5) or md5.endswith(".dir"):
            return None  # members are files, with object ids
        members.append((relpath, CachedOut(md5=md5, legacy_layout=legacy_layout)))
    return members
