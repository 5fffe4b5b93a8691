"""Bounds on the work that repository content can ask of exp-ci, in one place (pure).

What a pull request brings is untrusted, so a file's size, a YAML document's aliases and a
sweep's grid are bounded, each with a note or an error that says so instead of unbounded
memory or time. The limits are far above what real projects need:

- `MAX_FILE_BYTES`, 10 MB per parsed file (params, metrics, plots, dvc.yaml, dvc.lock,
  .dvc, --grid and settings files). Params and metrics files are rarely above a few
  hundred kB, dvc.lock files of projects with thousands of outputs a few MB; parsing
  multiplies a file's size in memory 20 to 35 times, so 10 MB stays below 350 MB.
- `MAX_YAML_VALUES`, 100,000 values that a YAML document's aliases may expand to.
  Without aliases a document's values are bounded by its size; anchors and aliases in
  real params files share a few blocks of settings (hundreds of values), while a
  374-byte "billion laughs" file expands to 10^9.
- `MAX_GRID_POINTS`, 10,000 experiments in a full grid: more than a CI sweep runs (at a
  minute each, a week of one runner). Larger grids are sampled with `--random N` (at
  most as many points), which never lists the grid.
- `MAX_AXIS_VALUES`, 1,000,000 values of one swept param (`range(...)`): its values are
  listed even when `--random` samples the grid.
- `MAX_CELL_CHARS`, 200 characters of one value or name in a text table (md, plain):
  longer ones are shortened in the middle (`start…end`), so one 66,000-character param
  cannot blank a comment and one of 5,000 cannot push every other row out of it. Real
  values (numbers, paths, optimizer names, short lists) fit; CSV and JSON keep them whole.
- `MAX_COLUMNS`, 500 params and metrics columns in one table; the rest is named in a note
  (choose columns with --params/--metrics).

They are constants rather than `.exp-ci.yaml` settings on purpose: in a pull request's
checkout the settings file is the pull request's too, so a setting could lift the bound
it is meant to keep.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_FILE_BYTES = 10 * 1000 * 1000
MAX_YAML_VALUES = 100_000
MAX_GRID_POINTS = 10_000
MAX_AXIS_VALUES = 1_000_000
MAX_CELL_CHARS = 200
MAX_COLUMNS = 500


def shorten(text: str, limit: int = MAX_CELL_CHARS) -> str:
    """`text`, or its start and end around `…` in `limit` characters when it is longer."""
    if len(text) <= limit:
        return text
    head = (limit - 1) * 2 // 3
    return text[:head] + "…" + text[len(text) - (limit - 1 - head) :]


def _megabytes(size: int, digits: int = 1) -> str:
    return f"{size / 1e6:.{digits}f} MB"


def size_problem(size: int, limit: int = MAX_FILE_BYTES) -> str | None:
    """Why a file of `size` bytes is not parsed (to follow "FILE is not read: "), or None
    when it is small enough."""
    if size <= limit:
        return None
    return (
        f"it is {_megabytes(size)}, more than the {_megabytes(limit, 0)} exp-ci parses of one file"
    )


def expanded_values(value: Any, limit: int = MAX_YAML_VALUES) -> int:
    """How many values `value` holds with every shared part (a YAML alias) written out,
    counted only until it passes `limit`. Shared parts are counted once per object, so
    the count costs the document's size, not its expansion; a recursive alias counts
    as more than `limit`."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def count(node: Any) -> int:
        if isinstance(node, Mapping):
            children: Any = (item for pair in node.items() for item in pair)
        elif isinstance(node, list):
            children = iter(node)
        else:
            return 1
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            return limit + 1
        open_nodes.add(key)
        total = 1
        for child in children:
            total += count(child)
            if total > limit:
                break
        open_nodes.discard(key)
        sizes[key] = total
        return total

    try:
        return count(value)
    except RecursionError:
        return limit + 1


def alias_problem(value: Any, text: str, limit: int = MAX_YAML_VALUES) -> str | None:
    """Why a parsed YAML document is refused (its aliases expand past `limit` values), or
    None. Only documents with an alias (`*`) can share parts, so others cost nothing."""
    if "*" not in text or expanded_values(value, limit) <= limit:
        return None
    return (
        f"YAML aliases expand to more than {limit:,} values, more than exp-ci reads of one "
        "file; write the values out, or use fewer aliases"
    )


def grid_problem(points: int, sample: int | None, limit: int = MAX_GRID_POINTS) -> str | None:
    """Why a sweep of `points` (or `--random sample` of them) is refused, or None."""
    if sample is not None and min(sample, points) > limit:
        return (
            f"--random {sample:,} asks for more than {limit:,} experiments, more than "
            f"exp-ci runs in one sweep. Ask for {limit:,} or fewer."
        )
    if sample is None and points > limit:
        return (
            f"the grid has {points:,} points, more than the {limit:,} experiments exp-ci runs "
            "in one sweep. Sample it with --random N (N up to "
            f"{limit:,}; it never lists the grid), or sweep fewer values."
        )
    return None


def axis_problem(name: str, values: int, limit: int = MAX_AXIS_VALUES) -> str | None:
    """Why one swept param with `values` values (listed up to one past `limit`) is
    refused, or None."""
    if values <= limit:
        return None
    return (
        f"{name} takes more than {limit:,} values, more than exp-ci lists for one param "
        "(even with --random). Use a larger step, or fewer values."
    )
