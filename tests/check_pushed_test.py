"""`exp-ci-check-pushed`: Git history whose DVC data is not in the DVC remote is blocked.

Real Git, DVC and pre-commit at the edges (a project with a 1,000-file directory, built once
and copied per test); the deciding parts (which outputs, which are missing, what is said)
tested alone with tables of cases.
"""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from exp_ci.hooks.check_pushed import (
    PRE_COMMIT,
    PRE_PUSH,
    main,
    options_from_args,
    options_from_environ,
)
from exp_ci.hooks.history import parse_raw_diff, parse_raw_log
from exp_ci.hooks.index import VerifiedIndex, object_key
from exp_ci.hooks.outputs import DvcFileError, Output, outputs_of, parse_manifest
from exp_ci.hooks.report import missing_lines
from exp_ci.hooks.verify import BAD_MANIFEST, NO_MANIFEST, NOT_IN_STORE, find_missing
from exp_ci.read.dvcyaml import CachedOut
from tests.helpers.hook import (
    ZERO,
    build_pushed_project,
    copy_project,
    md5,
    object_path,
    pre_push_env,
    storage_of,
)
from tests.helpers.project import commit_all, run, write

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pushed_template(tmp_path_factory: pytest.TempPathFactory, session_env) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("hook") / "project"
    return root, build_pushed_project(root, session_env)


@pytest.fixture
def pushed(tmp_path: Path, pushed_template) -> tuple[Path, str]:
    """A private copy of the fully pushed project, and the SHA of its `main` (on origin)."""
    source, sha = pushed_template
    return copy_project(source, tmp_path), sha


@pytest.fixture
def hook(capsys):
    """Run the hook in-process as pre-commit would: (exit code, what it said on stderr)."""

    def call(root: Path, *args: str, environ: dict[str, str] | None = None) -> tuple[int, str]:
        code = main(["-C", str(root), *args], environ or {})
        return code, capsys.readouterr().err

    return call


MODEL = "model trained with seed {}\n"
NEVER_CACHED = "never cached\n"


def add_image(root: Path, env, name: str = "img-new.txt") -> str:
    """Add a file to the tracked directory with `dvc add`, commit; the new commit's SHA."""
    write(root, {f"images/{name}": f"new image {name}\n"})
    run(root, "dvc", "add", "-q", "images", env=env)
    return commit_all(root, f"add {name}", env)


def retrain(root: Path, env, seed: int) -> str:
    write(root, {"seed.txt": f"{seed}\n"})
    run(root, "dvc", "repro", "-q", env=env)
    return commit_all(root, f"seed {seed}", env)


# --- pre-push against a real project, remote and history -----------------------------------


def test_a_push_whose_data_is_all_in_the_remote_passes(pushed, env, hook):
    root, base = pushed
    new = add_image(root, env)
    run(root, "dvc", "push", "-q", env=env)

    code, said = hook(root, "-v", environ=pre_push_env(base, new))

    assert code == 0, said
    assert "1 output in DVC remote 'storage' (1002 objects asked of the remote" in said


def test_one_missing_file_of_a_1000_file_directory_blocks_naming_it_and_its_commit(
    pushed, env, hook
):
    root, base = pushed
    new = add_image(root, env)
    run(root, "dvc", "push", "-q", env=env)
    gone = md5("image 42\n")
    object_path(storage_of(root), gone).unlink()

    code, said = hook(root, environ=pre_push_env(base, new))

    assert code == 1
    assert f"images/img-0042.txt  md5 {gone}" in said
    assert f"images.dvc at commit {new[:7]}" in said
    assert "DVC remote 'storage'" in said
    assert "dvc push -r storage" in said and "exp-ci-check-pushed --fix" in said
    assert said.count("  images/") == 1  # the other 1,000 files are there


def test_only_commits_changing_dvc_files_are_read_and_only_their_outputs_checked(pushed, env, hook):
    root, base = pushed
    object_path(storage_of(root), md5("image 7\n")).unlink()  # data of an older commit
    write(root, {"README.md": "docs\n"})
    docs = commit_all(root, "docs only", env)

    assert hook(root, environ=pre_push_env(base, docs)) == (0, "")


