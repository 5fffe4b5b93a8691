"""The libyaml fast path gives DVC's (ruamel, YAML 1.2) values, or declines.

For every document here, the fast path must either decline (None) or return exactly
what DVC's own parser returns, types included: `1` and `1.0` and `True` all differ.
"""

from __future__ import annotations

import pytest
from dvc.utils.serialize import parse_yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from exp_ci.read import fastyaml
from exp_ci.read.formats import FileFormatError, parse_file

SCALARS = [
    "1",
    "-1",
    "+1",
    "0",
    "-0",
    "007",
    "0o17",
    "0x1F",
    "0b101",
    "1_000",
    "1__0",
    "1.5",
    "-1.5",
    "1.",
    ".5",
    "-.5",
    "1e3",
    "1E-3",
    "1.5e+3",
    "1e",
    "1.2.3",
    "+.5e-1",
    ".inf",
    "-.inf",
    "+.INF",
    ".nan",
    ".NaN",
    "inf",
    "nan",
    "true",
    "True",
    "TRUE",
    "false",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "tRue",
    "null",
    "Null",
    "NULL",
    "~",
    "",
    "none",
    "None",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "2001-1-1",
    "12:30",
    "1:20:30",
    "=",
    "<<",
    "sgd",
    "exp-1",
    "a b",
    "'quoted'",
    '"1"',
    "'true'",
    "-",
    "--",
    "0.0",
    "00.5",
    "1.0e10",
    "9" * 30,
    "1_0.5",
    "0_1",
    "+",
    ".",
    "1e1_0",
    "+_",
    "._",
    "-_1",
]


@pytest.mark.parametrize("scalar", SCALARS)
def test_every_scalar_form_reads_as_dvc_reads_it(scalar):
    text = f"value: {scalar}\nnested:\n  list: [{scalar or '~'}, 2]\n"
    fast = fastyaml.load(text)
    try:
        expected = parse_yaml(text, "params.yaml")
    except Exception:  # DVC cannot read it: neither may we
        assert fast is None
        with pytest.raises(FileFormatError):
            parse_file("params.yaml", text.encode())
        return
    if fast is not None:
        assert repr(fast) == repr(expected)
    assert repr(parse_file("params.yaml", text.encode())) == repr(expected)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2\n",  # duplicate keys: ruamel refuses
        "base: &b {x: 1}\nuse:\n  <<: *b\n",  # anchors and merge keys
        "%YAML 1.1\n---\nflag: yes\n",  # a directive changes the rules
        "n: !!str 3\n",  # explicit tags
        "when: 2001-12-14\n",
    ],
)
def test_documents_with_risky_features_are_declined(text):
    assert fastyaml.load(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "train:\n  lr: 0.001\n  epochs: 10\n  layers: [64, 32]\nseed: 42\nopt: adam\n",
        "a:\n  - {b: 1.5e-3, c: true}\n  - null\nlong: |\n  two\n  lines\n",
        "# only a comment\n",
        "",
        "unicode: \"caf\\u00e9 \\u2713\"\nquoted: 'it''s'\n",
    ],
)
def test_ordinary_params_files_take_the_fast_path_with_the_same_values(text):
    fast = fastyaml.load(text)
    assert fast is not None
    assert repr(fast) == repr(parse_yaml(text, "params.yaml"))


# --- load_block: the hook's reader of DVC-written files, without PyYAML ---------------------

# What DVC writes: a .dvc file, a dvc.lock (DVC 3, foreach stage, params, a DVC 2 entry).
DVC_WRITTEN = [
    "outs:\n- md5: 9fdb0e67610c334b72274000649c46af.dir\n  size: 248906\n  nfiles: 20001\n"
    "  hash: md5\n  path: data\n",
    "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py --epochs 3\n    deps:\n"
    "    - path: data/train.csv\n      hash: md5\n      md5: 1b3c1bd0a0b7f4e8ac0f9d5e7d6c1a2b\n"
    "      size: 12\n    params:\n      params.yaml:\n        train.lr: 0.001\n        seed: 42\n"
    "        opt: adam\n        flag: true\n    outs:\n    - path: model.pkl\n      hash: md5\n"
    "      md5: 6c4f0bd2e3f1a9b8c7d6e5f4a3b2c1d0\n      size: 3\n      isexec: false\n"
    "  build@0:\n    cmd: echo 0\n    outs:\n    - path: 'out 0.txt'\n"
    "      md5: 0cc175b9c0f1b6a831c399e269772661\n      size: 1\n",
    "outs:\n- md5: 0cc175b9c0f1b6a831c399e269772661\n  path: legacy.txt\n  cache: false\n"
    "  remote: other\n",
    # and the same rules as people may lay them out
    "a: 'it''s'\nb: ''\n'c d':\n...: x:y\n",
    "a:\n-   b: 1\n    c: 2\n-\n  - 1.5e+3\n-   -1\n",
    " a: 1\n b:\n   c: true\n",
]


