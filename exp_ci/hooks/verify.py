"""Which recorded outputs are missing from a store (a DVC remote, or the local cache).

The decision is pure: the store and the local cache are passed in. A directory output is
its `.dir` manifest plus every file the manifest lists; the manifest is read from the
local cache, else from the store itself, so one missing file of a directory is found. A
directory counts as present (and may be remembered as such) only when all of it is.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Container, Iterable
from dataclasses import dataclass
from typing import Protocol

from exp_ci.hooks.outputs import Output, parse_manifest
from exp_ci.read.dvcyaml import CachedOut

Manifest = list[tuple[str, CachedOut]]

NOT_IN_STORE = "not in the store"
NO_MANIFEST = "its directory manifest is in neither the local cache nor the store"
BAD_MANIFEST = "its directory manifest is not a valid DVC manifest"


class ObjectStore(Protocol):
    def exists(self, objects: Collection[CachedOut]) -> set[CachedOut]:
        """The given objects that the store holds."""

    def read(self, obj: CachedOut) -> bytes | None:
        """An object's bytes, or None when the store does not hold it."""


@dataclass(frozen=True)
class Missing:
    """One output (or one file of a directory output) the store does not hold."""

    output: Output
    obj: CachedOut  # the missing object
    member: str | None = None  # its path inside the directory output
    reason: str = NOT_IN_STORE

    @property
    def path(self) -> str:
        return f"{self.output.path}/{self.member}" if self.member else self.output.path


@dataclass(frozen=True)
class Verdict:
    """What a store holds of some outputs."""

    missing: tuple[Missing, ...]
    present: frozenset[CachedOut]  # objects seen in the store; directories only when whole
    asked: int  # objects the store was asked about


def unique_outputs(outputs: Iterable[Output]) -> list[Output]:
    """Each (path, object) once: the first output to record it (the oldest commit) wins."""
    seen: dict[tuple[str, CachedOut], Output] = {}
    for output in outputs:
        seen.setdefault((output.path, output.obj), output)
    return list(seen.values())


def _manifest(data: bytes | None, obj: CachedOut) -> Manifest | str:
    if data is None:
        return NO_MANIFEST
    members = parse_manifest(data, obj.legacy_layout)
    return BAD_MANIFEST if members is None else members


def find_missing(
    outputs: Iterable[Output],
    store: ObjectStore,
    *,
    read_local: Callable[[CachedOut], bytes | None],
    known: Container[CachedOut] = frozenset(),
) -> Verdict:
    """Check every output against the store, asking only about objects not already `known`."""
    outputs = [o for o in unique_outputs(outputs) if o.obj not in known]
    directories = list(dict.fromkeys(o.obj for o in outputs if o.is_dir))
    manifests: dict[CachedOut, Manifest | str] = {}
    for obj in directories:
        data = read_local(obj)
        if data is not None:
            manifests[obj] = _manifest(data, obj)

    def members_to_ask(objs: Iterable[CachedOut]) -> set[CachedOut]:
        return {
            member
            for obj in objs
            if isinstance(manifest := manifests.get(obj), list)
            for _, member in manifest
            if member not in known
        }

    asked = {o.obj for o in outputs} | members_to_ask(manifests)
    present = store.exists(asked) if asked else set()
    # Manifests only the store has: read them there, then ask about their files too.
    from_store = [obj for obj in directories if obj not in manifests and obj in present]
    for obj in from_store:
        manifests[obj] = _manifest(store.read(obj), obj)
    more = members_to_ask(from_store) - asked
    if more:
        present |= store.exists(more)
        asked |= more
    for obj in directories:
        manifests.setdefault(obj, NO_MANIFEST)

    def held(obj: CachedOut) -> bool:
        return obj in present or obj in known

    missing: list[Missing] = []
    whole: set[CachedOut] = set()
    for output in outputs:
        if not output.is_dir:
            if not held(output.obj):
                missing.append(Missing(output, output.obj))
            continue
        manifest = manifests[output.obj]
        if isinstance(manifest, str):
            missing.append(Missing(output, output.obj, reason=manifest))
            continue
        gaps = [Missing(output, obj, relpath) for relpath, obj in manifest if not held(obj)]
        if not held(output.obj):
            gaps.insert(0, Missing(output, output.obj))
        missing.extend(gaps)
        if not gaps:
            whole.add(output.obj)
    seen = {obj for obj in present if not obj.md5.endswith(".dir")} | whole
    return Verdict(tuple(missing), frozenset(seen), len(asked))