def test_a_new_branch_checks_only_the_commits_the_remote_does_not_have(pushed, env, hook):
    root, _ = pushed
    # On origin already, but its data never reached the DVC remote: not this push's business.
    write(root, {"old.txt": "pushed to Git only\n"})
    run(root, "dvc", "add", "-q", "old.txt", env=env)
    old = commit_all(root, "old data, dvc push forgotten", env)
    run(root, "git", "push", "-q", "origin", "main", env=env)
    run(root, "git", "switch", "-q", "-c", "feature", env=env)
    write(root, {"new.txt": "feature data\n"})
    run(root, "dvc", "add", "-q", "new.txt", env=env)
    feature = commit_all(root, "feature data", env)
    run(root, "dvc", "push", "-q", "new.txt.dvc", env=env)
    assert not object_path(storage_of(root), md5("pushed to Git only\n")).exists()
    new_branch = {**pre_push_env(ZERO, feature), "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/feature"}
    del new_branch["PRE_COMMIT_FROM_REF"]

    assert hook(root, environ=new_branch) == (0, "")

    object_path(storage_of(root), md5("feature data\n")).unlink()
    code, said = hook(root, "--no-index", environ=new_branch)
    assert code == 1
    assert f"new.txt.dvc at commit {feature[:7]}" in said
    assert old[:7] not in said and "old.txt" not in said


def test_a_push_of_the_whole_history_uses_the_local_branch_when_pre_commit_gives_no_refs(
    pushed, env, hook
):
    root, _ = pushed
    object_path(storage_of(root), md5(MODEL.format(1))).unlink()
    run(root, "git", "update-ref", "-d", "refs/remotes/origin/main", env=env)
    environ = pre_push_env("", "")
    del environ["PRE_COMMIT_FROM_REF"], environ["PRE_COMMIT_TO_REF"]

    code, said = hook(root, environ=environ)

    assert code == 1
    assert "model.pkl  md5" in said and "dvc.lock at commit" in said


def test_a_deleted_ref_is_skipped(pushed, hook):
    root, base = pushed
    assert hook(root, environ=pre_push_env(base, ZERO)) == (0, "")


def test_cache_false_and_push_false_outputs_are_not_required(pushed, env, hook):
    root, base = pushed
    new = retrain(root, env, seed=2)
    run(root, "dvc", "push", "-q", env=env)  # pushes model.pkl; never scratch.bin
    assert not object_path(storage_of(root), md5("scratch 2\n")).exists()

    assert hook(root, environ=pre_push_env(base, new)) == (0, "")

    object_path(storage_of(root), md5(MODEL.format(2))).unlink()
    code, said = hook(root, "--no-index", environ=pre_push_env(base, new))
    assert code == 1
    assert f"model.pkl  md5 {md5(MODEL.format(2))}" in said
    assert "scratch.bin" not in said and "metrics.json" not in said


def test_a_legacy_dvc2_file_is_checked_in_the_old_layout(pushed, env, hook):
    root, base = pushed
    content = "written by DVC 2\n"
    digest = md5(content)
    write(root, {"legacy.txt": content})
    # What DVC 2 writes: no `hash: md5`; the object at cache/ab/cdef, not files/md5/ab/cdef.
    write(
        root,
        {"legacy.txt.dvc": f"outs:\n- md5: {digest}\n  size: {len(content)}\n  path: legacy.txt\n"},
    )
    cached = object_path(root / ".dvc" / "cache", digest, legacy=True)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(content)
    new = commit_all(root, "a DVC 2 file", env)
    in_new_layout = object_path(storage_of(root), digest)
    in_new_layout.parent.mkdir(parents=True, exist_ok=True)
    in_new_layout.write_text(content)

    code, said = hook(root, environ=pre_push_env(base, new))
    assert code == 1
    assert f"legacy.txt  md5 {digest} (legacy.txt.dvc at commit {new[:7]})" in said

    code, said = hook(root, "--fix", environ=pre_push_env(base, new))
    assert code == 0, said
    assert object_path(storage_of(root), digest, legacy=True).read_text() == content


def test_fix_pushes_exactly_the_missing_objects_of_every_commit_then_passes(pushed, env, hook):
    root, base = pushed
    first = retrain(root, env, seed=3)
    second = retrain(root, env, seed=4)  # the workspace now holds only seed 4's model
    storage = storage_of(root)
    before = {p for p in storage.rglob("*") if p.is_file()}

    code, said = hook(root, "--fix", environ=pre_push_env(base, second))

    assert code == 0, said
    added = {p for p in storage.rglob("*") if p.is_file()} - before
    assert added == {
        object_path(storage, md5(MODEL.format(3))),
        object_path(storage, md5(MODEL.format(4))),
    }
    assert first != second
    assert hook(root, "--no-index", environ=pre_push_env(base, second)) == (0, "")
    assert not list(root.glob(".exp-ci-push-*"))


