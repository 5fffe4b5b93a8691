"""The composite GitHub Action (action.yml + exp_ci/action.py).

action.yml runs in a real Actions runner (act, tests/helpers/act.py): `uses:` a clean copy
of this checkout, the third-party actions stubbed, GitHub's REST API the local fake of
tests/helpers/github_server.py. It installs its own checkout (the default `version`) into
the runner's throwaway Python, runs on a real DVC project with a bare origin and a local
DVC remote, and the tests read the fake's state (the sticky comment, the status), the
Git and DVC remotes and the step outputs as the next step of the job sees them. Then the
pure parts of exp_ci/action.py.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from exp_ci.action import (
    ActionInputs,
    Command,
    Winner,
    command_environment,
    comment_command,
    comparison_command,
    delta_from,
    gate_command,
    persist_command,
    run_action,
    run_command,
    winner_from,
)
from exp_ci.errors import UserError
from exp_ci.sticky.format import assemble
from tests.helpers.act import (
    EXP_CI_USES,
    PR,
    TOKEN,
    Act,
    ActionRun,
    action_workflow,
    pull_request_event,
    run_the_action,
    stubs,
)
from tests.helpers.file_commands import parse_file_commands
from tests.helpers.github_api import BOT, REPOSITORY
from tests.helpers.github_server import serve_github
from tests.helpers.project import run

REPO_ROOT = Path(__file__).resolve().parent.parent
SHA = re.compile(r"[0-9a-f]{40}")


# --- the action in a real runner --------------------------------------------------------------


def git(root: Path, *args: str, env: dict[str, str]) -> str:
    return run(root, "git", *args, env=env).strip()


@pytest.fixture
def github():
    with serve_github(token=TOKEN) as fake:
        yield fake


def stored(storage: Path, md5: str) -> Path:
    return storage / "files" / "md5" / md5[:2] / md5[2:]


def test_the_action_runs_gates_keeps_and_comments_on_a_real_project(
    project: Path, env, baselines, runner_env, action_checkout, github, tmp_path
):
    inputs = {
        "python-version": "3.12",
        "run": "-S train.lr=0.45 --name-prefix ci",
        "metric": "auc",
        "persist": "branch",
        "name-template": "ci/{name}",
        "push": "origin",
        "comment": "true",
        "marker": "pr-experiments",
        "save-body": "exp-ci-comment.md",
        "gate-max-drop": "0.01",
        "gate-status": "true",
    }
    head = git(project, "rev-parse", "HEAD", env=env)
    github.add_pull(PR, head_sha=head)
    github.seed(PR, 101)  # the sticky comment is on the second page
    stale = github.add_comment(PR, assemble("pr-experiments", {"default": "stale"}), BOT)
    done = run_the_action(
        project, env, runner_env, action_checkout, github, inputs, baselines["first"], tmp_path
    )
    assert done.result.returncode == 0, done.result.report()
    assert done.outcome == "success"
    assert "stub setup-python 3.12" in done.log  # the input reached setup-python's `with:`
    out = done.outputs
    # act also shows the inner step's undeclared outputs (nektos/act#2553; GitHub does not):
    # every output the job sees must be declared, so a renamed one cannot hide behind that.
    declared = set(load_action()["outputs"])
    assert set(out) - declared == {"comment-id", "rev"}, set(out) ^ declared
    assert declared <= set(out)

    # The sweep ran in the job: ci-1 (auc 1.0) beats lr-high (0.85). It is kept as a branch,
    # pushed to the bare origin, and the data it made is in the DVC remote.
    origin = project.parent / "project-origin.git"
    assert out["best"] == "ci-1" and SHA.fullmatch(out["best-rev"])
    assert out["branch"] == "ci/ci-1" and out["tag"] == ""
    assert git(origin, "rev-parse", "refs/heads/ci/ci-1", env=env) == out["best-rev"]
    lock = yaml.safe_load(git(origin, "show", f"{out['best-rev']}:dvc.lock", env=env))
    cached = next(o for o in lock["stages"]["train"]["outs"] if o["path"] == "cached.json")
    assert stored(project.parent / "project-storage", cached["md5"]).is_file()
    # The table, the gate (lr-high 0.85 against the base's 0.65) and its Δ.
    assert done.table.startswith("| Experiment") and "ci-1 ★" in done.table
    assert "lr-high" in done.table
    assert out["gate"] == "pass" and float(out["delta"]) == pytest.approx(0.35)
    (notice,) = done.result.commands("notice")
    assert notice["kvPairs"]["title"] == "exp-ci gate" and "lr-high" not in notice["arg"]
    assert done.result.commands("error") == []
    (status,) = github.statuses
    assert (status["sha"], status["state"], status["context"]) == (head, "success", "exp-ci/gate")
    # One sticky comment, the stale one edited in place, with the table; its URL an output.
    (comment,) = github.marked(PR, "pr-experiments")
    assert comment["id"] == stale["id"] and "stale" not in comment["body"]
    assert "ci-1 ★" in comment["body"] and "lr-high" in comment["body"]
    assert out["comment-url"] == comment["html_url"]
    assert len(github.bodies(PR)) == 102
    assert github.seen_tokens == {f"token {TOKEN}"}
    assert TOKEN not in done.log
    # The job summary has the table and the gate's verdict.
    summary = done.result.summary()
    assert "ci-1 ★" in summary and "#### Gate: ✅ pass" in summary
    saved = (done.result.artifacts / "exp-ci-comment.md").read_text()
    assert "ci-1 ★" in saved and saved.strip() in comment["body"]


def commit_with_metric(project: Path, env: dict[str, str], auc: float) -> str:
    """A commit (HEAD plus a better metrics.json) made with Git plumbing: the gate's base."""
    index = project.parent / "base-index"
    plumbing = {**env, "GIT_INDEX_FILE": str(index)}
    blob = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"],
        cwd=project,
        env=plumbing,
        input=json.dumps({"auc": auc, "loss": {"val": 0.1}}),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    git(project, "read-tree", "HEAD", env=plumbing)
    git(project, "update-index", "--cacheinfo", f"100644,{blob},metrics.json", env=plumbing)
    tree = git(project, "write-tree", env=plumbing)
    return git(project, "commit-tree", tree, "-p", "HEAD", "-m", "a better base", env=env)


