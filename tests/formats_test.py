"""Params and metrics values parsed exactly as DVC parses them."""

from __future__ import annotations

import pytest

from exp_ci.read.formats import (
    FileFormatError,
    extract_metrics,
    flatten,
    parse_file,
    read_params,
    select_keys,
)


@pytest.mark.parametrize(
    ("path", "content", "expected"),
    [
        # YAML 1.2, as DVC reads it: 1e-3 is a number and `yes` is a string.
        (
            "params.yaml",
            b"lr: 1e-3\nflag: yes\noct: 0o10\n",
            {"lr": 0.001, "flag": "yes", "oct": 8},
        ),
        ("p.yml", b"a:\n  b: [1, 2]\n", {"a": {"b": [1, 2]}}),
        ("p.json", b'{"a": {"b": 1.5}}', {"a": {"b": 1.5}}),
        ("p.toml", b"[model]\nbatch = 32\n", {"model": {"batch": 32}}),
        ("p.py", b"LR = 0.1\nclass Train:\n    epochs = 3\n", {"LR": 0.1, "Train": {"epochs": 3}}),
        ("empty.yaml", b"", {}),
    ],
)
def test_parse_file_by_suffix(path, content, expected):
    assert parse_file(path, content) == expected


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("m.json", b"{nope"),
        ("m.yaml", b"a: [1\n"),
        ("p.toml", b"= 1"),
        ("p.py", b"def (:"),
        ("m.json", b"\xff"),
    ],
)
def test_unparseable_files_name_the_file(path, content):
    with pytest.raises(FileFormatError, match=path.replace(".", r"\.")):
        parse_file(path, content)


def test_extract_metrics_keeps_numbers_strings_and_their_dicts():
    value = {
        "auc": 0.9,
        "ok": True,
        "name": "x",
        "curve": [1, 2],
        "nested": {"a": 1, "b": []},
        "none": None,
    }
    assert extract_metrics(value) == {"auc": 0.9, "ok": True, "name": "x", "nested": {"a": 1}}


def test_select_keys_keeps_the_dotted_paths_asked_for():
    data = {"train": {"lr": 0.1, "epochs": 3}, "seed": 1, "layers": [4, 8]}
    assert select_keys(data, ["train.lr", "seed", "missing", "train.nope"]) == {
        "train": {"lr": 0.1},
        "seed": 1,
    }
    assert read_params("p.yaml", b"a: 1\nb: 2\n", ["b"]) == {"b": 2}
    assert read_params("p.yaml", b"a: 1\nb: 2\n", []) == {"a": 1, "b": 2}


def test_flatten_names_nested_keys_with_dots_and_keeps_lists():
    assert flatten({"a": {"b": {"c": 1}}, "l": [1, {"x": 2}], "e": {}}) == {
        "a.b.c": 1,
        "l": [1, {"x": 2}],
        "e": {},
    }
