"""How a sweep shows its progress: a rich progress bar on a terminal, one collapsible log
group per experiment in GitHub Actions, plain lines anywhere else (pipes, files, other CI).

Experiments finish in any order when several run at once, so each one's log is printed
whole when it finishes, never interleaved with another's. Names and params come from the
user and logs from their code: rich markup and workflow commands in them are neutralised.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from exp_ci.adapters import actions
from exp_ci.output import inert, write_command
from exp_ci.runner import Outcome, Reporter, Task


def _headline(outcome: Outcome, done: int, total: int) -> str:
    task = outcome.task
    verdict = "ok" if outcome.ok else f"FAILED (exit {outcome.exit_code})"
    return (
        f"[{done}/{total}] {task.name} {verdict} in {outcome.seconds:.1f} s: "
        f"{task.point.describe()}"
    )


class _Counting:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.total = 0
        self.done = 0

    def begin(self, tasks: Sequence[Task], jobs: int) -> None:
        self.total = len(tasks)

    def started(self, task: Task) -> None:
        return None

    def end(self) -> None:
        return None


class PlainReporter(_Counting):
    """One line per experiment; a failure adds the last lines of its log."""

    def __init__(self, stream: TextIO, *, failures_only: bool = False) -> None:
        super().__init__()
        self.stream = stream
        self.failures_only = failures_only

    def started(self, task: Task) -> None:
        if not self.failures_only:
            with self.lock:
                print(f"started {task.name}: {task.point.describe()}", file=self.stream, flush=True)

    def finished(self, outcome: Outcome) -> None:
        with self.lock:
            self.done += 1
            if outcome.ok and self.failures_only:
                return
            lines = [_headline(outcome, self.done, self.total)]
            if not outcome.ok:
                lines += ["  last lines of its log:"] + [f"  | {line}" for line in outcome.tail()]
                if outcome.log_file:
                    lines.append(f"  full log: {outcome.log_file}")
            print("\n".join(lines), file=self.stream, flush=True)


class ActionsReporter(_Counting):
    """A `::group::` per experiment holding its whole log, an `::error::` per failure."""

    def __init__(self, environ: Mapping[str, str], stream: TextIO) -> None:
        super().__init__()
        self.environ = environ
        self.stream = stream

    def started(self, task: Task) -> None:
        with self.lock:  # a param value may hold `##[` (or, after a CR, `::`): made inert
            line = f"started {task.name}: {task.point.describe()}\n"
            self.stream.write(inert(line))
            self.stream.flush()

    def finished(self, outcome: Outcome) -> None:
        with self.lock:
            self.done += 1
            title = _headline(outcome, self.done, self.total)
            # exp-ci's own commands; the log inside sits between stop-commands markers
            write_command(actions.group_lines(title, outcome.log), self.stream)
            if not outcome.ok:
                tail = "\n".join(outcome.tail())
                actions.error(
                    f"{outcome.task.point.describe()}: exit code {outcome.exit_code}. "
                    f"Last lines of its log:\n{tail}",
                    self.environ,
                    title=f"experiment {outcome.task.name} failed",
                    stdout=self.stream,
                )


class RichReporter(_Counting):
    """A live progress bar on a terminal, with a line printed above it per experiment."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        from rich.console import Console

        self.console = Console(file=stream)
        self.running: list[str] = []
        self.progress: Any = None  # rich's Progress and task, made in begin()
        self.bar: Any = None

    def begin(self, tasks: Sequence[Task], jobs: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        super().begin(tasks, jobs)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.bar = self.progress.add_task("starting", total=len(tasks))
        self.progress.start()

    def _describe(self) -> str:
        from rich.markup import escape

        shown = ", ".join(self.running[:3]) + (" …" if len(self.running) > 3 else "")
        return escape(f"running {shown}") if self.running else "finishing"

    def started(self, task: Task) -> None:
        with self.lock:
            self.running.append(task.name)
            self.progress.update(self.bar, description=self._describe())

    def finished(self, outcome: Outcome) -> None:
        from rich.markup import escape
        from rich.text import Text

        with self.lock:
            self.done += 1
            if outcome.task.name in self.running:
                self.running.remove(outcome.task.name)
            mark = "[green]✓[/green]" if outcome.ok else "[red]✗[/red]"
            self.progress.console.print(
                f"{mark} {escape(_headline(outcome, self.done, self.total))}", highlight=False
            )
            if not outcome.ok:
                for line in outcome.tail():
                    self.progress.console.print(Text(f"  | {line}", style="dim"))
                if outcome.log_file:
                    self.progress.console.print(
                        Text(f"  full log: {outcome.log_file}", style="dim")
                    )
            self.progress.update(self.bar, advance=1, description=self._describe())

    def end(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def choose_reporter(
    environ: Mapping[str, str],
    *,
    quiet: bool = False,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> Reporter:
    """Actions log groups in GitHub Actions, a progress bar on a terminal, else lines."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    if actions.in_actions(environ):
        return ActionsReporter(environ, stdout)
    if quiet:
        return PlainReporter(stderr, failures_only=True)
    if stderr.isatty() and environ.get("TERM") != "dumb" and not environ.get("CI"):
        return RichReporter(stderr)
    return PlainReporter(stderr)
