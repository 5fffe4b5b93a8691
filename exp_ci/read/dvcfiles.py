"""The one model of DVC files: `dvc.yaml` pipelines, `dvc.lock` entries, `.dvc` files (pure).

Every reader of DVC files goes through here: the experiment reader (which files are params
and metrics, which outputs sit in the cache), the plots reader (which files are plots,
with their properties) and the pre-push hook (which outputs DVC pushes, to which remote).

A `dvc.yaml` becomes a `Pipeline` of `Stage`s, each with its working folder, its params
entries and its declared outputs (`outs`, `metrics`, `plots` with their `cache`, `push`
and `remote` flags); every path is relative to the DVC project (joined with the
`dvc.yaml` folder and the stage's `wdir`). Templating (`vars`, `${...}`, `foreach`,
`matrix`) is resolved before, by `exp_ci.read.templating`, into the document DVC itself
would see; what is still templated here is kept as written and marked `templated`, so a
reader can say it was not resolved rather than guess.

Structure that DVC rejects raises `DvcFileError` naming the file (and the line, for YAML
that does not parse).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from exp_ci.read.dvcnames import DVC_LOCK as DVC_LOCK
from exp_ci.read.dvcnames import DVC_YAML as DVC_YAML

DEFAULT_PARAMS_FILE = "params.yaml"
OUT_KINDS = ("outs", "metrics", "plots")


class DvcFileError(ValueError):
    """A DVC file that does not parse, or whose structure DVC would reject."""

    def __init__(self, path: str, reason: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}, line {line}" if line else path
        super().__init__(f"{where}: {reason}")


def is_templated(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def join(*parts: str) -> str:
    return posixpath.normpath(posixpath.join(*parts))


def _template_pattern(path: str) -> re.Pattern[str]:
    """A declared path whose `${...}` parts match anything (for paths left unresolved)."""
    parts = re.split(r"\$\{[^}]*\}", path)
    return re.compile(".+".join(re.escape(part) for part in parts))


@dataclass(frozen=True)
class DeclaredOut:
    """An output a stage declares under `outs`, `metrics` or `plots`."""

    path: str  # project-relative
    kind: str  # one of OUT_KINDS
    cache: bool = True
    push: bool = True
    remote: str | None = None
    props: Mapping[str, Any] = field(default_factory=dict)  # all the entry's properties

    @property
    def templated(self) -> bool:
        return is_templated(self.path)

    @property
    def pushed(self) -> bool:
        return self.cache and self.push

    def matches(self, path: str) -> bool:
        """Whether a recorded (project-relative) path is this output."""
        if self.templated:
            return _template_pattern(self.path).fullmatch(path) is not None
        return path == self.path


ParamsEntry = Mapping[str, tuple[str, ...]]  # params file (project-relative) -> keys; () = whole


@dataclass(frozen=True)
class Stage:
    """One stage as DVC sees it after templating (`name@key` for foreach and matrix ones)."""

    name: str
    wdir: str  # project-relative folder
    params: tuple[ParamsEntry, ...] = ()
    outs: tuple[DeclaredOut, ...] = ()

    @property
    def templated(self) -> bool:
        return is_templated(self.wdir)


@dataclass(frozen=True)
class Pipeline:
    """One `dvc.yaml`: its stages and top-level `params`, `metrics` and `plots`."""

    path: str  # the dvc.yaml, project-relative
    stages: tuple[Stage, ...] = ()
    params: tuple[str, ...] = ()  # top-level params files, project-relative
    metrics: tuple[str, ...] = ()  # top-level metrics files or folders, project-relative
    plots: tuple[tuple[str, Any], ...] = ()  # top-level (path or id as written, properties)
    vars_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # ^ values of `vars` files used in `${}`: file -> {dotted key: value}, as DVC lists them
    notes: tuple[str, ...] = ()  # what templating could not resolve

    @property
    def folder(self) -> str:
        return posixpath.dirname(self.path)

    @property
    def lock_path(self) -> str:
        return posixpath.join(self.folder, DVC_LOCK)

    def stage(self, name: str) -> Stage | None:
        """The stage a `dvc.lock` entry names (a foreach group left unresolved stands for
        each of its members)."""
        found = next((s for s in self.stages if s.name == name), None)
        if found is None and "@" in name:
            group = name.rsplit("@", 1)[0]
            found = next((s for s in self.stages if s.name == group), None)
        return found

    def outs(self, kinds: Iterable[str] = OUT_KINDS) -> list[DeclaredOut]:
        wanted = set(kinds)
        return [out for stage in self.stages for out in stage.outs if out.kind in wanted]


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


def _declared_out(entry: Any, kind: str, wdir: str) -> DeclaredOut | None:
    if isinstance(entry, str):
        return DeclaredOut(join(wdir, entry), kind)
    if isinstance(entry, Mapping) and len(entry) == 1:
        out_path, flags = next(iter(entry.items()))
        flags = flags if isinstance(flags, Mapping) else {}
        remote = flags.get("remote")
        return DeclaredOut(
            join(wdir, str(out_path)),
            kind,
            cache=flags.get("cache") is not False,
            push=flags.get("push") is not False,
            remote=str(remote) if remote else None,
            props=dict(flags),
        )
    return None


def _params_entry(entry: Any, wdir: str, where: str) -> ParamsEntry:
    if isinstance(entry, str):
        keys = () if is_templated(entry) else (entry,)
        return {join(wdir, DEFAULT_PARAMS_FILE): keys}
    if isinstance(entry, Mapping):
        result: dict[str, tuple[str, ...]] = {}
        for file, listed in entry.items():
            if listed is None:
                listed = []
            if not isinstance(listed, list):
                raise DvcFileError(
                    where, f"params of '{file}' must be a list of keys, got {type(listed).__name__}"
                )
            result[join(wdir, str(file))] = tuple(str(k) for k in listed if not is_templated(k))
        return result
    raise DvcFileError(where, "a stage `params` entry must be a key or a mapping")


def _stage(name: str, body: Mapping[str, Any], folder: str, path: str) -> Stage:
    wdir = join(folder, str(body.get("wdir") or "."))
    stage_params = body.get("params") or []
    if not isinstance(stage_params, list):
        raise DvcFileError(path, "stage `params` must be a list")
    params = tuple(_params_entry(entry, wdir, path) for entry in stage_params)
    outs = []
    for kind in OUT_KINDS:
        entries = body.get(kind)
        for entry in entries if isinstance(entries, list) else []:
            out = _declared_out(entry, kind, wdir)
            if out is not None:
                outs.append(out)
    return Stage(name, wdir, params, tuple(outs))


def pipeline(
    document: Any,
    path: str,
    vars_params: Mapping[str, Mapping[str, Any]] | None = None,
    notes: Iterable[str] = (),
) -> Pipeline:
    """The model of one `dvc.yaml` document (already resolved, or with nothing to resolve).

    A stage that still has `foreach`/`matrix` (templating was not resolved) stands for its
    members through its `do:` body (or the matrix stage's own body)."""
    if not isinstance(document, Mapping):
        raise DvcFileError(path, "expected a mapping with `stages:`")
    folder = posixpath.dirname(path)
    stages_doc = document.get("stages") or {}
    if not isinstance(stages_doc, Mapping):
        raise DvcFileError(path, "`stages` must be a mapping of stage names")
    stages = []
    for name, body in stages_doc.items():
        if not isinstance(body, Mapping):
            continue
        if isinstance(body.get("do"), Mapping):
            body = body["do"]
        stages.append(_stage(str(name), body, folder, path))
    top_params = tuple(
        join(folder, entry) for entry in document.get("params") or [] if isinstance(entry, str)
    )
    top_metrics = tuple(
        join(folder, entry) for entry in document.get("metrics") or [] if isinstance(entry, str)
    )
    top_plots = []
    plots_doc = document.get("plots")
    for entry in plots_doc if isinstance(plots_doc, list) else []:
        if isinstance(entry, str):
            top_plots.append((entry, None))
        elif isinstance(entry, Mapping) and len(entry) == 1:
            key, props = next(iter(entry.items()))
            top_plots.append((str(key), props))
    return Pipeline(
        path,
        tuple(stages),
        top_params,
        top_metrics,
        tuple(top_plots),
        dict(vars_params or {}),
        tuple(notes),
    )


# --- dvc.lock and .dvc files ---------------------------------------------------------------


@dataclass(frozen=True)
class RecordedOut:
    """An output as a `dvc.lock` or `.dvc` file records it (its hash not yet checked)."""

    path: str  # project-relative
    md5: Any  # as written: None or "" when nothing is in the cache
    hash_md5: bool  # `hash: md5` (DVC 3); DVC 2 entries lack it and use the old cache layout
    source: str  # the dvc.lock or .dvc file
    stage: str | None = None  # the dvc.lock stage that records it
    cache: bool = True  # a .dvc output's own flags (a dvc.lock's come from its dvc.yaml)
    push: bool = True
    remote: str | None = None

    @property
    def in_cache(self) -> bool:
        return self.md5 not in (None, "")


LOCK_SCHEMA = "2.0"  # the only `schema:` DVC 3 accepts in a dvc.lock
_LOCK_KEYS = frozenset({"schema", "stages", "datasets"})
_LOCK_STAGE_KEYS = frozenset({"cmd", "deps", "params", "outs"})


def lock_problem(document: Any) -> str | None:
    """Why DVC 3 refuses a parsed `dvc.lock` (to follow "DVC 3 refuses it:"; DVC then
    fails the whole revision, params too), or None when its frame has the shape DVC 3's
    schema requires.

    The frame: `schema: '2.0'`, `stages` by name, each with a `cmd` and no keys but
    `cmd`, `deps`, `params` and `outs`; `deps` and `outs` lists of entries with a
    `path`; `params` values by file. The keys of single entries are not checked. DVC 1
    lock files (no `schema:`, stages at the top level) are refused, as DVC 3 refuses
    them; `lock_outs` still reads them, for the hook's sake.
    """
    if not isinstance(document, Mapping):
        return "it is not a mapping with `schema:` and `stages:`"
    if "schema" not in document:
        return f"it has no `schema: '{LOCK_SCHEMA}'` (DVC 1 wrote lock files so)"
    if document["schema"] != LOCK_SCHEMA:
        return f"its `schema` is {document['schema']!r}, not '{LOCK_SCHEMA}'"
    extra = sorted(str(key) for key in document if key not in _LOCK_KEYS)
    if extra:
        return f"it has an unknown key '{extra[0]}'"
    stages = document.get("stages", {})
    if not isinstance(stages, Mapping):
        return "its `stages` is not a mapping of stage names"
    for name, stage in stages.items():
        if not isinstance(stage, Mapping) or "cmd" not in stage:
            return f"its stage '{name}' is not a mapping with a `cmd`"
        extra = sorted(str(key) for key in stage if key not in _LOCK_STAGE_KEYS)
        if extra:
            return f"its stage '{name}' has an unknown key '{extra[0]}'"
        for kind in ("deps", "outs"):
            entries = stage.get(kind, [])
            if not isinstance(entries, list) or not all(
                isinstance(entry, Mapping) and isinstance(entry.get("path"), str)
                for entry in entries
            ):
                return f"the `{kind}` of its stage '{name}' are not entries with a `path`"
        params = stage.get("params", {})
        if not isinstance(params, Mapping) or not all(
            isinstance(values, Mapping) for values in params.values()
        ):
            return f"the `params` of its stage '{name}' are not values by params file"
    return None


def lock_outs(document: Any, lock_path: str, declared: Pipeline | None = None) -> list[RecordedOut]:
    """The outputs one `dvc.lock` records, with paths joined to their stage's `wdir` (from
    the `dvc.yaml` beside it, when given) and the flags that stage declares for them."""
    body = _mapping(document, lock_path, "dvc.lock")
    # DVC 1 lock files have no `schema:` and keep the stages at the top level.
    stages = body.get("stages") if "schema" in body else body
    folder = posixpath.dirname(lock_path)
    recorded = []
    for name, stage_doc in _mapping(stages, lock_path, "`stages`").items():
        stage_doc = _mapping(stage_doc, lock_path, f"stage '{name}'")
        stage = declared.stage(str(name)) if declared is not None else None
        wdir = stage.wdir if stage is not None and not stage.templated else folder
        for entry in _entries(stage_doc.get("outs"), lock_path, f"`outs` of stage '{name}'"):
            if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
                raise DvcFileError(lock_path, f"an output of stage '{name}' has no `path`")
            path = join(wdir, entry["path"])
            flags = None
            if stage is not None:
                flags = next((out for out in stage.outs if out.matches(path)), None)
            recorded.append(
                RecordedOut(
                    path,
                    entry.get("md5"),
                    entry.get("hash") == "md5",
                    lock_path,
                    str(name),
                    cache=flags.cache if flags else True,
                    push=flags.push if flags else True,
                    remote=flags.remote if flags else None,
                )
            )
    return recorded


def dvc_file_outs(document: Any, path: str) -> list[RecordedOut]:
    """The outputs one `.dvc` file records, with their own flags."""
    body = _mapping(document, path, "a .dvc file")
    folder = join(posixpath.dirname(path), str(body.get("wdir") or "."))
    recorded = []
    for entry in _entries(body.get("outs"), path, "`outs`"):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
            raise DvcFileError(path, "every entry of `outs` needs a `path`")
        remote = entry.get("remote")
        recorded.append(
            RecordedOut(
                join(folder, entry["path"]),
                entry.get("md5"),
                entry.get("hash") == "md5",
                path,
                cache=entry.get("cache") is not False,
                push=entry.get("push") is not False,
                remote=str(remote) if remote else None,
            )
        )
    return recorded
