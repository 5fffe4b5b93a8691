"""Which outputs a `dvc.lock` or `.dvc` file records, and which of them DVC pushes (pure).

An output is pushed unless it says `cache: false` or `push: false`. In a `.dvc` file the
flags sit on the output itself; `dvc.lock` records only hashes, so the flags come from the
stage's declaration in the `dvc.yaml` beside it (`outs`, `metrics` and `plots` entries,
`{path: {cache: false}}`). Paths are relative to the file's folder (and a stage's `wdir`).
DVC 2 entries carry no `hash: md5` key: their objects use the old cache layout.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exp_ci.read.dvcyaml import CachedOut, object_id_problem, path_problem, shown

DVC_LOCK = "dvc.lock"
DVC_YAML = "dvc.yaml"


class DvcFileError(ValueError):
    """A DVC file that does not parse, or whose structure DVC would reject."""

    def __init__(self, path: str, reason: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}, line {line}" if line else path
        super().__init__(f"{where}: {reason}")


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


def is_dvc_file(path: str) -> bool:
    name = posixpath.basename(path)
    return name == DVC_LOCK or (name.endswith(".dvc") and name != ".dvc")


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


def _join(*parts: str) -> str:
    return posixpath.normpath(posixpath.join(*parts))


def _mapping(value: Any, path: str, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise DvcFileError(path, f"{what} must be a mapping, not {type(value).__name__}")
    return value


def _entries(value: Any, path: str, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise DvcFileError(path, f"{what} must be a list, not {type(value).__name__}")
    return value


def _cached_out(entry: Mapping[str, Any], path: str) -> CachedOut | None:
    md5 = entry.get("md5")
    if md5 is None or md5 == "":
        return None  # nothing in the cache: `import-url --no-download`, cloud-versioned outs
    if not isinstance(md5, str):  # e.g. an unquoted hash of digits only, read as a number
        raise DvcFileError(
            path, f"the md5 of output {shown(entry.get('path'))} is not a string: quote it"
        )
    problem = object_id_problem(md5)
    if problem is not None:
        raise DvcFileError(
            path, f"the md5 of output {shown(entry.get('path'))}, {shown(md5)}, {problem}"
        )
    return CachedOut(md5=md5, legacy_layout=entry.get("hash") != "md5")


def outputs_of_dvc_file(document: Any, path: str) -> list[Output]:
    """The pushed outputs of one `.dvc` file."""
    body = _mapping(document, path, "a .dvc file")
    folder = _join(posixpath.dirname(path), str(body.get("wdir") or "."))
    outputs = []
    for entry in _entries(body.get("outs"), path, "`outs`"):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
            raise DvcFileError(path, "every entry of `outs` needs a `path`")
        obj = _cached_out(entry, path)
        if obj is None or entry.get("cache") is False or entry.get("push") is False:
            continue
        remote = entry.get("remote")
        outputs.append(
            Output(_join(folder, entry["path"]), obj, path, str(remote) if remote else None)
        )
    return outputs


@dataclass(frozen=True)
class _Declared:
    pattern: re.Pattern[str]  # the path as declared; `${...}` matches anything
    cache: bool
    push: bool
    remote: str | None


def _declared_pattern(declared: str) -> re.Pattern[str]:
    parts = re.split(r"\$\{[^}]*\}", posixpath.normpath(declared))
    return re.compile(".+".join(re.escape(part) for part in parts))


def _declared_outs(body: Mapping[str, Any]) -> list[_Declared]:
    declared = []
    for key in ("outs", "metrics", "plots"):
        entries = body.get(key)
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, str):
                declared.append(_Declared(_declared_pattern(entry), True, True, None))
            elif isinstance(entry, Mapping) and len(entry) == 1:
                out_path, flags = next(iter(entry.items()))
                flags = flags if isinstance(flags, Mapping) else {}
                remote = flags.get("remote")
                declared.append(
                    _Declared(
                        _declared_pattern(str(out_path)),
                        flags.get("cache") is not False,
                        flags.get("push") is not False,
                        str(remote) if remote else None,
                    )
                )
    return declared


def _stage_declarations(dvc_yaml: Any) -> dict[str, tuple[str, list[_Declared]]]:
    """Stage name -> (wdir, declared outs), from the dvc.yaml beside a dvc.lock."""
    if not isinstance(dvc_yaml, Mapping) or not isinstance(dvc_yaml.get("stages"), Mapping):
        return {}
    stages = {}
    for name, body in dvc_yaml["stages"].items():
        if not isinstance(body, Mapping):
            continue
        if isinstance(body.get("do"), Mapping):  # foreach stages
            body = body["do"]
        wdir = body.get("wdir") or "."
        stages[str(name)] = ("." if "${" in str(wdir) else str(wdir), _declared_outs(body))
    return stages


def outputs_of_lock(lock: Any, lock_path: str, dvc_yaml: Any = None) -> list[Output]:
    """The pushed outputs of one `dvc.lock`; `dvc_yaml` is the dvc.yaml beside it, if any."""
    document = _mapping(lock, lock_path, "dvc.lock")
    # DVC 1 lock files have no `schema:` and keep the stages at the top level.
    stages = document.get("stages") if "schema" in document else document
    folder = posixpath.dirname(lock_path)
    declarations = _stage_declarations(dvc_yaml)
    outputs = []
    for name, stage in _mapping(stages, lock_path, "`stages`").items():
        stage = _mapping(stage, lock_path, f"stage '{name}'")
        wdir, declared = declarations.get(str(name).split("@")[0], (".", []))
        for entry in _entries(stage.get("outs"), lock_path, f"`outs` of stage '{name}'"):
            if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
                raise DvcFileError(lock_path, f"an output of stage '{name}' has no `path`")
            obj = _cached_out(entry, lock_path)
            if obj is None:
                continue
            relative = posixpath.normpath(entry["path"])
            flags = next((d for d in declared if d.pattern.fullmatch(relative)), None)
            if flags is not None and not (flags.cache and flags.push):
                continue
            remote = flags.remote if flags is not None else None
            outputs.append(Output(_join(folder, wdir, relative), obj, lock_path, remote))
    return outputs


def outputs_of(path: str, content: bytes, dvc_yaml: bytes | None = None) -> list[Output]:
    """Parse one DVC file's bytes (and, for a dvc.lock, its dvc.yaml's) into pushed outputs."""
    document = load_yaml(path, content)
    if posixpath.basename(path) != DVC_LOCK:
        return outputs_of_dvc_file(document, path)
    yaml_path = _join(posixpath.dirname(path), DVC_YAML)
    declarations = load_yaml(yaml_path, dvc_yaml) if dvc_yaml is not None else None
    return outputs_of_lock(document, path, declarations)


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
