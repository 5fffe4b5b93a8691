"""Objects already verified in a DVC remote, remembered under `.dvc/tmp/` between pushes.

Objects are content addressed: once one is in the remote, it stays the same object, so a
later push needs to ask the remote only about objects it has not seen there. One text file
per remote, named after a hash of the remote's URL; one object per line, written as its
path inside the remote (`files/md5/ab/cdef…`, DVC 2: `ab/cdef…`). A directory's `.dir`
line means the manifest and every file it lists were there. Lines are only appended; a line
cut short by a crash is ignored (and the next append starts on a new line). Deleting the
file (or `--no-index`) forgets everything.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from exp_ci.read.dvcyaml import CachedOut

INDEX_DIR = Path(".dvc") / "tmp" / "exp-ci" / "remote-index"


def object_key(obj: CachedOut) -> str:
    """The object's path inside a remote: how DVC lays it out, and how the index names it."""
    layout = "" if obj.legacy_layout else "files/md5/"
    return f"{layout}{obj.md5[:2]}/{obj.md5[2:]}"


def index_path(project_root: Path, remote_url: str) -> Path:
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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = (self._line_start() + "".join(f"{key}\n" for key in new)).encode("ascii")
        # One append-mode write: concurrent hooks interleave whole lines, never parts.
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, data)
        finally:
            os.close(descriptor)
        keys.update(new)
        return len(new)

    def _line_start(self) -> str:
        """A header for a new file; a newline after a line a crash cut short."""
        try:
            with self.path.open("rb") as file:
                file.seek(-1, os.SEEK_END)
                return "" if file.read(1) == b"\n" else "\n"
        except FileNotFoundError:
            return f"# objects verified in {self.remote_url}\n"
        except OSError:  # empty
            return ""


class EmptyIndex:
    """`--no-index`: nothing is known beforehand; what is verified is still remembered."""

    def __init__(self, index: VerifiedIndex) -> None:
        self._index = index

    def __contains__(self, obj: object) -> bool:
        return False

    def add(self, objects: Iterable[CachedOut]) -> int:
        return self._index.add(objects)
