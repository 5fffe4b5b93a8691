"""Hostile repository content for the issue 12 tests."""

from __future__ import annotations

import itertools
import string


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """A YAML document of nested aliases: a few hundred bytes, `width ** levels` strings."""
    names = string.ascii_lowercase[:levels]
    lines = [f"a: &a [{', '.join(['lol'] * width)}]"]
    lines += [
        f"{name}: &{name} [{', '.join([f'*{previous}'] * width)}]"
        for previous, name in itertools.pairwise(names)
    ]
    return "\n".join(lines) + "\n"
