"""Files older DVC versions wrote, lock files DVC 3 refuses, and a merge commit that kept
Git's conflict markers: exp-ci reads them as `dvc exp show --json` does, both ways."""

from __future__ import annotations

import json

import pytest

from exp_ci.read.dvcfiles import lock_problem
from exp_ci.read.formats import FileFormatError, parse_file
from tests.helpers.project import differences, dvc_values, exp_ci, exp_ci_values, exp_show_json
from tests.helpers.shapes import conflicted_merge, dvc2_experiments, dvc2_project

STAGE = {"cmd": "python train.py"}


@pytest.mark.parametrize(
    ("document", "refused"),
    [
        ({"schema": "2.0"}, None),
        ({"schema": "2.0", "stages": {}}, None),
        ({"schema": "2.0", "stages": {"t": {**STAGE, "outs": [{"path": "m.json"}]}}}, None),
        ({"schema": "2.0", "stages": {"t": {**STAGE, "params": {"p.yaml": {"lr": 1}}}}}, None),
        ({"schema": "2.0", "datasets": [], "stages": {"t": STAGE}}, None),
        (None, "not a mapping"),
        ({}, "no `schema: '2.0'`"),
        ({"train": {**STAGE, "outs": [{"path": "m.json", "md5": "ab" * 16}]}}, "DVC 1"),
        ({"schema": 2.0, "stages": {}}, "`schema` is 2.0"),
        ({"schema": "3.0", "stages": {}}, "`schema` is '3.0'"),
        ({"schema": "2.0", "stages": None}, "not a mapping of stage names"),
        ({"schema": "2.0", "stages": {"t": {"deps": []}}}, "with a `cmd`"),
        ({"schema": "2.0", "stages": {"t": {**STAGE, "frozen": True}}}, "unknown key 'frozen'"),
        ({"schema": "2.0", "stages": {"t": {**STAGE, "outs": None}}}, "`outs`"),
        ({"schema": "2.0", "stages": {"t": {**STAGE, "deps": [{"md5": "x"}]}}}, "`deps`"),
        ({"schema": "2.0", "stages": {"t": {**STAGE, "params": {"p.yaml": None}}}}, "`params`"),
        ({"schema": "2.0", "stages": {}, "meta": 1}, "unknown key 'meta'"),
    ],
)
def test_lock_files_are_refused_where_dvcs_own_schema_refuses_them(document, refused):
    import voluptuous
    from dvc.schema import COMPILED_LOCKFILE_SCHEMA

    problem = lock_problem(document)
    try:
        COMPILED_LOCKFILE_SCHEMA(document)
        dvc_refuses = False
    except voluptuous.Invalid:
        dvc_refuses = True
    assert (problem is not None) is dvc_refuses
    assert problem is None if refused is None else refused in problem


def test_a_file_with_conflict_markers_says_so_and_how_to_fix():
    text = "a: 1\n<<<<<<< HEAD\nb: 2\n=======\nb: 3\n>>>>>>> feature\n"
    with pytest.raises(FileFormatError, match=r"dvc\.lock does not parse") as error:
        parse_file("dvc.lock", text.encode())
    assert "Git conflict markers" in str(error.value)
    assert "resolve them" in str(error.value)
    with pytest.raises(FileFormatError) as plain:
        parse_file("m.json", b"{not json")
    assert "conflict" not in str(plain.value)


def _ours(cwd, env, *args):
    result = exp_ci(cwd, env, "show", "--format", "json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.slow
def test_dvc2_files_and_refused_lock_files_agree_with_dvc_both_ways(tmp_path, env):
    project = tmp_path / "dvc2"
    dvc2_project(project)
    document = _ours(project, env)
    ours = exp_ci_values(document)
    theirs = dvc_values(exp_show_json(project, env))
    assert len(ours) == 1 + len(dvc2_experiments())
    assert differences(ours, theirs) == []

    by_name = {v["name"]: v for v in ours.values()}
    # A top-level metric that `dvc add` tracks, read from the cache in either layout.
    assert by_name["main"]["metrics"]["eval.json:top"] == 3
    assert by_name["dvc3"]["metrics"]["eval.json:top"] == 4
    assert by_name["main"]["metrics"]["cached.json:f1"] == 0.4
    assert by_name["lr"]["metrics"]["cached.json:f1"] == 0.7
    assert by_name["dvc3"]["metrics"]["cached.json:f1"] == 0.8
    assert by_name["not-pulled"]["errors"] == {"cached.json"}
    # A lock file DVC 3 refuses fails the whole row, params too, as in DVC.
    for name in ("dvc1-lock", "empty-lock", "schema-3"):
        assert by_name[name]["errors"] == {""}
        assert by_name[name]["params"] == {}
    rows = {row["name"]: row for row in document["baselines"][0]["experiments"]}
    assert "DVC 1 wrote lock files so" in rows["dvc1-lock"]["error"][""]
    assert "dvc repro" in rows["dvc1-lock"]["error"][""]
    assert "`dvc pull cached.json`" in rows["not-pulled"]["error"]["cached.json"]


@pytest.mark.slow
def test_a_merge_commit_with_a_conflicted_lock_agrees_with_dvc_both_ways(tmp_path, env):
    project = tmp_path / "merged"
    merge = conflicted_merge(project)
    ours = exp_ci_values(_ours(project, env))
    theirs = dvc_values(exp_show_json(project, env))
    assert differences(ours, theirs) == []
    assert {v["name"]: v["errors"] for v in ours.values()} == {
        "main": {""},
        "fixed": set(),
        "still": {""},
    }
    assert ours[merge]["params"] == {}

    # -A: the same rows; DVC also lists the three commits that have no experiments,
    # which exp-ci's -A leaves out (README: where values may differ).
    rows = exp_show_json(project, env, "-A")
    without = [b["rev"] for b in rows if b["rev"] not in ("workspace", merge)]
    assert all(not b.get("experiments") for b in rows if b["rev"] in without)
    everything = differences(exp_ci_values(_ours(project, env, "-A")), dvc_values(rows))
    assert everything == sorted(f"row {rev[:7]}: only DVC lists it" for rev in without)


@pytest.mark.slow
def test_the_table_of_a_conflicted_merge_shows_its_rows_and_why(tmp_path, env):
    project = tmp_path / "merged"
    conflicted_merge(project)
    table = exp_ci(project, env, "show")
    assert table.returncode == 0, table.stderr
    assert "! main: dvc.lock does not parse: it has Git conflict markers" in table.stdout
    assert "! still: dvc.lock does not parse" in table.stdout
    best = exp_ci(project, env, "best", "--metric", "auc")
    assert (best.returncode, best.stdout.strip()) == (0, "fixed")
