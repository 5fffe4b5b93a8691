"""`dvc.yaml` templating resolved by DVC's own resolver, over files read from Git objects.

`vars:`, `${...}`, `foreach` (over a list or a dict) and `matrix` are resolved by
`dvc.parsing.DataResolver`, the code `dvc exp show` runs, so the stages, paths and vars
exp-ci sees are the ones DVC sees. DataResolver reads `vars` files (and the default
`params.yaml`) through a filesystem: `SnapshotFs` gives it a read-only one over the
commit's tree (or the workspace), inside the project only.

Resolving costs DVC's time, so it is memoised: a result is kept with the content keys of
every file the resolver looked at (read, or found missing), and reused for any tree in
which those files are the same. A sweep that changes only values no path depends on still
resolves once per distinct params file, not once per stage or per reader.

A `dvc.yaml` that does not resolve is a `DvcFileError` saying why, which the reader shows
as the row's error, as DVC shows that revision's error.
"""

from __future__ import annotations

import io
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from exp_ci.read.dvcfiles import DvcFileError, Pipeline, pipeline

TEMPLATE_KEYS = ("foreach", "matrix", "vars")


class Files(Protocol):
    """What the resolver may ask of a snapshot (see `exp_ci.read.experiments.Snapshot`)."""

    def kind(self, path: str) -> str | None: ...

    def read(self, path: str) -> bytes: ...

    def size(self, path: str) -> int: ...

    def content_key(self, path: str) -> str | None: ...

    def refusal(self, path: str) -> str | None: ...


def needs_resolving(document: Any) -> bool:
    """Whether a `dvc.yaml` document uses templating at all (else it is read as written)."""
    if isinstance(document, str):
        return "${" in document
    if isinstance(document, Mapping):
        return any(
            key in TEMPLATE_KEYS or needs_resolving(key) or needs_resolving(value)
            for key, value in document.items()
        )
    if isinstance(document, list):
        return any(needs_resolving(item) for item in document)
    return False


class SnapshotFs:
    """The little of a DVC filesystem that `DataResolver` uses, over one snapshot.

    Paths are project-relative POSIX paths. Every path asked about is recorded (with its
    content key) so a result can be reused where those files are the same. Paths that
    lead outside the project do not exist here.
    """

    sep = "/"

    def __init__(self, files: Files) -> None:
        self._files = files
        self.seen: dict[str, str | None] = {}  # path -> content key (None: not a file)

    def _kind(self, path: str) -> str | None:
        path = self.normpath(path)
        if self._files.refusal(path) is not None:
            self.seen[path] = None
            return None
        kind = self._files.kind(path)
        self.seen[path] = self._files.content_key(path) if kind == "file" else kind
        return kind

    @staticmethod
    def join(*parts: str) -> str:
        return posixpath.join(*(p for p in parts if p))

    @staticmethod
    def normpath(path: str) -> str:
        return posixpath.normpath(path)

    @staticmethod
    def suffix(path: str) -> str:
        return posixpath.splitext(path)[1]

    @staticmethod
    def relpath(path: str, start: str | None = None) -> str:
        return posixpath.relpath(path, start or "")

    @staticmethod
    def parts(path: str) -> tuple[str, ...]:
        return tuple(path.split("/"))

    def exists(self, path: str) -> bool:
        return self._kind(path) is not None

    def isdir(self, path: str) -> bool:
        return self._kind(path) == "dir"

    def isfile(self, path: str) -> bool:
        return self._kind(path) == "file"

    def open(self, path: str, mode: str = "r", encoding: str | None = None, **_: Any):
        from exp_ci.limits import size_problem

        if self._kind(path) != "file" or "w" in mode or "a" in mode:
            raise FileNotFoundError(path)
        path = self.normpath(path)
        too_large = size_problem(self._files.size(path))
        if too_large is not None:
            raise DvcFileError(path, f"not read: {too_large}")
        content = self._files.read(path)
        if "b" in mode:
            return io.BytesIO(content)
        return io.StringIO(content.decode(encoding or "utf-8"))


