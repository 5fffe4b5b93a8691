"""`exp-ci persist`: winners kept as branches or tags, data pushed before refs (real Git+DVC).

The `project` fixture has a bare `origin` and a local DVC remote `storage` beside it. Its
committed `.dvc/config` still names the template's storage folder, and DVC reads the
remote of an experiment from the experiment's own commit, so `kept` points `storage` at
this test's folder in `.dvc/config.local` (as a teammate with another path would).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
import responses
import yaml

from exp_ci.cli import main
from tests.helpers.github_api import API, REPOSITORY, FakeGitHub
from tests.helpers.project import exp_ci, run

LR_HIGH_AUC = "0.85"


@pytest.fixture
def kept(project: Path, env) -> Path:
    run(
        project,
        "dvc",
        "remote",
        "modify",
        "--local",
        "storage",
        "url",
        str(storage(project)),
        env=env,
    )
    return project


def storage(root: Path) -> Path:
    return root.parent / f"{root.name}-storage"


def origin(root: Path) -> Path:
    return root.parent / f"{root.name}-origin.git"


def persist(root: Path, env, *args: str) -> subprocess.CompletedProcess[str]:
    return exp_ci(root, env, "persist", *args)


def local_refs(root: Path, env) -> str:
    return run(root, "git", "for-each-ref", "--format=%(refname) %(objectname)", env=env)


def remote_refs(root: Path, env) -> str:
    return run(root, "git", "ls-remote", str(origin(root)), env=env)


def stored(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(storage(root))) for p in storage(root).rglob("*") if p.is_file()
    )


def exp_rev(root: Path, env, name: str) -> str:
    out = run(
        root, "git", "for-each-ref", "--format=%(objectname) %(refname)", "refs/exps/", env=env
    )
    (sha,) = [line.split()[0] for line in out.splitlines() if line.endswith(f"/{name}")]
    return sha


def state(root: Path, env) -> tuple[str, str, list[str]]:
    return local_refs(root, env), remote_refs(root, env), stored(root)


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def assert_fresh_clone_pulls_the_locked_outputs(root: Path, env, ref: str, rev: str, tmp: Path):
    """Clone origin, check `ref` out, `dvc pull`: every output dvc.lock records is there."""
    clone = tmp / "clone"
    run(tmp, "git", "clone", "-q", str(origin(root)), str(clone), env=env)
    run(clone, "git", "checkout", "-q", ref, env=env)
    assert run(clone, "git", "rev-parse", "HEAD^{commit}", env=env).strip() == rev
    run(clone, "dvc", "remote", "modify", "--local", "storage", "url", str(storage(root)), env=env)
    run(clone, "dvc", "pull", "-q", env=env)
    checked = 0
    for lock_path in run(clone, "git", "ls-files", "dvc.lock", "*/dvc.lock", env=env).split():
        lock = yaml.safe_load((clone / lock_path).read_text())
        folder = (clone / lock_path).parent
        for stage in lock["stages"].values():
            for out in stage.get("outs", []):
                assert md5(folder / out["path"]) == out["md5"], out["path"]
                checked += 1
    assert checked >= 4  # metrics.json, scores.yaml, cached.json, experiments/cnn/metrics.json
    cached = json.loads((clone / "cached.json").read_text())
    assert cached == {"f1": 0.192}  # lr-high's, not the baseline's 0.064


def test_best_as_a_branch_reaches_a_fresh_clone_with_its_data(kept, env, tmp_path):
    rev = exp_rev(kept, env, "lr-high")
    result = persist(kept, env, "--metric", "auc", "--push", "origin")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"created branch exp/lr-high at {rev[:7]} (experiment lr-high)",
        "the data of experiment lr-high is in DVC remote 'storage' (checked there; 1 "
        "object(s) pushed)",
        f"pushed {exp_ref(kept, env, 'lr-high')} to origin",
        "pushed branch exp/lr-high to origin",
    ]
    assert f"{rev}\trefs/heads/exp/lr-high" in remote_refs(kept, env)
    assert_fresh_clone_pulls_the_locked_outputs(kept, env, "exp/lr-high", rev, tmp_path)


def exp_ref(root: Path, env, name: str) -> str:
    out = run(root, "git", "for-each-ref", "--format=%(refname)", "refs/exps/", env=env)
    (ref,) = [line for line in out.splitlines() if line.endswith(f"/{name}")]
    return ref


def test_as_an_annotated_tag_whose_message_holds_the_metrics(kept, env, tmp_path):
    rev = exp_rev(kept, env, "lr-high")
    tag = f"exp/lr-high-{rev[:7]}"
    result = persist(kept, env, "lr-high", "--as", "tag", "--metric", "auc", "--push", "origin")
    assert result.returncode == 0, result.stderr
    assert run(kept, "git", "cat-file", "-t", f"refs/tags/{tag}", env=env).strip() == "tag"
    message = run(kept, "git", "tag", "-l", "--format=%(contents)", tag, env=env)
    assert message.startswith("Experiment lr-high: auc 0.85, +0.2 against the baseline\n")
    assert f"commit:     {rev}" in message
    assert "train.lr" in message and "0.3" in message
    remote = remote_refs(kept, env)
    assert f"{rev}\trefs/tags/{tag}^{{}}" in remote
    assert_fresh_clone_pulls_the_locked_outputs(kept, env, tag, rev, tmp_path)


def test_a_rerun_is_a_no_op(kept, env):
    assert persist(kept, env, "--metric", "auc", "--push", "origin").returncode == 0
    before = state(kept, env)
    result = persist(kept, env, "--metric", "auc", "--push", "origin")
    assert result.returncode == 0, result.stderr
    rev = exp_rev(kept, env, "lr-high")
    assert result.stdout.splitlines() == [
        f"branch exp/lr-high is up to date at {rev[:7]} (experiment lr-high)",
        "the data of experiment lr-high is in DVC remote 'storage' (checked there; "
        "nothing to push)",
        "branch exp/lr-high is up to date on origin",
    ]
    assert state(kept, env) == before


def test_a_ref_elsewhere_is_a_conflict_that_changes_nothing_until_forced(kept, env):
    baseline = run(kept, "git", "rev-parse", "main", env=env).strip()
    run(kept, "git", "branch", "exp/lr-high", "main", env=env)
    run(kept, "git", "push", "-q", "origin", "exp/lr-high", env=env)
    before = state(kept, env)
    rev = exp_rev(kept, env, "lr-high")

    result = persist(kept, env, "lr-high", "--push", "origin")
    assert result.returncode == 2
    assert f"points at {baseline[:7]} here, not at {rev[:7]}" in result.stderr
    assert f"points at {baseline[:7]} on origin" in result.stderr
    assert "--force" in result.stderr
    assert state(kept, env) == before  # no ref moved, no data pushed

    result = persist(kept, env, "lr-high", "--push", "origin", "--force")
    assert result.returncode == 0, result.stderr
    assert f"moved branch exp/lr-high from {baseline[:7]} to {rev[:7]}" in result.stdout
    assert f"force-pushed branch exp/lr-high to origin (it was at {baseline[:7]} there)" in (
        result.stdout
    )
    assert run(kept, "git", "rev-parse", "exp/lr-high", env=env).strip() == rev
    assert f"{rev}\trefs/heads/exp/lr-high" in remote_refs(kept, env)


def test_a_rejected_git_push_after_the_data_push_is_finished_by_a_rerun(kept, env):
    hook = origin(kept) / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'origin is read-only today' >&2\nexit 1\n")
    hook.chmod(0o755)
    rev = exp_rev(kept, env, "lr-high")

    result = persist(kept, env, "lr-high", "--push", "origin")
    assert result.returncode == 2
    assert "the data is in DVC remote 'storage'" in result.stderr
    assert "origin is read-only today" in result.stderr
    assert "rerun the same command" in result.stderr
    assert stored(kept), "the data went first"
    assert "refs/heads/exp/lr-high" not in remote_refs(kept, env)
    assert run(kept, "git", "rev-parse", "exp/lr-high", env=env).strip() == rev

    hook.unlink()
    result = persist(kept, env, "lr-high", "--push", "origin")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        f"branch exp/lr-high is up to date at {rev[:7]} (experiment lr-high)"
    )
    assert result.stdout.splitlines()[-1] == "pushed branch exp/lr-high to origin"
    assert f"{rev}\trefs/heads/exp/lr-high" in remote_refs(kept, env)


def test_dry_run_prints_exactly_the_plan_and_writes_nothing(kept, env, tmp_path):
    before = state(kept, env)
    outputs = tmp_path / "github-output"
    result = exp_ci(
        kept,
        {**env, "GITHUB_OUTPUT": str(outputs)},
        "persist",
        "--metric",
        "auc",
        "--top",
        "2",
        "--as",
        "tag",
        "--push",
        "origin",
        "--dry-run",
    )
    assert result.returncode == 0, result.stderr
    lr, no_loss = exp_rev(kept, env, "lr-high"), exp_rev(kept, env, "no-loss")
    assert result.stdout.splitlines() == [
        f"would create tag exp/lr-high-{lr[:7]} at {lr[:7]} (experiment lr-high)",
        f"would create tag exp/no-loss-{no_loss[:7]} at {no_loss[:7]} (experiment no-loss)",
        "would check that DVC remote 'storage' has the data of experiment lr-high, and "
        "push what it lacks",
        "would check that DVC remote 'storage' has the data of experiment no-loss, and "
        "push what it lacks",
        f"would push {exp_ref(kept, env, 'lr-high')} to origin",
        f"would push {exp_ref(kept, env, 'no-loss')} to origin",
        f"would push tag exp/lr-high-{lr[:7]} to origin",
        f"would push tag exp/no-loss-{no_loss[:7]} to origin",
    ]
    assert state(kept, env) == before
    assert not outputs.exists()


def test_push_without_a_dvc_remote_is_refused_before_anything_is_written(kept, env):
    run(kept, "dvc", "remote", "default", "--unset", env=env)
    before = state(kept, env)
    result = persist(kept, env, "lr-high", "--push", "origin")
    assert result.returncode == 2
    assert "no default DVC remote" in result.stderr
    assert "dvc remote default storage" in result.stderr  # the remote it has, named
    result = persist(kept, env, "lr-high", "--push", "origin", "--dvc-remote", "backup")
    assert result.returncode == 2
    assert "no DVC remote named 'backup'" in result.stderr
    assert state(kept, env) == before


def test_a_missing_git_remote_is_refused_before_anything_is_written(kept, env):
    before = state(kept, env)
    result = persist(kept, env, "lr-high", "--push", "upstream")
    assert result.returncode == 2
    assert "cannot read the Git remote 'upstream'" in result.stderr
    assert "Traceback" not in result.stderr
    assert state(kept, env) == before


def test_an_ambiguous_name_lists_the_full_refs_and_a_full_ref_picks_one(kept, env, baselines):
    original = exp_ref(kept, env, "lr-high")
    old = exp_rev(kept, env, "old-exp")
    first = baselines["first"]
    copy = f"refs/exps/{first[:2]}/{first[2:]}/lr-high"  # lr-high again, on the first baseline
    run(kept, "git", "update-ref", copy, old, env=env)
    before = local_refs(kept, env)

    result = persist(kept, env, "lr-high")
    assert result.returncode == 2
    assert "ambiguous" in result.stderr
    assert copy in result.stderr and original in result.stderr
    assert local_refs(kept, env) == before

    result = persist(kept, env, copy, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"would create branch exp/lr-high at {old[:7]} (experiment lr-high)\n"


def test_unknown_experiment_and_invalid_name_are_user_errors(kept, env):
    before = local_refs(kept, env)
    result = persist(kept, env, "nope")
    assert result.returncode == 2 and "no experiment 'nope'" in result.stderr
    result = persist(kept, env, "lr-high", "--name", "best..{name}")
    assert result.returncode == 2 and "Git rejects" in result.stderr
    assert local_refs(kept, env) == before


def test_several_named_experiments_and_outputs_for_the_workflow(kept, env, tmp_path):
    outputs = tmp_path / "github-output"
    result = exp_ci(
        kept,
        {**env, "GITHUB_OUTPUT": str(outputs)},
        "persist",
        "alpha",
        "no-loss",
        "--name",
        "kept/{name}-{metric}-{value}",
        "--metric",
        "auc",
    )
    assert result.returncode == 0, result.stderr
    alpha, no_loss = exp_rev(kept, env, "alpha"), exp_rev(kept, env, "no-loss")
    assert run(kept, "git", "rev-parse", "kept/alpha-auc-0.69", env=env).strip() == alpha
    assert run(kept, "git", "rev-parse", "kept/no-loss-auc-0.75", env=env).strip() == no_loss
    assert outputs.read_text() == f"branch=kept/alpha-auc-0.69\nrev={alpha}\n"


def test_nothing_good_enough_keeps_nothing_and_exits_1(kept, env):
    before = local_refs(kept, env)
    result = persist(kept, env, "--metric", "auc", "--min-improvement", "1")
    assert result.returncode == 1
    assert "nothing is kept" in result.stderr
    assert local_refs(kept, env) == before


# --- pull requests (GitHub through `responses`) ------------------------------------------


@pytest.fixture
def github_env(monkeypatch):
    from exp_ci.adapters import github

    monkeypatch.setattr(github, "DEFAULT_PACING", github.Pacing.none())  # no throttling
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_test-token-never-shown")
    monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
    monkeypatch.setenv("GITHUB_API_URL", API)


@pytest.fixture
def fake_github():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeGitHub(mock, token="ghs_test-token-never-shown")


def test_pr_is_opened_once_then_its_body_updated(kept, env, github_env, fake_github, capsys):
    args = ["persist", "-C", str(kept), "--metric", "auc", "--push", "origin", "--pr"]
    assert main(args) == 0
    first = capsys.readouterr()
    (created,) = fake_github.sent("POST")
    path, body = created
    assert path == f"/repos/{REPOSITORY}/pulls"
    assert body["head"] == "exp/lr-high" and body["base"] == "main"
    assert body["title"] == f"Experiment lr-high: auc {LR_HIGH_AUC}"
    assert body["body"].startswith("<!-- exp-ci:persist -->")
    assert "lr-high ★**" in body["body"] and "| +0.2 " in body["body"]
    assert (
        f"opened pull request #1 from exp/lr-high into main: https://github.com/{REPOSITORY}/pull/1"
        in first.out
    )
    assert fake_github.seen_tokens == {"token ghs_test-token-never-shown"}
    assert "ghs_test" not in first.out + first.err

    fake_github.pulls[0]["body"] = "edited by hand"
    assert main(args) == 0
    second = capsys.readouterr()
    assert len(fake_github.sent("POST")) == 1  # no second pull request
    ((patched_path, patched),) = fake_github.sent("PATCH")
    assert patched_path == f"/repos/{REPOSITORY}/pulls/1"
    assert set(patched) == {"body"} and patched["body"] == body["body"]
    assert fake_github.pulls[0]["body"] == body["body"]
    assert "updated the body of pull request #1" in second.out
    lists = fake_github.sent("GET")
    assert all(p == f"/repos/{REPOSITORY}/pulls" for p, _ in lists)


def test_pr_base_is_the_default_branch_when_no_branch_is_at_the_baseline(
    kept, env, github_env, fake_github, capsys
):
    fake_github.default_branch = "trunk"
    assert main(["persist", "-C", str(kept), "old-exp", "--push", "origin", "--pr"]) == 0
    ((_, body),) = fake_github.sent("POST")
    assert body["base"] == "trunk" and body["head"] == "exp/old-exp"
    assert body["title"] == "Experiment old-exp"


def test_pr_dry_run_says_where_the_pull_request_would_go_and_asks_github_nothing(
    kept, env, github_env, fake_github, capsys
):
    before = state(kept, env)
    args = ["persist", "-C", str(kept), "lr-high", "--push", "origin", "--pr", "--dry-run"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == (
        "would open a pull request from exp/lr-high into main (or update the open one)"
    )
    assert fake_github.requests == []
    assert state(kept, env) == before


def test_pr_without_a_token_is_refused_before_anything_is_written(kept, env, monkeypatch):
    monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
    before = state(kept, env)
    result = persist(kept, env, "lr-high", "--push", "origin", "--pr")
    assert result.returncode == 2
    assert "GITHUB_TOKEN (or GH_TOKEN)" in result.stderr
    assert state(kept, env) == before


def test_pr_needs_a_pushed_branch(kept, env):
    result = persist(kept, env, "lr-high", "--pr")
    assert result.returncode == 2 and "add --push REMOTE" in result.stderr
    result = persist(kept, env, "lr-high", "--as", "tag", "--push", "origin", "--pr")
    assert result.returncode == 2 and "--as branch" in result.stderr


# --- issue 15: the data checked in the remote before every ref; tags rerun; lock files --


def cached_json_object(root: Path, env, rev: str) -> Path:
    lock = yaml.safe_load(run(root, "git", "show", f"{rev}:dvc.lock", env=env))
    (md5_,) = [o["md5"] for o in lock["stages"]["train"]["outs"] if o["path"] == "cached.json"]
    return storage(root) / "files" / "md5" / md5_[:2] / md5_[2:]


def test_a_rerun_puts_back_data_the_remote_lost_although_the_branch_is_up_to_date(kept, env):
    """Defect 1 of issue 15: the branch on origin, its data gone from the remote (a push
    killed after the ref, a bucket that lost an object): the rerun checks the remote itself,
    not only the refs, pushes the object again and says so."""
    rev = exp_rev(kept, env, "lr-high")
    assert persist(kept, env, "lr-high", "--push", "origin").returncode == 0
    lost = cached_json_object(kept, env, rev)
    lost.unlink()

    result = persist(kept, env, "lr-high", "--push", "origin")
    assert result.returncode == 0, result.stderr
    assert (
        "the data of experiment lr-high is in DVC remote 'storage' (checked there; 1 "
        "object(s) pushed)"
    ) in result.stdout.splitlines()
    assert lost.is_file()


def test_data_in_neither_cache_nor_remote_is_named_and_no_ref_is_pushed(kept, env):
    rev = exp_rev(kept, env, "lr-high")
    lost = cached_json_object(kept, env, rev)
    local = kept / ".dvc" / "cache" / lost.relative_to(storage(kept))
    local.unlink()
    result = persist(kept, env, "lr-high", "--push", "origin")
    assert result.returncode == 2
    assert f"cached.json  md5 {lost.parent.name}{lost.name}" in result.stderr
    assert "not in the local cache either" in result.stderr
    assert "No branch or tag reached origin" in result.stderr
    assert "refs/heads/exp/lr-high" not in remote_refs(kept, env)
    assert "refs/exps/" not in remote_refs(kept, env)


def test_a_tag_rerun_is_up_to_date(kept, env):
    """Defect 3: the tag on origin is compared by the commit it peels to."""
    rev = exp_rev(kept, env, "lr-high")
    assert persist(kept, env, "lr-high", "--as", "tag", "--push", "origin").returncode == 0
    before = state(kept, env)
    result = persist(kept, env, "lr-high", "--as", "tag", "--push", "origin")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"tag exp/lr-high-{rev[:7]} is up to date on origin"
    assert state(kept, env) == before


def test_a_stale_lock_file_on_a_folder_origin_is_named_with_the_command_to_remove_it(kept, env):
    """Defect 6: a killed push left `refs/heads/exp/lr-high.lock` in the origin."""
    lock = origin(kept) / "refs" / "heads" / "exp" / "lr-high.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text("")
    result = persist(kept, env, "lr-high", "--push", "origin")
    assert result.returncode == 2
    assert f"`rm '{lock}'`" in result.stderr
    assert "then rerun the same command" in result.stderr
    lock.unlink()
    result = persist(kept, env, "lr-high", "--push", "origin")
    assert result.returncode == 0, result.stderr
    assert "pushed branch exp/lr-high to origin" in result.stdout
