"""YAML 1.2 values at libyaml speed, or "unsure" so the caller uses DVC's own parser.

DVC reads YAML with ruamel.yaml (YAML 1.2, pure Python here: about 1 ms per small file).
A thousand experiments mean a thousand params files, so exp-ci parses with PyYAML's C
loader (libyaml) and a resolver restricted to the YAML 1.2 forms on which both agree:
`true`/`false`, `null`/`~`, decimal integers without leading zeros or underscores, and
floats. Any document with a form where the two could differ — `0x`/`0o`/`0b`, leading
zeros, underscores, dates, merge keys, tags, anchors, directives, duplicate keys — is
declined (`None`), and the caller falls back to ruamel. tests/fastyaml_test.py checks the
agreement on a corpus of such forms.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

# Characters that introduce tags, anchors, aliases, merge keys or directives.
_DECLINE_TEXT = re.compile(r"[!&*%]|<<")

_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_FLOAT = re.compile(
    r"""^(?:[-+]?[0-9]+\.[0-9]*(?:[eE][-+]?[0-9]+)?
        |[-+]?[0-9]+[eE][-+]?[0-9]+
        |[-+]?\.[0-9]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
    re.X,
)
# Plain scalars that ruamel may read as something other than the string PyYAML gives.
_UNSURE = re.compile(
    r"""^(?:[-+]?0[0-9_]+(?:\.[0-9_]*)?      # leading zeros (octal in some readings)
        |[-+]?0[xXoObB].*                    # other bases
        |[-+.]?[0-9][0-9._eE+-]*_[0-9._eE+-]*  # underscores in numbers
        |[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*    # dates and timestamps
        |=)$""",
    re.X,
)


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
            (
                "tag:yaml.org,2002:bool",
                re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                "tTfF",
            ),
            ("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]),
            ("tag:yaml.org,2002:int", _INT, "-+0123456789"),
            ("tag:yaml.org,2002:float", _FLOAT, "-+0123456789."),
            ("tag:exp-ci:unsure", _UNSURE, "-+.0123456789="),
        ]
        for tag, pattern, first in resolvers:
            Yaml12Loader.add_implicit_resolver(tag, pattern, list(first))
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
    if _DECLINE_TEXT.search(text) or not available():
        return None
    import yaml

    try:
        value = yaml.load(text, Loader=_loader())  # a SafeLoader subclass
    except (_Unsure, yaml.YAMLError, ValueError, TypeError, RecursionError):
        return None
    return {} if value is None else value
