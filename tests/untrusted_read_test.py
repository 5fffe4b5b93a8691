"""Issue 12, reading half: what a pull request brings is untrusted, and reading it stays
inside the project, bounded, and never crashes.

One test per case, on real Git + DVC projects: a forged object id, a "billion laughs"
params file, an oversized file, workspace paths that leave the project, Git tree entries
that name no file, non-UTF-8 config files, and a grid too large to run. Property tests
(hypothesis) cover the open input spaces: object ids and paths.
"""

from __future__ import annotations

import json
import os
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
from tests.helpers.untrusted import billion_laughs

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


# --- 2. YAML alias expansion is bounded ---------------------------------------------------

LAUGHS = billion_laughs(9, 9)


def test_a_billion_laughs_params_file_is_one_unreadable_file_not_a_memory_blowup(project, env):
    assert len(LAUGHS.encode()) < 400  # expands to 9^9 = 387,420,489 strings
    experiment_from(project, env, "laughs", {"params.yaml": LAUGHS})

    document, _ = show_json(project, env)

    laughs = row_named(document, "laughs")
    assert laughs["error"]["params.yaml"] == (
        "params.yaml: YAML aliases expand to more than 100,000 values, more than exp-ci "
        "reads of one file; write the values out, or use fewer aliases"
    )
    assert laughs["metrics"]["metrics.json:auc"] is not None  # the rest of the row stays
    best = exp_ci(project, env, "best", "--metric", "auc")
    assert best.returncode == 0, best.stderr


# --- 3. a size cap per parsed file ---------------------------------------------------------


def test_a_metrics_file_above_the_size_cap_is_not_read(project, env):
    from exp_ci.adapters.git import GitRepository
    from exp_ci.limits import MAX_FILE_BYTES

    big = json.dumps({"auc": 0.5, "pad": "x" * (MAX_FILE_BYTES + 1000)})
    sha = experiment_from(project, env, "huge", {"metrics.json": big})

    document, _ = show_json(project, env)

    note = row_named(document, "huge")["error"]["metrics.json"]
    assert note.startswith("metrics.json is not read: it is 10.0 MB, more than the 10 MB")
    # Git read it past, never whole: only its size is kept.
    repo = GitRepository(project)
    blob = git(project, env, "rev-parse", f"{sha}:metrics.json")
    repo.prefetch_blobs([blob], max_size=MAX_FILE_BYTES)
    assert blob not in repo._blobs and repo.blob_size(blob) == len(big)
    repo.close()


# --- 4. workspace reads stay inside the project; odd Git trees do not crash ---------------


def test_workspace_paths_that_leave_the_project_are_refused(project, env, tmp_path):
    from exp_ci.adapters.git import GitRepository
    from exp_ci.read.experiments import read_workspace

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.json").write_text(json.dumps(SECRET))
    (outside / "evals").mkdir()
    (outside / "evals" / "m.json").write_text(json.dumps(SECRET))
    (project / "linked.json").symlink_to(outside / "secret.json")
    (project / "evals").symlink_to(outside / "evals")
    relative = Path("..", *outside.relative_to(project.parent).parts, "secret.json")
    dvc_yaml = (project / "dvc.yaml").read_text()
    extra = "".join(
        f"      - {path}:\n          cache: false\n"
        for path in (relative.as_posix(), outside / "secret.json", "linked.json", "evals")
    )
    (project / "dvc.yaml").write_text(dvc_yaml + extra)

    repo = GitRepository(project)
    data = read_workspace(repo)
    repo.close()

    errors = {path: values.error for path, values in data.metrics.items() if values.error}
    assert data.error is None, data.error
    assert "goes up with '..'" in errors[posixpath.normpath(relative.as_posix())]
    assert "is an absolute path" in errors[str(outside / "secret.json")]
    assert "symbolic link" in errors["linked.json"] and "symbolic link" in errors["evals"]
    assert all(values.data is None for path, values in data.metrics.items() if path in errors)
    assert data.metrics["metrics.json"].data  # the project's own files are still read

    gate = exp_ci(project, env, "gate", "--metric", "auc", "--against", "HEAD")
    assert gate.returncode in (0, 1), gate.stderr
    assert "4242" not in gate.stdout + gate.stderr and "Traceback" not in gate.stderr


def test_a_symlink_to_outside_the_project_is_refused_on_every_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("links")
    (root / "project" / "inside").mkdir(parents=True)
    (root / "outside").mkdir()
    (root / "project" / "link").symlink_to(root / "outside")
    (root / "project" / "back").symlink_to(root / "project" / "inside")
    _check_refusals(root / "project")