def test_a_regression_fails_the_job_after_the_table_the_comment_and_the_status(
    project: Path, env, runner_env, action_checkout, github, tmp_path
):
    base = commit_with_metric(project, env, auc=0.99)
    head = git(project, "rev-parse", "HEAD", env=env)
    github.add_pull(PR, head_sha=head)
    inputs = {"metric": "auc", "gate-max-drop": "5%", "comment": "true", "gate-status": "true"}
    done = run_the_action(project, env, runner_env, action_checkout, github, inputs, base, tmp_path)
    assert done.result.returncode != 0
    assert done.outcome == "failure"
    assert done.result.step_results()["keep what the action left"] == "success"
    assert done.outputs["gate"] == "fail" and done.outputs["best"] == "lr-high"
    (error,) = done.result.commands("error")
    assert error["kvPairs"]["title"] == "exp-ci gate"
    assert "metrics.json:auc 0.99 -> 0.85" in error["arg"]
    assert "#### Gate: ❌ fail" in done.result.summary()
    # The comment and the status still say why.
    (comment,) = github.marked(PR)
    assert "lr-high ★" in comment["body"] and "fail" in comment["body"].lower()
    (status,) = github.statuses
    assert (status["sha"], status["state"]) == (head, "failure")


def test_without_a_comment_the_table_goes_to_the_job_summary_only(
    project: Path, env, baselines, runner_env, action_checkout, github, tmp_path
):
    github.add_pull(PR)
    done = run_the_action(
        project,
        env,
        runner_env,
        action_checkout,
        github,
        {"comment": "false"},
        baselines["first"],
        tmp_path,
    )
    assert done.result.returncode == 0, done.result.report()
    assert "stub setup-python" not in done.log  # python-version empty: the step is skipped
    assert "└── lr-high" in done.table and done.table in done.result.summary()
    # No metric: nothing is ranked, gated or kept; GitHub is not asked anything.
    outputs = done.outputs
    assert (outputs["best"], outputs["gate"], outputs["branch"], outputs["comment-url"]) == (
        ("", "", "", "")
    )
    assert github.requests == []