def test_an_unreachable_remote_blocks_and_allow_offline_turns_it_into_a_warning(pushed, env, hook):
    root, base = pushed
    new = add_image(root, env)
    run(root, "dvc", "remote", "add", "offline", f"http://127.0.0.1:{closed_port()}/dvc", env=env)

    code, said = hook(root, "-r", "offline", environ=pre_push_env(base, new))
    assert code == 1
    assert "cannot reach DVC remote 'offline'" in said and "--allow-offline" in said

    code, said = hook(root, "-r", "offline", "--allow-offline", environ=pre_push_env(base, new))
    assert code == 0
    assert "warning: cannot reach DVC remote 'offline'" in said


def test_an_http_remote_is_read_through_dvcs_own_filesystem_layer(pushed, env, hook):
    root, base = pushed
    new = add_image(root, env)
    run(root, "dvc", "push", "-q", env=env)
    with serve(storage_of(root)) as url:
        run(root, "dvc", "remote", "add", "web", url, env=env)

        assert hook(root, "-r", "web", environ=pre_push_env(base, new)) == (0, "")

        object_path(storage_of(root), md5("image 3\n")).unlink()
        code, said = hook(root, "-r", "web", "--no-index", environ=pre_push_env(base, new))
    assert code == 1
    assert "images/img-0003.txt" in said and "DVC remote 'web'" in said


INDEX_DIR = Path(".dvc") / "tmp" / "exp-ci" / "remote-index"


def test_objects_seen_in_the_remote_are_remembered_until_no_index(pushed, env, hook):
    root, base = pushed
    new = add_image(root, env)
    run(root, "dvc", "push", "-q", env=env)
    assert hook(root, environ=pre_push_env(base, new)) == (0, "")
    (index,) = [p for p in (root / INDEX_DIR).iterdir() if not p.name.startswith("checked-")]
    assert index.read_text().count("\n") == 1 + 1002  # header, manifest, 1,001 files
    object_path(storage_of(root), md5("image 5\n")).unlink()

    code, said = hook(root, "-v", environ=pre_push_env(base, new))  # the same push again
    assert code == 0
    assert "every output of the 1 DVC file version(s) being pushed was in its DVC" in said
    # A rewritten images.dvc that records the same objects: read, answered by the index.
    write(root, {"images.dvc": (root / "images.dvc").read_text() + "desc: the images\n"})
    rewritten = commit_all(root, "describe the images", env)
    code, said = hook(root, "-v", environ=pre_push_env(base, rewritten))
    assert code == 0
    assert "0 objects asked of the remote" in said, said

    code, said = hook(root, "--no-index", environ=pre_push_env(base, rewritten))
    assert code == 1
    assert "images/img-0005.txt" in said


# What a check found is remembered per DVC file version (index.CheckedVersions), keyed on
# everything it read; each test changes one of those, and the check must run in full again.


def test_a_failed_check_is_not_remembered(pushed, env, hook):
    root, base = pushed
    new = add_image(root, env)  # not pushed

    assert hook(root, environ=pre_push_env(base, new))[0] == 1
    assert hook(root, environ=pre_push_env(base, new))[0] == 1


def test_a_remembered_check_is_redone_when_the_remote_config_changes(pushed, env, hook, tmp_path):
    root, base = pushed
    new = add_image(root, env)
    run(root, "dvc", "push", "-q", env=env)
    (tmp_path / "empty").mkdir()
    run(root, "dvc", "remote", "add", "empty", str(tmp_path / "empty"), env=env)
    assert hook(root, environ=pre_push_env(base, new)) == (0, "")

    assert hook(root, "-r", "empty", environ=pre_push_env(base, new))[0] == 1  # --remote
    run(root, "dvc", "remote", "modify", "storage", "url", str(tmp_path / "empty"), env=env)
    assert hook(root, environ=pre_push_env(base, new))[0] == 1  # the default remote's URL


def test_a_remote_from_dvcs_global_config_is_never_remembered(
    pushed, env, hook, tmp_path, monkeypatch
):
    root, base = pushed
    new = add_image(root, env)
    run(root, "dvc", "push", "-q", env=env)
    isolated = {**env, "DVC_GLOBAL_CONFIG_DIR": str(tmp_path / "global")}
    monkeypatch.setenv("DVC_GLOBAL_CONFIG_DIR", isolated["DVC_GLOBAL_CONFIG_DIR"])
    run(root, "dvc", "remote", "add", "--global", "shared", str(storage_of(root)), env=isolated)
    assert hook(root, "-r", "shared", environ=pre_push_env(base, new)) == (0, "")

    (tmp_path / "empty").mkdir()
    run(
        root,
        "dvc",
        "remote",
        "modify",
        "--global",
        "shared",
        "url",
        str(tmp_path / "empty"),
        env=isolated,
    )
    assert hook(root, "-r", "shared", environ=pre_push_env(base, new))[0] == 1


