"""Markdown escaping for untrusted text (experiment names, param values, file errors).

Names and values come from a pull request's author. In a GitHub comment they must not
break the table (`|`, newlines), inject HTML (`<img>`, `<!-- -->`), ping people
(`@team`) or format text (`*`, `_`, backticks, links). Each of those characters is
backslash-escaped or written as an HTML entity; the text still reads the same. Characters
that are special only at the start of a line (`#`, `+`, `-`) or only after `]` (`(`) need
nothing: a cell never starts a line, and `[`/`]` are escaped.
"""

from __future__ import annotations

import re

_BACKSLASHED = re.compile(r"([\\`*_\[\]|~])")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "@": "&#64;"}


def escape(text: str) -> str:
    """Text that GitHub renders literally, safe inside a table cell."""
    text = " ".join(text.splitlines()) if ("\n" in text or "\r" in text) else text
    text = "".join(_ENTITIES.get(char, char) for char in text)
    return _BACKSLASHED.sub(r"\\\1", text)
