"""Which files a dvc.yaml declares, following DVC 3's rules (pure, no Git)."""

from __future__ import annotations

import pytest

from exp_ci.read.dvcfiles import pipeline
from exp_ci.read.dvcyaml import (
    CachedOut,
    DvcYamlError,
    cached_outputs,
    declared_files,
    merge_params,
)


@pytest.mark.parametrize(
    ("document", "path", "params", "metrics"),
    [
        (
            {"stages": {"t": {"cmd": "x", "params": ["lr", "train.epochs"]}}},
            "dvc.yaml",
            [{"params.yaml": ["lr"]}, {"params.yaml": ["train.epochs"]}],
            [],
        ),
        (
            {"stages": {"t": {"params": [{"cfg.json": ["a", "b.c"]}, {"all.toml": None}]}}},
            "dvc.yaml",
            [{"cfg.json": ["a", "b.c"]}, {"all.toml": []}],
            [],
        ),
        (
            {"stages": {"t": {"metrics": ["m.json", {"s.yaml": {"cache": False}}]}}},
            "dvc.yaml",
            [],
            ["m.json", "s.yaml"],
        ),
        (
            {"params": ["global.yaml"], "metrics": ["eval/m.json"], "stages": {}},
            "dvc.yaml",
            [{"global.yaml": []}],
            ["eval/m.json"],
        ),
        (
            {"stages": {"cnn": {"params": ["filters"], "metrics": ["m.json"]}}},
            "experiments/cnn_64/dvc.yaml",
            [{"experiments/cnn_64/params.yaml": ["filters"]}],
            ["experiments/cnn_64/m.json"],
        ),
        (
            {"stages": {"t": {"wdir": "src", "params": ["lr"], "metrics": ["../m.json"]}}},
            "dvc.yaml",
            [{"src/params.yaml": ["lr"]}],
            ["m.json"],
        ),
        (
            {
                "stages": {
                    "t": {
                        "foreach": [1, 2],
                        "do": {"params": ["lr"], "metrics": ["m-${item}.json"]},
                    }
                }
            },
            "dvc.yaml",
            [{"params.yaml": ["lr"]}],
            [],
        ),
        ({}, "dvc.yaml", [], []),
    ],
)
def test_declared_files(document, path, params, metrics):
    assert declared_files(document, path) == (params, metrics)


@pytest.mark.parametrize(
    "document",
    [
        ["not", "a", "mapping"],
        {"stages": ["train"]},
        {"stages": {"t": {"params": "lr"}}},
        {"stages": {"t": {"params": [{"cfg.json": "a"}]}}},
        {"stages": {"t": {"params": [3]}}},
    ],
)
def test_structures_dvc_rejects_are_errors(document):
    with pytest.raises(DvcYamlError, match=r"dvc\.yaml"):
        declared_files(document, "dvc.yaml")


def test_merge_reads_a_file_whole_when_any_entry_tracks_it_whole():
    merged = merge_params(
        [
            {"params.yaml": ["lr"]},
            {"cfg.json": ["a"]},
            {"cfg.json": ["b", "a"]},
            {"params.yaml": []},
        ]
    )
    assert merged == {"params.yaml": [], "cfg.json": ["a", "b"]}


def test_cached_outputs_know_dvc3_and_dvc2_layouts():
    lock = {
        "schema": "2.0",
        "stages": {
            "train": {
                "outs": [
                    {"path": "model.pkl", "hash": "md5", "md5": "ab" * 16},
                    {"path": "old.json", "md5": "cd" * 16},
                    {"path": "nohash.json"},
                ]
            },
            "sub": {"outs": [{"path": "m.json", "hash": "md5", "md5": "ef" * 16}]},
        },
    }
    declared = pipeline({"stages": {"sub": {"wdir": "src", "cmd": "x"}}}, "exp/dvc.yaml")
    outputs = cached_outputs(lock, "exp/dvc.lock", declared)
    assert outputs == {
        "exp/model.pkl": CachedOut("ab" * 16, legacy_layout=False),
        "exp/old.json": CachedOut("cd" * 16, legacy_layout=True),
        "exp/src/m.json": CachedOut("ef" * 16, legacy_layout=False),
    }


def test_outputs_declared_cache_false_are_not_read_from_the_cache():
    document = {
        "stages": {
            "train": {
                "wdir": "src",
                "outs": ["model.pkl", {"log.txt": {"cache": False}}],
                "metrics": [{"m.json": {"cache": False}}, {"cached.json": {"cache": True}}],
                "plots": [{"p.csv": {"cache": False, "x": "step"}}],
            }
        }
    }
    declared = pipeline(document, "sub/dvc.yaml")
    assert {out.path for out in declared.outs() if not out.cache} == {
        "sub/src/log.txt",
        "sub/src/m.json",
        "sub/src/p.csv",
    }
    lock = {
        "schema": "2.0",
        "stages": {
            "train": {
                "outs": [
                    {"path": path, "hash": "md5", "md5": "ab" * 16}
                    for path in ("model.pkl", "log.txt", "m.json", "cached.json", "p.csv")
                ]
            }
        },
    }
    assert set(cached_outputs(lock, "sub/dvc.lock", declared)) == {
        "sub/src/model.pkl",
        "sub/src/cached.json",
    }
