"""The composite GitHub Action (action.yml + exp_ci/action.py).

The action is executed step by step as the runner would (tests/helpers/composite.py: inputs
reach the steps only through the `${{ }}` expressions of `env:`, with the Actions files in
place) against the real sample DVC project, offline: the comment runs without a token, and
steps that need the network are reported, not run.
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
from tests.helpers.composite import (
    Context,
    UnsupportedExpression,
    condition,
    evaluate,
    load_action,
    parse_file_commands,
    pull_request_event,
    run_composite,
    runner_environment,
)
from tests.helpers.project import run

REPO_ROOT = Path(__file__).resolve().parent.parent
SHA = re.compile(r"[0-9a-f]{40}")


# --- running the action against the real project ---------------------------------------------


def git(root: Path, *args: str, env: dict[str, str]) -> str:
    return run(root, "git", *args, env=env).strip()


def run_action_here(project: Path, env: dict, inputs: dict[str, str], base_sha: str, **kw):
    head = git(project, "rev-parse", "HEAD", env=env)
    event = pull_request_event(base_sha, head)
    files = project.parent / "step-files"
    files.mkdir(exist_ok=True)
    return run_composite(
        REPO_ROOT,
        inputs,
        workspace=project,
        base_env=runner_environment(env, project, project.parent, "pull_request", event, sha=head),
        files_dir=files,
        **kw,
    )


def test_the_action_runs_gates_keeps_and_comments_on_a_real_project(
    project: Path, env: dict[str, str], baselines: dict[str, str]
):
    inputs = {
        "python-version": "3.12",
        "version": "installed",
        "run": "-S train.lr=0.15 --name-prefix ci",
        "metric": "auc",
        "persist": "branch",
        "name-template": "ci/{name}",
        "push": "origin",
        "comment": "true",
        "marker": "pr-experiments",
        "save-body": "exp-ci-comment.md",
        "gate-max-drop": "0.01",
    }
    second = baselines["second"]
    lr_high = git(project, "rev-parse", f"refs/exps/{second[:2]}/{second[2:]}/lr-high", env=env)
    lock = yaml.safe_load(git(project, "show", f"{lr_high}:dvc.lock", env=env))
    cached = next(o for o in lock["stages"]["train"]["outs"] if o["path"] == "cached.json")
    data = project.parent / "project-storage" / "files" / "md5" / cached["md5"][:2]
    data /= cached["md5"][2:]
    assert not data.exists()

    result = run_action_here(project, env, inputs, base_sha=baselines["first"], token="")
    print(f"not run, they need the network: {result.network_skipped}")
    assert result.network_skipped == ["Set up Python"], result.report()
    assert result.failed is None, result.report()
    main = result.step("Run exp-ci")
    out = result.outputs

    # The sweep ran: a real experiment ci-1 on HEAD's commit, beside the fixture's.
    names = git(project, "for-each-ref", "--format=%(refname:lstrip=-1)", "refs/exps", env=env)
    assert "ci-1" in names.split()
    # The winner by auc is still lr-high (0.85; ci-1 has 0.7).
    assert (out["best"], out["best-rev"]) == ("lr-high", lr_high)
    # Kept as a branch, pushed to the bare origin, its data in the DVC remote first.
    assert out["branch"] == "ci/lr-high" and out["tag"] == ""
    origin = project.parent / "project-origin.git"
    assert git(origin, "rev-parse", "refs/heads/ci/lr-high", env=env) == lr_high
    assert data.is_file()
    # The markdown table, winner marked, the new experiment in it.
    table = Path(out["table-file"]).read_text()
    assert table.startswith("| Experiment") and "lr-high ★" in table and "ci-1" in table
    # The gate: lr-high (0.85) against the pull request's base (first baseline, 0.65).
    assert out["gate"] == "pass"
    assert "::notice title=exp-ci gate::" in main.stdout
    # No token: the comment is not posted, but it is in the job summary and saved for a
    # workflow_run workflow; never a failure.
    assert out["comment-url"] == ""
    assert "::warning title=exp-ci comment::the pull request comment was not posted" in (
        main.stdout
    )
    assert "lr-high ★" in main.summary and "ci-1" in main.summary
    saved = (project / "exp-ci-comment.md").read_text()
    assert "lr-high ★" in saved and "ci-1" in saved


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


def test_a_regression_fails_the_action_after_the_table_the_winner_and_the_comment(
    project: Path, env: dict[str, str]
):
    base = commit_with_metric(project, env, auc=0.99)
    inputs = {"version": "installed", "metric": "auc", "gate-max-drop": "5%", "comment": "true"}
    result = run_action_here(project, env, inputs, base_sha=base, token="")
    main = result.step("Run exp-ci")
    assert main.returncode == 1, result.report()
    assert result.outputs["gate"] == "fail"
    errors = [line for line in main.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and "0.99" in errors[0] and "0.85" in errors[0], main.stdout
    assert result.outputs["best"] == "lr-high"
    assert Path(result.outputs["table-file"]).is_file()
    assert "lr-high ★" in main.summary  # the comment step still ran: the table explains why


def test_without_a_comment_the_table_goes_to_the_job_summary(project: Path, env, baselines):
    inputs = {"version": "installed", "comment": "false"}
    result = run_action_here(project, env, inputs, base_sha=baselines["first"])
    assert result.failed is None, result.report()
    assert result.step("Set up Python").status == "skipped: condition false"
    assert result.network_skipped == []
    main = result.step("Run exp-ci")
    assert main.summary.startswith("\n### Experiments\n\n| Experiment")
    assert "└── lr-high" in main.summary and "::warning" not in main.stdout
    assert Path(result.outputs["table-file"]).read_text() in main.summary
    # No metric: nothing is ranked, gated or kept.
    outputs = result.outputs
    assert (outputs["best"], outputs["gate"], outputs["branch"], outputs["comment-url"]) == (
        ("", "", "", "")
    )


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"persist": "maybe"}, "input persist must be none, branch or tag, not 'maybe'"),
        ({"comment": "yes"}, "input comment must be true or false, not 'yes'"),
        ({"gate-max-drop": "a lot"}, "input gate-max-drop must be a number"),
        ({"persist": "branch"}, "persist: branch needs a metric"),
        ({"run": "-S 'train.lr=0.1"}, "input run cannot be split into arguments"),
    ],
)
def test_a_wrong_input_stops_the_action_with_exit_2_and_says_which(
    project: Path, env, baselines, inputs: dict[str, str], message: str
):
    result = run_action_here(
        project, env, {"version": "installed", **inputs}, base_sha=baselines["first"]
    )
    main = result.step("Run exp-ci")
    assert main.returncode == 2 and message in main.stderr, result.report()
    assert "Traceback" not in main.stderr


# --- the install step ------------------------------------------------------------------------

STUB_PYTHON = """#!/bin/bash
printf '%s\\n' "$*" >> "$STUB_LOG"
if [ "$1" = -c ]; then exit "${STUB_IMPORT_RC:-0}"; fi
"""


@pytest.mark.parametrize(
    ("version", "import_rc", "returncode", "calls", "message"),
    [
        (
            "",
            0,
            0,
            ["-m pip install --disable-pip-version-check {action}", "-m exp_ci --version"],
            "",
        ),
        (
            "1.2.0",
            0,
            0,
            ["-m pip install --disable-pip-version-check exp-ci==1.2.0", "-m exp_ci --version"],
            "",
        ),
        ("installed", 0, 0, ["-c import exp_ci", "-m exp_ci --version"], ""),
        ("installed", 1, 2, ["-c import exp_ci"], "the Python on PATH has no exp-ci"),
        ("1.0 --index-url=http://evil", 0, 2, [], "version must be empty, 'installed' or"),
        ("$(touch pwned)", 0, 2, [], "version must be empty, 'installed' or"),
    ],
)
def test_the_install_step_installs_the_actions_own_checkout_or_a_release(
    tmp_path: Path, version: str, import_rc: int, returncode: int, calls: list[str], message: str
):
    stubs = tmp_path / "bin"
    stubs.mkdir()
    (stubs / "python").write_text(STUB_PYTHON)
    (stubs / "python").chmod(0o755)
    log = tmp_path / "python-calls"
    log.touch()
    (tmp_path / "files").mkdir()
    result = run_composite(
        REPO_ROOT,
        {"version": version},
        workspace=tmp_path,
        base_env={
            "PATH": f"{stubs}:/usr/bin:/bin",
            "STUB_LOG": str(log),
            "STUB_IMPORT_RC": str(import_rc),
        },
        files_dir=tmp_path / "files",
        stop_after="Install exp-ci",
    )
    step = result.step("Install exp-ci")
    assert step.returncode == returncode, result.report()
    expected = [c.format(action=REPO_ROOT) for c in calls]
    assert log.read_text().splitlines() == expected
    assert message in step.stdout
    assert not (tmp_path / "pwned").exists()
    assert [s.name for s in result.steps] == ["Set up Python", "Install exp-ci"]


# --- action.yml itself -----------------------------------------------------------------------


def test_every_input_reaches_the_main_step_through_env_and_every_output_from_it():
    action = load_action(REPO_ROOT)
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


@pytest.mark.parametrize(
    "expression",
    [
        "github.event.pull_request.title",
        "inputs.metric || 'auc'",
        "format('{0}', inputs.metric)",
        "secrets.GITHUB_TOKEN",
        "steps.nope.outputs.best",
        "inputs.no-such-input",
    ],
)
def test_the_local_runner_refuses_expressions_it_does_not_evaluate(expression: str):
    context = Context(inputs={"metric": "auc"}, token="", action_path="/a")
    with pytest.raises(UnsupportedExpression):
        evaluate(expression, context)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("inputs.python-version != ''", True),
        ("${{ inputs.python-version == '3.12' }}", True),
        ("inputs.python-version == 'X'", False),
        ("inputs.metric == 'AUC'", True),  # Actions compares strings ignoring case
    ],
)
def test_the_local_runner_evaluates_if_comparisons(text: str, expected: bool):
    context = Context(inputs={"python-version": "3.12", "metric": "auc"}, token="", action_path="")
    assert condition(text, context) is expected


def test_the_local_runner_reads_both_forms_of_file_commands():
    text = "best=lr-high\ntable<<EOF_1\n| a |\n| b = c |\nEOF_1\nempty=\n"
    assert parse_file_commands(text) == {
        "best": "lr-high",
        "table": "| a |\n| b = c |",
        "empty": "",
    }


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
