"""The libyaml fast path gives DVC's (ruamel, YAML 1.2) values, or declines.

For every document here, the fast path must either decline (None) or return exactly
what DVC's own parser returns, types included: `1` and `1.0` and `True` all differ.
"""

from __future__ import annotations

import pytest
from dvc.utils.serialize import parse_yaml

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
