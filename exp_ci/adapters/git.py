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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from exp_ci.adapters.gitcli import ZERO_SHA
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


UNCHECKABLE_NAMES = frozenset({b"", b".", b".."})


def _tree_entries(data: bytes) -> tuple[TreeEntry, ...]:
    """A tree object's entries (`<octal mode> <name>\\0<20-byte SHA>` each).

    Entries that no checkout can hold, named `.` or `..`, empty, or with a `/` (Git
    refuses to check them out), are left out rather than failing: a commit is
    untrusted, and neither DVC nor exp-ci could read such a file. Names that are not
    UTF-8 are decoded with replacement characters, so they stay printable.
    """
    entries = []
    position = 0
    try:
        while position < len(data):
            space = data.index(b" ", position)
            nul = data.index(b"\0", space)
            mode = int(data[position:space], 8)
            name, sha = data[space + 1 : nul], data[nul + 1 : nul + 21]
            if len(sha) != 20:
                raise ValueError("an entry is cut short")
            position = nul + 21
            if name in UNCHECKABLE_NAMES or b"/" in name:
                continue
            entries.append(TreeEntry(name.decode("utf-8", "replace"), sha.hex(), mode == TREE_MODE))
    except ValueError as error:
        raise UserError(
            f"a Git tree object in this repository is malformed ({error}); `git fsck` "
            "finds it. Remove the commit or ref that holds it."
        ) from None
    return tuple(entries)


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
        # The DVC project inside the repository (`dvc init --subdir`): its folder, and its
        # path below the root with a trailing "/" ("" when it is the root).
        self.dvc_root = self.root
        self.dvc_prefix = ""
        self._trees: dict[str, tuple[TreeEntry, ...]] = {}
        self._blobs: dict[str, bytes] = {}
        self._sizes: dict[str, int] = {}  # of objects seen, also those too large to keep

    def close(self) -> None:
        self._repo.close()

    def __enter__(self) -> GitRepository:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

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
        for line in _lines(out):
            sha, kind, seconds, tree, ref = line.split(" ", 4)
            parsed = parse_exp_ref(ref)
            if parsed is None or kind != "commit":
                continue
            baseline, name = parsed
            refs.append(ExpRef(ref, name, baseline, CommitInfo(sha, tree, _timestamp(seconds))))
        return refs

    def reflog(self, ref: str) -> list[tuple[str, str]]:
        """(SHA, message) of each entry of a ref's reflog, newest first; empty when the ref
        or its reflog is missing (DVC keeps its experiment queue in reflogs)."""
        import git

        try:
            out = self.run("reflog", "show", "--format=%H%x00%gs", "--end-of-options", ref, "--")
        except git.GitCommandError:
            return []
        return [
            (sha, message) for line in _lines(out) for sha, _, message in [line.partition("\0")]
        ]

    def existing_commits(self, shas: list[str]) -> dict[str, CommitInfo]:
        """Like `commits`, leaving out SHAs that name no commit here (a dropped stash)."""
        import git

        try:
            return self.commits(shas)
        except git.GitCommandError:
            found: dict[str, CommitInfo] = {}
            for sha in shas:
                with contextlib.suppress(git.GitCommandError):
                    found.update(self.commits([sha]))
            return found

    def commits(self, shas: list[str]) -> dict[str, CommitInfo]:
        if not shas:
            return {}
        out = self.run("log", "--no-walk=unsorted", "--format=%H %T %ct", *shas, "--")
        infos = {}
        for line in _lines(out):
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
        for line in _lines(out):
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

    def blob_size(self, sha: str) -> int:
        """An object's size without reading it (known after a batch read, else asked)."""
        size = self._sizes.get(sha)
        if size is None:
            size = self._sizes[sha] = self._repo.git.get_object_header(sha)[2]
        return size

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

    def prefetch_blobs(self, shas: Iterable[str], max_size: int | None = None) -> None:
        """Read blobs ahead in one batch; those above `max_size` bytes are not kept (only
        their size, for `blob_size`)."""
        limit = max_size if max_size is not None else float("inf")
        wanted = [
            sha
            for sha in dict.fromkeys(shas)
            if sha not in self._blobs and self._sizes.get(sha, 0) <= limit
        ]
        self._blobs.update(self._read_batch(wanted, max_size))

    def _read_batch(self, shas: list[str], max_size: int | None = None) -> dict[str, bytes]:
        """Many objects in one pipelined batch (`gitcli.read_objects`); those above
        `max_size` bytes are not kept, only their size."""
        from exp_ci.adapters.gitcli import read_objects

        objects: dict[str, bytes] = {}
        for sha, found in read_objects(self.root, shas, max_size).items():
            if found is None:
                raise RuntimeError(f"git cat-file: object {sha} is missing")
            self._sizes[sha] = found.size
            if found.data is not None:
                objects[sha] = found.data
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


