"""Which `dvc.lock` and `.dvc` files a push or a commit brings, read from Git objects.

A push brings the commits of TO that the remote does not have: not FROM (the remote's old
tip, when it had one) and not on any of the remote's branches we know of. One `git log`
lists, for each of those commits, the DVC files it adds or changes, with their blob SHAs;
merges count only for files they resolve to new content. The same content at the same
path is read once, for the oldest commit that records it.

Git is read through `adapters.gitcli.GitReader` (plain `git` subprocesses), not GitPython
(`adapters.git`): importing GitPython alone takes about 60 ms, more than everything else
the hook does on a push whose data the index already knows.
"""

from __future__ import annotations

import posixpath

from exp_ci.adapters.gitcli import ZERO_SHA, GitReader
from exp_ci.errors import UserError
from exp_ci.lean_typing import NamedTuple
from exp_ci.read.dvcnames import DVC_LOCK, DVC_YAML, is_dvc_file

PATHSPECS = (f":(glob)**/{DVC_LOCK}", ":(glob)**/*.dvc")
FILE_MODES = ("100644", "100755")


class DvcFileVersion(NamedTuple):
    """A DVC file's content as one commit (or the index, `commit=None`) records it.

    A NamedTuple, not a dataclass: this is the one record a push that the index answers
    needs, and importing `dataclasses` alone is a sixth of such a push's time."""

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


class GitFiles:
    """The files of one commit's tree (or the index, `tree=None`), for `dvc.yaml`
    templating (`exp_ci.read.templating.Files`): paths are repository-relative."""

    def __init__(self, git: GitReader, tree: str | None) -> None:
        self._git = git
        self._tree = tree
        self._blobs: dict[str, bytes | None] = {}

    def _blob(self, path: str) -> bytes | None:
        if path not in self._blobs:
            name = f"{self._tree}:{path}" if self._tree else f":{path}"
            self._blobs[path] = self._git.read([name])[name]
        return self._blobs[path]

    def kind(self, path: str) -> str | None:
        return "file" if self._blob(path) is not None else None

    def read(self, path: str) -> bytes:
        return self._blob(path) or b""

    def size(self, path: str) -> int:
        return len(self.read(path))

    def content_key(self, path: str) -> str | None:
        return None

    def refusal(self, path: str) -> str | None:
        from exp_ci.read.dvcyaml import path_problem

        return path_problem(path)


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


def parse_ls_tree(text: str, commit: str, tree: str | None = None) -> list[DvcFileVersion]:
    """Parse `git ls-tree -r -z --full-tree COMMIT` into the DVC files it holds."""
    versions = []
    for record in text.split("\0"):
        meta, _, path = record.partition("\t")
        fields = meta.split(" ")
        if len(fields) != 3 or fields[0] not in FILE_MODES or not is_dvc_file(path):
            continue
        versions.append(DvcFileVersion(path, fields[2], commit, tree or commit))
    return versions


def commit_dvc_files(git: GitReader, commits: list[str]) -> list[DvcFileVersion]:
    """Every `dvc.lock` and `.dvc` file in the trees of `commits` (not only those changed):
    what a clone of one of them needs from the DVC remote. Each (path, content) once."""
    versions: list[DvcFileVersion] = []
    for commit in dict.fromkeys(commits):
        out = git.run("-c", "core.quotePath=false", "ls-tree", "-r", "-z", "--full-tree", commit)
        versions.extend(parse_ls_tree(out, commit))
    return first_versions(versions)
