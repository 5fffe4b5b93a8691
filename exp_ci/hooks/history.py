"""Which `dvc.lock` and `.dvc` files a push or a commit brings, read from Git objects.

A push brings the commits of TO that the remote does not have: not FROM (the remote's old
tip, when it had one) and not on any of the remote's branches we know of. One `git log`
lists, for each of those commits, the DVC files it adds or changes, with their blob SHAs;
merges count only for files they resolve to new content. The same content at the same
path is read once, for the oldest commit that records it.

Git is run as plain `git` subprocesses here, not through GitPython (`adapters.git`):
importing GitPython alone takes about 60 ms, more than everything else the hook does on a
push whose data the index already knows, and the hook must stay too quick to notice.
"""

from __future__ import annotations

import posixpath
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from exp_ci.errors import UserError
from exp_ci.hooks.outputs import DVC_LOCK, DVC_YAML, is_dvc_file

ZERO_SHA = "0" * 40
PATHSPECS = (f":(glob)**/{DVC_LOCK}", ":(glob)**/*.dvc")
FILE_MODES = ("100644", "100755")


@dataclass(frozen=True)
class DvcFileVersion:
    """A DVC file's content as one commit (or the index, `commit=None`) records it."""

    path: str
    blob: str
    commit: str | None = None
    tree: str | None = None  # the commit's tree, to read the dvc.yaml beside a dvc.lock

    @property
    def is_lock(self) -> bool:
        return posixpath.basename(self.path) == DVC_LOCK

    @property
    def dvc_yaml(self) -> str:
        """How `git cat-file` names the dvc.yaml beside this file, in the same commit (or
        the index)."""
        path = posixpath.join(posixpath.dirname(self.path), DVC_YAML)
        return f"{self.tree}:{path}" if self.tree else f":{path}"


def _changed(meta: str, path: str) -> str | None:
    """The new blob of one `--raw` record (`:old new sha sha M`, `::` for merges), or None."""
    parents = len(meta) - len(meta.lstrip(":"))
    fields = meta.lstrip(":").split(" ")
    if len(fields) != 2 * parents + 3:
        return None
    mode, blob = fields[parents], fields[2 * parents + 1]
    if mode not in FILE_MODES or blob == ZERO_SHA or not is_dvc_file(path):
        return None
    return blob


def parse_raw_log(text: str) -> list[DvcFileVersion]:
    """Parse `git log -z --format=%x01%H %T --raw --no-abbrev` into changed DVC files."""
    versions: list[DvcFileVersion] = []
    for chunk in text.split("\x01")[1:]:
        header, _, records = chunk.partition("\0")
        commit, _, tree = header.strip().partition(" ")
        fields = records.lstrip("\n").split("\0")
        for meta, path in zip(fields[0::2], fields[1::2], strict=False):
            blob = _changed(meta, path)
            if blob is not None:
                versions.append(DvcFileVersion(path, blob, commit, tree or None))
    return versions


def parse_raw_diff(text: str) -> list[DvcFileVersion]:
    """Parse `git diff -z --raw --no-abbrev` (the staged changes) into changed DVC files."""
    fields = text.split("\0")
    versions = []
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        blob = _changed(meta.strip(), path)
        if blob is not None:
            versions.append(DvcFileVersion(path, blob))
    return versions


def first_versions(versions: list[DvcFileVersion]) -> list[DvcFileVersion]:
    """Each (path, content) once, as its first (oldest) commit records it."""
    seen: dict[tuple[str, str], DvcFileVersion] = {}
    for version in versions:
        seen.setdefault((version.path, version.blob), version)
    return list(seen.values())


