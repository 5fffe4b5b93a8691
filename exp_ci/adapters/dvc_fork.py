"""A preloaded DVC: DVC's imports paid once per sweep worker, not once per experiment.

`python -m dvc exp run` of a stage that takes 0.05 s costs about 1.5 s on a 2-core
machine, 0.8-0.9 s of it importing Python modules before any work. A `PreloadedDvc` is a
small server process that imports DVC's CLI and experiments machinery once, then for each
command forks a fresh child that calls DVC's own entry point, `dvc.cli.main(args)`, in the
requested folder, its stdout and stderr going to files as a subprocess's go to pipes. So:

- each command runs in a process of its own, as `python -m dvc` does: nothing DVC keeps in
  memory (repo objects, caches, UI and logging state) passes from one experiment to the
  next, and a crash or a kill ends one command, never the server;
- the server is single-threaded, so forking it is safe (exp-ci's own process has threads);
- it starts with exp-ci's environment, stdin and current folder, and ignores SIGINT (the
  running child gets the terminal's SIGINT and DVC reports it as with a subprocess).

One server can serve several sweep workers (`PreloadedDvc.start_shared`): each worker has a
channel of its own (a pair of pipes), served by the server itself or by a fork of it made
once the imports are done, so the workers pay DVC's imports once between them and still run
their commands at the same time.

`exp_run` in `exp_ci.adapters.dvc` uses it; it falls back to `python -m dvc` as a
subprocess per command where there is no `os.fork` (Windows), when `EXP_CI_DVC_FORK=0`
is set, or when the server cannot start (then `PreloadedDvc.start` returns None with the
reason in `PreloadedDvc.failure`).
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

# What `dvc exp run` imports before it runs a stage (from `python -X importtime`): DVC's
# CLI and commands, the repo, index and stage machinery, experiments and their queues
# (the Celery queue is imported by every `exp run`), Hydra's override parser (-S), Git
# backends. A module missing from another DVC version is skipped.
PRELOAD = (
    "dvc.cli",
    "dvc.cli.parser",
    "dvc.commands.experiments.run",
    "dvc.repo",
    "dvc.repo.index",
    "dvc.repo.reproduce",
    "dvc.repo.experiments",
    "dvc.repo.experiments.run",
    "dvc.repo.experiments.executor.base",
    "dvc.repo.experiments.executor.local",
    "dvc.repo.experiments.queue.workspace",
    "dvc.repo.experiments.queue.tempdir",
    "dvc.repo.experiments.queue.celery",
    "dvc.repo.experiments.utils",
    "dvc.repo.plots",
    "dvc.repo.datasets",
    "dvc.stage",
    "dvc.stage.run",
    "dvc.stage.cache",
    "dvc.dvcfile",
    "dvc.lock",
    "dvc.scm",
    "dvc.ui",
    "dvc.utils.hydra",
    "hydra.core.override_parser.overrides_parser",
    "networkx",
    "pygit2",
    "dulwich.porcelain",
    "scmrepo.git",
    "ruamel.yaml",
    # imported later, inside `exp run` (the modules a forked child still imported itself)
    "celery.canvas",
    "dulwich.gc",
    "dulwich.stash",
    "dulwich.worktree",
    "dvc.cachemgr",
    "dvc.data_cloud",
    "dvc.repo.artifacts",
    "dvc.repo.brancher",
    "dvc.repo.graph",
    "dvc.repo.open_repo",
    "dvc.repo.stage",
    "dvc.repo.trie",
    "dvc.utils.strictyaml",
    "dvc_data.fs",
    "dvc_data.hashfile.db.local",
    "dvc_data.hashfile.status",
    "dvc_data.index.checkout",
    "dvc_task.proc.manager",
    "fsspec.implementations.memory",
    "ruamel.yaml.mergevalue",
    "scmrepo.git.backend.pygit2.filter",
    # still imported by each child, found by comparing `sys.modules` before and after
    # `dvc.cli.main` in a forked child (about 10 ms of imports per experiment)
    "dulwich.filters",
    "dulwich.line_ending",
    "dvc.dirs",
    "dvc_data.hashfile._progress",
)

DISABLE_VARIABLE = "EXP_CI_DVC_FORK"


def fork_available(environ: Mapping[str, str] = os.environ) -> str | None:
    """None when a preloaded DVC can be used here; else why not."""
    if not hasattr(os, "fork"):
        return "this platform has no fork()"
    if environ.get(DISABLE_VARIABLE, "").strip() in {"0", "false", "no", "off"}:
        return f"{DISABLE_VARIABLE}={environ[DISABLE_VARIABLE]} is set"
    return None


class ServerGone(Exception):
    """The server stopped (killed, or out of memory) before it answered."""


class PreloadedDvc:
    """One channel to a server process, used by one thread at a time; `close` ends it."""

    failure: str | None = None  # why the last start failed

    def __init__(self, server: _Server, requests: IO[str], replies: IO[str]):
        self._server = server
        self._process = server.process
        self._requests = requests
        self._replies = replies
        self._gone = False
        self._outputs = tempfile.TemporaryDirectory(prefix="exp-ci-dvc-")

    @classmethod
    def start(cls) -> PreloadedDvc | None:
        """A server whose imports are under way (they overlap the caller's own work), or
        None when one cannot be used here (the reason in `PreloadedDvc.failure`)."""
        channels = cls.start_shared(1)
        return channels[0] if channels else None

    @classmethod
    def start_shared(cls, count: int) -> list[PreloadedDvc] | None:
        """`count` channels to one server, for `count` threads that each run one command at
        a time; None when a server cannot be used here (the reason in `failure`)."""
        reason = fork_available()
        if reason is not None:
            cls.failure = reason
            return None
        pipes = [(os.pipe(), os.pipe()) for _ in range(count)]
        server_fds = [
            fd
            for (request_read, _), (_, reply_write) in pipes
            for fd in (request_read, reply_write)
        ]
        package_root = str(Path(__file__).resolve().parent.parent.parent)
        boot = (
            "import sys; sys.path.insert(0, sys.argv[1]); "
            "from exp_ci.adapters.dvc_fork import serve; "
            "serve(*map(int, sys.argv[2:]))"
        )
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", boot, package_root, *map(str, server_fds)],
                stdout=subprocess.DEVNULL,  # as DVC's pipes were: not a terminal
                stderr=subprocess.DEVNULL,
                pass_fds=server_fds,
            )
        except OSError as error:
            for pair in pipes:
                for fd in (*pair[0], *pair[1]):
                    os.close(fd)
            cls.failure = f"the preloaded DVC could not start: {error}"
            return None
        for fd in server_fds:
            os.close(fd)
        server = _Server(process, count)
        return [
            cls(
                server,
                os.fdopen(request_write, "w", encoding="utf-8"),
                os.fdopen(reply_read, "r", encoding="utf-8"),
            )
            for (_, request_write), (reply_read, _) in pipes
        ]

    def run(self, cwd: Path, args: Sequence[str]) -> tuple[int, str, str]:
        """`dvc ARGS` in `cwd`: (exit code, stdout, stderr), as `subprocess.run` gives them
        (a negative code for a signal). ServerGone when the server itself stopped."""
        out = Path(self._outputs.name) / "stdout"
        err = Path(self._outputs.name) / "stderr"
        request = {"cwd": str(cwd), "args": list(args), "stdout": str(out), "stderr": str(err)}
        self._server.used = True
        try:
            self._requests.write(json.dumps(request) + "\n")
            self._requests.flush()
            line = self._replies.readline()
        except OSError as error:
            self._gone = True
            raise ServerGone(str(error)) from None
        if not line:
            self._gone = True
            code = self._process.poll()
            stopped = "stopped" if code is None else f"stopped with exit code {code}"
            raise ServerGone(f"the preloaded DVC process {stopped}")
        exit_code = int(json.loads(line)["exit_code"])
        return exit_code, _read_output(out), _read_output(err)

    def alive(self) -> bool:
        """False once a command found the server gone (killed, or out of memory)."""
        return not self._gone

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._requests.close()  # its server ends at the end of its input
        self._server.release()
        self._replies.close()
        self._outputs.cleanup()


class _Server:
    """The server process its channels share; the last channel closed waits for it (or
    kills it when no command was ever sent: it may still be importing)."""

    def __init__(self, process: subprocess.Popen[bytes], count: int) -> None:
        self.process = process
        self.used = False
        self._open = count
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            self._open -= 1
            if self._open:
                return
        if not self.used:
            self.process.kill()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Channels:
    """Channels to one server started ahead of a sweep, so that its imports overlap the
    caller's checks; each worker takes one (None once they are gone or when there is no
    server: `PreloadedDvc.failure` says why); `close` ends those never taken."""

    def __init__(self, count: int) -> None:
        self._left = PreloadedDvc.start_shared(count) or []
        self._lock = threading.Lock()

    def take(self) -> PreloadedDvc | None:
        with self._lock:
            return self._left.pop(0) if self._left else None

    def keep(self, count: int) -> None:
        """Close the channels beyond the first `count` (a plan with fewer experiments than
        --jobs; with none, the server is killed: it may still be importing)."""
        with self._lock:
            extra, self._left = self._left[count:], self._left[:count]
        for channel in extra:
            channel.close()

    def close(self) -> None:
        while (channel := self.take()) is not None:
            channel.close()


def _read_output(path: Path) -> str:
    """A command's output as `subprocess.run(text=True)` decodes it (universal newlines)."""
    try:
        with path.open(encoding=None, errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


# --- the server side (a process of its own; it never returns into exp-ci) ---------------


def serve(*fds: int) -> NoReturn:
    """Import DVC, then serve each channel (a request fd and a reply fd): the first one in
    this process, each other one in a fork made now; one command per request line, each in
    a forked child. Ends when every channel's input has ended."""
    import gc
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Python's advice for a process that forks without exec: no collections while the
    # ~1,500 modules are imported (each full one scans all they made: 0.15 s of CPU in all
    # here, ahead of the first experiment), then what they made frozen, so that no
    # collection, here or in a child, scans it (or copies its pages) again.
    gc.disable()
    for module in PRELOAD:
        with contextlib.suppress(Exception):
            importlib.import_module(module)
    with contextlib.suppress(Exception):
        _warm_up()
    with contextlib.suppress(Exception):
        from ruamel.yaml import YAML

        memoize_safe_loads(YAML)
    gc.freeze()
    gc.enable()
    channels = [(fds[i], fds[i + 1]) for i in range(0, len(fds), 2)]
    helpers = []
    for number, channel in enumerate(channels[1:], 1):
        if _closed_unused(channel[0]):  # Channels.keep: the plan needs fewer workers
            continue
        pid = os.fork()
        if pid == 0:
            for other in channels[:number] + channels[number + 1 :]:
                for fd in other:
                    os.close(fd)
            _serve_channel(*channel)
            os._exit(0)
        helpers.append(pid)
    for channel in channels[1:]:
        for fd in channel:
            os.close(fd)
    _serve_channel(*channels[0])
    for pid in helpers:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    os._exit(0)  # nothing left to flush: skip tearing down everything imported (~0.15 s)


def _closed_unused(request_fd: int) -> bool:
    """True when the channel's client closed it without a request (its pipe hung up, with
    nothing to read): a fork to serve it would only read that end."""
    import select

    poller = select.poll()
    poller.register(request_fd, select.POLLIN)
    events = dict(poller.poll(0)).get(request_fd, 0)
    return bool(events & select.POLLHUP) and not events & select.POLLIN


def _serve_channel(request_fd: int, reply_fd: int) -> None:
    with (
        os.fdopen(request_fd, encoding="utf-8") as requests,
        os.fdopen(reply_fd, "w", encoding="utf-8") as replies,
    ):
        for line in requests:
            request = json.loads(line)
            pid = os.fork()
            if pid == 0:
                _child(request, (request_fd, reply_fd))
            with contextlib.suppress(Exception):
                _learn_overrides(request["args"])  # while the child runs
            _, status = os.waitpid(pid, 0)
            replies.write(json.dumps({"exit_code": os.waitstatus_to_exitcode(status)}) + "\n")
            replies.flush()


def _warm_up() -> None:
    """Fill the caches DVC keeps for the life of a process, as a first command would: its
    argument parser (`get_main_parser` is an lru_cache), its config schema (memoized; each
    `Repo` validates with it), the parser of `${...}` in dvc.yaml (memoized; importing
    pyparsing for it costs a templated project's child about 40 ms; it turns on pyparsing's
    packrat cache, as DVC's first `${...}` does in any run), the patterns ruamel.yaml
    compiles on its first document (about 3 ms) and the ANTLR tables of Hydra's override
    parser (`-S`). What they give does not depend on the project."""
    from dvc.cli.parser import get_main_parser
    from dvc.config import get_compiled_schema
    from dvc.parsing.interpolate import get_parser
    from dvc.utils.serialize import parse_yaml
    from hydra.core.override_parser.overrides_parser import OverridesParser

    get_main_parser()
    get_compiled_schema()
    get_parser()
    parse_yaml("a: [1, -1.5e3, .inf, true, null, 2001-12-14, x]\n", "warm-up")
    OverridesParser.create().parse_overrides(["exp_ci.warm_up=0.1", "other=[1,2]"])


# Entries a child keeps (a project's dvc.yaml, dvc.lock and params files: a few; a sweep
# never grows it, each child starts from the server's empty one).
MEMO_ENTRIES = 256


def memoize_safe_loads(yaml_class: type) -> None:
    """Make `yaml_class.load` of a string by a plain safe loader parse each text once.

    One `dvc exp run` parses the same few files again and again: in a one-stage project
    params.yaml 20 times, dvc.yaml and dvc.lock 6 times each, 34 parses in all and about
    a fifth of its own CPU (ruamel's pure-Python parser, and a new `YAML` for each). What
    a safe loader makes of a text depends on the text and the loader's settings only, so
    a repeat gets a deep copy of the first parse: the same values and types, its own
    objects (a caller may change them), aliases still shared within it. The rest is left
    to the parser: round-trip loads (`typ="rt"`: comments, order, line numbers, for
    writing back), streams and paths, texts with `%` directives (they set the loader's
    version), and every load that raises (it raises again, the same way). The instance's
    own record of the documents it read (`doc_infos`, `tags`) is not updated on a
    repeat: DVC makes a `YAML` per parse and drops it."""
    import copy

    parse = yaml_class.load  # type: ignore[attr-defined]
    memo: dict[tuple[Any, ...], Any] = {}

    def load(self: Any, stream: Any) -> Any:
        if (
            not isinstance(stream, str)
            or self.typ != ["safe"]
            or stream.startswith("%")
            or "\n%" in stream
        ):
            return parse(self, stream)
        key = (stream, self.pure, self.version, self.allow_duplicate_keys, self.Constructor)
        try:
            first = memo[key]
        except KeyError:
            if len(memo) >= MEMO_ENTRIES:
                memo.clear()
            first = memo[key] = parse(self, stream)
        return copy.deepcopy(first)

    yaml_class.load = load  # type: ignore[attr-defined]


def _learn_overrides(args: Sequence[str]) -> None:
    """Parse a command's `-S` overrides here as DVC parses them (Hydra's ANTLR parser fills
    its tables a character and a token at a time, per process): the next child, with
    overrides of the same shape (a sweep's), finds them filled. Nothing else is kept."""
    from dvc.utils.cli_parse import to_path_overrides
    from dvc.utils.hydra import to_hydra_overrides

    values = [value for flag, value in itertools.pairwise(args) if flag in ("-S", "--set-param")]
    for overrides in to_path_overrides(values).values():
        to_hydra_overrides(overrides)


def _child(request: dict[str, Any], protocol_fds: Sequence[int]) -> NoReturn:
    """What `python -m dvc ARGS` does in `cwd`, in this fork; exits with DVC's code."""
    import signal

    code = 255
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for fd in protocol_fds:
            os.close(fd)
        for path, fd in ((request["stdout"], 1), (request["stderr"], 2)):
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(target, fd)
            os.close(target)
        cwd = request["cwd"]
        os.chdir(cwd)
        import dvc.__main__
        from dvc.cli import main

        sys.argv = [str(dvc.__main__.__file__), *request["args"]]
        sys.path[0] = cwd  # as `python -m` sets it
        try:
            code = main(request["args"])
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        import atexit

        atexit._run_exitfuncs()
    except BaseException:  # reported as Python would, then the exit code
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(int(code) & 0xFF)