def test_a_wrong_input_stops_the_action_with_exit_2_and_says_which(
    project: Path, env, baselines, runner_env, action_checkout, github, tmp_path
):
    done = run_the_action(
        project,
        env,
        runner_env,
        action_checkout,
        github,
        {"persist": "maybe", "comment": "true"},
        baselines["first"],
        tmp_path,
    )
    assert done.outcome == "failure"
    assert "input persist must be none, branch or tag, not 'maybe'" in done.log
    assert "Traceback" not in done.log
    assert github.requests == []


# --- the install step, in the runner with a stub Python -----------------------------------

STUB_PYTHON = """#!/bin/bash
# The action's own checkout (GITHUB_ACTION_PATH, with its action.yml) is logged by name.
line="$*"
if [ -n "${GITHUB_ACTION_PATH:-}" ] && [ -f "${GITHUB_ACTION_PATH}/action.yml" ]; then
  line="${line//"$GITHUB_ACTION_PATH"/ACTION_PATH}"
fi
printf '%s\\n' "$line" >> "$STUB_LOG"
if [ "$1" = -c ]; then exit "${STUB_IMPORT_RC:-0}"; fi
"""


@pytest.mark.parametrize(
    ("version", "import_rc", "outcome", "calls", "message"),
    [
        ("", 0, "success", ["-m pip install --disable-pip-version-check ACTION_PATH",
                            "-m exp_ci --version", "-m exp_ci.action"], ""),
        ("1.2.0", 0, "success", ["-m pip install --disable-pip-version-check exp-ci==1.2.0",
                                 "-m exp_ci --version", "-m exp_ci.action"], ""),
        ("installed", 0, "success", ["-c import exp_ci", "-m exp_ci --version",
                                     "-m exp_ci.action"], ""),
        ("installed", 1, "failure", ["-c import exp_ci"], "the Python on PATH has no exp-ci"),
        ("1.0 --index-url=http://evil", 0, "failure", [], "version must be empty, 'installed' or"),
        ("$(touch pwned)", 0, "failure", [], "version must be empty, 'installed' or"),
    ],
)  # fmt: skip
def test_the_install_step_installs_the_actions_own_checkout_or_a_release(
    tmp_path: Path, env, runner_env, action_checkout, github, version, import_rc, outcome, calls,
    message,
):  # fmt: skip
    stubs_dir = tmp_path / "bin"
    stubs_dir.mkdir()
    (stubs_dir / "python").write_text(STUB_PYTHON)
    (stubs_dir / "python").chmod(0o755)
    log = tmp_path / "python-calls"
    log.touch()
    workdir = tmp_path / "repository"
    workdir.mkdir()
    git(workdir, "init", "-q", "-b", "main", env=env)
    git(workdir, "commit", "-q", "--allow-empty", "-m", "empty", env=env)
    git(workdir, "remote", "add", "github", f"https://github.com/{REPOSITORY}.git", env=env)
    stub_env = {
        **runner_env,
        "PATH": f"{stubs_dir}:/usr/bin:/bin",
        "STUB_LOG": str(log),
        "STUB_IMPORT_RC": str(import_rc),
    }
    head = git(workdir, "rev-parse", "HEAD", env=env)
    scratch = tmp_path / "act"
    scratch.mkdir()
    workflow = scratch / "action-workflow.yml"
    workflow.write_text(yaml.safe_dump(action_workflow({"version": version}), sort_keys=False))
    act = Act(
        workdir,
        scratch,
        stub_env,
        github.api,
        TOKEN,
        [f"{EXP_CI_USES}={action_checkout}", *stubs(scratch / "stubs")],
    )
    done = ActionRun(act.run(workflow, "pull_request", pull_request_event(head, head)))
    assert done.outcome == outcome, done.result.report()
    recorded = log.read_text().splitlines()
    assert recorded == calls
    errors = [e["arg"] for e in done.result.commands("error")]
    assert (errors and message in errors[0]) if message else errors == []
    assert not any(p.name == "pwned" for p in tmp_path.rglob("pwned"))


