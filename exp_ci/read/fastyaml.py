"""YAML 1.2 values at libyaml speed, or "unsure" so the caller uses DVC's own parser.

DVC reads YAML with ruamel.yaml (YAML 1.2, pure Python here: about 1 ms per small file).
A thousand experiments mean a thousand params files, so exp-ci parses with PyYAML's C
loader (libyaml) and a resolver restricted to the YAML 1.2 forms on which both agree:
`true`/`false`, `null`/`~`, decimal integers without leading zeros or underscores, and
floats. Any document with a form where the two could differ — `0x`/`0o`/`0b`, leading
zeros, underscores, dates, merge keys, tags, anchors, directives, duplicate keys — is
declined (`None`), and the caller falls back to ruamel. tests/fastyaml_test.py checks the
agreement on a corpus of such forms.

`load_block` is narrower still, for the pre-push hook, where importing PyYAML (about
15 ms) would be most of the time a push takes: block mappings and sequences of one-line
plain or single-quoted scalars — the shape DVC itself writes `.dvc` and `dvc.lock` files
in — read in a few lines of Python, with the same scalar rules; anything else is
declined. tests/fastyaml_test.py checks, property-based, that whatever it returns is what
DVC's parser returns.

The patterns are compiled on first use: the hook reads most pushes without them.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, ClassVar

# Characters that introduce tags, anchors, aliases, merge keys or directives.
_DECLINE_TEXT = r"[!&*%]|<<"

_INT = r"^[-+]?(?:0|[1-9][0-9]*)$"
_FLOAT = r"""^(?:[-+]?[0-9]+\.[0-9]*(?:[eE][-+]?[0-9]+)?
        |[-+]?[0-9]+[eE][-+]?[0-9]+
        |[-+]?\.[0-9]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$"""
# Plain scalars that ruamel may read as something other than the string PyYAML gives.
_UNSURE = r"""^(?:[-+]?0[0-9_]+(?:\.[0-9_]*)?      # leading zeros (octal in some readings)
        |[-+]?0[xXoObB].*                    # other bases
        |[-+.]?[0-9._eE+-]*_[0-9._eE+-]*      # underscores in numbers (`+_`: an error)
        |[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*    # dates and timestamps
        |=)$"""
_BOOL = r"^(?:true|True|TRUE|false|False|FALSE)$"
_NULL = r"^(?:~|null|Null|NULL|)$"


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.X)


class _Unsure(Exception):
    """This document needs ruamel to be read exactly as DVC reads it."""


_loader_class: Any = None


def _loader() -> Any:
    global _loader_class
    if _loader_class is None:
        import yaml

        class Yaml12Loader(yaml.CSafeLoader):
            yaml_implicit_resolvers: ClassVar[dict] = {}

            def construct_mapping(self, node: Any, deep: bool = False) -> Any:
                keys = [self.construct_object(key, deep=True) for key, _ in node.value]
                if len(keys) != len(set(map(repr, keys))):
                    raise _Unsure  # ruamel refuses duplicate keys; let it say so
                return super().construct_mapping(node, deep=deep)

        def unsure(loader: Any, node: Any) -> Any:
            raise _Unsure

        resolvers = [
            ("tag:yaml.org,2002:bool", _BOOL, "tTfF"),
            ("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""]),
            ("tag:yaml.org,2002:int", _INT, "-+0123456789"),
            ("tag:yaml.org,2002:float", _FLOAT, "-+0123456789."),
            ("tag:exp-ci:unsure", _UNSURE, "-+.0123456789="),
        ]
        for tag, pattern, first in resolvers:
            Yaml12Loader.add_implicit_resolver(tag, _regex(pattern), list(first))
        Yaml12Loader.add_constructor("tag:exp-ci:unsure", unsure)
        _loader_class = Yaml12Loader
    return _loader_class


def available() -> bool:
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is a dependency
        return False
    return bool(getattr(yaml, "__with_libyaml__", False))


def load(text: str) -> Any | None:
    """The document's value, or None when only ruamel can say for sure (or it is invalid)."""
    if _regex(_DECLINE_TEXT).search(text) or not available():
        return None
    import yaml

    try:
        value = yaml.load(text, Loader=_loader())  # a SafeLoader subclass
    except (_Unsure, yaml.YAMLError, ValueError, TypeError, RecursionError):
        return None
    return {} if value is None else value


# --- the block subset, without PyYAML -------------------------------------------------------

# Not read by `load_block` anywhere in a document (a tab, a comment, a flow collection, a
# tag, an anchor, an alias, a block scalar, a directive, a double-quoted scalar, ...): the
# caller's parsers decide.
_BLOCK_DECLINE = frozenset('\t\r#{}[]&*!|>%"\\')
_FIRST_DECLINE = frozenset("?:,@`-")  # cannot start a plain scalar here (`-` only a number's)
_TRUE = frozenset(("true", "True", "TRUE"))
_FALSE = frozenset(("false", "False", "FALSE"))
_NULLS = frozenset(("~", "null", "Null", "NULL"))
_NUMBER_START = frozenset("-+0123456789.=")
_NEGATIVE_NEXT = frozenset("0123456789.")  # `-1`, `-.5`; not `- x`, `--- a`

Lines = list[tuple[int, str]]  # (indent, content without the indent and trailing spaces)


def load_block(text: str) -> dict[Any, Any] | None:
    """A document of block mappings and sequences of one-line scalars, as DVC reads it; or
    None when it has anything else (`load`, then ruamel, decide those).

    Each block reads the lines at exactly its indent; a line indented otherwise (a scalar
    continued on the next line, a misplaced key) ends every block above it, so the whole
    document is declined when not every line was read."""
    if not _BLOCK_DECLINE.isdisjoint(text) or not text.replace("\n", "").isprintable():
        return None
    lines: Lines = []
    for raw in text.split("\n"):
        content = raw.lstrip(" ")
        if content:
            lines.append((len(raw) - len(content), content.rstrip(" ")))
    if not lines:
        return None
    try:
        value, end = _node(lines, 0)
    except (_Unsure, RecursionError):
        return None
    return value if end == len(lines) and isinstance(value, dict) else None


def _is_item(content: str) -> bool:
    return content == "-" or content.startswith("- ")


def _node(lines: Lines, i: int) -> tuple[Any, int]:
    """The mapping or sequence whose first line is `lines[i]`; returns it and the next line."""
    indent, content = lines[i]
    if _is_item(content):
        return _sequence(lines, i, indent)
    return _mapping(lines, i, indent)


def _mapping(lines: Lines, i: int, indent: int) -> tuple[dict[Any, Any], int]:
    result: dict[Any, Any] = {}
    while i < len(lines) and lines[i][0] == indent and not _is_item(lines[i][1]):
        key, rest = _split_key(lines[i][1])
        if key in result:
            raise _Unsure  # ruamel refuses duplicate keys; let it say so
        i += 1
        value: Any = None
        if rest:
            value = _scalar(rest)
        elif i < len(lines) and (
            lines[i][0] > indent or (lines[i][0] == indent and _is_item(lines[i][1]))
        ):
            value, i = _node(lines, i)
        result[key] = value
    return result, i


def _sequence(lines: Lines, i: int, indent: int) -> tuple[list[Any], int]:
    result: list[Any] = []
    while i < len(lines) and lines[i][0] == indent and _is_item(lines[i][1]):
        content = lines[i][1]
        rest = content[1:].lstrip(" ")
        value: Any = None
        if not rest:
            i += 1
            if i < len(lines) and lines[i][0] > indent:
                value, i = _node(lines, i)
        elif _is_item(rest):
            raise _Unsure  # a sequence in a sequence's item, on one line
        elif _is_key(rest):
            # `- key: value`: a mapping whose keys line up with this first one
            lines[i] = (indent + len(content) - len(rest), rest)
            value, i = _mapping(lines, i, lines[i][0])
        else:
            value = _scalar(rest)
            i += 1
        result.append(value)
    return result, i


def _quoted(text: str) -> tuple[str, int]:
    """A single-quoted scalar at the start of `text` (`''` is one quote): its value and
    where it ends."""
    parts = []
    start = 1
    while True:
        end = text.find("'", start)
        if end == -1:
            raise _Unsure  # not closed on this line
        parts.append(text[start:end])
        if not text.startswith("''", end):
            return "".join(parts), end + 1
        parts.append("'")
        start = end + 2


def _is_key(content: str) -> bool:
    try:
        _split_key(content)
    except _Unsure:
        return False
    return True


def _split_key(content: str) -> tuple[Any, str]:
    """`key: rest` (or `key:`) into the key's value and the rest."""
    if content[0] == "'":
        key, end = _quoted(content)
        after = content[end:]
        if not after.startswith(":") or after[1:2] not in ("", " "):
            raise _Unsure
        return key, after[1:].lstrip(" ")
    colon = content.find(": ")
    if colon == -1:
        if not content.endswith(":"):
            raise _Unsure
        key_text, rest = content[:-1], ""
    else:
        key_text, rest = content[:colon], content[colon + 2 :].lstrip(" ")
    if not key_text or ":" in key_text or key_text[-1] == " ":
        raise _Unsure
    return _scalar(key_text), rest


def _scalar(text: str) -> Any:
    """One plain or single-quoted scalar, resolved as `load` resolves it."""
    if text[0] == "'":
        value, end = _quoted(text)
        if end != len(text):
            raise _Unsure
        return value
    first = text[0]
    if first in _FIRST_DECLINE and not (first == "-" and text[1:2] in _NEGATIVE_NEXT):
        raise _Unsure
    if ": " in text or text.endswith(":"):
        raise _Unsure  # a mapping where a scalar must be: DVC's parser says what is wrong
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if text in _NULLS:
        return None
    if first in _NUMBER_START:
        if _regex(_UNSURE).match(text):
            raise _Unsure
        if _regex(_INT).match(text):
            return int(text)
        if _regex(_FLOAT).match(text):
            if text[-1] in "fFnN":  # .inf, .nan: left to the other parsers
                raise _Unsure
            return float(text)
    return text