def test_the_same_dvc_lock_in_another_commit_is_checked_with_that_commits_dvc_yaml(
    pushed, env, hook
):
    root, base = pushed
    trained = retrain(root, env, seed=5)
    run(root, "dvc", "push", "-q", env=env)  # model.pkl; scratch.bin is `push: false`
    assert hook(root, environ=pre_push_env(base, trained)) == (0, "")
    # The same dvc.lock on another branch, whose dvc.yaml pushes scratch.bin too.
    run(root, "git", "checkout", "-q", "-b", "push-scratch", base, env=env)
    run(root, "git", "checkout", trained, "--", "dvc.lock", "seed.txt", env=env)
    write(root, {"dvc.yaml": (root / "dvc.yaml").read_text().replace("push: false", "push: true")})
    other = commit_all(root, "push scratch.bin too", env)

    code, said = hook(root, environ=pre_push_env(base, other))
    assert code == 1
    scratch = md5("scratch 5\n")
    assert f"scratch.bin  md5 {scratch}" in said


def test_a_directory_manifest_missing_everywhere_is_missing_data_not_a_crash(pushed, env, hook):
    root, base = pushed
    nowhere = "0123456789abcdef0123456789abcdef.dir"
    write(root, {"lost.dvc": f"outs:\n- md5: {nowhere}\n  hash: md5\n  path: lost\n"})
    new = commit_all(root, "a directory nobody has", env)

    code, said = hook(root, environ=pre_push_env(base, new))

    assert code == 1
    assert f"lost/  md5 {nowhere}" in said
    assert "manifest is in neither the local cache nor remote 'storage'" in said


def test_a_dvc_lock_that_does_not_parse_is_a_user_error_naming_file_line_and_commit(
    pushed, env, hook
):
    root, base = pushed
    lock = (root / "dvc.lock").read_text()
    (root / "dvc.lock").write_text(lock.replace("outs:", "outs: [\n", 1))
    new = commit_all(root, "broken lock", env)

    code, said = hook(root, environ=pre_push_env(base, new))

    assert code == 2
    assert "dvc.lock, line " in said and f"at commit {new[:7]}" in said
    assert "Traceback" not in said


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to-ref", "no-such-branch"], "Git does not know that revision"),
        (["-r", "nowhere"], "there is no DVC remote named 'nowhere'"),
    ],
)
def test_user_mistakes_are_exit_2_with_a_way_out(pushed, env, hook, args, message):
    root, _ = pushed
    add_image(root, env)
    run(root, "git", "update-ref", "-d", "refs/remotes/origin/main", env=env)

    code, said = hook(root, *args)

    assert code == 2
    assert message in said and "Traceback" not in said


@pytest.mark.slow  # starts processes
def test_outside_a_git_repository_is_exit_2(tmp_path, hook):
    code, said = hook(tmp_path)
    assert code == 2
    assert "not inside the working tree of a Git repository" in said


# --- the pre-commit stage: staged DVC files -------------------------------------------------


def test_a_staged_dvc_file_whose_data_is_not_in_the_local_cache_blocks_the_commit(
    pushed, env, hook
):
    root, _ = pushed
    write(root, {"new.txt": NEVER_CACHED})
    run(root, "dvc", "add", "-q", "new.txt", env=env)
    object_path(root / ".dvc" / "cache", md5(NEVER_CACHED)).unlink()
    run(root, "git", "add", "new.txt.dvc", env=env)

    code, said = hook(root, environ={"PRE_COMMIT": "1"})

    assert code == 1
    assert "not in the local DVC cache" in said
    assert f"new.txt  md5 {md5(NEVER_CACHED)} (new.txt.dvc (staged))" in said
    assert "dvc commit new.txt" in said


def test_staged_data_in_the_local_cache_passes_and_require_remote_asks_the_remote(
    pushed, env, hook
):
    root, _ = pushed
    write(root, {"new.txt": "cached, not pushed\n"})
    run(root, "dvc", "add", "-q", "new.txt", env=env)
    run(root, "git", "add", "new.txt.dvc", env=env)

    assert hook(root, environ={"PRE_COMMIT": "1"}) == (0, "")

    code, said = hook(root, "--require-remote", environ={"PRE_COMMIT": "1"})
    assert code == 1
    assert "DVC remote 'storage'" in said and "new.txt  md5" in said