# --- action.yml itself -----------------------------------------------------------------------


def load_action() -> dict:
    return yaml.safe_load((REPO_ROOT / "action.yml").read_text())


def test_every_input_reaches_the_main_step_through_env_and_every_output_from_it():
    action = load_action()
    steps = action["runs"]["steps"]
    main = next(s for s in steps if s.get("id") == "exp-ci")
    used_elsewhere = {"python-version", "version"}
    for name in action["inputs"]:
        if name in used_elsewhere:
            continue
        variable = "EXP_CI_" + name.upper().replace("-", "_")
        assert main["env"][variable] == f"${{{{ inputs.{name} }}}}", name
    assert len(main["env"]) == len(action["inputs"]) - len(used_elsewhere)
    for name, spec in action["outputs"].items():
        assert spec["value"] == f"${{{{ steps.exp-ci.outputs.{name} }}}}"
    for step in steps:
        assert "${{" not in step.get("run", ""), step["name"]
        if "uses" in step:
            ref = step["uses"].split("@", 1)[1]
            assert SHA.fullmatch(ref), step["uses"]  # pinned to a commit
    assert action["branding"]["icon"] and action["branding"]["color"]
    assert action["inputs"]["token"]["default"] == "${{ github.token }}"


# --- exp_ci/action.py: inputs and the plan (pure) --------------------------------------------


def inputs_env(**values: str) -> dict[str, str]:
    return {"EXP_CI_" + k.upper(): v for k, v in values.items()}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, ActionInputs()),
        (
            {"run": "-S 'train.lr=0.1,0.2' --jobs 2", "metric": "auc", "direction": "min"},
            ActionInputs(
                run=("-S", "train.lr=0.1,0.2", "--jobs", "2"), metric="auc", direction="min"
            ),
        ),
        ({"gate_max_drop": "0.01"}, ActionInputs(gate_limit=("--max-drop", "0.01"))),
        ({"gate_max_drop": "2.5%"}, ActionInputs(gate_limit=("--max-drop-pct", "2.5"))),
        ({"gate_max_drop": "0"}, ActionInputs(gate_limit=("--max-drop", "0"))),
        (
            {"comment": "False", "gate_status": "TRUE"},
            ActionInputs(comment=False, gate_status=True),
        ),
        ({"persist": "tag", "push": " origin "}, ActionInputs(persist="tag", push="origin")),
        ({"run": "   "}, ActionInputs(run=None)),
        ({"gate_against": "main"}, ActionInputs(against="main")),  # the old name still works
        ({"gate_against": "old", "against": "main"}, ActionInputs(against="main")),
        (
            {"rev": "lr-high", "chart": "true", "curve": "true", "trend": "10"},
            ActionInputs(rev="lr-high", chart=True, curve="", trend=10),
        ),
        ({"curve": "loss.tsv:loss", "chart": "false"}, ActionInputs(curve="loss.tsv:loss")),
    ],
)
def test_inputs_are_read_from_the_environment(values: dict[str, str], expected: ActionInputs):
    assert ActionInputs.from_environ(inputs_env(**values)) == expected


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"direction": "up"}, "input direction must be max or min"),
        ({"gate_max_drop": "-1"}, "input gate-max-drop must be a number of 0 or more"),
        ({"gate_max_drop": "nan"}, "input gate-max-drop"),
        ({"gate_max_drop": "%"}, "input gate-max-drop"),
        ({"gate_status": "1"}, "input gate-status must be true or false"),
        ({"trend": "0"}, "input trend must be a whole number of 1 or more"),
        ({"trend": "ten"}, "input trend must be a whole number"),
        ({"chart": "yes"}, "input chart must be true or false"),
    ],
)
def test_wrong_inputs_are_user_errors(values: dict[str, str], message: str):
    with pytest.raises(UserError, match=re.escape(message)):
        ActionInputs.from_environ(inputs_env(**values))


