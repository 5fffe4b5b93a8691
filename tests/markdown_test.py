"""Untrusted text in markdown renders literally and cannot break the table."""

from __future__ import annotations

import pytest

from exp_ci.render.markdown import escape


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("exp-abc12", "exp-abc12"),
        ("a|b", "a\\|b"),
        ("`rm -rf`", "\\`rm -rf\\`"),
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
        ("<!-- exp-ci -->", "&lt;!-- exp-ci --&gt;"),
        ("@org/team please", "&#64;org/team please"),
        ("**bold** _it_ ~~s~~", "\\*\\*bold\\*\\* \\_it\\_ \\~\\~s\\~\\~"),
        ("[click](http://x)", "\\[click\\](http://x)"),
        ("line\nbreak\r\nhere", "line break here"),
        ("a & b", "a &amp; b"),
        ("back\\slash", "back\\\\slash"),
        ("0.5 +1 -2 #3", "0.5 +1 -2 #3"),
    ],
)
def test_escape(text, expected):
    assert escape(text) == expected


def test_escaped_text_never_contains_a_bare_pipe_or_angle_bracket():
    hostile = "x|y<z>`@u\n|"
    escaped = escape(hostile)
    assert "<" not in escaped and ">" not in escaped and "\n" not in escaped
    assert all(escaped[i - 1] == "\\" for i, ch in enumerate(escaped) if ch == "|")