# --- speed: no DVC for a push without DVC changes, nor for one the index answers ------------

# What such a push does without: DVC, GitPython and PyYAML (hundreds of ms), and standard
# modules the hook does without when pre-commit runs it with no arguments (a few ms each;
# subprocess and threading where there is os.posix_spawnp).
NOT_IMPORTED = ("dvc", "dvc_data", "git", "yaml", "argparse", "typing", "dataclasses", "hashlib")
NOT_IMPORTED_HERE = (*NOT_IMPORTED, "subprocess", "threading")  # on this (POSIX) machine

NO_DVC_SCRIPT = f"""\
import json, sys
from exp_ci.hooks.check_pushed import main
code = main([], json.loads(sys.stdin.read()))
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {NOT_IMPORTED_HERE!r})
print(json.dumps({{"code": code, "imported": heavy}}))
"""


def run_isolated(root: Path, env, environ: dict[str, str]) -> dict:
    """The hook as pre-commit runs it (in the repository, no arguments), in a new Python."""
    result = subprocess.run(
        [sys.executable, "-c", NO_DVC_SCRIPT],
        cwd=root,
        input=json.dumps(environ),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_pushes_without_dvc_changes_or_answered_by_the_index_import_neither_dvc_nor_gitpython(
    pushed, env, hook
):
    root, base = pushed
    write(root, {"README.md": "docs\n"})
    docs = commit_all(root, "docs", env)
    assert run_isolated(root, env, pre_push_env(base, docs)) == {"code": 0, "imported": []}

    data = add_image(root, env)
    run(root, "dvc", "push", "-q", env=env)
    assert hook(root, environ=pre_push_env(base, data)) == (0, "")  # fills the index
    assert run_isolated(root, env, pre_push_env(base, data)) == {"code": 0, "imported": []}


# --- the console scripts, the manifest, and the real pre-commit framework -------------------


def test_the_subcommand_and_the_console_script_check_the_same_way(pushed, env):
    root, _ = pushed
    object_path(storage_of(root), md5(MODEL.format(1))).unlink()
    run(root, "git", "update-ref", "-d", "refs/remotes/origin/main", env=env)
    scripts = Path(sys.executable).parent
    for command in (
        [str(scripts / "exp-ci-check-pushed")],
        [sys.executable, "-m", "exp_ci", "check-pushed"],
    ):
        result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
        assert result.returncode == 1, result.stderr
        assert "model.pkl  md5" in result.stderr


def hooks_manifest() -> list[dict]:
    return yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())


@pytest.mark.slow  # starts processes
def test_every_hook_has_its_console_script_a_readme_entry_and_a_valid_manifest(env):
    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    readme = (REPO_ROOT / "README.md").read_text()
    for hook_entry in hooks_manifest():
        assert hook_entry["entry"] == hook_entry["id"]
        assert hook_entry["id"] in scripts
        assert (Path(sys.executable).parent / hook_entry["id"]).exists()
        assert hook_entry["stages"]
        assert hook_entry["minimum_pre_commit_version"]
        assert f"id: {hook_entry['id']}" in readme
    run(
        REPO_ROOT,
        sys.executable,
        "-m",
        "pre_commit",
        "validate-manifest",
        ".pre-commit-hooks.yaml",
        env=env,
    )


def snapshot_of_this_repository(destination: Path, env) -> str:
    """This working tree (uncommitted work included) as a commit of a new repository, since
    pre-commit installs hooks from a Git revision."""
    listed = run(REPO_ROOT, "git", "ls-files", "-z", "-co", "--exclude-standard", env=env)
    destination.mkdir()
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    run(destination, "git", "init", "-q", "-b", "main", env=env)
    return commit_all(destination, "snapshot", env)