def test_the_token_is_hidden_from_repr():
    assert "s3cret" not in repr(ActionInputs(token="s3cret"))


@pytest.mark.parametrize(
    ("run_args", "with_token"),
    [
        (("-S", "lr=1,2"), False),
        (("--push", "origin"), True),
        (("--push=origin", "--jobs", "2"), True),
        (("-S", "note=--push"), False),
    ],
)
def test_the_sweep_gets_the_token_only_when_it_pushes(run_args: tuple[str, ...], with_token):
    command = run_command(ActionInputs(run=run_args))
    assert command == Command(("run", "-C", ".", *run_args), with_token=with_token)


def test_the_commands_environment_drops_the_inputs_and_adds_the_token_only_when_asked():
    environ = {"PATH": "/bin", "EXP_CI_TOKEN": "t0k", "EXP_CI_RUN": "-S a=1"}
    assert command_environment(environ, "t0k", with_token=False) == {"PATH": "/bin"}
    assert command_environment(environ, "t0k", with_token=True) == {
        "PATH": "/bin",
        "GITHUB_TOKEN": "t0k",
    }
    assert command_environment(environ, None, with_token=True) == {"PATH": "/bin"}


def _shown(*experiments: dict) -> dict:
    """A `show --format json` document with these experiments under one baseline."""
    return {"baselines": [{"rev": "c" * 40, "experiments": list(experiments)}]}


def test_gate_persist_and_comment_arguments():
    document = _shown(
        {"name": "other", "rev": "d" * 40, "winner": False},
        {"name": "lr-high", "rev": "a" * 40, "ref": "refs/exps/x/lr-high", "winner": True},
    )
    winner = winner_from(document)
    assert winner == Winner("lr-high", "a" * 40, "refs/exps/x/lr-high")
    inputs = ActionInputs(
        directory="proj",
        metric="auc",
        direction="max",
        persist="branch",
        name_template="keep/{name}",
        push="origin",
        marker="m",
        save_body="body.md",
        gate_limit=("--max-drop-pct", "2"),
        against="origin/main",
        rev="lr-high",
        chart=True,
    )
    metric = ("--metric", "auc", "--direction", "max")
    # The gate judges what the table and the comment judge: the same base, the same row.
    assert gate_command(inputs) == Command(
        ("gate", "-C", "proj", *metric, "--max-drop-pct", "2", "--against", "origin/main",
         "--rev", "lr-high", "--no-summary")
    )  # fmt: skip
    assert comparison_command(inputs, Path("c.json")) == Command(
        ("show", "-C", "proj", "--format", "json", *metric, "--against", "origin/main",
         "--judge", "lr-high", "-o", "c.json")
    )  # fmt: skip
    assert persist_command(inputs, winner) == Command(
        ("persist", "-C", "proj", "refs/exps/x/lr-high", "--as", "branch", *metric,
         "--name", "keep/{name}", "--push", "origin"),
        with_token=True,
    )  # fmt: skip
    assert persist_command(inputs, None) is None
    assert comment_command(inputs) == Command(
        ("comment", "-C", "proj", *metric, "--against", "origin/main", "--judge", "lr-high",
         "--chart", "--max-drop-pct", "2", "--marker", "m", "--save-body", "body.md"),
        with_token=True,
    )  # fmt: skip
    assert comment_command(ActionInputs(comment=False)) is None
    assert winner_from(_shown()) is None and winner_from([]) is None
    assert delta_from({"comparison": {"subject": {"delta": 0.25}}}) == 0.25
    assert delta_from({"comparison": None}) is None


