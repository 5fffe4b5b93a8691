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
        ("@org/team please", "`@org/team` please"),
        ("fixes #12 and owner/repo#3, GH-4", "fixes `#12` and `owner/repo#3`, `GH-4`"),
        ("mail a@b.co", "mail a`@b.co`"),
        ("see https://x.io/a_b or www.x.io", "see `https://x.io/a_b` or `www.x.io`"),
        ("@a@b#1", "`@a@b#1`"),  # adjacent pieces share one code span
        ("abc\u202edef\u200b", "abc\\[U+202E\\]def\\[U+200B\\]"),
        ("a\u2028b\u2029c\x85d\x0be", "a b c d e"),
        ("tab\tnul\x00", "tab nul\\[U+0000\\]"),
        ("cost $5", "cost \\$5"),
        ("**bold** _it_ ~~s~~", "\\*\\*bold\\*\\* \\_it\\_ \\~\\~s\\~\\~"),
        ("[click](http://x)", "\\[click\\](`http://x)`"),
        ("line\nbreak\r\nhere", "line break here"),
        ("a & b", "a &amp; b"),
        ("back\\slash", "back\\\\slash"),
        ("0.5 +1 -2 #x", "0.5 +1 -2 #x"),
    ],
)
def test_escape(text, expected):
    assert escape(text) == expected


def test_escaped_text_never_contains_a_bare_pipe_or_angle_bracket():
    hostile = "x|y<z>`@u\n|"
    escaped = escape(hostile)
    assert "<" not in escaped and ">" not in escaped and "\n" not in escaped
    assert all(escaped[i - 1] == "\\" for i, ch in enumerate(escaped) if ch == "|")