def test_end_to_end_pre_commit_blocks_the_git_push_until_dvc_push(pushed, env, tmp_path):
    root, _ = pushed
    hooks_repo = tmp_path / "exp-ci-snapshot"
    rev = snapshot_of_this_repository(hooks_repo, env)
    env = {**env, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    write(
        root,
        {
            ".pre-commit-config.yaml": f"repos:\n- repo: {hooks_repo}\n  rev: {rev}\n"
            "  hooks:\n  - id: exp-ci-check-pushed\n",
        },
    )
    commit_all(root, "pre-commit config", env)
    run(root, sys.executable, "-m", "pre_commit", "install", "--hook-type", "pre-push", env=env)
    data = retrain(root, env, seed=5)

    blocked = subprocess.run(
        ["git", "push", "origin", "main"], cwd=root, env=env, capture_output=True, text=True
    )
    assert blocked.returncode != 0, blocked.stdout + blocked.stderr
    said = blocked.stdout + blocked.stderr
    assert f"model.pkl  md5 {md5(MODEL.format(5))}" in said
    assert f"dvc.lock at commit {data[:7]}" in said
    assert run(root, "git", "ls-remote", "origin", "main", env=env).split()[0] != data

    run(root, "dvc", "push", "-q", env=env)
    run(root, "git", "push", "-q", "origin", "main", env=env)
    assert run(root, "git", "ls-remote", "origin", "main", env=env).split()[0] == data


# --- the deciding parts, alone ----------------------------------------------------------------

LOCK_YAML = """\
stages:
  train:
    wdir: src
    outs:
      - ../model.pkl
      - cache.tmp:
          cache: false
    plots:
      - curve.csv:
          push: false
  shard:
    foreach: [a, b]
    do:
      outs:
        - out-${item}.bin:
            remote: big
"""

LOCK = """\
schema: '2.0'
stages:
  train:
    outs:
    - path: ../model.pkl
      hash: md5
      md5: a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1
    - path: cache.tmp
      hash: md5
      md5: a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2
    - path: curve.csv
      hash: md5
      md5: a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3
  shard@a:
    outs:
    - path: out-a.bin
      md5: a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4.dir
"""


def out(path: str, digest: str, source: str, *, legacy=False, remote=None) -> Output:
    return Output(path, CachedOut(digest, legacy), source, remote)


@pytest.mark.parametrize(
    ("path", "content", "beside", "expected"),
    [
        (
            "dvc.lock",
            LOCK,
            LOCK_YAML,
            [
                out("model.pkl", "a1" * 16, "dvc.lock"),
                out("out-a.bin", "a4" * 16 + ".dir", "dvc.lock", legacy=True, remote="big"),
            ],
        ),
        (  # without its dvc.yaml nothing says `cache: false`: everything is required
            "sub/dvc.lock",
            "schema: '2.0'\nstages:\n  s:\n    outs:\n    - path: a\n      hash: md5\n"
            "      md5: " + "a5" * 16 + "\n",
            None,
            [out("sub/a", "a5" * 16, "sub/dvc.lock")],
        ),
        (  # DVC 1: no schema, stages at the top level
            "dvc.lock",
            "s:\n  outs:\n  - path: a\n    md5: " + "a6" * 16 + "\n",
            None,
            [out("a", "a6" * 16, "dvc.lock", legacy=True)],
        ),
        (
            "data/raw.dvc",
            "outs:\n- md5: " + "a7" * 16 + ".dir\n  hash: md5\n  path: raw\n  remote: big\n",
            None,
            [out("data/raw", "a7" * 16 + ".dir", "data/raw.dvc", remote="big")],
        ),
        (
            "x.dvc",
            "outs:\n- md5: " + "a8" * 16 + "\n  path: x\n  push: false\n"
            "- md5: " + "a9" * 16 + "\n  path: y\n  cache: false\n- path: z\n",
            None,
            [],
        ),
    ],
)
def test_which_outputs_a_dvc_file_records_and_dvc_pushes(path, content, beside, expected):
    found = outputs_of(path, content.encode(), beside.encode() if beside else None)
    assert found == expected


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ("stages:\n  s:\n    outs: [\n", 4),
        ("outs:\n- md5: a\n  path: [b\n", 4),
        ("a: 1\na: 2\n", 2),
    ],
)
def test_a_dvc_file_that_does_not_parse_names_its_line(content, line):
    with pytest.raises(DvcFileError) as error:
        outputs_of("dvc.lock", content.encode())
    assert error.value.line == line
    assert str(error.value).startswith(f"dvc.lock, line {line}: ")


def test_a_hash_yaml_reads_as_a_number_is_an_error_not_a_skipped_output():
    with pytest.raises(DvcFileError, match="md5 of output 'a' is not a string"):
        outputs_of("a.dvc", b"outs:\n- md5: 12345678901234567890123456789012\n  path: a\n")