# --- exp_ci/action.py: the order, and what a failure stops (fake commands) -------------------


class FakeCommands:
    """Records each exp-ci command; answers with scripted exit codes, writes what it would."""

    def __init__(self, codes: dict[str, int], *, winner: bool = True) -> None:
        self.codes = codes
        self.winner = winner
        self.called: list[str] = []

    def __call__(self, command: Command) -> int:
        name = command.args[0]
        if name == "show" and "json" in command.args:
            name = "compare"  # the comparison as JSON: the winner and the Δ
        self.called.append(name)
        if "-o" in command.args:
            path = Path(command.args[command.args.index("-o") + 1])
            winner = {"name": "lr-high", "rev": "b" * 40, "ref": "refs/exps/b/lr-high"}
            shown = _shown({**winner, "winner": True}) if self.winner else _shown()
            document = {**shown, "comparison": {"subject": {"delta": 0.125}}}
            is_json = "json" in command.args
            path.write_text(json.dumps(document) if is_json else "| Experiment |\n")
        return self.codes.get(name, 0)


EVERYTHING = ActionInputs(
    run=("-S", "lr=1,2"), metric="auc", persist="branch", gate_limit=("--max-drop", "0")
)
ALL_COMMANDS = ["run", "show", "compare", "gate", "persist", "comment"]


@pytest.mark.parametrize(
    ("codes", "called", "returncode"),
    [
        ({}, ALL_COMMANDS, 0),
        ({"run": 1}, ALL_COMMANDS, 1),  # failed experiments: the others still compared
        ({"gate": 1}, ALL_COMMANDS, 1),  # a regression: still kept and commented, then red
        ({"run": 2}, ["run"], 2),  # the input or environment is wrong: stop
        ({"show": 2}, ["run", "show"], 2),
        ({"compare": 2}, ["run", "show", "compare"], 2),
        ({"persist": 2}, ["run", "show", "compare", "gate", "persist"], 2),
        ({"comment": 2}, ALL_COMMANDS, 2),
    ],
)
def test_the_commands_run_in_order_and_only_exit_2_stops_them(
    tmp_path: Path, codes: dict[str, int], called: list[str], returncode: int
):
    fake = FakeCommands(codes)
    environ = {"GITHUB_OUTPUT": str(tmp_path / "output")}
    (tmp_path / "output").touch()
    assert run_action(EVERYTHING, environ, fake, tmp_path) == returncode
    assert fake.called == called
    outputs = parse_file_commands((tmp_path / "output").read_text())
    if "compare" in called and codes.get("compare", 0) == 0:
        assert (outputs["best"], outputs["best-rev"]) == ("lr-high", "b" * 40)
        assert outputs["delta"] == "0.125"
    if "show" in called and codes.get("show", 0) == 0:
        assert outputs["table-file"] == str(tmp_path / "table.md")


def test_without_an_experiment_to_rank_nothing_is_kept(tmp_path: Path):
    fake = FakeCommands({}, winner=False)
    environ = {"GITHUB_OUTPUT": str(tmp_path / "output")}
    (tmp_path / "output").touch()
    assert run_action(EVERYTHING, environ, fake, tmp_path) == 0
    assert fake.called == ["run", "show", "compare", "gate", "comment"]
    outputs = parse_file_commands((tmp_path / "output").read_text())
    assert "best" not in outputs and outputs["delta"] == "0.125"
