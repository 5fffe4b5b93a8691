"""Sweep plans: which experiments to run, in which order, split into shards. Pure.

A plan is the cartesian product of every param's values (the last param varying fastest,
as nested loops), or a reproducible random sample of it. The order depends only on what
the user wrote, never on hash seeds, dict order of the machine or the Python version, so
every runner of a CI matrix computes the same plan and takes its own slice of it.

`-S` uses DVC's own syntax (`[FILE:]KEY=V1,V2`, also `range(...)` and `choice(...)`),
parsed by the Hydra override parser DVC itself uses; each point's values are written back
the way DVC's own `--queue` sweeps write them, so `dvc exp run -S` reads them the same.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from exp_ci.errors import UserError
from exp_ci.limits import MAX_AXIS_VALUES, axis_problem, grid_problem
from exp_ci.read.dvcfiles import DEFAULT_PARAMS_FILE
from exp_ci.read.formats import lookup
from exp_ci.refnames import experiment_name_error

SET_SYNTAX = (
    "Write KEY=VALUE or KEY=V1,V2,... in DVC's syntax, optionally with a file: "
    "-S train.lr=0.01,0.1 -S params.yaml:train.epochs=range(1,4)"
)


@dataclass(frozen=True)
class Axis:
    """One param of the sweep and the values it takes, each in DVC's `-S` syntax."""

    file: str
    key: str  # as DVC receives it: `train.lr`, or `+train.new` to add a key
    values: tuple[str, ...]
    explicit_file: bool = False

    @property
    def name(self) -> str:
        """How the user wrote it, and how `-S` gets it: `train.lr` or `other.json:alpha`."""
        return f"{self.file}:{self.key}" if self.explicit_file else self.key

    @property
    def param(self) -> str:
        """The dotted key inside the file, without Hydra's `+`/`++` prefix."""
        return self.key.lstrip("+")

    @property
    def adds_key(self) -> bool:
        return self.key.startswith("+")


@dataclass(frozen=True)
class Setting:
    param: str  # Axis.name
    value: str

    @property
    def override(self) -> str:
        """The argument of `dvc exp run -S`."""
        return f"{self.param}={self.value}"


@dataclass(frozen=True)
class Point:
    """One experiment of the plan. `index` is its 1-based place in the whole plan, the
    same on every shard, so names built from it never collide across shards."""

    index: int
    settings: tuple[Setting, ...] = ()

    @property
    def overrides(self) -> tuple[str, ...]:
        return tuple(s.override for s in self.settings)

    def describe(self) -> str:
        return " ".join(self.overrides) or "(the params as committed)"


@dataclass(frozen=True)
class Plan:
    axes: tuple[Axis, ...]
    points: tuple[Point, ...]  # the grid, or the random sample of it, in plan order
    grid_size: int
    sample: int | None = None  # --random N
    seed: int | None = None


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


# --- reading the plan ---------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _parser():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


def parse_set(text: str, origin: str = "-S") -> Axis:
    """One `-S [FILE:]KEY=V1,V2,...` into an axis; a UserError names what is wrong.

    The file prefix is split as DVC splits it (a `:` before the first `=`); the rest is a
    Hydra override, as `dvc exp run -S` reads it.
    """
    shown = f"{origin} '{text}'"
    head = text.partition("=")[0]
    file, explicit = DEFAULT_PARAMS_FILE, False
    override_text = text
    if ":" in head:
        file, _, override_text = text.partition(":")
        explicit = True
        if not file.strip():
            raise UserError(f"{shown} names no params file before ':'. {SET_SYNTAX}.")
    if "=" not in override_text:
        raise UserError(f"{shown} has no '=': which value should the param take? {SET_SYNTAX}.")
    simple = _simple_override(override_text)
    if simple is not None:
        key, values = simple
        _check_axis_size(values, shown)
        _check_unique(values, shown)
        return Axis(file.strip() if explicit else file, key, values, explicit)
    from hydra.errors import HydraException

    try:
        override = _parser().parse_override(override_text)
    except HydraException as error:
        detail = " ".join(str(error).split())
        raise UserError(
            f"{shown} is not a valid param override ({detail}). {SET_SYNTAX}."
        ) from None
    key = override.get_key_element()
    if not override.key_or_group:
        raise UserError(f"{shown} names no param before '='. {SET_SYNTAX}.")
    if override.is_delete():
        raise UserError(f"{shown} deletes a param (~KEY); a sweep can only set params.")
    if override.is_sweep_override():
        values = tuple(_sweep_values(override, shown))
    else:
        if not override_text.partition("=")[2].strip():
            raise UserError(
                f"{shown} has no value after '=' (an empty shell variable?). To set an empty "
                f"string, write {override_text}''."
            )
        values = (override.get_value_element_as_str(),)
    _check_unique(values, shown)
    return Axis(file.strip() if explicit else file, key, tuple(values), explicit)