def _check_refusals(project: Path) -> None:
    from exp_ci.read.experiments import WorkspaceSnapshot

    class Git:
        root = dvc_root = project
        dvc_prefix = ""

    snapshot = WorkspaceSnapshot(Git())  # type: ignore[arg-type]

    @given(st.lists(st.sampled_from(["inside", "link", "back", "..", ".", "x", ""]), max_size=5))
    def check(parts: list[str]) -> None:
        path = "/".join(parts)
        if snapshot.refusal(path) is None:
            resolved = Path(os.path.realpath(project / path))
            assert resolved.is_relative_to(os.path.realpath(project))

    check()


def _forged_tree(root: Path, env, tree: str, entries: bytes) -> str:
    """A tree object with extra raw entries, as only `hash-object --literally` writes it."""
    current = subprocess.run(
        ["git", "cat-file", "tree", tree], cwd=root, env=env, capture_output=True, check=True
    ).stdout
    return (
        subprocess.run(
            ["git", "hash-object", "-t", "tree", "--literally", "-w", "--stdin"],
            cwd=root,
            env=env,
            input=current + entries,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )


def test_git_tree_entries_no_checkout_can_hold_are_skipped_not_a_crash(project, env):
    base = git(project, env, "rev-parse", "HEAD")
    metrics_blob = bytes.fromhex(git(project, env, "rev-parse", "HEAD:metrics.json"))
    sub = _forged_tree(project, env, git(project, env, "rev-parse", "HEAD:experiments"), b"")
    entries = (
        b"40000 ..\0" + bytes.fromhex(sub)
        + b"100644 .\0" + metrics_blob
        + b"100644 a/b\0" + metrics_blob
    )  # fmt: skip
    tree = _forged_tree(project, env, git(project, env, "rev-parse", "HEAD^{tree}"), entries)
    commit = git(project, env, "commit-tree", tree, "-p", base, "-m", "forged tree")
    git(project, env, "update-ref", f"refs/exps/{base[:2]}/{base[2:]}/forged", commit)

    document, _ = show_json(project, env)

    forged = row_named(document, "forged")
    assert (
        forged["metrics"]["metrics.json:auc"]
        == row_named(document, "main")["metrics"]["metrics.json:auc"]
    )


# --- 5. non-UTF-8 configuration files are a clear exit 2 ----------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        (".exp-ci.yaml", b"metric: \xff\xfe auc\n"),
        ("pyproject.toml", b'[tool.exp-ci]\nmetric = "\xe9"\n'),
        (".dvc/config", b"[core]\n    remote = st\xf6rage\n"),
    ],
)
def test_a_non_utf8_config_file_is_exit_2_naming_it(project, env, name, content):
    (project / name).write_bytes(content)

    result = exp_ci(project, env, "show")

    assert result.returncode == 2, result.stderr
    assert f"{project / name} is not UTF-8 text" in result.stderr
    assert "Save it as UTF-8." in result.stderr and "Traceback" not in result.stderr


def test_the_hook_says_the_same_of_a_non_utf8_dvc_config(pushed, env, capsys):
    write(pushed, {"images/img-new.txt": "new\n"})
    run(pushed, "dvc", "add", "-q", "images", env=env)
    base = git(pushed, env, "rev-parse", "HEAD")
    new = commit_all(pushed, "new image", env)
    (pushed / ".dvc" / "config").write_bytes(b"[core]\n    remote = st\xf6rage\n")

    code, said = hook(capsys, pushed, environ=pre_push_env(base, new))

    assert code == 2, said
    assert ".dvc/config is not UTF-8 text" in said and "Traceback" not in said


# --- 6. a grid larger than the limit is refused unless sampled ----------------------------

BIG_GRID = "".join(f"p{i}: [{', '.join(map(str, range(10)))}]\n" for i in range(12))


@pytest.mark.slow  # starts processes
def test_a_grid_of_a_trillion_points_is_refused_and_sampled_without_being_built(tmp_path, env):
    from exp_ci.commands.run import RunOptions, plan_request

    grid = tmp_path / "grid.yaml"
    grid.write_text(BIG_GRID)
    assert len(BIG_GRID) < 2000

    result = exp_ci(tmp_path, env, "run", "--grid", str(grid))

    assert result.returncode == 2
    assert "the grid has 1,000,000,000,000 points, more than the 10,000" in result.stderr
    assert "--random N" in result.stderr and "Traceback" not in result.stderr

    request = plan_request(RunOptions(repo=tmp_path, grid=str(grid), random=5, environ={}))
    assert request.plan.grid_size == 10**12
    assert len(request.plan.points) == len(request.tasks) == 5
    assert len({p.overrides for p in request.plan.points}) == 5
