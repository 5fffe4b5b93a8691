"""Git through plain `git` subprocesses: the pre-push hook's reads, and the one pipelined
object reader (`read_objects`) that `adapters.git` uses too.

The hook runs on every `git push`; importing GitPython alone takes about 60 ms, more than
the rest of a warm check, so the hook reads Git here instead of through `adapters.git`.
Everything else in exp-ci uses `adapters.git`, where GitPython finds the repository, runs
commands with its error type and keeps one `git cat-file` open for single objects.
"""

from __future__ import annotations

import contextlib
import os
import select
from collections.abc import Sequence
from pathlib import Path

from exp_ci.errors import UserError
from exp_ci.lean_typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from typing import IO

ZERO_SHA = "0" * 40  # Git's name for "no object": a ref created or deleted

# Environment variables that point Git at a repository or work tree of their own choosing
REDIRECTS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY")


class GitReader:
    """The few reads the hook needs from the Git repository at or above `path`, in as few
    `git` processes as possible: a push whose DVC files were checked before costs one
    `git log` where pre-commit runs the hook."""

    def __init__(self, path: Path) -> None:
        if not path.is_dir():
            raise UserError(f"{path} is not a folder. Pass an existing folder with -C/--repo.")
        self.path = path
        self._root: Path | None = None

    @property
    def root(self) -> Path:
        """The top folder of the working tree."""
        if self._root is None:
            self._root = self._top_here() or Path(self.run("rev-parse", "--show-toplevel").strip())
        return self._root

    def _top_here(self) -> Path | None:
        """The folder itself when Git would find its repository there, in `.git/`, with the
        folder as the top of its working tree: where pre-commit runs the hook. This saves a
        `git rev-parse` on every push; anything less plain (a `.git` file of a linked
        worktree or submodule, a config that names a worktree, says bare or includes other
        files, GIT_DIR and the like) is left to `git rev-parse`."""
        if any(name in os.environ for name in REDIRECTS):
            return None
        git_dir = self.path / ".git"
        try:
            config = (git_dir / "config").read_bytes()
        except OSError:
            return None
        if b"worktree" in config or b"include" in config:
            return None
        if any(line.strip() != b"bare = false" for line in config.splitlines() if b"bare" in line):
            return None
        repository = all(  # Git's own test of a repository folder (is_git_directory)
            (git_dir / name).is_file() if name == "HEAD" else (git_dir / name).is_dir()
            for name in ("HEAD", "objects", "refs")
        )
        return self.path.resolve() if repository else None

    def _git(self, *args: str) -> Finished:
        return run_git(self.path, args)

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
        """Blobs by any name `git cat-file` takes (`SHA`, `TREE:path`, `:path`), through
        one `git cat-file --batch`; None for a name that names nothing (or no blob)."""
        found = read_objects(self.path, names)
        return {
            name: obj.data if obj is not None and obj.kind == "blob" else None
            for name, obj in found.items()
        }


class Finished(NamedTuple):
    """A `git` process that ended: its exit code and everything it wrote."""

    returncode: int
    stdout: bytes
    stderr: bytes


def run_git(cwd: Path, args: Sequence[str]) -> Finished:
    """`git ARGS` in `cwd`: its exit code, output and errors.

    Where the system has `posix_spawnp` and `poll`, the process is started with the one and
    its two pipes read with the other: `import subprocess` (signal, selectors, threading,
    locale) is 5-8 ms of every push on this machine. Elsewhere (Windows) `subprocess.run`.
    Unlike `subprocess`, the child keeps Python's ignored SIGPIPE: git then exits on EPIPE
    (only when its reader is gone, after an error here) instead of being killed."""
    if not hasattr(os, "posix_spawnp") or not hasattr(select, "poll"):
        import subprocess

        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
        return Finished(result.returncode, result.stdout, result.stderr)
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    chunks: dict[int, list[bytes]] = {out_read: [], err_read: []}
    spawned = None
    try:
        try:
            spawned = os.posix_spawnp(
                "git",
                ["git", "-C", os.fspath(cwd), *args],
                os.environ,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, out_write, 1),
                    (os.POSIX_SPAWN_DUP2, err_write, 2),
                ],
            )
        finally:  # the child has its own copies of the writing ends
            os.close(out_write)
            os.close(err_write)
        poller = select.poll()
        for descriptor in chunks:
            poller.register(descriptor, select.POLLIN)
        open_pipes = len(chunks)
        while open_pipes:
            for descriptor, _ in poller.poll():
                data = os.read(descriptor, 1 << 16)
                if data:
                    chunks[descriptor].append(data)
                else:  # git closed it
                    poller.unregister(descriptor)
                    open_pipes -= 1
    finally:
        for descriptor in chunks:  # first, so that a git still writing ends instead of waiting
            os.close(descriptor)
        if spawned is not None:
            _, status = os.waitpid(spawned, 0)
    out, err = (b"".join(chunks[descriptor]) for descriptor in (out_read, err_read))
    return Finished(os.waitstatus_to_exitcode(status), out, err)


class GitObject(NamedTuple):
    """One object of a batch (a NamedTuple: the hook's warm path imports no dataclasses)."""

    kind: str  # blob, tree, commit, tag
    size: int
    data: bytes | None  # None when it is larger than the reader's `max_size`


def read_objects(
    cwd: Path, names: Sequence[str], max_size: int | None = None
) -> dict[str, GitObject | None]:
    """Many objects through one `git cat-file --batch`, requests written while reading
    (asking one at a time waits for each answer: over a thousand experiments that round
    trip is most of the time). None for a name that names nothing; an object above
    `max_size` bytes is read past in pieces, never held whole."""
    import subprocess
    import threading

    names = list(dict.fromkeys(names))
    if not names:
        return {}
    process = subprocess.Popen(
        ["git", "cat-file", "--batch"],
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdin is not None and process.stdout is not None  # both PIPE
    requests = "".join(f"{name}\n" for name in names).encode()
    writer = threading.Thread(target=_write_all, args=(process.stdin, requests), daemon=True)
    writer.start()
    objects: dict[str, GitObject | None] = {}
    stdout = process.stdout
    for name in names:
        header = stdout.readline().split()
        if len(header) != 3:  # "<name> missing" (or ambiguous)
            objects[name] = None
            continue
        kind, size = header[1].decode(), int(header[2])
        if max_size is not None and size > max_size:
            _skip(stdout, size)
            objects[name] = GitObject(kind, size, None)
        else:
            objects[name] = GitObject(kind, size, stdout.read(size))
        stdout.read(1)  # the newline after each object
    writer.join()
    stdout.close()
    process.wait()
    return objects


def _write_all(stdin: IO[bytes], requests: bytes) -> None:
    with contextlib.suppress(BrokenPipeError):
        stdin.write(requests)
        stdin.close()


def _skip(stream: IO[bytes], size: int) -> None:
    """Read past `size` bytes in pieces (an object too large to hold)."""
    while size > 0:
        chunk = stream.read(min(size, 1 << 20))
        if not chunk:
            raise RuntimeError("git cat-file ended inside an object")
        size -= len(chunk)
