"""Training curves: DVC plot data of a commit, read from Git objects like its metrics.

Which files are plots comes from `dvc.yaml`, as DVC reads it: top-level `plots:` (a path,
`{path: {x, y, template, ...}}`, or `{id: {y: {file: fields}, x: ...}}`) first, then stage
outputs under `plots:`. A folder (DVCLive's `dvclive/plots/metrics`) stands for every
TSV, CSV, JSON and YAML file below it. As in DVC, a file's y defaults to its last field
and x to the row number (`step`); JSON and YAML data are the lists of records in the file.
Plot files tracked by Git are read from the commit's tree; a single file kept only in the
DVC cache is read from the local cache when it is there.
"""

from __future__ import annotations

import csv
import io
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from exp_ci.adapters.git import GitRepository
from exp_ci.errors import UserError
from exp_ci.limits import size_problem
from exp_ci.model import Experiment
from exp_ci.numbers import finite_number
from exp_ci.read.dvcfiles import DvcFileError, Pipeline, pipeline
from exp_ci.read.dvcyaml import CachedOut, RefusedOut, cached_outputs
from exp_ci.read.experiments import (
    ExperimentReader,
    Snapshot,
    WorkspaceSnapshot,
    experiment_reader,
    read_bounded,
)
from exp_ci.read.formats import FileFormatError, parse_file

DATA_SUFFIXES = (".tsv", ".csv", ".json", ".yaml", ".yml")
INDEX = "step"  # DVC's name for the row number when a plot has no `x`
# Templates that draw a series against x; the default curve is the first plot drawn so.
CURVE_TEMPLATES = frozenset({"linear", "simple", "smooth"})


@dataclass(frozen=True)
class PlotDeclaration:
    """One plotted file or folder and the properties `dvc.yaml` gives it."""

    path: str  # repo-relative
    x: str | None = None
    y: tuple[str, ...] = ()  # empty: DVC's default, the last field
    template: str | None = None
    header: bool = True  # CSV/TSV: whether the first line names the fields


@dataclass(frozen=True)
class Series:
    """One y field of one plot file against its x."""

    file: str
    field: str
    x_field: str
    points: tuple[tuple[float, float], ...]
    template: str | None = None

    @property
    def name(self) -> str:
        return f"{self.file}:{self.field}"

    @property
    def is_curve(self) -> bool:
        return (self.template or "linear") in CURVE_TEMPLATES and len(self.points) >= 2


@dataclass(frozen=True)
class PlotData:
    """The series of one commit, and the plot files that could not be read (path -> why)."""

    series: tuple[Series, ...] = ()
    errors: Mapping[str, str] = field(default_factory=dict)


class PlotFormatError(ValueError):
    """A plot file whose content is not records of fields."""


# --- dvc.yaml (pure) ---------------------------------------------------------------------


def _join(folder: str, *parts: str) -> str:
    return posixpath.normpath(posixpath.join(folder, *parts))


