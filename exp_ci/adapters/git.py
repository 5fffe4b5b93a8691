"""All Git access: refs, commits, trees and blobs, through GitPython.

Refs and commit metadata come from one `git for-each-ref` / `git log` call each; trees and
blobs from GitPython's persistent `git cat-file --batch` process. Trees are memoised by
SHA, so the thousand experiments of a baseline, which share almost every subtree, cost
one read per distinct tree.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from exp_ci.errors import UserError

EXP_REF_PATTERN = re.compile(r"^refs/exps/([0-9a-f]{2})/([0-9a-f]{38})/([^/]+)$")
TREE_MODE = 0o040000


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    created: datetime


@dataclass(frozen=True)
class ExpRef:
    """An experiment ref: `refs/exps/<baseline[:2]>/<baseline[2:]>/<name>`."""

    ref: str
    name: str
    baseline: str
    commit: CommitInfo


@dataclass(frozen=True)
class TreeEntry:
    name: str
    sha: str
    is_tree: bool


def _tree_entries(data: bytes) -> tuple[TreeEntry, ...]:
    from git.objects.fun import tree_entries_from_data

    return tuple(
        TreeEntry(name, binsha.hex(), mode == TREE_MODE)
        for binsha, mode, name in tree_entries_from_data(data)
    )


def _timestamp(seconds: str) -> datetime:
    return datetime.fromtimestamp(int(seconds), tz=timezone.utc)


def parse_exp_ref(ref: str) -> tuple[str, str] | None:
    """(baseline SHA, name) of an experiment ref; None for DVC's machinery refs."""
    match = EXP_REF_PATTERN.match(ref)
    if not match:
        return None
    return match.group(1) + match.group(2), match.group(3)


