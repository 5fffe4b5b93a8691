"""Markdown escaping for untrusted text (experiment names, param values, file errors).

Names and values come from a pull request's author. In a GitHub comment they must not
break the table (`|`, line breaks of any kind), inject HTML (`<img>`, `<!-- -->`), format
text (`*`, `_`, backticks, `[links]`), link or ping (`@team`, `#12`, `owner/repo#3`, `GH-4`,
`https://...`, `www.`, `a@b.co`) or hide what they say (bidi and zero-width characters).

- Markup characters are backslash-escaped, `&`, `<` and `>` written as entities; the text
  reads the same. Characters special only at the start of a line (`#`, `+`, `-`) or only
  after `]` (`(`) need nothing: a cell never starts a line, and `[`/`]` are escaped.
- What GitHub links or pings goes into an inline code span: `` `@team` ``, `` `#12` ``,
  `` `owner/repo#3` ``, `` `GH-4` ``, `` `https://x.io` ``, `` `www.x.io` ``. GitHub finds
  mentions and references in the HTML that the markdown became, after entities and
  backslashes are gone (`\\@x`, `&#64;x` and `&#35;12` are still linked, github/cmark-gfm
  issue 181); its filters skip `<code>`, and cmark's own autolinker skips code spans. A
  code span keeps every character and is visible, unlike a zero-width space.
- Control and format characters (Unicode Cc and Cf: bidi controls U+202A–U+202E,
  U+2066–U+2069, U+200E/U+200F, U+061C, zero-width U+200B–U+200D, U+2060, U+FEFF, ...)
  and lone surrogates are shown as `[U+202E]`; a tab is a space; every line break
  (LF, CR, VT, FF, U+0085, U+2028, U+2029, ...) becomes a space.

Commit SHAs stay as they are: GitHub links one only to a commit of this repository, which
pings nobody, and exp-ci's own tables show SHAs on purpose.
"""

from __future__ import annotations

import re
import unicodedata

_BACKSLASHED = re.compile(r"([\\`*_\[\]|~$])")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
# What GitHub (or cmark-gfm's autolink extension) would turn into a link or a ping.
_LINKED = re.compile(
    r"@[A-Za-z0-9_./-]*"  # @user, @org/team, and the @ of an e-mail address
    r"|(?:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)?#[0-9]+"  # #12, owner/repo#3
    r"|[Gg][Hh]-[0-9]+"  # GH-4
    r"|(?:[Hh][Tt][Tt][Pp][Ss]?|[Ff][Tt][Pp]):/+[^\s`|]*"  # http://, https://, ftp://
    r"|[Ww][Ww][Ww]\.[^\s`|]*"  # www.example.com
)


def visible(text: str) -> str:
    """One line with every hidden character shown: `[U+202E]`, line breaks as spaces."""
    if text.isprintable():  # the common case: nothing hidden, no line break
        return text
    out = []
    for line in text.splitlines():
        shown = []
        for char in line:
            if char == "\t":
                shown.append(" ")
            elif unicodedata.category(char) in _HIDDEN_CATEGORIES:
                shown.append(f"[U+{ord(char):04X}]")
            else:
                shown.append(char)
        out.append("".join(shown))
    return " ".join(out)


def _plain(text: str) -> str:
    text = "".join(_ENTITIES.get(char, char) for char in text)
    return _BACKSLASHED.sub(r"\\\1", text)


def escape(text: str) -> str:
    """Text that GitHub renders literally, links and pings nothing, safe in a table cell."""
    text = visible(text)
    out: list[str] = []
    position = 0
    code: list[str] = []  # adjacent linkable pieces share one code span
    for match in _LINKED.finditer(text):
        if match.start() > position:
            if code:
                out.append("`" + "".join(code) + "`")
                code = []
            out.append(_plain(text[position : match.start()]))
        code.append(match.group())
        position = match.end()
    if code:
        out.append("`" + "".join(code) + "`")
    out.append(_plain(text[position:]))
    return "".join(out)
