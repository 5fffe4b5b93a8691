"""Objects already verified in a DVC remote, remembered under `.dvc/tmp/` between pushes.

Objects are content addressed: once one is in the remote, it stays the same object, so a
later push needs to ask the remote only about objects it has not seen there. One text file
per remote, named after a hash of the remote's URL; one object per line, written as its
path inside the remote (`files/md5/ab/cdef…`, DVC 2: `ab/cdef…`). A directory's `.dir`
line means the manifest and every file it lists were there. Lines are only appended; a line
cut short by a crash is ignored (and the next append starts on a new line).

Beside them, `CheckedVersions` remembers DVC file versions whose every output was found
in its remote, so a push of those asks nothing and reads no DVC file: see its docstring.
Deleting the folder (or `--no-index`) forgets everything.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import exp_ci
from exp_ci.lean_typing import TYPE_CHECKING

if TYPE_CHECKING:
    from exp_ci.read.dvcyaml import CachedOut

INDEX_DIR = Path(".dvc") / "tmp" / "exp-ci" / "remote-index"
CHECKED_FORMAT = "1"  # of the checked-versions files; a new rule for outputs: a new number

try:
    # BLAKE2 as CPython builds it in (what `hashlib.blake2b` is): the checked versions are
    # read on every push, and `import hashlib` loads OpenSSL: 3-4 ms here, against 0.3 ms.
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without its own hash modules
    from hashlib import blake2b


def object_key(obj: CachedOut) -> str:
    """The object's path inside a remote: how DVC lays it out, and how the index names it."""
    layout = "" if obj.legacy_layout else "files/md5/"
    return f"{layout}{obj.md5[:2]}/{obj.md5[2:]}"


def index_path(project_root: Path, remote_url: str) -> Path:
    import hashlib

    digest = hashlib.sha256(remote_url.encode()).hexdigest()[:20]
    return project_root / INDEX_DIR / f"{digest}.txt"


class VerifiedIndex:
    """The objects one remote (by URL) is known to hold; `in` reads, `add` appends.

    A push whose outputs are all known asks about a handful of objects: those are looked
    up in the file's text; a set of all lines is built only once many are asked.
    """

    SET_AFTER = 32  # lookups before building the set

    def __init__(self, path: Path, remote_url: str, text: str = "") -> None:
        self.path = path
        self.remote_url = remote_url
        # "\n"-framed complete lines only: a last line cut short by a crash is dropped.
        self._text = "\n" + text[: text.rfind("\n") + 1]
        self._keys: set[str] | None = None
        self._lookups = 0

    @classmethod
    def load(cls, project_root: Path, remote_url: str) -> VerifiedIndex:
        path = index_path(project_root, remote_url)
        try:
            text = path.read_text(encoding="ascii", errors="replace")
        except OSError:
            text = ""
        return cls(path, remote_url, text)

    def _all(self) -> set[str]:
        if self._keys is None:
            self._keys = {line for line in self._text.split("\n") if line and line[0] != "#"}
        return self._keys

    def __len__(self) -> int:
        return len(self._all())

    def __contains__(self, obj: object) -> bool:
        from exp_ci.read.dvcyaml import CachedOut

        if not isinstance(obj, CachedOut):
            return False
        key = object_key(obj)
        if self._keys is None and self._lookups < self.SET_AFTER:
            self._lookups += 1
            return f"\n{key}\n" in self._text
        return key in self._all()

    def add(self, objects: Iterable[CachedOut]) -> int:
        """Remember objects seen in the remote; returns how many were new."""
        wanted = list(dict.fromkeys(map(object_key, objects)))
        if not wanted:
            return 0
        keys = self._all()
        new = [key for key in wanted if key not in keys]
        if not new:
            return 0
        _append(self.path, f"# objects verified in {self.remote_url}\n", new)
        keys.update(new)
        return len(new)


class EmptyIndex:
    """`--no-index`: nothing is known beforehand; what is verified is still remembered."""

    def __init__(self, index: VerifiedIndex) -> None:
        self._index = index

    def __contains__(self, obj: object) -> bool:
        return False

    def add(self, objects: Iterable[CachedOut]) -> int:
        return self._index.add(objects)


def _append(path: Path, header: str, lines: Iterable[str]) -> None:
    """Append whole lines in one append-mode write, so concurrent hooks interleave whole
    lines, never parts: after `header` in a new file, after a newline when a crash cut
    the last line short."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(descriptor).st_size
        last = os.pread(descriptor, 1, size - 1) if size else b""
        start = header if not size else "" if last == b"\n" else "\n"
        os.write(descriptor, (start + "".join(f"{line}\n" for line in lines)).encode("ascii"))
    finally:
        os.close(descriptor)


class CheckedVersions:
    """DVC file versions whose every pushed output was found in its DVC remote.

    What a check of one version finds is fixed by what it reads: the version's Git objects
    (the file's blob; for a `dvc.lock`, its commit's tree, which holds the `dvc.yaml` and
    what templating reads), the project's `.dvc/config` and `.dvc/config.local` (which
    remote each output goes to, and its URL), `--remote`, the project's folder (a relative
    URL is resolved from it) and exp-ci's rules (its version) — and by the remote, whose
    objects, once there, stay (content addressed: the assumption of the object index).
    So a version is remembered under a key of all of those, in a file named after the
    project part, only when every output was found and each remote came from the
    project's own config (DVC's global config is not part of the key); any change to one
    of them is a new key, and the check runs in full. One line per version: a hash.
    """

    def __init__(self, path: Path, text: str = "") -> None:
        self.path = path
        self._text = "\n" + text[: text.rfind("\n") + 1]

    @classmethod
    def load(cls, project_root: Path, remote: str | None) -> CheckedVersions:
        """The versions checked in this project with this `--remote` (None: each output's
        own remote, else the default) and the project's config as it is now."""
        project = (CHECKED_FORMAT, exp_ci.__version__, str(project_root), remote or "")
        digest = blake2b("\0".join(project).encode("utf-8", "surrogateescape"), digest_size=10)
        for name in ("config", "config.local"):
            try:
                config = (project_root / ".dvc" / name).read_bytes()
            except OSError:
                config = b"(none)"
            digest.update(b"\0%d\0" % len(config) + config)
        path = project_root / INDEX_DIR / f"checked-{digest.hexdigest()}.txt"
        try:
            text = path.read_text(encoding="ascii", errors="replace")
        except OSError:
            text = ""
        return cls(path, text)

    @staticmethod
    def key(path: str, blob: str, tree: str | None) -> str:
        """A version by its repository path, blob and (for a `dvc.lock`) commit tree."""
        identity = "\0".join((path, blob, tree or "")).encode("utf-8", "surrogateescape")
        return blake2b(identity, digest_size=16).hexdigest()

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and f"\n{key}\n" in self._text

    def add(self, keys: Iterable[str]) -> None:
        new = [key for key in dict.fromkeys(keys) if key not in self]
        if new:
            _append(self.path, "# DVC file versions whose outputs were all in their remotes\n", new)
            self._text += "".join(f"{key}\n" for key in new)