class GitRepository:
    """A Git repository read through GitPython, with the caches exp-ci's reads rely on."""

    def __init__(self, path: Path) -> None:
        import git

        try:
            self._repo = git.Repo(path, search_parent_directories=True)
        except git.NoSuchPathError:
            raise UserError(
                f"{path} does not exist. Pass an existing folder with -C/--repo."
            ) from None
        except git.InvalidGitRepositoryError:
            raise UserError(
                f"{path} is not inside a Git repository. exp-ci reads DVC experiments from Git: "
                "run it in the repository (or pass -C PATH), or create one with `git init`."
            ) from None
        if self._repo.bare:
            raise UserError(f"{path} is a bare Git repository; exp-ci needs a working tree.")
        self.root = Path(self._repo.working_tree_dir or path)
        self._trees: dict[str, tuple[TreeEntry, ...]] = {}
        self._blobs: dict[str, bytes] = {}

    def close(self) -> None:
        self._repo.close()

    def run(self, *args: str) -> str:
        """`git ARGS...` in this repository; errors become GitPython's GitCommandError."""
        return self._repo.git.execute(["git", *args], strip_newline_in_stdout=False)

    def resolve_commit(self, rev: str) -> str:
        import git

        try:
            return self.run(
                "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"
            ).strip()
        except git.GitCommandError:
            if rev == "HEAD":
                raise UserError(
                    f"the repository at {self.root} has no commits yet. Commit your DVC "
                    "project (`git add -A && git commit`) and run experiments first."
                ) from None
            raise UserError(
                f"'{rev}' is not a commit in {self.root}. Name a branch, tag or SHA that "
                "`git rev-parse` knows (fetch it first if it only exists on a remote)."
            ) from None

    def experiment_refs(self) -> list[ExpRef]:
        """Every experiment ref with its commit's tree and time, in one Git call."""
        out = self.run(
            "for-each-ref",
            "--format=%(objectname) %(objecttype) %(committerdate:unix) %(tree) %(refname)",
            "refs/exps/",
        )
        refs = []
        for line in out.splitlines():
            sha, kind, seconds, tree, ref = line.split(" ", 4)
            parsed = parse_exp_ref(ref)
            if parsed is None or kind != "commit":
                continue
            baseline, name = parsed
            refs.append(ExpRef(ref, name, baseline, CommitInfo(sha, tree, _timestamp(seconds))))
        return refs

    def commits(self, shas: list[str]) -> dict[str, CommitInfo]:
        if not shas:
            return {}
        out = self.run("log", "--no-walk=unsorted", "--format=%H %T %ct", *shas, "--")
        infos = {}
        for line in out.splitlines():
            sha, tree, seconds = line.split(" ")
            infos[sha] = CommitInfo(sha, tree, _timestamp(seconds))
        return infos

    def names_of_commits(self) -> dict[str, str]:
        """Commit SHA -> a branch (preferred) or tag at it, as DVC names baselines."""
        out = self.run(
            "for-each-ref",
            "--format=%(objectname) %(*objectname) %(refname)",
            "refs/heads/",
            "refs/tags/",
        )
        names: dict[str, str] = {}
        current = self.current_branch()
        for line in out.splitlines():
            sha, peeled, ref = line.split(" ", 2)
            commit = peeled or sha
            short = ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
            if ref.startswith("refs/heads/") and short == current:
                names[commit] = short
            else:
                names.setdefault(commit, short)
        return names

    def current_branch(self) -> str | None:
        import git

        try:
            return self.run("symbolic-ref", "--quiet", "--short", "HEAD").strip() or None
        except git.GitCommandError:
            return None

    def tree(self, sha: str) -> tuple[TreeEntry, ...]:
        cached = self._trees.get(sha)
        if cached is None:
            cached = self._trees[sha] = _tree_entries(self._repo.git.get_object_data(sha)[3])
        return cached

    def blob(self, sha: str) -> bytes:
        cached = self._blobs.get(sha)
        if cached is None:
            cached = self._blobs[sha] = self._repo.git.get_object_data(sha)[3]
        return cached

    def prefetch_trees(self, roots: Iterable[str], skip: frozenset[str] = frozenset()) -> None:
        """Read every tree below `roots` (but folders named in `skip`), a level per batch."""
        pending = [sha for sha in dict.fromkeys(roots) if sha not in self._trees]
        while pending:
            for sha, data in self._read_batch(pending).items():
                self._trees[sha] = _tree_entries(data)
            pending = list(
                dict.fromkeys(
                    entry.sha
                    for sha in pending
                    for entry in self._trees[sha]
                    if entry.is_tree and entry.name not in skip and entry.sha not in self._trees
                )
            )

    def prefetch_blobs(self, shas: Iterable[str]) -> None:
        self._blobs.update(
            self._read_batch([s for s in dict.fromkeys(shas) if s not in self._blobs])
        )

    def _read_batch(self, shas: list[str]) -> dict[str, bytes]:
        """Many objects through one `git cat-file --batch`, requests written while reading.

        GitPython's own object reads wait for each answer before asking the next; over a
        thousand experiments that round trip is most of the time, so this pipelines them.
        """
        if not shas:
            return {}
        process = self._repo.git.execute(
            ["git", "cat-file", "--batch"], as_process=True, istream=subprocess.PIPE
        )
        requests = "".join(f"{sha}\n" for sha in shas).encode()

        def write() -> None:
            with contextlib.suppress(BrokenPipeError):
                process.stdin.write(requests)
                process.stdin.close()

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        objects: dict[str, bytes] = {}
        stdout = process.stdout
        for sha in shas:
            header = stdout.readline().split()
            if len(header) != 3:
                raise RuntimeError(f"git cat-file: object {sha} is missing ({header})")
            data = stdout.read(int(header[2]))
            stdout.read(1)  # the newline after each object
            objects[sha] = data
        writer.join()
        process.wait()
        return objects

    def lookup(self, tree_sha: str, path: str) -> TreeEntry | None:
        """The entry at `path` (posix, repo-relative) in a tree, or None."""
        entry = None
        current = tree_sha
        for part in path.split("/"):
            if entry is not None and not entry.is_tree:
                return None
            entry = next((e for e in self.tree(current) if e.name == part), None)
            if entry is None:
                return None
            current = entry.sha
        return entry

    def files_below(self, tree_sha: str, prefix: str) -> list[str]:
        """Every blob path under a tree, sorted, prefixed with the tree's own path."""
        paths = []
        for entry in self.tree(tree_sha):
            path = f"{prefix}/{entry.name}"
            if entry.is_tree:
                paths.extend(self.files_below(entry.sha, path))
            else:
                paths.append(path)
        return sorted(paths)