def _check_axis_size(values: Sequence[str], shown: str) -> None:
    problem = axis_problem(shown, len(values))
    if problem is not None:
        raise UserError(problem)


def _check_unique(values: Sequence[str], shown: str) -> None:
    duplicates = sorted(v for v, n in collections.Counter(values).items() if n > 1)
    if duplicates:
        raise UserError(
            f"{shown} lists {', '.join(repr(v) for v in duplicates)} more than once; "
            "each value would run the same experiment twice."
        )


_SIMPLE_KEY = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)")
_WORD = re.compile(r"[A-Za-z_]\w*")
_HYDRA_WORDS = {"true", "false", "null", "inf", "nan"}


def _simple_override(text: str) -> tuple[str, tuple[str, ...]] | None:
    """`key=1,2.5,adam` without Hydra: the common case, answered as Hydra would answer it
    (ints and floats normalised alike), without importing it (a fifth of a second).
    Anything else (quotes, lists, range(), true/null...) returns None: Hydra parses it."""
    key, _, rest = text.partition("=")
    if not _SIMPLE_KEY.fullmatch(key):
        return None
    values = []
    for token in rest.split(","):
        if _INT.fullmatch(token):
            values.append(str(int(token)))
        elif _FLOAT.fullmatch(token):
            values.append(repr(float(token)))
        elif _WORD.fullmatch(token) and token.lower() not in _HYDRA_WORDS:
            values.append(token)
        else:
            return None
    return key, tuple(values)


def _sweep_values(override: Any, shown: str) -> list[str]:
    from hydra.core.override_parser.types import ValueType

    kind = override.value_type
    if kind == ValueType.GLOB_CHOICE_SWEEP:
        raise UserError(f"{shown}: glob() is not supported by DVC; list the values.")
    if not override.is_discrete_sweep():
        raise UserError(
            f"{shown}: interval() is a continuous range that cannot be enumerated; "
            "use range(START,STOP,STEP) or list the values."
        )
    if getattr(override.value(), "shuffle", False):
        raise UserError(
            f"{shown}: shuffle() gives a different order on every machine, so shards would "
            "overlap. Use --random N --seed S to sample the plan reproducibly."
        )
    # At most one value past the limit is listed: a range of 10^12 is refused, not built.
    values = list(itertools.islice(override.sweep_string_iterator(), MAX_AXIS_VALUES + 1))
    if not values:
        raise UserError(f"{shown} gives no values (an empty range?).")
    _check_axis_size(values, shown)
    return values


