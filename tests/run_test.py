"""`exp-ci run` with real Git and DVC: failures recorded, pushes, names, preflight, output."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from exp_ci.progress import ActionsReporter, PlainReporter, RichReporter, choose_reporter
from exp_ci.runner import Outcome, Task
from exp_ci.sweep import Point, Setting
from tests.helpers.project import exp_ci, run
from tests.helpers.sweep_project import (
    build_template,
    clone,
    copy_template,
    experiment_refs,
    head,
    lock_md5,
    object_path,
    synthetic_experiment,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def sweep_root(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, session_env) -> Path:
    """origin.git and storage/ of the sweep project, private to this test."""
    template = build_template(tmp_path_factory.getbasetemp() / "sweep-template", session_env)
    return copy_template(template, tmp_path)


@pytest.fixture
def repo(sweep_root: Path, env) -> Path:
    return clone(sweep_root, "runner", env)


def summary_of(path: Path) -> dict:
    return json.loads(path.read_text())


# --- real runs ----------------------------------------------------------------------------


def test_a_failing_point_is_recorded_the_others_finish_and_are_pushed(
    repo: Path, sweep_root: Path, env, tmp_path: Path
):
    job_summary = tmp_path / "job-summary.md"
    ci = dict(
        env,
        GITHUB_ACTIONS="true",
        GITHUB_RUN_ID="555",
        GITHUB_RUN_ATTEMPT="1",
        GITHUB_STEP_SUMMARY=str(job_summary),
    )
    baseline = head(repo, env)
    params_before = (repo / "params.yaml").read_text()
    result = exp_ci(
        repo,
        ci,
        *("run", "-S", "lr=0.1,0.2,0.3", "-S", "fail_on=0.2", "--jobs", "2"),
        *("--push", "origin", "--summary", str(tmp_path / "summary.json")),
    )
    assert result.returncode == 1, result.stderr

    summary = summary_of(tmp_path / "summary.json")
    by_name = {e["name"]: e for e in summary["experiments"]}
    assert list(by_name) == ["gh555-1-1", "gh555-1-2", "gh555-1-3"]
    failed = by_name["gh555-1-2"]
    assert failed["state"] == "failed"
    assert failed["params"] == {"lr": "0.2", "fail_on": "0.2"}
    assert failed["exit_code"] == 3  # the training command's, not DVC's
    assert failed["dvc_exit_code"] != 0
    assert any("training diverged at lr=0.2" in line for line in failed["log_tail"])
    assert failed["pushed"] is False and failed["rev"] is None
    for name, score in (("gh555-1-1", 2.0), ("gh555-1-3", 4.0)):
        assert by_name[name]["state"] == "success"
        assert by_name[name]["metrics"] == {"metrics.json:score": score}
        assert by_name[name]["pushed"] is True
    assert summary["counts"] == {"planned": 3, "success": 2, "failed": 1}
    assert summary["baseline"] == baseline

    # Pushed: the finished experiments' refs on origin, their data in the DVC remote.
    local = experiment_refs(repo, env)
    on_origin = experiment_refs(repo, env, remote="origin")
    prefix = f"refs/exps/{baseline[:2]}/{baseline[2:]}/"
    assert set(on_origin) == {prefix + "gh555-1-1", prefix + "gh555-1-3"}
    for ref, sha in on_origin.items():
        assert local[ref] == sha
        # Each experiment's parent is HEAD, its output in the project's cache and the remote.
        assert run(repo, "git", "rev-parse", f"{sha}^", env=env).strip() == baseline
        md5 = lock_md5(repo, sha, "model.txt", env)
        assert object_path(repo / ".dvc" / "cache", md5).is_file()
        assert object_path(sweep_root / "storage", md5).is_file()

    # The project's workspace is as it was.
    assert run(repo, "git", "status", "--porcelain", env=env) == ""
    assert (repo / "params.yaml").read_text() == params_before
    scratch = repo / ".dvc" / "tmp" / "exp-ci"
    # No scratch clone is left; the objects verified in the DVC remote are remembered.
    assert sorted(p.name for p in scratch.iterdir() if p.is_dir()) == ["logs", "remote-index"]

    # In GitHub Actions: a log group per experiment, an error annotation for the failure.
    out = result.stdout
    assert out.count("::group::") == 3 and out.count("::endgroup::") == 3
    assert out.count("::stop-commands::") == 3
    assert "::error title=experiment gh555-1-2 failed::lr=0.2 fail_on=0.2: exit code 3" in out
    assert "1 failed" in job_summary.read_text()


def test_allow_failures_exits_0_and_still_reports_the_failure(repo: Path, env, tmp_path: Path):
    result = exp_ci(
        repo,
        env,
        *("run", "-S", "fail_on=0.1", "--allow-failures", "--name-prefix", "tolerated"),
        *("--summary", str(tmp_path / "s.json")),
    )
    assert result.returncode == 0, result.stderr
    [entry] = summary_of(tmp_path / "s.json")["experiments"]
    assert (entry["name"], entry["state"], entry["exit_code"]) == ("tolerated-1", "failed", 3)
    # Outside Actions and a terminal: plain lines, the failure with its log tail.
    assert "[1/1] tolerated-1 FAILED (exit 3)" in result.stderr
    assert "| training diverged at lr=0.1" in result.stderr
    assert "0 finished, 1 failed" in result.stderr
    assert experiment_refs(repo, env) == {}


def test_a_plain_run_is_one_experiment_named_after_the_github_run(repo: Path, env):
    result = exp_ci(repo, dict(env, GITHUB_RUN_ID="4242", GITHUB_RUN_ATTEMPT="2"), "run")
    assert result.returncode == 0, result.stderr
    baseline = head(repo, env)
    [(ref, sha)] = experiment_refs(repo, env).items()
    assert ref == f"refs/exps/{baseline[:2]}/{baseline[2:]}/gh4242-2-1"
    assert (
        run(repo, "git", "show", f"{sha}:params.yaml", env=env)
        == (repo / "params.yaml").read_text()
    )
    assert "[1/1] gh4242-2-1 ok" in result.stderr
    assert "with the params as committed" in result.stderr


def test_a_failed_push_is_reported_after_the_summary_is_written(repo: Path, env, tmp_path):
    missing = tmp_path / "no-such-origin.git"
    result = exp_ci(
        repo,
        env,
        *("run", "--name-prefix", "lonely", "--push", str(missing)),
        *("--summary", str(tmp_path / "s.json")),
    )
    assert result.returncode == 2
    assert "`dvc exp push" in result.stderr and "failed with exit code" in result.stderr
    [entry] = summary_of(tmp_path / "s.json")["experiments"]
    assert (entry["state"], entry["pushed"]) == ("success", False)
    assert len(experiment_refs(repo, env)) == 1  # kept locally, ready for a second try


def test_a_shallow_clone_is_refused_with_the_command_that_fixes_it(sweep_root: Path, env):
    shallow = clone(sweep_root, "shallow", env, depth=1)
    result = exp_ci(shallow, env, "run", "-S", "lr=0.5")
    assert result.returncode == 2
    assert "shallow clone" in result.stderr
    assert "git fetch --unshallow" in result.stderr and "fetch-depth: 0" in result.stderr
    assert "--unshallow" in result.stderr
    assert experiment_refs(shallow, env) == {}


def test_unshallow_fetches_the_history_then_runs(sweep_root: Path, env):
    shallow = clone(sweep_root, "shallow", env, depth=1)
    result = exp_ci(shallow, env, "run", "-S", "lr=0.5", "--unshallow")
    assert result.returncode == 0, result.stderr
    assert run(shallow, "git", "rev-parse", "--is-shallow-repository", env=env).strip() == "false"
    assert len(experiment_refs(shallow, env)) == 1


# --- preflight: refused before any work ---------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-S", "lrr=0.1"], "params.yaml has no param 'lrr' (it has: depth, fail_on, lr)"),
        (["-S", "lr=0.1,,0.2"], "-S 'lr=0.1,,0.2' is not a valid param override"),
        (["-S", "lr="], "-S 'lr=' has no value after '='"),
        (["-S", "nope.yaml:lr=1"], "nope.yaml is not in the commit"),
        (["-S", "lr=1", "-S", "lr=2"], "given twice"),
        (["--push", "upstream"], "--push upstream: there is no Git remote of that name"),
        (["--dvc-remote", "storage"], "--dvc-remote only matters with --push"),
        (["--name-prefix", "bad name"], "--name-prefix 'bad name'"),
        (["--shard", "4/3"], "--shard 4/3"),
        (["--grid", "missing.yaml"], "cannot read --grid missing.yaml"),
        (["--seed", "3"], "--seed only chooses the points of --random N"),
        (["--jobs", "0"], "must be 1 or more"),
    ],
)
def test_bad_input_is_refused_before_anything_runs(repo: Path, env, args, message):
    result = exp_ci(repo, env, "run", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert experiment_refs(repo, env) == {}


def test_push_without_a_dvc_remote_is_refused(repo: Path, env):
    run(repo, "dvc", "remote", "default", "--unset", env=env)
    result = exp_ci(repo, env, "run", "--push", "origin")
    assert result.returncode == 2
    assert "no default DVC remote" in result.stderr
    assert experiment_refs(repo, env) == {}


def test_names_that_exist_already_are_refused(repo: Path, env):
    synthetic_experiment(repo, env, head(repo, env), "nightly-2")
    result = exp_ci(repo, env, "run", "-S", "lr=0.1,0.2", "--name-prefix", "nightly")
    assert result.returncode == 2
    assert "experiments named nightly-2 already exist" in result.stderr
    assert len(experiment_refs(repo, env)) == 1


def test_an_empty_shard_runs_nothing_and_says_so(repo: Path, env, tmp_path: Path):
    (tmp_path / "grid.yaml").write_text("lr: [0.1, 0.2]\ndepth: [1, 2]\n")
    result = exp_ci(
        repo,
        env,
        *("run", "--grid", str(tmp_path / "grid.yaml"), "--random", "2", "--seed", "7"),
        *("--shard", "3/3", "--summary", str(tmp_path / "s.json")),
    )
    assert result.returncode == 0, result.stderr
    assert "nothing to run in shard 3/3" in result.stderr
    summary = summary_of(tmp_path / "s.json")
    assert summary["plan"] == {
        "params": {"lr": ["0.1", "0.2"], "depth": ["1", "2"]},
        "grid_size": 4,
        "random": {"count": 2, "seed": 7},
        "size": 2,
    }
    assert summary["shard"] == {"index": 3, "count": 3}
    assert summary["experiments"] == []
    assert experiment_refs(repo, env) == {}


# --- progress output (no DVC) -------------------------------------------------------------


def outcome(name: str, ok: bool, log: str, value: str = "0.1") -> Outcome:
    task = Task(Point(1, (Setting("lr", value),)), name)
    return Outcome(task, "success" if ok else "failed", 0 if ok else 3, 1.25, log)


def test_actions_output_cannot_be_hijacked_by_an_experiments_log():
    stream = io.StringIO()
    reporter = ActionsReporter({"GITHUB_ACTIONS": "true"}, stream)
    reporter.begin([], 1)
    reporter.finished(outcome("e-1", False, "::endgroup::\n::add-mask::secret\nboom\n"))
    text = stream.getvalue()
    token = text.split("::stop-commands::", 1)[1].split("\n", 1)[0]
    body = text.split(f"::stop-commands::{token}\n", 1)[1].split(f"::{token}::", 1)[0]
    # Commands are off inside, and the lines are also defused (exp_ci.output.inert).
    assert body == ":\\:endgroup::\n:\\:add-mask::secret\nboom\n"
    assert text.index(f"::{token}::") < text.rindex("::endgroup::")
    # The annotation carries the log tail on one line (newlines escaped).
    error = next(line for line in text.splitlines() if line.startswith("::error"))
    assert error.endswith("%0A::endgroup::%0A::add-mask::secret%0Aboom")


def test_plain_output_with_quiet_shows_only_failures():
    stream = io.StringIO()
    reporter = PlainReporter(stream, failures_only=True)
    reporter.begin([], 1)
    reporter.finished(outcome("good-1", True, "fine"))
    reporter.finished(outcome("bad-2", False, "line 1\nline 2\n"))
    assert "good-1" not in stream.getvalue()
    assert "[2/0] bad-2 FAILED (exit 3) in 1.2 s: lr=0.1\n  last lines" in stream.getvalue()


def test_the_progress_bar_prints_param_values_literally():
    stream = io.StringIO()
    reporter = RichReporter(stream)
    task = outcome("e-1", True, "", value="[red]x").task
    reporter.begin([task], 1)
    reporter.started(task)
    reporter.finished(outcome("e-1", True, "", value="[red]x"))
    reporter.end()
    assert "lr=[red]x" in stream.getvalue()


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("environ", "quiet", "stream", "kind"),
    [
        ({"GITHUB_ACTIONS": "true"}, False, Tty(), ActionsReporter),
        ({"GITHUB_ACTIONS": "true"}, True, io.StringIO(), ActionsReporter),
        ({}, False, Tty(), RichReporter),
        ({"CI": "1"}, False, Tty(), PlainReporter),
        ({"TERM": "dumb"}, False, Tty(), PlainReporter),
        ({}, False, io.StringIO(), PlainReporter),
        ({}, True, Tty(), PlainReporter),
    ],
)
def test_the_reporter_suits_where_it_runs(environ, quiet, stream, kind):
    reporter = choose_reporter(environ, quiet=quiet, stdout=io.StringIO(), stderr=stream)
    assert type(reporter) is kind


# --- the distributed example workflow -----------------------------------------------------


@pytest.mark.slow  # starts processes
def test_the_scheduled_sweep_example_is_a_valid_and_safe_workflow():
    workflow = REPO_ROOT / "examples" / "scheduled-sweep.yml"
    bin_dir = Path(__import__("sys").executable).parent
    schema = subprocess.run(
        [bin_dir / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", workflow],
        capture_output=True,
        text=True,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr
    audit = subprocess.run(
        [bin_dir / "zizmor", "--offline", "--persona", "pedantic", workflow],
        capture_output=True,
        text=True,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr

    import yaml

    document = yaml.safe_load(workflow.read_text())
    triggers = document[True]  # YAML 1.1 reads the key `on` as True
    assert {"schedule", "workflow_dispatch"} <= set(triggers)
    assert document["permissions"] == {}
    sweep, collect = document["jobs"]["sweep"], document["jobs"]["collect"]
    shards = sweep["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, int(document["env"]["SHARDS"]) + 1))
    assert sweep["strategy"]["fail-fast"] is False
    assert collect["needs"] == "sweep" and "cancelled()" in collect["if"]
    for job in (sweep, collect):
        checkout = job["steps"][0]
        assert checkout["with"]["fetch-depth"] == 0
        for step in job["steps"]:
            if "uses" in step:
                assert len(step["uses"].split("@")[1]) == 40  # pinned to a commit
            assert "${{" not in step.get("run", "")  # inputs only through env:
    commands = "\n".join(step.get("run", "") for step in sweep["steps"] + collect["steps"])
    assert '--shard "${SHARD}/${SHARDS}" --push origin' in commands
    assert "exp-ci collect origin" in commands
    assert "exp-ci persist" in commands and "--push origin --pr" in commands
    assert "GITHUB_STEP_SUMMARY" in commands


def test_scratch_folders_are_claimed_once_and_reused_after_release(tmp_path: Path):
    from exp_ci.runner import _Slot

    first, second = _Slot.claim(tmp_path), _Slot.claim(tmp_path)
    assert (first.path.name, second.path.name) == ("w1", "w2")
    first.path.mkdir()
    (first.path / "left-over").write_text("")
    first.release()
    assert not first.path.exists()
    again = _Slot.claim(tmp_path)
    assert again.path.name == "w1" and not again.path.exists()
    again.release()
    second.release()


def test_the_summary_says_pushed_only_for_refs_that_reached_origin(
    repo: Path, env, tmp_path: Path, sweep_root: Path
):
    """Defect 7 of issue 15: `pushed` is read back from origin, not assumed. Here a lock
    file that a killed push left on origin stops one of the two refs."""
    baseline = head(repo, env)
    lock = sweep_root / "origin.git" / "refs" / "exps" / baseline[:2] / baseline[2:] / "ro-1.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text("")
    summary = tmp_path / "s.json"
    args = ("run", "-S", "lr=0.4,0.5", "--name-prefix", "ro", "--push", "origin")
    result = exp_ci(repo, env, *args, "--summary", str(summary))
    assert result.returncode == 2
    assert f"`rm '{lock}'`" in result.stderr
    pushed = {e["name"]: e["pushed"] for e in summary_of(summary)["experiments"]}
    on_origin = experiment_refs(repo, env, remote="origin")
    assert pushed == {name: any(r.endswith("/" + name) for r in on_origin) for name in pushed}
    assert pushed["ro-1"] is False
    for sha in experiment_refs(repo, env).values():
        md5 = lock_md5(repo, sha, "model.txt", env)
        assert object_path(sweep_root / "storage", md5).is_file()  # the data went first


def test_one_experiment_without_its_data_does_not_hold_back_the_others(
    repo: Path, env, tmp_path: Path, sweep_root: Path
):
    """Each complete experiment is pushed (verified); the incomplete one is named, stays
    here, and the same command pushes it once its data is back."""
    args = ("run", "-S", "lr=0.41,0.42,0.43", "--name-prefix", "part")
    assert exp_ci(repo, env, *args).returncode == 0
    refs = {ref.rsplit("/", 1)[1]: sha for ref, sha in experiment_refs(repo, env).items()}
    lost = object_path(repo / ".dvc" / "cache", lock_md5(repo, refs["part-2"], "model.txt", env))
    kept = tmp_path / "part-2-model"
    lost.rename(kept)  # as a cache that never had it: not local, not in the remote

    summary = tmp_path / "s.json"
    result = exp_ci(repo, env, *args, "--push", "origin", "--summary", str(summary))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "experiment(s) part-2 record(s)" in result.stderr
    assert "model.txt" in result.stderr and "not in the local cache either" in result.stderr
    assert "reported success" not in result.stderr  # it was never pushed: not local
    assert "So part-2 stayed here, not pushed to origin (the other 2 are on origin" in result.stderr
    assert "rerun the same `exp-ci run ... --push` command" in result.stderr
    on_origin = {
        r.rsplit("/", 1)[1]: sha for r, sha in experiment_refs(repo, env, "origin").items()
    }
    assert on_origin == {"part-1": refs["part-1"], "part-3": refs["part-3"]}
    for name in on_origin:
        md5 = lock_md5(repo, refs[name], "model.txt", env)
        assert object_path(sweep_root / "storage", md5).is_file()
    pushed = {e["name"]: e["pushed"] for e in summary_of(summary)["experiments"]}
    assert pushed == {"part-1": True, "part-2": False, "part-3": True}

    kept.rename(lost)
    rerun = exp_ci(repo, env, *args, "--push", "origin")
    assert rerun.returncode == 0, rerun.stderr
    assert set(experiment_refs(repo, env, "origin").values()) == set(refs.values())
    md5 = lock_md5(repo, refs["part-2"], "model.txt", env)
    assert object_path(sweep_root / "storage", md5).is_file()


# --- issue 15: finished is kept; a rerun of the same command completes ------------------


@pytest.mark.parametrize(
    ("value", "document", "matches"),
    [
        ("0.1", {"lr": 0.1}, True),
        ("0.10", {"lr": 0.1}, True),
        ("0.2", {"lr": 0.1}, False),
        ("sgd", {"lr": "sgd"}, True),
        ("0.1", {}, False),
        ("0.1", None, False),
    ],
)
def test_an_earlier_experiment_matches_a_point_by_its_values(value, document, matches):
    from exp_ci.sweep import Axis, point_matches

    axes = [Axis("params.yaml", "lr", (value,))]
    point = Point(1, (Setting("lr", value),))
    assert point_matches(point, axes, {"params.yaml": document}) is matches


def test_a_rerun_keeps_what_an_earlier_run_finished_and_runs_only_the_rest(repo: Path, env):
    first = exp_ci(repo, env, "run", "-S", "lr=0.1", "--name-prefix", "again")
    assert first.returncode == 0, first.stderr
    [sha] = experiment_refs(repo, env).values()
    # The same prefix and plan, one point more (as after a kill): the first is kept.
    result = exp_ci(repo, env, "run", "-S", "lr=0.1,0.2", "--name-prefix", "again")
    assert result.returncode == 0, result.stderr
    assert "1 experiment(s) finished by an earlier run, kept: again-1" in result.stderr
    refs = experiment_refs(repo, env)
    assert len(refs) == 2 and sha in refs.values()
    # Other values under a taken name are still refused.
    result = exp_ci(repo, env, "run", "-S", "lr=0.3,0.2", "--name-prefix", "again")
    assert result.returncode == 2 and "with other params" in result.stderr


def test_experiments_left_in_a_killed_runs_scratch_clone_are_recovered(repo: Path, env):
    baseline = head(repo, env)
    leftover = repo / ".dvc" / "tmp" / "exp-ci" / "w1"
    leftover.parent.mkdir(parents=True)
    run(repo, "git", "clone", "-q", "--shared", str(repo), str(leftover), env=env)
    sha = synthetic_experiment(leftover, env, baseline, "orphan-1")
    result = exp_ci(repo, env, "run", "-S", "lr=0.1", "--name-prefix", "next")
    assert result.returncode == 0, result.stderr
    assert "kept 1 experiment(s) an interrupted run finished: orphan-1" in result.stderr
    assert experiment_refs(repo, env)[f"refs/exps/{baseline[:2]}/{baseline[2:]}/orphan-1"] == sha
    assert not leftover.exists()


def test_a_worker_keeps_each_experiment_while_the_next_runs_and_reports_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The fetch of one experiment into the project overlaps the next one's run (it waits
    for that run to start: done one after the other, it would time out), and the progress
    lines still come in order: started, finished, started, finished."""
    import queue
    import threading

    from exp_ci import runner

    events: list[str] = []
    running = {name: threading.Event() for name in "abc"}

    class Recorder:
        def begin(self, tasks, jobs):
            pass

        def started(self, task):
            events.append(f"started {task.name}")

        def finished(self, outcome):
            events.append(f"finished {outcome.task.name}")

        def end(self):
            pass

    def fake_run(self, clone, path, task, dvc):
        running[task.name].set()
        ref = runner.experiment_ref("0" * 40, task.name)
        return Outcome(task, "success", 0, 0.1, "", rev="1" * 40, ref=ref)

    def fake_bring_back(self, path, refs):
        name = refs[0].rsplit("/", 1)[-1]
        following = {"a": "b", "b": "c"}.get(name)
        if following is not None:
            assert running[following].wait(timeout=10), f"{name} was not fetched meanwhile"
        events.append(f"fetched {name}")

    class Dvc:
        def alive(self):
            return True

        def close(self):
            pass

    monkeypatch.setattr(runner._Sweep, "_run", fake_run)
    monkeypatch.setattr(runner._Sweep, "_bring_back", fake_bring_back)
    monkeypatch.setattr(runner._Sweep, "_prepare", lambda self, path: None)
    tasks = [Task(Point(i, (Setting("lr", str(i)),)), name) for i, name in enumerate("abc")]
    pending: queue.SimpleQueue[Task] = queue.SimpleQueue()
    for task in tasks:
        pending.put(task)
    sweep = runner._Sweep(None, "0" * 40, pending, Recorder(), tmp_path)  # type: ignore[arg-type]
    sweep.work(tmp_path / "scratch", Dvc())  # type: ignore[arg-type]
    assert sweep.crash is None
    assert [o.task.name for o in sweep.outcomes] == ["a", "b", "c"]
    progress = [event for event in events if not event.startswith("fetched")]
    assert progress == [f"{state} {name}" for name in "abc" for state in ("started", "finished")]
    for name in "abc":  # each one in the project before it is reported
        assert events.index(f"fetched {name}") < events.index(f"finished {name}")
