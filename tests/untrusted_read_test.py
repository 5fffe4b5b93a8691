"""Issue 12, reading half: what a pull request brings is untrusted, and reading it stays
inside the project, bounded, and never crashes.

One test per case, on real Git + DVC projects: a forged object id, a "billion laughs"
params file, an oversized file, workspace paths that leave the project, Git tree entries
that name no file, non-UTF-8 config files, and a grid too large to run. Property tests
(hypothesis) cover the open input spaces: object ids and paths.
"""

from __future__ import annotations

import json
import posixpath
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from exp_ci.hooks.check_pushed import main as hook_main
from exp_ci.hooks.outputs import Output, parse_manifest
from exp_ci.hooks.verify import BAD_MANIFEST, find_missing
from exp_ci.read.dvcyaml import (
    BadObjectId,
    CachedOut,
    object_id_problem,
    path_problem,
)
from tests.helpers.hook import build_pushed_project, copy_project, pre_push_env
from tests.helpers.project import commit_all, exp_ci, run, write

SECRET = {"auc": 4242.0, "token": "do-not-show"}


def git(root: Path, env, *args: str) -> str:
    return run(root, "git", *args, env=env).strip()


def experiment_from(root: Path, env, name: str, files: dict[str, str]) -> str:
    """An experiment on HEAD whose commit changes `files`, as a pull request could bring
    one (refs/exps/...); the workspace is left at HEAD. Its commit SHA."""
    base = git(root, env, "rev-parse", "HEAD")
    write(root, files)
    sha = commit_all(root, f"forged {name}", env)
    git(root, env, "update-ref", f"refs/exps/{base[:2]}/{base[2:]}/{name}", sha)
    git(root, env, "reset", "-q", "--hard", base)
    return sha


def show_json(root: Path, env, *args: str) -> tuple[dict, subprocess.CompletedProcess]:
    result = exp_ci(root, env, "show", "--format", "json", *args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout), result


def row_named(document: dict, name: str) -> dict:
    rows = [r for b in document["baselines"] for r in [b, *b["experiments"]]]
    return next(r for r in rows if r["name"] == name)


# --- 1. object ids are validated where they enter ----------------------------------------


def test_a_forged_md5_never_opens_a_file_outside_the_cache(project, env, tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps(SECRET))
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    for out in lock["stages"]["train"]["outs"]:
        if out["path"] == "cached.json":
            out["md5"] = f"xx{secret}"  # cache/files/md5/xx + an absolute path
    experiment_from(project, env, "evil", {"dvc.lock": yaml.safe_dump(lock)})

    document, result = show_json(project, env)

    evil = row_named(document, "evil")
    note = evil["error"]["cached.json"]
    assert "not read from the DVC cache" in note and "dvc.lock" in note
    assert "not a DVC object id" in note
    assert "4242" not in result.stdout and "do-not-show" not in result.stdout
    assert not any(key.startswith("cached.json:") for key in evil["metrics"])


@pytest.fixture(scope="module")
def pushed_template(tmp_path_factory, session_env) -> Path:
    root = tmp_path_factory.mktemp("untrusted-hook") / "project"
    build_pushed_project(root, session_env)
    return root


@pytest.fixture
def pushed(tmp_path: Path, pushed_template: Path) -> Path:
    return copy_project(pushed_template, tmp_path)


def hook(capsys, root: Path, *args: str, environ=None) -> tuple[int, str]:
    code = hook_main(["-C", str(root), *args], environ or {})
    return code, capsys.readouterr().err


FORGED_DVC_FILE = "outs:\n- md5: xx/etc/passwd\n  hash: md5\n  path: passwd\n"


def test_the_hook_refuses_a_forged_md5_when_staged_and_when_pushed(pushed, env, capsys):
    write(pushed, {"evil.dvc": FORGED_DVC_FILE})
    git(pushed, env, "add", "evil.dvc")

    code, said = hook(capsys, pushed, "--stage", "pre-commit")

    assert code == 2, said
    assert "evil.dvc" in said and "'xx/etc/passwd'" in said and "(staged)" in said
    assert "not a DVC object id" in said and "in the local cache" not in said

    base = git(pushed, env, "rev-parse", "HEAD")
    new = commit_all(pushed, "a forged object id", env)
    code, said = hook(capsys, pushed, environ=pre_push_env(base, new))

    assert code == 2, said
    assert "evil.dvc: the md5 of output 'passwd', 'xx/etc/passwd', is not" in said
    assert f"at commit {new[:7]}" in said and "Traceback" not in said


@pytest.mark.parametrize(
    "entry",
    [
        {"md5": "a" * 32, "relpath": "../outside"},
        {"md5": "a" * 32, "relpath": "/etc/passwd"},
        {"md5": "a" * 32, "relpath": "ok/../../x"},
        {"md5": "../../../etc/passwd", "relpath": "x"},
        {"md5": "b" * 32 + ".dir", "relpath": "x"},
    ],
)
def test_a_manifest_with_a_forged_member_is_a_bad_manifest(entry):
    manifest = json.dumps([{"md5": "c" * 32, "relpath": "fine"}, entry]).encode()
    assert parse_manifest(manifest, legacy_layout=False) is None

    directory = CachedOut("d" * 32 + ".dir", False)

    class Store:
        def exists(self, objects):
            return set(objects)

        def read(self, obj):
            return manifest

    verdict = find_missing([Output("d", directory, "d.dvc")], Store(), read_local={}.get)
    assert [m.reason for m in verdict.missing] == [BAD_MANIFEST]


@given(st.one_of(st.text(), st.from_regex(r"[0-9a-fA-F./]{30,40}", fullmatch=True)))
def test_only_object_ids_become_cache_objects_and_their_paths_stay_in_the_cache(text):
    from exp_ci.adapters.dvc import LocalCache

    valid = len(text) in (32, 36) and all(c in "0123456789abcdef" for c in text[:32])
    valid = valid and text[32:] in ("", ".dir")
    assert (object_id_problem(text) is None) is valid
    try:
        out = CachedOut(text, legacy_layout=False)
    except BadObjectId:
        assert not valid
        return
    assert valid
    cache = LocalCache(Path("/project"))
    path = cache.object_path(out)
    assert path.parent.parent == cache.root / "files" / "md5"
    assert path.parent.name + path.name == text


@given(st.text(alphabet=st.sampled_from("ab./\\\0"), max_size=12))
def test_a_path_without_a_problem_stays_inside_its_folder(path):
    if path_problem(path) is None:
        joined = posixpath.normpath(posixpath.join("base/folder", path))
        assert joined == "base/folder" or joined.startswith("base/folder/")