def override_value(value: Any) -> str:
    """A YAML/JSON value written in DVC's `-S` syntax, so that DVC reads the same value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return value if _reads_back_as(value) else _quoted(value)
    if isinstance(value, Sequence):
        return "[" + ",".join(override_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        items = ",".join(f"{_key(k)}:{override_value(v)}" for k, v in value.items())
        return "{" + items + "}"
    raise UserError(f"cannot pass a value of type {type(value).__name__} to DVC: {value!r}")


def _key(key: Any) -> str:
    text = str(key)
    if not re.fullmatch(r"[A-Za-z_][\w\-]*", text):
        raise UserError(f"'{text}' cannot be a key of a mapping value in a -S override.")
    return text


_PLAIN = re.compile(r"[A-Za-z_][\w\-./]*")


def _reads_back_as(text: str) -> bool:
    """Whether Hydra reads `text` unquoted as exactly this string (not a number or bool)."""
    if not _PLAIN.fullmatch(text):
        return False
    if _WORD.fullmatch(text):
        return text.lower() not in _HYDRA_WORDS
    try:
        parsed = _parser().parse_override(f"k={text}")
    except Exception:
        return False
    return not parsed.is_sweep_override() and parsed.value() == text


def _quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def grid_axes(document: Any, source: str) -> list[Axis]:
    """`--grid FILE`: a mapping of param (`[FILE:]KEY`) to a list of values (or one value)."""
    if not isinstance(document, Mapping) or not document:
        raise UserError(
            f"{source} must be a mapping of params to lists of values, e.g.\n"
            "  train.lr: [0.01, 0.1]\n  other.json:alpha: [0.5, 0.9]"
        )
    axes = []
    for param, values in document.items():
        if not isinstance(param, str) or not param.strip():
            raise UserError(f"{source}: '{param}' is not a param name.")
        items = list(values) if isinstance(values, list) else [values]
        if not items:
            raise UserError(f"{source}: {param} has an empty list of values.")
        text = f"{param}=" + ",".join(override_value(v) for v in items)
        axes.append(parse_set(text, origin=f"{source}:"))
    return axes


def check_axes(axes: Sequence[Axis]) -> None:
    """Each param once: two lists for one param would be ambiguous."""
    seen: dict[tuple[str, str], Axis] = {}
    for axis in axes:
        previous = seen.get((axis.file, axis.param))
        if previous is not None:
            raise UserError(
                f"{axis.param} of {axis.file} is given twice ({previous.name} and "
                f"{axis.name}); give all its values in one list."
            )
        seen[(axis.file, axis.param)] = axis


def missing_params(axes: Sequence[Axis], documents: Mapping[str, Any]) -> list[str]:
    """Problems with the params each axis sets, against the committed params files.

    DVC refuses to set a key its file lacks (unless written `+KEY`), but only after it
    has started; this finds all of them before anything runs. `documents` maps a file to
    its parsed content, None when the file is not in the commit, or an error string.
    """
    problems = []
    for axis in axes:
        document = documents.get(axis.file)
        if isinstance(document, str):
            problems.append(f"{axis.name}: {document}")
        elif axis.adds_key:
            continue
        elif document is None:
            problems.append(
                f"{axis.name}: {axis.file} is not in the commit. Commit it, or name the "
                "params file as FILE:KEY."
            )
        elif not _has_key(document, axis.param):
            known = ", ".join(sorted(_keys(document))[:12]) or "none"
            problems.append(
                f"{axis.name}: {axis.file} has no param '{axis.param}' (it has: {known}). "
                f"To add a new param, write +{axis.param}=..."
            )
    return problems


def point_matches(point: Point, axes: Sequence[Axis], documents: Mapping[str, Any]) -> bool:
    """Whether an experiment's params files (`documents`, parsed, as in `missing_params`)
    hold every value `point` sets: the same experiment, from an earlier run of the same
    plan. Values compare as DVC reads `-S` values (YAML), so `0.10` matches `0.1`."""
    import yaml

    by_name = {axis.name: axis for axis in axes}
    for setting in point.settings:
        axis = by_name.get(setting.param)
        document = documents.get(axis.file) if axis else None
        if axis is None or not isinstance(document, (Mapping, list)):
            return False
        found, node = lookup(document, axis.param)
        if not found:
            return False
        try:
            wanted = yaml.safe_load(setting.value)
        except yaml.YAMLError:
            wanted = setting.value
        if wanted != node:
            return False
    return True


def _has_key(document: Any, dotted: str) -> bool:
    return lookup(document, dotted)[0]


def _keys(document: Any, prefix: str = "") -> Iterable[str]:
    if not isinstance(document, Mapping):
        return
    for key, value in document.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from _keys(value, f"{name}.")
        else:
            yield name


# --- building and slicing it --------------------------------------------------------------


def build_plan(axes: Sequence[Axis], sample: int | None = None, seed: int = 0) -> Plan:
    """The cartesian product of the axes (a plain run when there are none), or `sample`
    points of it drawn reproducibly from `seed` and kept in plan order. A grid larger
    than `MAX_GRID_POINTS` is refused unless sampled; a sample is drawn without listing
    the grid."""
    check_axes(axes)
    grid_size = math.prod(len(axis.values) for axis in axes)
    too_many = grid_problem(grid_size, sample)
    if too_many is not None:
        raise UserError(too_many)
    if sample is None or sample >= grid_size:
        indices: Iterable[int] = range(grid_size)
    else:
        indices = sample_indices(grid_size, sample, seed)
    points = tuple(
        Point(position, _settings(axes, grid_index))
        for position, grid_index in enumerate(indices, start=1)
    )
    return Plan(tuple(axes), points, grid_size, sample, seed if sample is not None else None)


def _settings(axes: Sequence[Axis], grid_index: int) -> tuple[Setting, ...]:
    """The point at `grid_index` of the product, the last axis varying fastest."""
    chosen = []
    for axis in reversed(axes):
        grid_index, position = divmod(grid_index, len(axis.values))
        chosen.append(Setting(axis.name, axis.values[position]))
    return tuple(reversed(chosen))


def _draw(seed: int, counter: int, bound: int) -> int:
    """A uniform integer in [0, bound) from (seed, counter): SHA-256, the same everywhere."""
    digest = hashlib.sha256(f"exp-ci sweep {seed} {counter}".encode()).digest()
    return int.from_bytes(digest, "big") % bound


def sample_indices(population: int, count: int, seed: int) -> list[int]:
    """`count` distinct indices of range(population), sorted; Floyd's algorithm, so a grid
    of billions of points is sampled without being listed."""
    chosen: set[int] = set()
    for counter, top in enumerate(range(population - count, population)):
        candidate = _draw(seed, counter, top + 1)
        chosen.add(top if candidate in chosen else candidate)
    return sorted(chosen)


def parse_shard(text: str) -> Shard:
    """`I/N`, 1-based: the I-th of N slices."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise UserError(f"--shard '{text}' is not I/N (for example --shard 2/4).")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise UserError(
            f"--shard {text}: I must be between 1 and N, and N at least 1 "
            '(in a CI matrix of shard: [1, ..., N], pass --shard "$SHARD/N").'
        )
    return Shard(index, count)