class _Repo:
    """What `DataResolver` takes from a `dvc.repo.Repo`: its filesystem and config."""

    def __init__(self, fs: SnapshotFs) -> None:
        self.fs = fs
        self.config: dict[str, Any] = {}


# Stage keys whose interpolated values never make a path: a change of value there (a swept
# learning rate in `cmd`) keeps the resolved pipeline, only its type must stay the same.
WEAK_KEYS = frozenset({"cmd", "deps", "desc", "meta", "frozen", "always_changed"})


@dataclass
class _Recorder:
    """Which values of `vars` files a resolution selected: (file, dotted path, weak)."""

    selected: list[tuple[str, str, bool]] = field(default_factory=list)
    key: str | None = None


_recording_class: Any = None


def _recording_context(recorder: _Recorder) -> Any:
    """DVC's own `Context` class, noting each value it selects from a file."""
    global _recording_class
    if _recording_class is None:
        from dvc.parsing.context import Context

        class RecordingContext(Context):
            recorder: _Recorder

            def select(self, key: str, unwrap: bool = False) -> Any:
                node = super().select(key, unwrap=False)
                meta = getattr(node, "meta", None)
                if meta is not None and not meta.local and meta.source:
                    weak = self.recorder.key in WEAK_KEYS
                    self.recorder.selected.append((meta.source, meta.path(), weak))
                return node.value if unwrap else node

            def resolve(self, src: Any, unwrap: bool = True, *args: Any, **kwargs: Any) -> Any:
                outer = self.recorder.key
                self.recorder.key = kwargs.get("key", args[1] if len(args) > 1 else None)
                try:
                    return super().resolve(src, unwrap, *args, **kwargs)
                finally:
                    self.recorder.key = outer

        _recording_class = RecordingContext
    return _recording_class


@dataclass(frozen=True)
class _Shape:
    """What a resolution depends on, beyond the dvc.yaml itself: reusable in a snapshot
    where the same files exist, the imported `vars` files have the same keys, the values
    paths are made of are equal, and the values `cmd` uses have the same types."""

    seen: tuple[tuple[str, str | None], ...]  # path -> 'file', 'dir' or None
    imports: tuple[tuple[str, tuple[str, ...] | None], ...]  # vars file -> selected keys
    structural: tuple[tuple[str, str], ...]  # (file, dotted path): value must be equal
    weak: tuple[tuple[str, str], ...]  # (file, dotted path): type must be equal
    tracked: tuple[tuple[str, str], ...]  # (file, dotted path) listed as params


def resolve(document: Mapping[str, Any], path: str, fs: SnapshotFs) -> Pipeline:
    """The `Pipeline` DVC sees in a templated `dvc.yaml` (`fs.seen`: the files it read)."""
    return _resolve(document, path, fs, None)[0]


