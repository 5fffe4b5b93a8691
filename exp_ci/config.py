"""Project defaults for the options every command repeats.

One optional file at the repository root: `.exp-ci.yaml`, or a `[tool.exp-ci]` table in
`pyproject.toml`. Flags override it. An unknown key is an error that names it, so a typo
never silently does nothing.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exp_ci.errors import UserError

if TYPE_CHECKING:
    from exp_ci.model import Direction

CONFIG_FILE = ".exp-ci.yaml"
DEFAULT_PRECISION = 5  # significant digits, as `dvc exp show`


@dataclass(frozen=True)
class Settings:
    """Project defaults for options, from `.exp-ci.yaml` or `[tool.exp-ci]`."""

    metric: str | None = None
    direction: Direction | None = None
    precision: int | None = None
    params: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    remote: str | None = None
    marker: str | None = None
    source: str | None = None  # where the settings came from, for messages


KNOWN_KEYS = tuple(f.name for f in fields(Settings) if f.name != "source")


def read_text(path: Path) -> str:
    """A configuration file's text (settings, `.dvc/config`): one that is too large or not
    UTF-8 is a UserError naming it, not a traceback. Repository content is untrusted."""
    from exp_ci.limits import size_problem

    try:
        problem = size_problem(path.stat().st_size)
        if problem is not None:
            raise UserError(f"{path} is not read: {problem}. Check what the file holds.")
        content = path.read_bytes()
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror}.") from None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(
            f"{path} is not UTF-8 text ({error.reason} at byte {error.start}). Save it as UTF-8."
        ) from None


def _load_yaml(path: Path) -> Any:
    import yaml

    from exp_ci.limits import alias_problem

    text = read_text(path)
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise UserError(f"{path} is not valid YAML: {error}. Fix the file or remove it.") from None
    problem = alias_problem(document, text)
    if problem is not None:
        raise UserError(f"{path}: {problem}.")
    return document


def _load_pyproject(path: Path) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        document = tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{path} is not valid TOML: {error}.") from None
    return document.get("tool", {}).get("exp-ci")


def load_settings(root: Path) -> Settings:
    yaml_path = root / CONFIG_FILE
    pyproject = root / "pyproject.toml"
    from_pyproject = _load_pyproject(pyproject) if pyproject.is_file() else None
    if yaml_path.is_file():
        if from_pyproject is not None:
            raise UserError(
                f"exp-ci settings are in both {yaml_path} and [tool.exp-ci] of {pyproject}. "
                "Keep one of them."
            )
        return parse_settings(_load_yaml(yaml_path) or {}, str(yaml_path))
    if from_pyproject is not None:
        return parse_settings(from_pyproject, f"{pyproject} [tool.exp-ci]")
    return Settings()


def parse_settings(raw: Any, source: str) -> Settings:
    if not isinstance(raw, dict):
        raise UserError(f"{source} must be a mapping of option names to values.")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = str(key).replace("-", "_")
        if name not in KNOWN_KEYS:
            raise UserError(f"{source}: unknown key '{key}'. Known keys: {', '.join(KNOWN_KEYS)}.")
        values[name] = _typed(name, value, source)
    return Settings(**values, source=source)


def _typed(name: str, value: Any, source: str) -> Any:
    if name == "direction":
        from exp_ci.model import Direction

        try:
            return Direction(str(value))
        except ValueError:
            raise UserError(f"{source}: direction must be 'max' or 'min', not '{value}'.") from None
    if name == "precision":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UserError(f"{source}: precision must be a whole number of 1 or more.")
        return value
    if name in ("params", "metrics"):
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise UserError(f"{source}: {name} must be a glob or a list of globs.")
        return tuple(items)
    if not isinstance(value, str):
        raise UserError(f"{source}: {name} must be a string.")
    return value


def settings_for(start: Path) -> Settings:
    """The settings of the project at `start`: the nearest folder from `start` up to the Git
    repository's root that has them (`.exp-ci.yaml`, or `[tool.exp-ci]` in pyproject.toml),
    so a `dvc init --subdir` project may have its own and otherwise shares the root's."""
    start = start.resolve()
    for folder in (start, *start.parents):
        settings = load_settings(folder)
        if settings.source is not None or (folder / ".git").exists():
            return settings
    return Settings()
