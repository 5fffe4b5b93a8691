"""The records every command shares. Plain frozen dataclasses, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

SHORT_SHA = 7  # how many hex digits of a commit name it where people read it


class Direction(str, Enum):
    MAX = "max"
    MIN = "min"


@dataclass(frozen=True)
class FileValues:
    """What one params or metrics file holds in one commit, or why it could not be read."""

    path: str
    data: Mapping[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True)
class Experiment:
    """One row of the table: a baseline commit or an experiment commit on top of it."""

    rev: str
    baseline_rev: str
    name: str | None
    created: datetime
    params: Mapping[str, FileValues] = field(default_factory=dict)
    metrics: Mapping[str, FileValues] = field(default_factory=dict)
    ref: str | None = None  # refs/exps/... for experiments, the branch or tag for baselines
    state: str = "success"  # success, or DVC's queue: queued, running, failed
    error: str | None = None  # the commit as a whole could not be read (e.g. bad dvc.yaml)
    reason: str | None = None  # why a failed run failed (its log's last error, exit code)

    @property
    def is_baseline(self) -> bool:
        return self.rev == self.baseline_rev

    @property
    def label(self) -> str:
        """The name people know it by: DVC's name, the branch, else the short SHA."""
        return self.name or self.rev[:SHORT_SHA]

    def file_errors(self) -> dict[str, str]:
        errors = {p: v.error for p, v in {**self.params, **self.metrics}.items() if v.error}
        if self.error:
            errors = {"": self.error, **errors}
        return errors


@dataclass(frozen=True)
class Baseline:
    """A baseline commit and the experiments whose parent it is, newest first."""

    commit: Experiment
    experiments: tuple[Experiment, ...] = ()

    def rows(self) -> tuple[Experiment, ...]:
        return (self.commit, *self.experiments)


@dataclass(frozen=True)
class MetricSpec:
    """A metric to rank by: its full `file:dotted.key` name and which way is better."""

    file: str
    key: str
    direction: Direction = Direction.MAX

    @property
    def full_name(self) -> str:
        return f"{self.file}:{self.key}"


@dataclass(frozen=True)
class Comment:
    """An issue comment as exp-ci needs it (from the REST API's issue comment object)."""

    id: int
    author: str
    body: str
    created_at: str  # ISO 8601 in UTC, as GitHub writes it: sorts as time does
    url: str = ""  # html_url
