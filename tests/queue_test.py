"""Queued, running and failed experiments, as `dvc exp show --json` lists them.

The project runs DVC's real celery queue: `dvc exp run --queue` twice, `dvc queue start`
(one run finishes, one fails in its stage), then one more queued that stays queued. A
running experiment cannot be held still long enough to read both ways without a timing
race, so that one is made as DVC makes it: its info file (status 2) written beside the
real ones; DVC lists a running row only while its celery task is live, so that test
checks exp-ci alone.
"""

from __future__ import annotations

import json
import shutil
import time

import pytest

from tests.helpers.project import (
    commit_all,
    differences,
    dvc_values,
    exp_ci,
    exp_ci_values,
    exp_show_json,
    init_project,
    run,
    write,
)

pytestmark = pytest.mark.slow  # a real DVC queue and its worker

TRAIN = """\
import json, sys, yaml
p = yaml.safe_load(open("params.yaml"))
if p["fail"]:
    sys.exit("boom: fail was set")
json.dump({"auc": p["lr"] * 2}, open("metrics.json", "w"))
"""
DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [lr, fail]
    metrics:
      - metrics.json:
          cache: false
"""


@pytest.fixture(scope="module")
def queued_project(tmp_path_factory, session_env):
    root = tmp_path_factory.mktemp("queue") / "project"
    init_project(root, session_env)
    write(root, {"train.py": TRAIN, "params.yaml": "lr: 0.1\nfail: false\n", "dvc.yaml": DVC_YAML})
    run(root, "dvc", "repro", "-q", env=session_env)
    commit_all(root, "baseline", session_env)
    run(root, "dvc", "exp", "run", "--queue", "-q", "-n", "q-ok", "-S", "lr=0.2", env=session_env)
    run(
        root,
        "dvc",
        "exp",
        "run",
        "--queue",
        "-q",
        "-n",
        "q-fail",
        "-S",
        "fail=true",
        env=session_env,
    )
    run(root, "dvc", "queue", "start", "-q", env=session_env)
    for _ in range(240):  # the worker runs both, then stops by itself; a bound, not a timing
        status = run(root, "dvc", "queue", "status", env=session_env)
        if "Queued" not in status and "Running" not in status and "Success" in status:
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"the queue did not finish:\n{status}")
    run(root, "dvc", "exp", "run", "--queue", "-q", "-n", "q-wait", "-S", "lr=0.3", env=session_env)
    return root


def _show(root, env, *args):
    result = exp_ci(root, env, "show", "--format", "json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _states_of_dvc(rows):
    return {
        e["revs"][0]["rev"]: (e["name"], (e.get("executor") or {}).get("state") or "success")
        for b in rows[1:]
        for e in b.get("experiments") or []
    }


def test_every_state_is_a_row_as_dvc_lists_it_in_its_order(queued_project, env):
    ours = _show(queued_project, env)
    theirs = exp_show_json(queued_project, env)
    rows = ours["baselines"][0]["experiments"]
    assert [(r["rev"], r["name"], r["state"]) for r in rows] == [
        (rev, name, state) for rev, (name, state) in _states_of_dvc(theirs).items()
    ]
    assert [(r["name"], r["state"]) for r in rows] == [
        ("q-ok", "success"),
        ("q-wait", "queued"),
        ("q-fail", "failed"),
    ]


def test_values_agree_both_ways_but_a_failed_runs_stale_metrics(queued_project, env):
    ours = exp_ci_values(_show(queued_project, env))
    theirs = dvc_values(exp_show_json(queued_project, env))
    failed = next(rev for rev, v in ours.items() if v["name"] == "q-fail")
    # DVC shows the failed run's stash commit's metrics: the baseline's, left in the
    # workspace it queued from. exp-ci shows none (README: where values may differ).
    assert differences(ours, theirs) == [
        f"row {failed[:7]} (q-fail): metrics metrics.json:auc=0.2 only in DVC"
    ]
    queued = next(v for v in ours.values() if v["name"] == "q-wait")
    assert queued["params"] == {"params.yaml:lr": 0.3, "params.yaml:fail": False}
    assert queued["metrics"] == {}


def test_a_failed_run_says_why_and_is_never_the_winner(queued_project, env):
    document = _show(queued_project, env, "--metric", "auc")
    rows = {r["name"]: r for r in document["baselines"][0]["experiments"]}
    assert "exited with 1" in rows["q-fail"]["reason"]
    assert rows["q-ok"]["winner"] and not rows["q-fail"]["winner"]
    assert rows["q-ok"]["reason"] is None
    plain = exp_ci(queued_project, env, "show").stdout
    assert "q-fail (failed)" in plain and "q-wait (queued)" in plain
    assert "q-fail failed: failed to reproduce 'train'" in plain


@pytest.mark.parametrize(
    ("states", "names"),
    [
        ((), ["q-ok", "q-wait", "q-fail"]),
        (("success",), ["q-ok"]),
        (("failed", "queued"), ["q-wait", "q-fail"]),
        (("running",), []),
    ],
)
def test_state_filters_the_experiments(queued_project, env, states, names):
    args = [arg for state in states for arg in ("--state", state)]
    document = _show(queued_project, env, *args)
    assert [r["name"] for r in document["baselines"][0]["experiments"]] == names


def test_best_and_the_other_commands_see_finished_experiments_only(queued_project, env):
    result = exp_ci(queued_project, env, "best", "--metric", "auc", "--json")
    assert result.returncode == 0, result.stderr
    assert [w["name"] for w in json.loads(result.stdout)] == ["q-ok"]


def test_a_run_dvc_has_started_is_running_and_listed_first(queued_project, env, tmp_path):
    root = tmp_path / "project"
    shutil.copytree(queued_project, root, symlinks=True)
    rows = _show(root, env)["baselines"][0]["experiments"]
    waiting = next(r for r in rows if r["name"] == "q-wait")
    failed = next(r for r in rows if r["name"] == "q-fail")
    # As DVC's worker does: the stash entry dropped, the info file written with status 2.
    run(root, "git", "reflog", "delete", "refs/exps/celery/stash@{0}", env=env)
    info = json.loads((root / f".dvc/tmp/exps/run/{failed['rev']}/{failed['rev']}.run").read_text())
    folder = root / ".dvc/tmp/exps/run" / waiting["rev"]
    folder.mkdir(parents=True)
    info.update(name="q-wait", status=2)
    (folder / f"{waiting['rev']}.run").write_text(json.dumps(info))
    rows = _show(root, env)["baselines"][0]["experiments"]
    assert [(r["name"], r["state"]) for r in rows] == [
        ("q-wait", "running"),
        ("q-ok", "success"),
        ("q-fail", "failed"),
    ]
    assert rows[0]["params"]["params.yaml:lr"] == 0.3 and rows[0]["metrics"] == {}
