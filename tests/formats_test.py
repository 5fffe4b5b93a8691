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


def test_a_file_above_the_size_cap_is_refused_before_it_is_parsed(monkeypatch):
    import dvc.utils.serialize

    from exp_ci.limits import MAX_FILE_BYTES

    monkeypatch.setattr(dvc.utils.serialize, "PARSERS", None)  # never reached
    with pytest.raises(FileFormatError, match=r"^m\.json is not read: it is 10\.0 MB"):
        parse_file("m.json", b" " * (MAX_FILE_BYTES + 1))


def test_yaml_aliases_are_read_while_their_expansion_is_small_and_refused_beyond():
    shared = b"base: &b {lr: 1, layers: [1, 2]}\nother: *b\n"
    assert parse_file("p.yaml", shared)["other"] == {"lr": 1, "layers": [1, 2]}
    from tests.helpers.untrusted import billion_laughs

    laughs = billion_laughs(5, 10).encode()  # 100,000 strings, more values with the lists
    with pytest.raises(FileFormatError, match=r"^p\.yaml: YAML aliases expand to more than"):
        parse_file("p.yaml", laughs)
    assert parse_file("p.json", b'{"a": "*"}') == {"a": "*"}  # JSON has no aliases