@pytest.mark.parametrize("text", DVC_WRITTEN)
def test_files_as_dvc_writes_them_take_the_block_path_with_dvcs_values(text):
    fast = fastyaml.load_block(text)
    assert fast is not None
    assert repr(fast) == repr(parse_yaml(text, "data.dvc"))


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2\n",  # duplicate keys
        "a: [1, 2]\n",  # flow collections
        "a: |\n  x\n",  # block scalars
        "a: x\n  y\n",  # a plain scalar on two lines
        'a: "x"\n',  # double quotes (escapes)
        "a: 'x\n  y'\n",  # a quoted scalar on two lines
        "a: 1 # note\n",  # comments
        "---\na: 1\n",  # document markers
        "a: 0x1F\n",  # a number ruamel reads in another base
        "a: .inf\n",
        "a:\tb\n",
        "- a\n- b\n",  # not a mapping
        "a: b\x85c\n",  # characters YAML may take as line breaks, or as no text
        "a: b\u2028c\n",
        "\ufeffa: 1\n",
        "a: b: c\n",  # errors
        "a: 'q'b\n",
        "'a':x\n",
        "a:\n  b: 1\n    c: 2\n",
        "a: b\n---\n",
        "--- a: 1\n",
        "",
    ],
)
def test_the_block_path_declines_what_it_does_not_read(text):
    assert fastyaml.load_block(text) is None


def _dvc_reads(text: str) -> object:
    """DVC's value of a document, or the exception type it raises."""
    try:
        return parse_yaml(text, "file.yaml")
    except Exception as error:  # DVC cannot read it
        return type(error)


# Words and scalars as DVC files hold them, and ones on which the parsers could disagree or
# which they could mis-split.
_PLAIN_WORDS = ["a", "b", "ab", "a b", "it's", "\u00e9t\u00e9", "0", "1", "-1", "1.5", "true"]
_TRICKY_WORDS = [
    *["a,b", "x:y", "+1", ".5", "1e3", "1.0e+3", "0x1F", "0b1", "0o7", "007", "1_0", "+_", "._"],
    *["2001-12-14", "True", "yes", "null", "~", "=", "?a", ",a", "@a", "`a", "-a", "-", "--"],
    *["...", ".inf", "a:", ":a", "a ", " a", "''", "'", "'q'", "'it''s'", "'x: y'", "'a'b"],
    *["'a b'", "- x"],
]
_WORD = st.one_of(st.sampled_from(_PLAIN_WORDS), st.sampled_from(_TRICKY_WORDS))
_SCALAR = st.one_of(
    _WORD,
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
_VALUE = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(_WORD, st.integers()), inner, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(_WORD, _VALUE, min_size=1, max_size=5))
def test_documents_dvc_dumps_read_as_dvc_reads_them(document):
    from dvc.utils.serialize import dumps_yaml

    text = dumps_yaml(document)
    fast = fastyaml.load_block(text)
    if fast is not None:
        assert repr(fast) == repr(_dvc_reads(text))


@st.composite
def _block_text(draw: st.DrawFn, depth: int = 0) -> str:
    """Block YAML as people and dumpers lay it out, right or slightly wrong: keys and
    items with scalars or nested blocks, indented by varying widths."""
    indent = " " * draw(st.sampled_from([0, 1, 2, 4]) if depth else st.just(0))
    lines = []
    as_items = depth > 0 and draw(st.booleans())
    for _ in range(draw(st.integers(1, 3))):
        key = "" if as_items else draw(_WORD) + draw(st.sampled_from([":", ":", ": ", " :"]))
        lead = indent + (draw(st.sampled_from(["- ", "-  ", "-"])) if as_items else "")
        if depth < 3 and draw(st.booleans()):
            child = draw(_block_text(depth + 1))
            if as_items and draw(st.booleans()):  # `- key: value` on the item's line
                first, _, others = child.lstrip(" ").partition("\n")
                shift = " " * (len(lead) - len(indent))
                lines.append(lead + first)
                lines += [indent + shift + line for line in others.split("\n") if line]
            else:
                lines.append((lead + key).rstrip(" "))
                lines += [indent + line for line in child.split("\n") if line]
        else:
            gap = draw(st.sampled_from([" ", "", "  "]))
            lines.append(lead + key + gap + draw(st.one_of(st.just(""), _WORD)))
    return "".join(line + "\n" for line in lines)


@settings(max_examples=300, deadline=None)
@given(_block_text())
def test_any_text_the_block_path_reads_dvc_reads_the_same(text):
    fast = fastyaml.load_block(text)
    if fast is not None:
        assert repr(fast) == repr(_dvc_reads(text))


_PATH = st.from_regex(r"[a-z\u00e9][a-z0-9_./ \u00e9-]{0,12}[a-z0-9]", fullmatch=True)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "md5": st.text("0123456789abcdef", min_size=32, max_size=32),
                "size": st.integers(0, 10**12),
                "hash": st.just("md5"),
                "path": _PATH,
            }
        ),
        min_size=1,
        max_size=3,
    )
)
def test_dvc_files_take_the_block_path(outs):
    """The property above is only worth something if DVC's own files are read by it."""
    from dvc.utils.serialize import dumps_yaml

    text = dumps_yaml({"outs": outs})
    expected = parse_yaml(text, "data.dvc")
    fast = fastyaml.load_block(text)
    if fast is None:  # an md5 such as 0b12…, which ruamel could read as a binary number
        assert any(out["md5"].startswith("0b") for out in outs)
    else:
        assert repr(fast) == repr(expected)