def _templated(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def _fields(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value if isinstance(v, (str, int)))
    return ()


def _declaration(path: str, props: Any) -> PlotDeclaration:
    props = props if isinstance(props, Mapping) else {}
    x = props.get("x")
    template = props.get("template")
    return PlotDeclaration(
        path,
        x=str(x) if isinstance(x, str) else None,
        y=_fields(props.get("y")),
        template=template if isinstance(template, str) else None,
        header=props.get("header") is not False,
    )


def declared_plots(document: Any, dvc_yaml_path: str) -> list[PlotDeclaration]:
    """The plots one `dvc.yaml` (a document, or its `Pipeline`) declares, top-level ones
    first (DVC's order); what is still templated is left out."""
    if isinstance(document, Pipeline):
        model = document
    else:
        if not isinstance(document, Mapping):
            return []
        try:
            model = pipeline(document, dvc_yaml_path)
        except DvcFileError:
            return []
    folder = model.folder
    plots: list[PlotDeclaration] = []
    for key, props in model.plots:
        if _templated(key):
            continue
        y = props.get("y") if isinstance(props, Mapping) else None
        if not isinstance(y, Mapping):
            plots.append(_declaration(_join(folder, key), props))
            continue
        # `id: {y: {file: fields}, x: field or {file: field}}`: one declaration per file.
        x = props.get("x")
        for file, fields in y.items():
            if _templated(file):
                continue
            x_field = x.get(file, next(iter(x.values()), None)) if isinstance(x, Mapping) else x
            plots.append(
                _declaration(
                    _join(folder, str(file)),
                    {**props, "x": x_field, "y": fields},
                )
            )
    for stage in model.stages:
        if stage.templated:
            continue
        for out in stage.outs:
            if out.kind == "plots" and not out.templated:
                plots.append(_declaration(out.path, out.props or None))
    return plots


# --- plot files (pure) -------------------------------------------------------------------


def _records(data: Any) -> list[dict[str, Any]]:
    """DVC's datapoints: every list of records in the document, merged row by row."""
    lists: list[list[Any]] = []

    def collect(value: Any) -> None:
        if isinstance(value, list):
            lists.append(value)
        elif isinstance(value, Mapping):
            for item in value.values():
                collect(item)

    collect(data)
    rows: list[dict[str, Any]] = []
    for items in lists:
        if not items or not all(isinstance(item, Mapping) for item in items):
            continue
        if any(set(item) != set(items[0]) for item in items):
            continue
        for i, item in enumerate(items):
            if len(rows) <= i:
                rows.append({})
            rows[i].update({str(k): v for k, v in item.items()})
    return rows


def parse_records(path: str, content: bytes, header: bool = True) -> list[dict[str, Any]]:
    """The records of a plot file: CSV/TSV rows, or the lists of records in JSON/YAML."""
    suffix = posixpath.splitext(path)[1].lower()
    if suffix in (".csv", ".tsv"):
        too_large = size_problem(len(content))
        if too_large is not None:
            raise PlotFormatError(f"{path} is not read: {too_large}")
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as error:
            raise PlotFormatError(f"{path} is not UTF-8 text ({error.reason})") from None
        delimiter = "\t" if suffix == ".tsv" else ","
        names = None
        if not header:
            first = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
            names = [str(i) for i in range(len(first))]
        reader = csv.DictReader(io.StringIO(text), delimiter=delimiter, fieldnames=names)
        return [{k: v for k, v in row.items() if k is not None} for row in reader]
    try:
        return _records(parse_file(path, content))
    except FileFormatError as error:
        raise PlotFormatError(str(error)) from None


def series_of(path: str, records: Sequence[Mapping[str, Any]], plot: PlotDeclaration):
    """The series a declaration draws from one file's records (pure)."""
    if not records:
        return []
    fields = list(records[0])
    if plot.x is not None and plot.x not in fields:
        raise PlotFormatError(f"{path} has no field '{plot.x}' for x (it has {', '.join(fields)})")
    ys = plot.y or tuple(f for f in fields[-1:] if f != plot.x)
    missing = [y for y in ys if y not in fields]
    if missing:
        raise PlotFormatError(
            f"{path} has no field '{missing[0]}' for y (it has {', '.join(fields)})"
        )
    series = []
    for y in ys:
        points = []
        for i, record in enumerate(records):
            x_value = float(i) if plot.x is None else finite_number(record.get(plot.x), text=True)
            y_value = finite_number(record.get(y), text=True)
            if x_value is not None and y_value is not None:
                points.append((x_value, y_value))
        series.append(Series(path, y, plot.x or INDEX, tuple(points), plot.template))
    return series


# --- reading commits ---------------------------------------------------------------------


def read_plots(git: GitRepository, commits: Sequence[str]) -> dict[str, PlotData]:
    """The plot series of each commit (full SHAs), through the experiment reader's caches."""
    reader = experiment_reader(git)
    cache = reader.cache
    infos = git.commits(list(dict.fromkeys(commits)))
    return {
        sha: read_snapshot_plots(reader.snapshot(infos[sha].tree), cache, reader) for sha in commits
    }


def read_row_plots(git: GitRepository, rows: Sequence[Experiment]) -> dict[str, PlotData]:
    """The plot series of table rows by rev: commits from Git, `workspace` from disk."""
    commits = read_plots(git, [row.rev for row in rows if row.rev != "workspace"])
    if any(row.rev == "workspace" for row in rows):
        reader = experiment_reader(git)
        commits["workspace"] = read_snapshot_plots(WorkspaceSnapshot(git), reader.cache, reader)
    return commits


def read_snapshot_plots(snapshot: Snapshot, cache, reader: ExperimentReader) -> PlotData:
    """The plot series of one snapshot, from the plots its dvc.yaml files declare (their
    templating resolved through `reader`)."""
    series: dict[str, Series] = {}
    errors: dict[str, str] = {}
    for dvc_yaml in snapshot.dvcyaml_paths():
        try:
            model = reader.pipeline(snapshot, dvc_yaml)
        except (FileFormatError, DvcFileError) as error:
            errors[dvc_yaml] = str(error)
            continue
        outputs: dict[str, CachedOut | RefusedOut] | None = None
        for plot in declared_plots(model, dvc_yaml):
            kind = snapshot.kind(plot.path)
            files: list[tuple[str, CachedOut | RefusedOut | None]]
            if kind == "dir":
                files = [
                    (p, None)
                    for p in snapshot.files_below(plot.path)
                    if p.lower().endswith(DATA_SUFFIXES)
                ]
            elif kind == "file":
                files = [(plot.path, None)]
            else:
                if outputs is None:
                    outputs = _cached_outputs(snapshot, model)
                files = [(plot.path, outputs.get(plot.path))]
            for path, out in files:
                if any(s.file == path for s in series.values()) or path in errors:
                    continue  # declared twice (a folder and a file in it): the first wins
                try:
                    content = _content(snapshot, path, out, cache)
                    records = parse_records(path, content, plot.header)
                    for found in series_of(path, records, plot):
                        series.setdefault(found.name, found)
                except PlotFormatError as error:
                    errors[path] = str(error)
    return PlotData(tuple(series.values()), errors)


def _cached_outputs(snapshot: Snapshot, model: Pipeline) -> dict[str, CachedOut | RefusedOut]:
    if snapshot.kind(model.lock_path) != "file":
        return {}
    try:
        lock = parse_file(model.lock_path, read_bounded(snapshot, model.lock_path))
    except FileFormatError:
        return {}
    return cached_outputs(lock, model.lock_path, model)


def _content(snapshot: Snapshot, path: str, out: CachedOut | RefusedOut | None, cache) -> bytes:
    if snapshot.kind(path) == "file":
        try:
            return read_bounded(snapshot, path)
        except FileFormatError as error:
            raise PlotFormatError(str(error)) from None
    if out is None:
        raise PlotFormatError(f"{path} is missing")
    if isinstance(out, RefusedOut):
        raise PlotFormatError(out.note)
    if out.md5.endswith(".dir"):
        raise PlotFormatError(
            f"{path} is a folder kept only in the DVC cache; track its plot files with Git "
            "(`cache: false`) to draw them"
        )
    content = cache.read(out)
    if content is None:
        raise PlotFormatError(
            f"{path} is only in the DVC cache (md5 {out.md5}), not in the local one; "
            f"`dvc pull {path}` brings it"
        )
    return content


# --- choosing a series -------------------------------------------------------------------


def _stem(path: str) -> str:
    return posixpath.splitext(path)[0]


def choose_series(name: str | None, available: Sequence[Series]) -> Series | None:
    """The series `--curve NAME` means; without a name, the first curve that has data.

    NAME is `FILE:FIELD`, a file (with or without its suffix, or its end after a `/`, as
    DVCLive's `train/loss`), or a field. A name that matches nothing, or several series,
    is a user error that lists the choices.
    """
    if not name:
        return next((s for s in available if s.is_curve), None)
    unique = list({s.name: s for s in available}.values())
    for matches in (
        [s for s in unique if s.name == name],
        [s for s in unique if name in (s.file, _stem(s.file))],
        [s for s in unique if s.field == name],
        [s for s in unique if _stem(s.file).endswith("/" + name.strip("/"))],
    ):
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            listed = ", ".join(s.name for s in matches)
            raise UserError(
                f"--curve '{name}' is ambiguous: it is {listed}. Name it as FILE:FIELD."
            )
    known = ", ".join(s.name for s in unique) or "none (no plots are declared in dvc.yaml)"
    raise UserError(
        f"--curve '{name}' is not a plot series of the winner or its baseline. They have: "
        f"{known}. Name one as FILE:FIELD (or leave NAME out for the first one)."
    )