def test_manifests_are_read_as_dvc_writes_them():
    data = json.dumps([{"md5": "a" * 32, "relpath": "x/1.png"}, {"md5": "b" * 32, "relpath": "2"}])
    assert parse_manifest(data.encode(), legacy_layout=False) == [
        ("x/1.png", CachedOut("a" * 32, False)),
        ("2", CachedOut("b" * 32, False)),
    ]
    assert parse_manifest(b"not json", legacy_layout=False) is None
    assert parse_manifest(b'[{"md5": 1}]', legacy_layout=False) is None


def test_git_raw_records_become_changed_dvc_files():
    a, b, c = "a" * 40, "b" * 40, "c" * 40
    log = (
        f"\x01{a} {b}\0\n:000000 100644 {ZERO} {c} A\0data.dvc\0"
        f":100644 100644 {c} {b} M\0src/dvc.lock\0:100644 000000 {c} {ZERO} D\0gone.dvc\0"
        f"\x01{b} {c}\0\n::100644 100644 100644 {a} {b} {c} MM\0dvc.lock\0"
        f":100644 100644 {a} {b} M\0notes.txt\0:160000 160000 {a} {b} M\0sub.dvc\0"
    )
    assert [(v.commit, v.path, v.blob, v.tree) for v in parse_raw_log(log)] == [
        (a, "data.dvc", c, b),
        (a, "src/dvc.lock", b, b),
        (b, "dvc.lock", c, c),
    ]
    diff = f":100644 100644 {a} {b} M\0x.dvc\0:000000 100644 {ZERO} {c} A\0dvc.lock\0"
    assert [(v.path, v.blob, v.commit) for v in parse_raw_diff(diff)] == [
        ("x.dvc", b, None),
        ("dvc.lock", c, None),
    ]


class FakeStore:
    def __init__(self, objects: dict[CachedOut, bytes]) -> None:
        self.objects = objects
        self.asked: list[set[CachedOut]] = []

    def exists(self, objects):
        self.asked.append(set(objects))
        return {o for o in objects if o in self.objects}

    def read(self, obj):
        return self.objects.get(obj)


FILE = CachedOut("f" * 32, False)
MEMBER_1, MEMBER_2 = CachedOut("a1" * 16, False), CachedOut("a2" * 16, False)
DIR = CachedOut("d" * 32 + ".dir", False)
MANIFEST = json.dumps(
    [{"md5": MEMBER_1.md5, "relpath": "one"}, {"md5": MEMBER_2.md5, "relpath": "two"}]
).encode()


FILE_OUT = Output("f", FILE, "f.dvc", commit="c" * 40)
DIR_OUT = Output("d", DIR, "d.dvc")


@pytest.mark.parametrize(
    ("output", "remote", "local", "known", "missing", "present"),
    [
        pytest.param(FILE_OUT, {FILE: b""}, {}, set(), [], {FILE}, id="file there"),
        pytest.param(
            FILE_OUT, {}, {}, set(), [("f", None, NOT_IN_STORE)], set(), id="file missing"
        ),
        pytest.param(FILE_OUT, {}, {}, {FILE}, [], set(), id="file known from the index"),
        pytest.param(
            DIR_OUT,
            {DIR: MANIFEST, MEMBER_1: b"", MEMBER_2: b""},
            {},
            set(),
            [],
            {DIR, MEMBER_1, MEMBER_2},
            id="directory whole, manifest read from the remote",
        ),
        pytest.param(
            DIR_OUT,
            {DIR: MANIFEST, MEMBER_1: b""},
            {DIR: MANIFEST},
            set(),
            [("d", "two", NOT_IN_STORE)],
            {MEMBER_1},
            id="one file of a directory missing",
        ),
        pytest.param(
            DIR_OUT,
            {MEMBER_1: b"", MEMBER_2: b""},
            {DIR: MANIFEST},
            set(),
            [("d", None, NOT_IN_STORE)],
            {MEMBER_1, MEMBER_2},
            id="manifest not pushed",
        ),
        pytest.param(DIR_OUT, {}, {}, set(), [("d", None, NO_MANIFEST)], set(), id="no manifest"),
        pytest.param(
            DIR_OUT,
            {DIR: b"garbage"},
            {},
            set(),
            [("d", None, BAD_MANIFEST)],
            set(),
            id="manifest unreadable",
        ),
        pytest.param(
            DIR_OUT,
            {DIR: MANIFEST},
            {DIR: MANIFEST},
            {MEMBER_1, MEMBER_2},
            [],
            {DIR},
            id="known files complete the directory",
        ),
    ],
)
def test_what_is_missing_from_a_store(output, remote, local, known, missing, present):
    verdict = find_missing([output], FakeStore(remote), read_local=local.get, known=known)
    assert [(m.output.path, m.member, m.reason) for m in verdict.missing] == missing
    assert verdict.present == present