# --- writing refs and pushing them (exp-ci persist, exp-ci apply) --------------------------

# `user:token@` after a scheme. Not stopped by white space or escapes: a token with a
# newline, printed raw or as `\n`, must go too; quotes and brackets end a URL in messages.
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@'\"<>]{1,512}@")


def _lines(out: str) -> list[str]:
    """Git's output records, one per LF. Not `str.splitlines`: that also splits at U+2028,
    U+0085 and other characters a ref or file name may hold."""
    return [line for line in out.split("\n") if line]


def redact_credentials(text: str) -> str:
    """Remove `user:token@` from URLs in Git and DVC output before it is shown."""
    return _URL_CREDENTIALS.sub("***@", text)


def _git_failure(error: Exception) -> str:
    """Git's own message from a GitCommandError, without GitPython's `stderr: '...'` dress."""
    text = str(getattr(error, "stderr", "") or "").strip()
    if text.startswith("stderr: '") and text.endswith("'"):
        text = text[len("stderr: '") : -1]
    text = " ".join(line.strip() for line in text.splitlines() if line.strip())
    return redact_credentials(text or str(error)).rstrip(".")


class GitWriteError(UserError):
    """Git refused to write or push a ref; the message carries Git's own words."""


# Git's words, and Dulwich's (`dvc exp push` writes local remotes through Dulwich).
_LOCK_FILE = re.compile(r"(?:Unable to create '|File exists: b?')([^'\n]+\.lock)'")


def stale_lock_hint(output: str) -> str:
    """For Git's "Unable to create '<ref>.lock': File exists": which file, and how to remove
    it. Empty when the output says nothing of a lock file. Git leaves one behind when it
    is killed (or the disk fills) while it updates a ref; every later update of that ref,
    on that repository, fails until the file is removed."""
    import posixpath

    found = list(dict.fromkeys(posixpath.normpath(path) for path in _LOCK_FILE.findall(output)))
    if not found:
        return ""
    files = " ".join(f"'{path}'" for path in found)
    return (
        f". Git found the lock file {files}: a Git process that was killed (or ran out of "
        "disk) while it updated that ref left it there. If no other push to that repository "
        f"is running, remove it (on the machine that holds the repository): `rm {files}`, "
        "then rerun the same command."
    )


