"""Parse params and metrics files exactly as DVC does.

DVC picks a parser by suffix (`.json`, `.toml`, `.py`, anything else is YAML 1.2 via
ruamel) and keeps only scalar metric values. We call DVC's own parsers rather than
PyYAML/json/tomllib of our own: YAML 1.1 and 1.2 disagree on values such as `1e-3`,
`yes` and `0o10`, and the promise of exp-ci is "the same values as `dvc exp show`".
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from typing import Any


class FileFormatError(ValueError):
    """A params or metrics file whose content does not parse."""


def parse_file(path: str, content: bytes) -> Any:
    """Parse one file's bytes with the parser DVC chooses for its suffix, within the
    bounds of `exp_ci.limits` (its size, and what its YAML aliases expand to)."""
    from dvc.utils.serialize import PARSERS

    from exp_ci.limits import alias_problem, size_problem

    too_large = size_problem(len(content))
    if too_large is not None:
        raise FileFormatError(f"{path} is not read: {too_large}")
    suffix = posixpath.splitext(path)[1].lower()
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FileFormatError(f"{path} is not UTF-8 text ({error.reason})") from None
    if suffix not in (".json", ".toml", ".py"):
        from exp_ci.read import fastyaml

        fast = fastyaml.load(text)
        if fast is not None and (fast or not text.strip()):
            return fast
    try:
        value = PARSERS[suffix](text, path)
    except Exception as error:
        cause = error.__cause__ or error.__context__ or error
        detail = " ".join(str(cause).split())
        if any(line.startswith("<<<<<<< ") for line in text.splitlines()):  # git merge's
            detail = (
                "it has Git conflict markers (<<<<<<<), left by a merge: resolve them and "
                f"commit the file ({detail})"
            )
        raise FileFormatError(f"{path} does not parse: {detail}") from None
    aliases = alias_problem(value, text) if suffix not in (".json", ".toml", ".py") else None
    if aliases is not None:
        raise FileFormatError(f"{path}: {aliases}")
    return value


def extract_metrics(value: Any) -> Any:
    """Keep what DVC keeps of a metrics file: numbers, strings and dicts of them."""
    if isinstance(value, (int, float, str)):
        return value
    if not isinstance(value, Mapping):
        return None
    kept = {}
    for key, item in value.items():
        extracted = extract_metrics(item)
        if extracted not in (None, {}):
            kept[key] = extracted
    return kept


def read_metrics(path: str, content: bytes) -> dict[str, Any]:
    value = extract_metrics(parse_file(path, content))
    return value or {}


def read_params(path: str, content: bytes, keys: Sequence[str]) -> Any:
    """The whole params file, or only the dotted `keys` a stage tracks (DVC's dpath merge)."""
    data = parse_file(path, content)
    if not keys:
        return data
    return select_keys(data, keys)


def lookup(document: Any, dotted: str) -> tuple[bool, Any]:
    """(found, value) at a dotted key, list indexes included, as DVC names params (`-S`,
    a stage's `params:` keys, `${}` in templates); "" is the whole document.

    Not `dpath` (which DVC uses): its paths are globs, and a key from a pull request that
    holds `*` or `[` would match other keys."""
    node = document
    for part in dotted.split(".") if dotted else ():
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def select_keys(data: Any, keys: Sequence[str]) -> dict[str, Any]:
    selected: dict[str, Any] = {}
    for key in dict.fromkeys(keys):
        found, node = lookup(data, key)
        if found:
            _set_nested(selected, key.split("."), node)
    return selected


def _set_nested(target: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted keys for nested dicts, as `dvc exp show` names its columns; lists stay whole."""
    if not isinstance(data, Mapping):
        return {prefix: data} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, name))
        else:
            flat[name] = value
    return flat