def test_nothing_is_asked_of_the_store_when_the_index_knows_everything():
    store = FakeStore({})
    verdict = find_missing([Output("d", DIR, "d.dvc")], store, read_local={}.get, known={DIR})
    assert verdict.missing == () and store.asked == []


def test_long_lists_of_missing_files_are_shortened_per_directory():
    from exp_ci.hooks.verify import Missing

    output = Output("images", DIR, "images.dvc", commit="a" * 40)
    missing = [Missing(output, CachedOut(f"{i:032x}", False), f"{i}.png") for i in range(25)]
    short = missing_lines(missing, "remote 's'")
    assert len(short) == 11
    assert short[-1] == "  … and 15 more files of images/ (-v lists them)"
    assert len(missing_lines(missing, "remote 's'", verbose=True)) == 25


def test_the_index_keeps_whole_lines_only(tmp_path):
    index = VerifiedIndex.load(tmp_path, "s3://bucket/dvc")
    assert index.add([FILE, DIR, CachedOut("a" * 32, True)]) == 3
    assert index.add([FILE]) == 0
    with index.path.open("a") as file:
        file.write("files/md5/")  # a write cut short
    again = VerifiedIndex.load(tmp_path, "s3://bucket/dvc")
    assert len(again) == 3
    assert FILE in again and DIR in again and CachedOut("a" * 32, True) in again
    assert CachedOut("a" * 32, False) not in again
    assert again.add([CachedOut("b" * 32, True)]) == 1  # starts a new line
    assert CachedOut("b" * 32, False) not in VerifiedIndex.load(tmp_path, "s3://bucket/dvc")
    assert CachedOut("b" * 32, True) in VerifiedIndex.load(tmp_path, "s3://bucket/dvc")
    assert object_key(CachedOut("a" * 32, True)) == "aa/" + "a" * 30
    assert VerifiedIndex.load(tmp_path, "s3://other").path != index.path


@pytest.mark.parametrize(
    ("argv", "environ", "stage", "to_ref", "from_ref", "git_remote"),
    [
        ([], {}, PRE_PUSH, "HEAD", None, None),
        ([], {"PRE_COMMIT": "1"}, PRE_COMMIT, "HEAD", None, None),
        ([], pre_push_env("a", "b"), PRE_PUSH, "b", "a", "origin"),
        (
            [],
            {
                "PRE_COMMIT": "1",
                "PRE_COMMIT_REMOTE_NAME": "up",
                "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/x",
            },
            PRE_PUSH,
            "refs/heads/x",
            None,
            "up",
        ),
        (["--stage", "pre-commit"], pre_push_env("a", "b"), PRE_COMMIT, "b", "a", "origin"),
        (["--to-ref", "v2", "--from-ref", "v1"], {}, PRE_PUSH, "v2", "v1", None),
    ],
)
def test_what_is_checked_comes_from_pre_commits_environment(
    argv, environ, stage, to_ref, from_ref, git_remote
):
    import argparse

    from exp_ci.hooks.check_pushed import add_arguments
    from exp_ci.options import add_shared_arguments

    parser = argparse.ArgumentParser()
    add_shared_arguments(parser)
    add_arguments(parser)
    options = options_from_args(parser.parse_args(argv), environ)
    assert (options.stage, options.to_ref, options.from_ref, options.git_remote) == (
        stage,
        to_ref,
        from_ref,
        git_remote,
    )
    if not argv:  # how pre-commit runs the hook: no parser, the same options
        assert options_from_environ(environ) == options


# --- small helpers ---------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _BusyServer(http.server.ThreadingHTTPServer):
    # DVC's HTTP filesystem opens many connections at once; the default backlog of 5 drops
    # some of them on a loaded machine, which the hook would rightly call "unreachable".
    request_queue_size = 256

    def handle_error(self, request, client_address) -> None:
        # A client that drops a kept-alive connection is normal for DVC's HTTP pool; the
        # default prints a traceback to stderr, which the hook's captured output would show.
        if isinstance(sys.exc_info()[1], (ConnectionError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class serve:
    """Serve a folder over HTTP on a free local port, for a DVC `http://` remote."""

    def __init__(self, folder: Path) -> None:
        def handler(*args, **kwargs):
            return _QuietHandler(*args, directory=str(folder), **kwargs)

        self.server = _BusyServer(("127.0.0.1", 0), handler)

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
