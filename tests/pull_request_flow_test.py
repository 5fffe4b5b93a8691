"""The question every reviewer asks: what does this pull request change against its base?

End to end with real Git and DVC on the checkout actions/checkout makes for `pull_request`
(the merge commit), DVC's own `metrics diff` and `params diff` as the oracle, value for
value: after `dvc repro` (the workspace is the pull request's result), and after
`exp-ci run` (the best experiment is), where the table, the comment, the job summary, the
gate and the action's outputs must all show the same Δ.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from exp_ci.render.formats import format_delta
from tests.helpers.act import PR, TOKEN, run_the_action
from tests.helpers.file_commands import parse_file_commands
from tests.helpers.github_server import serve_github
from tests.helpers.pr_project import (
    PullRequestCheckout,
    pull_request_payload,
)
from tests.helpers.project import exp_ci, run

pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def checkout(pr_checkout: PullRequestCheckout) -> PullRequestCheckout:
    return pr_checkout


def actions_env(env: dict[str, str], checkout: PullRequestCheckout) -> dict[str, str]:
    files = checkout.root.parent
    event = files / "event.json"
    event.write_text(json.dumps(pull_request_payload(checkout)))
    for name in ("summary.md", "output.txt"):
        (files / name).write_text("")
    return {
        **env,
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "octo/models",
        "GITHUB_SHA": checkout.merge,
        "GITHUB_STEP_SUMMARY": str(files / "summary.md"),
        "GITHUB_OUTPUT": str(files / "output.txt"),
    }


def dvc_json(root: Path, env: dict[str, str], *args: str) -> dict:
    return json.loads(run(root, "dvc", *args, "--json", env=env) or "{}")


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result


def shown(root: Path, env: dict[str, str], *args: str) -> dict:
    return json.loads(ok(exp_ci(root, env, "show", "--format", "json", *args)).stdout)


def test_after_dvc_repro_the_comparison_equals_dvc_metrics_and_params_diff(checkout, env):
    root = checkout.root
    run(root, "dvc", "repro", "-q", env=env)  # uncommitted: what the pull request does
    metrics_diff = dvc_json(root, env, "metrics", "diff", checkout.base)
    params_diff = dvc_json(root, env, "params", "diff", checkout.base)
    assert metrics_diff and params_diff  # the oracle says something changed

    ci = actions_env(env, checkout)
    document = shown(root, ci, "--metric", "auc")
    base, workspace = document["base"], document["workspace"]
    assert base["rev"] == checkout.base and base["name"] == "main"
    assert workspace is not None and workspace["role"] == "workspace"
    head = document["baselines"][0]
    assert head["rev"] == checkout.merge and head["role"] == "head"

    # Every metric DVC lists, value for value; every other metric did not move.
    listed = {
        f"{path}:{key}": entry for path, keys in metrics_diff.items() for key, entry in keys.items()
    }
    for name, entry in listed.items():
        assert base["metrics"][name] == entry["old"]
        assert workspace["metrics"][name] == entry["new"]
        assert workspace["deltas"][name] == entry["diff"]
    assert set(workspace["deltas"]) == set(base["metrics"])
    assert all(workspace["deltas"][n] == 0 for n in set(workspace["deltas"]) - set(listed))
    # HEAD (the merge commit) still has the base's committed metrics: no Δ at all.
    assert set(head["deltas"].values()) == {0}

    changed = {c["name"]: (c["old"], c["new"]) for c in document["comparison"]["params_changed"]}
    assert changed == {
        f"{path}:{key}": (entry["old"], entry["new"])
        for path, keys in params_diff.items()
        for key, entry in keys.items()
    }
    subject = document["comparison"]["subject"]
    assert subject["name"] == "workspace"
    assert subject["delta"] == listed["metrics.json:auc"]["diff"]

    # The comment (no token here: saved and mirrored to the job summary) and the summary.
    body = root.parent / "body.md"
    result = ok(
        exp_ci(root, ci, "comment", "--metric", "auc", "--max-drop", "0.01", "--save-body", body)
    )
    assert "the pull request comment was not posted" in result.stdout
    summary = Path(ci["GITHUB_STEP_SUMMARY"]).read_text()
    for text in (body.read_text(), summary):
        assert "| main (base)" in text and "| workspace" in text
        for label in ("Δ auc", "Δ loss.val", "Δ acc"):
            assert label in text
        for entry in listed.values():
            assert format_delta(entry["diff"], 5) in text
        assert re.search(r"\| train\.lr +\| 0\.1 +\| 0\.3 +\|", text)
        assert re.search(r"\| train\.epochs +\| 3 +\| 5 +\|", text)
        assert "#### Gate: ✅ pass" in text

    # The training curve: the base against the pull request (the workspace).
    drawn = ok(exp_ci(root, ci, "show", "--metric", "auc", "--format", "md", "--curve"))
    assert "xychart-beta" in drawn.stdout
    assert "main (base)" in drawn.stdout and "workspace (pull request)" in drawn.stdout

    # The gate: the same row, the same number.
    gate = ok(exp_ci(root, ci, "gate", "--metric", "auc", "--no-summary"))
    assert "workspace against main" in gate.stdout
    outputs = parse_file_commands(Path(ci["GITHUB_OUTPUT"]).read_text())
    assert float(outputs["delta"]) == listed["metrics.json:auc"]["diff"]
    assert outputs["gate"] == "pass"


def test_after_exp_ci_run_the_winner_has_one_delta_everywhere(
    checkout, env, runner_env, action_checkout
):
    root = checkout.root
    ok(exp_ci(root, env, "run", "-S", "train.lr=0.5,0.7", "--name-prefix", "pr", "--jobs", "1"))
    ci = actions_env(env, checkout)
    document = shown(root, ci, "--metric", "auc")
    assert document["workspace"] is None  # exp-ci run leaves the workspace alone
    winner = next(e for e in document["baselines"][0]["experiments"] if e["winner"])
    base_auc = document["base"]["metrics"]["metrics.json:auc"]
    delta = winner["metrics"]["metrics.json:auc"] - base_auc
    assert winner["delta"] == delta == winner["deltas"]["metrics.json:auc"]
    assert document["comparison"]["subject"] == {
        "rev": winner["rev"],
        "name": winner["name"],
        "why": "the best experiment by auc",
        "delta": delta,
    }

    body = root.parent / "body.md"
    ok(exp_ci(root, ci, "comment", "--metric", "auc", "--max-drop", "0", "--save-body", body))
    text = body.read_text()
    assert f"{winner['name']} = " in text and f"{format_delta(delta, 5)} against main" in text
    assert f"Judged: {winner['name']} (the best experiment by auc)" in text

    gate = ok(exp_ci(root, ci, "gate", "--metric", "auc"))
    assert f"{winner['name']} against main" in gate.stdout
    assert float(parse_file_commands(Path(ci["GITHUB_OUTPUT"]).read_text())["delta"]) == delta

    # The composite action in a real runner, on the same checkout: the same winner and the
    # same number.
    with serve_github(token=TOKEN) as github:
        github.add_pull(PR, head_sha=checkout.head)
        action = run_the_action(
            root,
            env,
            runner_env,
            action_checkout,
            github,
            {"version": "installed", "metric": "auc", "gate-max-drop": "0", "comment": "true"},
            checkout.base,
            root.parent,
        )
        assert action.result.returncode == 0, action.result.report()
        assert action.outputs["best"] == winner["name"]
        assert float(action.outputs["delta"]) == delta
        assert action.outputs["gate"] == "pass"
        (comment,) = github.marked(PR)
        assert f"{format_delta(delta, 5)} against main" in comment["body"]


def test_without_experiments_the_table_is_the_base_against_the_pull_request(checkout, env):
    root = checkout.root
    ci = actions_env(env, checkout)
    result = ok(exp_ci(root, ci, "show", "--metric", "auc", "--format", "md"))
    assert "| main (base)" in result.stdout
    assert "no experiments of" in result.stdout
    assert "**Params changed** against main" in result.stdout


def test_a_base_that_is_not_a_commit_is_one_clear_error(checkout, env):
    result = exp_ci(checkout.root, env, "show", "--against", "no-such-branch")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "'no-such-branch' is not a commit" in result.stderr

    payload = pull_request_payload(checkout)
    payload["pull_request"]["base"]["sha"] = "0" * 40
    ci = actions_env(env, checkout)
    Path(ci["GITHUB_EVENT_PATH"]).write_text(json.dumps(payload))
    # A shallow checkout lacks the base: the table says so, the gate cannot judge.
    result = ok(exp_ci(checkout.root, ci, "show", "--metric", "auc"))
    assert "base commit 000000000000" in result.stdout and "fetch-depth: 0" in result.stdout
    result = exp_ci(checkout.root, ci, "gate", "--metric", "auc")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "base commit 000000000000" in result.stderr and "fetch-depth: 0" in result.stderr


def test_a_base_without_metrics_and_a_metric_missing_on_one_side_say_so(checkout, env):
    root = checkout.root
    index = root.parent / "no-metrics-index"
    plumbing = {**env, "GIT_INDEX_FILE": str(index)}
    run(root, "git", "read-tree", checkout.base, env=plumbing)
    run(root, "git", "update-index", "--force-remove", "metrics.json", env=plumbing)
    tree = run(root, "git", "write-tree", env=plumbing).strip()
    bare = run(root, "git", "commit-tree", tree, "-p", checkout.base, "-m", "no metrics", env=env)

    table = ok(exp_ci(root, env, "show", "--metric", "auc", "--against", bare.strip()))
    assert "has no metrics.json:auc" in table.stdout and "cannot be computed" in table.stdout

    gate = exp_ci(root, env, "gate", "--metric", "auc", "--against", bare.strip())
    assert gate.returncode == 2 and "Traceback" not in gate.stderr
    assert "metrics.json:auc is missing on the base side" in gate.stderr