def _run_with_input(git: GitRepository, args: list[str], data: str) -> str:
    """`git ARGS` with `data` on stdin (GitPython cannot feed stdin from a string)."""
    result = subprocess.run(
        ["git", *args], cwd=git.root, input=data, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        output = result.stderr.strip() or result.stdout.strip()
        said = " ".join(line.strip() for line in output.splitlines() if line.strip())
        raise GitWriteError(
            f"`git {args[0]}` failed (exit {result.returncode}): "
            f"{redact_credentials(said).rstrip('.')}"
            + stale_lock_hint(result.stdout + result.stderr).rstrip(".")
        )
    return result.stdout


def ref_states(git: GitRepository, *prefixes: str) -> dict[str, tuple[str, str]]:
    """Ref -> (object SHA, peeled commit SHA) for every ref under `prefixes`."""
    out = git.run("for-each-ref", "--format=%(refname) %(objectname) %(*objectname)", *prefixes)
    states = {}
    for line in _lines(out):
        ref, obj, peeled = [*line.split(" "), ""][:3]
        states[ref] = (obj, peeled or obj)
    return states


def remote_ref_states(
    git: GitRepository, remote: str, refs: list[str]
) -> dict[str, tuple[str, str]]:
    """The same for `refs` on a Git remote (`git ls-remote`); a missing remote is a UserError.

    An annotated tag's peeled line (`REF^{}`) matches only a pattern that names it, so each
    ref is asked for with and without `^{}`: without it a tag would seem to point at its
    tag object, never at the commit.
    """
    import git as gitpython

    patterns = [pattern for ref in refs for pattern in (ref, f"{ref}^{{}}")]
    try:
        out = git.run("ls-remote", "--end-of-options", remote, *patterns)
    except gitpython.GitCommandError as error:
        raise UserError(
            f"cannot read the Git remote '{remote}': {_git_failure(error)}. Check the name "
            "with `git remote -v` (add it with `git remote add`) and that you can reach it."
        ) from None
    objects: dict[str, str] = {}
    peeled: dict[str, str] = {}
    for line in _lines(out):
        sha, _, ref = line.partition("\t")
        if ref.endswith("^{}"):
            peeled[ref[:-3]] = sha
        else:
            objects[ref] = sha
    wanted = set(refs)
    return {ref: (sha, peeled.get(ref, sha)) for ref, sha in objects.items() if ref in wanted}


def branches_at(git: GitRepository, commit: str, remote: str | None = None) -> list[str]:
    """Branch names at `commit`: the current branch first, then local, then `remote`'s."""
    prefixes = ["refs/heads/"] + ([f"refs/remotes/{remote}/"] if remote else [])
    out = git.run("for-each-ref", "--points-at", commit, "--format=%(refname)", *prefixes)
    names: list[str] = []
    current = git.current_branch()
    for ref in _lines(out):
        if ref.startswith("refs/heads/"):
            name = ref.removeprefix("refs/heads/")
        else:
            name = ref.removeprefix(f"refs/remotes/{remote}/")
            if name == "HEAD":
                continue
        if name == current:
            names.insert(0, name)
        elif name not in names:
            names.append(name)
    return list(dict.fromkeys(names))


def committer_identity(git: GitRepository) -> str:
    """`Name <email> time zone` as Git would write it; a clear error when none is set."""
    import git as gitpython

    try:
        return git.run("var", "GIT_COMMITTER_IDENT").strip()
    except gitpython.GitCommandError:
        raise UserError(
            "Git does not know who you are, and an annotated tag (or a commit) records it. "
            'Set it with `git config user.name "CI"` and `git config user.email ci@example.com` '
            "(or GIT_COMMITTER_NAME and GIT_COMMITTER_EMAIL)."
        ) from None


def create_tag_object(git: GitRepository, name: str, commit: str, message: str) -> str:
    """An annotated tag object for `commit` (no ref yet: `update_refs` writes that)."""
    identity = committer_identity(git)
    body = message if message.endswith("\n") else message + "\n"
    data = f"object {commit}\ntype commit\ntag {name}\ntagger {identity}\n\n{body}"
    return _run_with_input(git, ["mktag"], data).strip()


def update_refs(
    git: GitRepository, updates: list[tuple[str, str, str | None]], reason: str
) -> None:
    """Set refs in one transaction, each only if it still has the value we saw.

    `updates` are (ref, new SHA, old SHA or None for "must not exist"); Git applies all of
    them or none (`git update-ref --stdin`), so a failure leaves every ref as it was.
    """
    if not updates:
        return
    lines = "".join(f"update {ref} {new} {old or ZERO_SHA}\n" for ref, new, old in updates)
    _run_with_input(git, ["update-ref", "-m", reason, "--stdin"], f"start\n{lines}commit\n")


def push_refs(git: GitRepository, remote: str, refs: list[tuple[str, str | None]]) -> None:
    """Push refs to the same names on `remote`, atomically, each only if the remote still
    has the value we saw there (`--force-with-lease=REF:OLD`; empty OLD: must not exist)."""
    if not refs:
        return
    args = ["push", "--atomic", "--porcelain", "--quiet"]
    args += [f"--force-with-lease={ref}:{old or ''}" for ref, old in refs]
    args += ["--end-of-options", remote] + [f"{ref}:{ref}" for ref, _ in refs]
    _run_with_input(git, args, "")


def staged_changes(git: GitRepository) -> list[str]:
    """Paths whose staged content differs from HEAD."""
    return _lines(git.run("diff", "--cached", "--name-only", "HEAD", "--"))


def changed_paths(git: GitRepository, a: str, b: str) -> list[str]:
    return _lines(git.run("diff", "--name-only", "--no-renames", a, b, "--"))


def commit_paths(git: GitRepository, paths: list[str], message: str) -> str:
    """Stage `paths` (changes, additions and deletions) and commit them; the new SHA."""
    committer_identity(git)
    git.run("add", "--all", "--", *paths)
    _run_with_input(git, ["commit", "--quiet", "--no-verify", "--file", "-"], message)
    return git.resolve_commit("HEAD")


# --- clones and experiment refs between repositories --------------------------------------
# (shallow and scratch clones, fetching and listing refs/exps; used by exp-ci run and collect)


def _sweep_git_error(error: Exception, doing: str, fix: str) -> UserError:
    return UserError(f"{doing} failed: {_git_failure(error)}. {fix}")


def is_shallow(git: GitRepository) -> bool:
    return git.run("rev-parse", "--is-shallow-repository").strip() == "true"


def unshallow(git: GitRepository, remote: str | None = None) -> None:
    """Fetch the history a shallow clone lacks (from `remote`, else the default one)."""
    import git as gitpython

    args = ["fetch", "--unshallow", "--quiet", "--no-tags"]
    if remote:
        args += ["--end-of-options", remote]
    try:
        git.run(*args)
    except gitpython.GitCommandError as error:
        raise _sweep_git_error(
            error,
            "`git fetch --unshallow`",
            "Fetch the full history yourself (in actions/checkout: `fetch-depth: 0`).",
        ) from None


def remote_names(git: GitRepository) -> list[str]:
    return git.run("remote").split()


def dirty_tracked_files(git: GitRepository) -> list[str]:
    """Tracked files with uncommitted changes (staged or not)."""
    out = git.run("status", "--porcelain", "--untracked-files=no", "--ignore-submodules")
    return [line[3:] for line in _lines(out) if line.strip()]


def ref_commit(git: GitRepository, ref: str) -> str | None:
    import git as gitpython

    try:
        return git.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip() or None
    except gitpython.GitCommandError:
        return None


def first_parent(git: GitRepository, commit: str) -> str | None:
    """The commit's first parent (a merge commit's: the branch merged into), None for a root."""
    return ref_commit(git, f"{commit}^1")


def default_branch_merge_base(git: GitRepository, commit: str) -> tuple[str, str] | None:
    """(merge base, branch) of `commit` and the default branch of `origin`, when known.

    The default branch is what `refs/remotes/origin/HEAD` points at (a clone sets it); None
    when it is not known or the merge base cannot be found.
    """
    import git as gitpython

    try:
        target = git.run("symbolic-ref", "--quiet", "refs/remotes/origin/HEAD").strip()
        base = git.run("merge-base", commit, target).strip()
    except gitpython.GitCommandError:
        return None
    branch = target.removeprefix("refs/remotes/origin/")
    return (base, branch) if base else None


def scratch_clone(git: GitRepository, path: Path, commit: str) -> GitRepository:
    """A throw-away clone at `path`, checked out (detached) at `commit`.

    `--shared` borrows the objects of `git` (nothing is copied), and the clone has its own
    refs, index and HEAD, so DVC's per-run state (refs/exps/exec/*, refs/exps/stash) in one
    clone never meets another's. The local committer identity is carried over, as DVC's own
    temporary executors do.
    """
    import git as gitpython

    try:
        git.run(
            "clone",
            "--shared",
            "--no-checkout",
            "--no-tags",
            "--quiet",
            "--",
            str(git.root),
            str(path),
        )
        clone = GitRepository(path)
        clone.run("checkout", "--quiet", "--detach", commit)
        for key in ("user.name", "user.email"):
            with contextlib.suppress(gitpython.GitCommandError):
                clone.run("config", key, git.run("config", "--local", "--get", key).strip())
    except gitpython.GitCommandError as error:
        raise _sweep_git_error(
            error, f"preparing a workspace in {path}", "Check free disk space and permissions."
        ) from None
    return clone


def reset_scratch(clone: GitRepository) -> None:
    """Back to the checked-out commit: tracked files restored, untracked ones removed.
    Ignored files (DVC outputs) stay; DVC checks them against dvc.lock before each run."""
    clone.run("reset", "--hard", "--quiet")
    clone.run("clean", "-d", "--force", "--quiet")


def fetch_refs(
    git: GitRepository, source: str, refs: Iterable[str], *, force: bool = False
) -> None:
    """Fetch `refs` from `source` (a remote name, URL or path) to the same names here.

    Without `force`, Git refuses to move a ref that exists with another value, so nothing
    here is overwritten. Refspecs go through stdin: a sweep may fetch thousands.
    """
    lines = "".join(f"{'+' if force else ''}{ref}:{ref}\n" for ref in refs)
    if lines:
        _run_with_input(
            git, ["fetch", "--no-tags", "--quiet", "--stdin", "--end-of-options", source], lines
        )


def remote_experiment_refs(git: GitRepository, remote: str) -> dict[str, str]:
    """Experiment ref -> commit on a Git remote (`git ls-remote`; DVC's machinery refs left out)."""
    import git as gitpython

    try:
        out = git.run("ls-remote", "--refs", "--end-of-options", remote, "refs/exps/*")
    except gitpython.GitCommandError as error:
        raise _sweep_git_error(
            error,
            f"reading experiment refs from the Git remote '{remote}'",
            "Check the name with `git remote -v` (or pass a URL) and that you can reach it.",
        ) from None
    found = {}
    for line in _lines(out):
        sha, _, ref = line.partition("\t")
        if parse_exp_ref(ref) is not None:
            found[ref] = sha
    return found


# --- new repositories (exp-ci quickstart) ------------------------------------------------


def init_repository(path: Path, *, bare: bool = False, branch: str = "main") -> None:
    """`git init` (or `--bare`) at `path`, with `branch` as the first branch."""
    args = ["git", "init", "--quiet", f"--initial-branch={branch}"]
    result = subprocess.run(
        [*args, *(["--bare"] if bare else []), str(path)], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise UserError(f"`git init` failed in {path}: {result.stderr.strip()}")


def ensure_identity(git: GitRepository, name: str, email: str) -> bool:
    """Give this repository a committer when Git has none; True when one was set here."""
    import git as gitpython

    try:
        git.run("var", "GIT_COMMITTER_IDENT")
        return False
    except gitpython.GitCommandError:
        git.run("config", "user.name", name)
        git.run("config", "user.email", email)
        return True