def shard_points(points: Sequence[Point], shard: Shard | None) -> tuple[Point, ...]:
    """Every N-th point starting at the I-th: slices are disjoint, together the whole plan,
    and differ in size by at most one; neighbouring points (often similar in cost) are
    spread over the shards."""
    if shard is None:
        return tuple(points)
    return tuple(points[shard.index - 1 :: shard.count])


# --- naming the experiments ---------------------------------------------------------------


def default_prefix(
    run_id: str | None, run_attempt: str | None, shard: Shard | None, now: datetime
) -> str:
    """`gh<run id>-<attempt>` in GitHub Actions, else the time; plus the shard.

    A rerun of a workflow is a new attempt and a new run a new id, so names never repeat
    across runs; the shard in the name tells which runner made an experiment.
    """
    digits = re.sub(r"[^0-9]", "", run_id or "")
    if digits:
        prefix = f"gh{digits}-{re.sub(r'[^0-9]', '', run_attempt or '') or '1'}"
    else:
        prefix = now.strftime("run-%Y%m%d-%H%M%S")
    if shard is not None and shard.count > 1:
        prefix += f"-s{shard.index}of{shard.count}"
    return prefix


def experiment_name(prefix: str, point: Point, plan_size: int) -> str:
    """`<prefix>-<index>`, the index zero-padded to the plan's width so names sort."""
    width = len(str(max(plan_size, 1)))
    return f"{prefix}-{point.index:0{width}d}"


def check_prefix(prefix: str) -> None:
    reason = experiment_name_error(f"{prefix}-1")
    if reason is not None:
        raise UserError(
            f"--name-prefix '{prefix}' would make invalid DVC experiment names: {reason}. "
            "Use letters, digits, '-', '_' and '.'."
        )
