"""The sticky comment's body format: marker, sections, and GitHub's size limit (pure).

A body looks like this::

    <!-- exp-ci:ID -->

    <!-- exp-ci:ID:section:KEY -->
    ...one job's markdown...
    <!-- /exp-ci:ID:section:KEY -->

The first line finds the comment among all of a pull request's comments; each section
belongs to one job (`--section KEY`, `default` without it), so matrix shards and separate
workflows share one comment and each replaces only its own part.

GitHub refuses a comment over 65,536 characters. `build_body` keeps the whole body under
it: other sections give way only when they leave ours too little room, and our section's
content is asked for within the room that is left (see `exp_ci.render.section` for how a
table or free markdown is fitted into it).

Lengths are counted in UTF-16 code units for comments (never fewer than GitHub's count of
characters) and in UTF-8 bytes for the job summary (its limit is 1 MiB). Both measures add
up over concatenation, which the fitting relies on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from exp_ci.errors import UserError
from exp_ci.render.markdown import escape

COMMENT_LIMIT = 65_536
DEFAULT_MARKER = "exp-ci"
DEFAULT_SECTION = "default"
MIN_SECTION_ROOM = 2_000  # below this, other sections give way (see `build_body`)

Measure = Callable[[str], int]

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/=+-]{0,99}")
_ANY_MARKER = re.compile(r"<!--(\s*/?\s*exp-ci:)")


def comment_length(text: str) -> int:
    """UTF-16 code units: an upper bound of the characters GitHub counts."""
    return len(text.encode("utf-16-le")) // 2


def utf8_length(text: str) -> int:
    return len(text.encode("utf-8"))


# --- markers and sections -------------------------------------------------------------


def checked_id(value: str, what: str) -> str:
    """A marker ID or section key that is safe inside an HTML comment and a regex."""
    if not _ID.fullmatch(value) or "--" in value:
        raise UserError(
            f"{what} '{value}' cannot be used: use letters, digits and . _ - : / = + "
            "(no spaces, no '--', at most 100 characters), e.g. 'shard-1' or 'py3.11'."
        )
    return value


def marker(marker_id: str) -> str:
    return f"<!-- exp-ci:{marker_id} -->"


def section_start(marker_id: str, key: str) -> str:
    return f"<!-- exp-ci:{marker_id}:section:{key} -->"


def section_end(marker_id: str, key: str) -> str:
    return f"<!-- /exp-ci:{marker_id}:section:{key} -->"


def has_marker(body: str, marker_id: str) -> bool:
    """Whether a comment is the sticky comment of this marker (its own line, any place)."""
    line = re.compile(rf"^{re.escape(marker(marker_id))}[ \t]*\r?$", re.MULTILINE)
    return line.search(body) is not None


def neutralize(text: str) -> str:
    """Untrusted markdown that cannot forge or end a marker or section of ours."""
    return _ANY_MARKER.sub(r"&lt;!--\1", text)


def parse_sections(body: str, marker_id: str) -> dict[str, str]:
    """The sections of a sticky comment, by key (bodies edited on github.com use CRLF)."""
    text = body.replace("\r\n", "\n")
    mid = re.escape(marker_id)
    pattern = re.compile(
        rf"^<!-- exp-ci:{mid}:section:(?P<key>[^\s>]+) -->\n"
        rf"(?P<content>.*?)\n?"
        rf"^<!-- /exp-ci:{mid}:section:(?P=key) -->[ \t]*$",
        re.MULTILINE | re.DOTALL,
    )
    return {m.group("key"): m.group("content").strip("\n") for m in pattern.finditer(text)}


def _natural(key: str) -> list[tuple[int, int | str]]:
    """shard-2 before shard-10."""
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", key) if p]


def assemble(marker_id: str, sections: Mapping[str, str]) -> str:
    """The whole body: the marker, then the sections in a stable (natural) order of keys."""
    parts = [marker(marker_id)]
    for key in sorted(sections, key=_natural):
        content = sections[key].strip("\n")
        parts.append(f"{section_start(marker_id, key)}\n{content}\n{section_end(marker_id, key)}")
    return "\n\n".join(parts) + "\n"


def removed_section_note(key: str) -> str:
    return (
        f"_Section {escape(key)} was removed to keep this comment under GitHub's size "
        "limit; its job summary still has it._"
    )


def build_body(
    marker_id: str,
    key: str,
    content_for: Callable[[int], str],
    existing: Mapping[str, str] | None = None,
    *,
    limit: int = COMMENT_LIMIT,
    measure: Measure = comment_length,
) -> str:
    """The body with our section (from `content_for(budget)`) and the others kept.

    Other sections stay as they are unless, together, they leave us less than
    MIN_SECTION_ROOM: then the largest of them are replaced by a one-line note. The result
    never exceeds `limit`.
    """
    others = {k: v for k, v in (existing or {}).items() if k != key}

    def room() -> int:
        return limit - measure(assemble(marker_id, {**others, key: ""}))

    while room() < MIN_SECTION_ROOM and any(
        v != removed_section_note(k) for k, v in others.items()
    ):
        largest = max(
            (k for k, v in others.items() if v != removed_section_note(k)),
            key=lambda k: measure(others[k]),
        )
        others[largest] = removed_section_note(largest)

    budget = room()
    for _ in range(3):
        content = neutralize(content_for(max(budget, 0))).strip("\n")
        body = assemble(marker_id, {**others, key: content})
        over = measure(body) - limit
        if over <= 0:
            return body
        budget -= over + 16
    return assemble(marker_id, {**others, key: removed_section_note(key)})
