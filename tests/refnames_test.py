"""Git's ref-name rules, judged as Git judges them: full refs, branch and tag names, and
the experiment names `exp-ci run` gives."""

from __future__ import annotations

import subprocess

import pytest

from exp_ci.persist_plan import Kind, short_name_error
from exp_ci.refnames import experiment_name_error, ref_format_error

# Branch names and whether Git takes them; each is checked against `git check-ref-format`.
REF_NAME_CASES = [
    "exp/lr-high",
    "lr-high",
    "a/b/c",
    "x@y",
    "{x}",
    "a.lock.b",
    "é-unicode",
    "under_score+plus=eq,comma",
    "a..b",
    "a.lock",
    "a/b.lock/c",
    "a/.b",
    ".a",
    "x.",
    "a/b.",
    "a@{b",
    "@{-1}",
    "a b",
    "a\tb",
    "a\x01b",
    "a\x7fb",
    "a~1",
    "a^",
    "a:b",
    "a?b",
    "a*",
    "a[b",
    "a\\b",
    "a//b",
    "/a",
    "a/",
    "-x",
    "HEAD",
    "@",
    "",
]


@pytest.fixture(scope="module")
def git_dir(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("refcheck")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return str(root)


def git_accepts(git_dir: str, *args: str) -> bool:
    result = subprocess.run(["git", "check-ref-format", *args], cwd=git_dir, capture_output=True)
    return result.returncode == 0


@pytest.mark.parametrize("name", REF_NAME_CASES)
def test_ref_names_are_judged_as_git_check_ref_format_judges_them(name, git_dir):
    full = f"refs/heads/{name}"
    assert (ref_format_error(full) is None) == git_accepts(git_dir, full)


@pytest.mark.parametrize("name", REF_NAME_CASES)
def test_branch_names_are_judged_as_git_branch_judges_them(name, git_dir):
    assert (short_name_error(Kind.BRANCH, name) is None) == git_accepts(git_dir, "--branch", name)


def test_a_bare_at_sign_and_single_level_refs_are_not_full_refs(git_dir):
    for refname in ("@", "main", "refs"):
        assert ref_format_error(refname) is not None
        assert not git_accepts(git_dir, refname)


def test_tags_may_not_start_with_a_dash_but_may_be_called_head():
    assert short_name_error(Kind.TAG, "-v1") is not None
    assert short_name_error(Kind.TAG, "HEAD") is None


def test_reasons_say_what_is_wrong():
    assert "'..'" in (ref_format_error("refs/heads/a..b") or "")
    assert "'.lock'" in (ref_format_error("refs/heads/x.lock") or "")
    assert "' '" in (ref_format_error("refs/heads/a b") or "")


# --- templates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("gh1-1-s1of3-01", True),
        ("lr_sweep.v2-7", True),
        ("", False),
        ("a b", False),
        ("a/b", False),
        ("a:b", False),
        ("a~b", False),
        ("a^b", False),
        ("a?b", False),
        ("a*b", False),
        ("a[b", False),
        ("a\\b", False),
        ("a..b", False),
        ("a@{b", False),
        ("@", False),
        (".hidden", False),
        ("-n", False),
        ("name.", False),
        ("name.lock", False),
        ("tab\there", False),
    ],
)
def test_experiment_names_follow_git_and_dvc_rules(name, valid):
    assert (experiment_name_error(name) is None) is valid


@pytest.mark.parametrize("name", [c for c in REF_NAME_CASES if c and c not in ("@",)])
def test_experiment_names_are_judged_as_git_judges_the_last_part_of_an_experiment_ref(
    name, git_dir
):
    """Beyond Git's rules, an experiment name is one part (no '/') and not an option."""
    accepted = git_accepts(git_dir, f"refs/exps/ab/cdef/{name}")
    expected = accepted and "/" not in name and not name.startswith("-")
    assert (experiment_name_error(name) is None) is expected


def test_experiment_name_reasons_name_the_name_not_a_part():
    assert experiment_name_error("x.lock") == "it ends with '.lock'"
    assert "'/'" in (experiment_name_error("a/b") or "")