def _resolve(
    document: Mapping[str, Any], path: str, fs: SnapshotFs, recorder: _Recorder | None
) -> tuple[Pipeline, tuple[tuple[str, Any], ...]]:
    """`resolve`, noting in `recorder` the values selected; with the vars files imported."""
    from dvc.exceptions import DvcException
    from dvc.parsing import DataResolver

    folder = posixpath.dirname(path)
    try:
        resolver = DataResolver(_Repo(fs), folder, dict(document))
        if recorder is not None:
            resolver.context.__class__ = _recording_context(recorder)
            resolver.context.recorder = recorder
        stages: dict[str, Any] = {}
        for name in resolver.get_keys():
            stages.update(resolver.resolve_one(name))
        resolved = {
            "stages": stages,
            "params": resolver.resolve_params(),
            "metrics": resolver.resolve_metrics(),
            "plots": resolver.resolve_plots(),
        }
    except (DvcException, DvcFileError, ValueError, TypeError, KeyError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DvcFileError(path, f"DVC's templating does not resolve: {reason}") from None
    vars_params: dict[str, dict[str, Any]] = {}
    for tracked in resolver.tracked_vars.values():
        for source, values in tracked.items():
            vars_params.setdefault(posixpath.normpath(source), {}).update(values)
    return pipeline(resolved, path, vars_params), tuple(resolver.context.imports.items())


def _has_stage_vars(document: Mapping[str, Any]) -> bool:
    """Stage-level `vars` make DVC copy its context, out of the recorder's sight."""
    stages = document.get("stages")
    for body in stages.values() if isinstance(stages, Mapping) else ():
        if isinstance(body, Mapping) and (
            "vars" in body or (isinstance(body.get("do"), Mapping) and "vars" in body["do"])
        ):
            return True
    return False


class _Missing(Exception):
    """A value a shape depends on is not in this snapshot."""


class Resolver:
    """Pipelines of `dvc.yaml` documents, templated or not, memoised across snapshots.

    A templated result is filed under its `_Shape`; another snapshot reuses it when the
    shape's signature there (kinds of the files seen, keys of the vars files, values that
    make paths, types of values in commands) is the same, with the vars values it lists
    as params read from that snapshot. Without a shape (stage-level `vars`), a result is
    reused only where every file the resolver read has the same content."""

    def __init__(self, parse: Callable[[Any, str], Any] | None = None) -> None:
        """`parse(files, path)` reads a vars file as the reader reads params (memoised
        there); by default, `exp_ci.read.formats.parse_file`."""
        self._parse = parse  # takes the snapshot given to `pipeline`
        self._plain: dict[tuple[str, str], Pipeline | DvcFileError] = {}
        self._shaped: dict[tuple[str, str], dict[_Shape, dict[Any, Pipeline]]] = {}
        self._exact: dict[tuple[str, str], dict[tuple[str, ...], dict[Any, Any]]] = {}
        self._parsed: dict[tuple[str | None, str], Any] = {}

    def pipeline(self, path: str, document: Callable[[], Any], files: Files) -> Pipeline:
        """The model of the `dvc.yaml` at `path` in `files` (`document` parses it)."""
        key = files.content_key(path)
        memo_key = (key, path) if key is not None else None
        if memo_key is not None:
            if memo_key in self._plain:
                return _raise_or_return(self._plain[memo_key])
            found = self._reuse(memo_key, files)
            if found is not None:
                return _raise_or_return(found)
        parsed = document()
        if not isinstance(parsed, Mapping) or not needs_resolving(parsed):
            try:
                result: Pipeline | DvcFileError = pipeline(parsed, path)
            except DvcFileError as error:
                result = error
            if memo_key is not None:
                self._plain[memo_key] = result
            return _raise_or_return(result)
        fs = SnapshotFs(files)
        recorder = None if _has_stage_vars(parsed) else _Recorder()
        imports: tuple[tuple[str, Any], ...] | None = None
        try:
            result, imports = _resolve(parsed, path, fs, recorder)
        except DvcFileError as error:
            result = error
        if memo_key is not None:
            self._remember(memo_key, files, fs, recorder, result, imports)
        return _raise_or_return(result)

    def _reuse(self, memo_key: tuple[str, str], files: Files) -> Pipeline | DvcFileError | None:
        for paths, by_keys in self._exact.get(memo_key, {}).items():
            found = by_keys.get(tuple(_seen(files, p) for p in paths))
            if found is not None:
                return found
        for shape, by_signature in self._shaped.get(memo_key, {}).items():
            try:
                found = by_signature.get(self._signature(shape, files))
                if found is not None:
                    return replace(found, vars_params=self._tracked(shape, files))
            except _Missing:
                continue
        return None

    def _remember(
        self,
        memo_key: tuple[str, str],
        files: Files,
        fs: SnapshotFs,
        recorder: _Recorder | None,
        result: Pipeline | DvcFileError,
        imports: tuple[tuple[str, Any], ...] | None,
    ) -> None:
        if recorder is None or not isinstance(result, Pipeline) or imports is None:
            by_paths = self._exact.setdefault(memo_key, {})
            by_paths.setdefault(tuple(fs.seen), {})[tuple(fs.seen.values())] = result
            return
        structural = tuple(dict.fromkeys((f, p) for f, p, weak in recorder.selected if not weak))
        weak = tuple(dict.fromkeys((f, p) for f, p, w in recorder.selected if w))
        tracked = tuple((f, k) for f, values in result.vars_params.items() for k in values)
        shape = _Shape(
            tuple((p, "file" if k not in (None, "dir") else k) for p, k in fs.seen.items()),
            tuple((p, tuple(keys) if keys else None) for p, keys in imports),
            structural,
            weak,
            tracked,
        )
        try:
            signature = self._signature(shape, files)
        except _Missing:
            return
        self._shaped.setdefault(memo_key, {}).setdefault(shape, {})[signature] = result

    def _value(self, documents: dict[str, Any], files: Files, source: str, dotted: str) -> Any:
        """The value at a dotted path of a vars file (`documents`: those read so far)."""
        if source not in documents:
            documents[source] = self._document(files, source)
        from exp_ci.read.formats import lookup

        found, node = lookup(documents[source], dotted)
        if not found:
            raise _Missing(source, dotted)
        return node

    def _document(self, files: Files, source: str) -> Any:
        from exp_ci.read.formats import FileFormatError, parse_file

        if _seen_kind(files, source) != "file":
            raise _Missing(source)
        if self._parse is not None:
            try:
                return self._parse(files, source)
            except FileFormatError:
                raise _Missing(source) from None
        memo = (files.content_key(source), source)
        if memo[0] is None or memo not in self._parsed:
            try:
                document: Any = parse_file(source, files.read(source))
            except FileFormatError:
                document = _Missing(source)
            if memo[0] is None:
                return _raise_missing(document)
            self._parsed[memo] = document
        return _raise_missing(self._parsed[memo])

    def _signature(self, shape: _Shape, files: Files) -> tuple[Any, ...]:
        import json

        if any(_seen_kind(files, p) != kind for p, kind in shape.seen):
            raise _Missing
        documents: dict[str, Any] = {}
        skeletons = []
        for source, keys in shape.imports:
            document = documents[source] = self._document(files, source)
            if not isinstance(document, Mapping):
                raise _Missing(source)
            if keys is not None:
                if any(k not in document for k in keys):
                    raise _Missing(source)
                document = {k: document[k] for k in keys}
            skeletons.append(_skeleton(document))
        values = tuple(
            json.dumps(self._value(documents, files, f, p), sort_keys=True, default=repr)
            for f, p in shape.structural
        )
        types = tuple(type(self._value(documents, files, f, p)).__name__ for f, p in shape.weak)
        return (tuple(skeletons), values, types)

    def _tracked(self, shape: _Shape, files: Files) -> dict[str, dict[str, Any]]:
        documents: dict[str, Any] = {}
        tracked: dict[str, dict[str, Any]] = {}
        for source, dotted in shape.tracked:
            value = self._value(documents, files, source, dotted)
            tracked.setdefault(source, {})[dotted] = value
        return tracked


def _skeleton(value: Any) -> Any:
    """The nested keys of a document (what DVC's merge of vars files depends on)."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _skeleton(v)) for k, v in value.items()))
    return type(value).__name__


def _raise_missing(document: Any) -> Any:
    if isinstance(document, _Missing):
        raise document
    return document


def _seen_kind(files: Files, path: str) -> str | None:
    if files.refusal(path) is not None:
        return None
    return files.kind(path)


def _seen(files: Files, path: str) -> str | None:
    if files.refusal(path) is not None:
        return None
    kind = files.kind(path)
    return files.content_key(path) if kind == "file" else kind


def _raise_or_return(result: Pipeline | DvcFileError) -> Pipeline:
    if isinstance(result, DvcFileError):
        raise result
    return result