class GitReader:
    """The few reads the hook needs from the Git repository at or above `path`, in as few
    `git` processes as possible: a push without DVC changes costs one `git log`."""

    def __init__(self, path: Path) -> None:
        if not path.is_dir():
            raise UserError(f"{path} is not a folder. Pass an existing folder with -C/--repo.")
        self.path = path
        self._root: Path | None = None

    @property
    def root(self) -> Path:
        """The top folder of the working tree."""
        if self._root is None:
            out = self.run("rev-parse", "--show-toplevel")
            self._root = Path(out.strip())
        return self._root

    def _git(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=self.path, capture_output=True, check=False)

    def run(self, *args: str) -> str:
        result = self._git(*args)
        if result.returncode != 0:
            error = result.stderr.decode(errors="replace").strip()
            if "not a git repository" in error or "must be run in a work tree" in error:
                raise UserError(
                    f"{self.path} is not inside the working tree of a Git repository. The "
                    "hook checks what Git is about to push or commit: run it in the "
                    "repository (or pass -C PATH)."
                )
            if "bad revision" in error or "unknown revision" in error:
                raise UserError(
                    f"Git does not know that revision ({error.removeprefix('fatal: ')}) in "
                    f"{self.path.resolve()}. Name a branch, tag or SHA that `git rev-parse` "
                    "knows (fetch it first if it only exists on a remote)."
                )
            command = " ".join(["git", *args])
            raise UserError(f"`{command}` failed with exit code {result.returncode}: {error}")
        return result.stdout.decode(errors="surrogateescape")

    def resolve_commit(self, rev: str) -> str:
        return self.run("rev-parse", "--verify", "--end-of-options", f"{rev}^{{commit}}").strip()

    def read(self, names: list[str]) -> dict[str, bytes | None]:
        """Objects by any name `git cat-file` takes (`SHA`, `TREE:path`, `:path`), through
        one `git cat-file --batch`; None for a name that names nothing."""
        names = list(dict.fromkeys(names))
        if not names:
            return {}
        process = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=self.path,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        requests = "".join(f"{name}\n" for name in names).encode()
        writer = threading.Thread(target=self._write, args=(process, requests), daemon=True)
        writer.start()
        objects: dict[str, bytes | None] = {}
        for name in names:
            header = process.stdout.readline().split()
            if len(header) != 3:  # "<name> missing" (or ambiguous)
                objects[name] = None
                continue
            data = process.stdout.read(int(header[2]))
            process.stdout.read(1)  # the newline after each object
            objects[name] = data if header[1] == b"blob" else None
        writer.join()
        process.stdout.close()
        process.wait()
        return objects

    @staticmethod
    def _write(process: subprocess.Popen, requests: bytes) -> None:
        try:
            process.stdin.write(requests)
            process.stdin.close()
        except BrokenPipeError:
            pass


def pushed_dvc_files(
    git: GitReader, to_ref: str, from_ref: str | None, remote: str | None
) -> list[DvcFileVersion]:
    """DVC files changed by the commits of `to_ref` that the remote does not have yet."""
    revs = [to_ref, "--not"]
    if from_ref and from_ref != ZERO_SHA:
        revs.append(from_ref)
    for rev in revs:
        if rev.startswith("-") and rev != "--not":
            raise UserError(f"'{rev}' is not a Git revision (it starts with '-').")
    revs.append(f"--remotes={remote}" if remote else "--remotes")
    out = git.run(
        "-c",
        "core.quotePath=false",
        "log",
        "-z",
        "--reverse",
        "--topo-order",
        "--format=%x01%H %T",
        "--raw",
        "--no-abbrev",
        "--no-renames",
        "--full-history",
        "--diff-merges=combined",
        *revs,
        "--",
        *PATHSPECS,
    )
    return first_versions(parse_raw_log(out))


def staged_dvc_files(git: GitReader) -> list[DvcFileVersion]:
    """DVC files added or changed in the index (what `git commit` would record)."""
    out = git.run(
        "diff", "--cached", "-z", "--raw", "--no-abbrev", "--no-renames", "--", *PATHSPECS
    )
    return parse_raw_diff(out)


def read_versions(
    git: GitReader, versions: list[DvcFileVersion]
) -> dict[DvcFileVersion, tuple[bytes, bytes | None]]:
    """Each version's content, and for a dvc.lock the dvc.yaml beside it, in one batch."""
    objects = git.read([v.blob for v in versions] + [v.dvc_yaml for v in versions if v.is_lock])
    contents = {}
    for version in versions:
        content = objects[version.blob]
        if content is None:
            raise UserError(f"Git object {version.blob} of {version.path} is missing.")
        contents[version] = (content, objects[version.dvc_yaml] if version.is_lock else None)
    return contents
