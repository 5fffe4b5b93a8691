"""Git through plain `git` subprocesses, for the pre-push hook only.

The hook runs on every `git push`; importing GitPython alone takes about 60 ms, more than
the rest of a warm check, so the hook reads Git here instead of through `adapters.git`.
Everything else in exp-ci uses `adapters.git` (GitPython).
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

from exp_ci.errors import UserError


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
        assert process.stdout is not None  # stdout=PIPE
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
        assert process.stdin is not None  # stdin=PIPE
        try:
            process.stdin.write(requests)
            process.stdin.close()
        except BrokenPipeError:
            pass
