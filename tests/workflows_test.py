"""action.yml and the ready-to-copy files in examples/: valid, safe, and wired together.

Linters: `check-jsonschema` with its vendored GitHub schemas (actions, workflows),
`zizmor --offline --persona pedantic` (its strictest persona; one finding is suppressed
inline, with its reason: `dangerous-triggers` on the workflow_run half of the fork-safe
pair, which that pattern needs), `pre-commit validate-config`. Then the structure a copy
relies on, and the fork-safe pair simulated end to end, offline, on the sample project.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from exp_ci.action import ActionInputs
from tests.helpers.composite import (
    Context,
    load_action,
    pull_request_event,
    run_composite,
    run_step,
    runner_environment,
)
from tests.helpers.project import run

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = REPO_ROOT / "examples"
WORKFLOWS = sorted(EXAMPLES.glob("*.yml"))
BIN = Path(sys.executable).parent
SHA = re.compile(r"[0-9a-f]{40}")
EXP_CI_ACTION = re.compile(r"[A-Za-z0-9-]+/exp-ci@[0-9a-f]{40}")


def tool(name: str, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BIN / name, *map(str, args)], capture_output=True, text=True)


def load(path: Path) -> dict:
    document = yaml.safe_load(path.read_text())
    if True in document:  # YAML 1.1 reads the key `on` as True
        document["on"] = document.pop(True)
    return document


def steps_of(document: dict) -> list[dict]:
    return [step for job in document["jobs"].values() for step in job["steps"]]


def exp_ci_steps(document: dict) -> list[dict]:
    return [s for s in steps_of(document) if EXP_CI_ACTION.fullmatch(s.get("uses", ""))]


# --- linters ---------------------------------------------------------------------------------


def test_every_example_workflow_is_covered():
    names = {p.name for p in WORKFLOWS}
    assert {
        "pr-experiments.yml",
        "pr-comparison.yml",
        "scheduled-sweep.yml",
        "fork-safe-experiments.yml",
        "fork-safe-comment.yml",
    } <= names


@pytest.mark.parametrize(
    ("schema", "path"),
    [("vendor.github-actions", REPO_ROOT / "action.yml")]
    + [("vendor.github-workflows", path) for path in WORKFLOWS],
    ids=lambda value: value.name if isinstance(value, Path) else value,
)
def test_check_jsonschema_validates_the_action_and_every_workflow(schema: str, path: Path):
    done = tool("check-jsonschema", "--builtin-schema", schema, path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_pedantic_finds_nothing_in_the_action_and_the_workflows():
    done = tool(
        "zizmor",
        "--offline",
        "--color",
        "never",
        "--persona",
        "pedantic",
        REPO_ROOT / "action.yml",
        *WORKFLOWS,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout
    # The one suppression, with its reason, where the fork-safe pattern needs workflow_run.
    suppressed = [
        (path.name, rule)
        for path in [REPO_ROOT / "action.yml", *WORKFLOWS]
        for rule in re.findall(r"zizmor: ignore\[([a-z-]+)\] \S.{20,}", path.read_text())
    ]
    assert suppressed == [("fork-safe-comment.yml", "dangerous-triggers")]
    assert "(1 ignored)" in done.stdout


def test_the_pre_commit_example_is_valid_and_uses_the_hook_of_this_repository():
    config = EXAMPLES / ".pre-commit-config.yaml"
    done = tool("pre-commit", "validate-config", config)
    assert done.returncode == 0, done.stdout + done.stderr
    hooks = {h["id"]: h for h in yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())}
    document = yaml.safe_load(config.read_text())
    used = [hook for repo in document["repos"] for hook in repo["hooks"]]
    assert [hook["id"] for hook in used] == ["exp-ci-check-pushed"]
    assert set(used[0]["stages"]) <= set(hooks["exp-ci-check-pushed"]["stages"])
    assert "pre-push" in used[0]["stages"]
    # `pre-commit install` alone installs the pre-push hook too.
    assert set(document["default_install_hook_types"]) == {"pre-commit", "pre-push"}


# --- what every workflow keeps to ------------------------------------------------------------


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_workflow_has_least_privilege_pinned_actions_and_no_expressions_in_scripts(
    path: Path,
):
    document = load(path)
    assert document["permissions"] == {}  # nothing by default; each job asks for its own
    for job in document["jobs"].values():
        assert "permissions" in job and "write-all" not in str(job["permissions"])
        assert "timeout-minutes" in job
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), step  # values only through env:
            if "uses" in step:
                assert SHA.fullmatch(step["uses"].split("@", 1)[1]), step["uses"]
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
                assert step["with"]["fetch-depth"] == 0


def test_each_action_is_pinned_to_the_same_commit_everywhere():
    pins: dict[str, set[str]] = {}
    action_steps = load_action(REPO_ROOT)["runs"]["steps"]
    for step in action_steps + [s for p in WORKFLOWS for s in steps_of(load(p))]:
        if "uses" in step and not EXP_CI_ACTION.fullmatch(step["uses"]):
            name, sha = step["uses"].split("@", 1)
            pins.setdefault(name, set()).add(sha)
    assert pins and all(len(shas) == 1 for shas in pins.values()), pins


@pytest.mark.parametrize(
    "path", [p for p in WORKFLOWS if exp_ci_steps(load(p))], ids=lambda p: p.name
)
def test_the_action_is_used_with_inputs_it_declares_and_accepts(path: Path):
    declared = load_action(REPO_ROOT)["inputs"]
    for step in exp_ci_steps(load(path)):
        given = step.get("with") or {}
        assert set(given) <= set(declared), set(given) - set(declared)
        environ = {"EXP_CI_" + k.upper().replace("-", "_"): str(v) for k, v in given.items()}
        ActionInputs.from_environ(environ)  # raises on a value the action would refuse


def test_pr_experiments_runs_gates_and_comments_on_pull_requests():
    document = load(EXAMPLES / "pr-experiments.yml")
    assert set(document["on"]) == {"pull_request"}
    (job,) = document["jobs"].values()
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    (step,) = exp_ci_steps(document)
    inputs = ActionInputs.from_environ(
        {"EXP_CI_" + k.upper().replace("-", "_"): str(v) for k, v in step["with"].items()}
    )
    assert inputs.run and inputs.metric and inputs.gate_limit and inputs.comment
    assert step["id"] == "exp-ci"


# --- the fork-safe pair ----------------------------------------------------------------------


def fork_safe_pair() -> tuple[dict, dict]:
    return load(EXAMPLES / "fork-safe-experiments.yml"), load(EXAMPLES / "fork-safe-comment.yml")


def test_the_fork_safe_pair_never_runs_fork_code_with_a_write_token():
    reader, poster = fork_safe_pair()
    assert set(reader["on"]) == {"pull_request"}  # never pull_request_target
    for job in reader["jobs"].values():
        assert set(job["permissions"].values()) == {"read"}
    trigger = poster["on"]["workflow_run"]
    assert trigger["workflows"] == [reader["name"]] and trigger["types"] == ["completed"]
    (job,) = poster["jobs"].values()
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    assert "github.event.workflow_run.event == 'pull_request'" in job["if"]
    for step in job["steps"]:
        assert not step.get("uses", "").startswith("actions/checkout@")
        script = step.get("run", "")
        assert "requirements" not in script and "pip install ." not in script
        assert "dvc" not in script.split()  # nothing of the project runs here
    # The artifact: uploaded by the reader from the body exp-ci saved, downloaded by the
    # poster from that run into RUNNER_TEMP, posted from there.
    (exp_ci_step,) = exp_ci_steps(reader)
    saved = exp_ci_step["with"]["save-body"]
    upload = next(s for s in steps_of(reader) if "upload-artifact" in s.get("uses", ""))
    download = next(s for s in job["steps"] if "download-artifact" in s.get("uses", ""))
    assert upload["with"]["path"] == saved
    assert download["with"]["name"] == upload["with"]["name"]
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    assert download["with"]["path"] == "${{ runner.temp }}/exp-ci-comment"
    post = job["steps"][-1]
    assert post["run"] == f'exp-ci comment --body-file "${{RUNNER_TEMP}}/exp-ci-comment/{saved}"'


def test_the_fork_safe_pair_works_end_to_end_offline(
    project: Path, env: dict[str, str], baselines: dict[str, str], tmp_path: Path
):
    """Part 1's exp-ci step, with the example's own inputs, on the sample project (a fork's
    pull request; no token, so nothing is posted: the body is saved); the artifact handed
    over as download-artifact would; part 2's posting step in an empty workspace."""
    reader, poster = fork_safe_pair()
    (exp_ci_step,) = exp_ci_steps(reader)
    head = run(project, "git", "rev-parse", "HEAD", env=env).strip()
    event = pull_request_event(baselines["first"], head, head_repo="someone/models")
    files = tmp_path / "files"
    files.mkdir()
    part1 = run_composite(
        REPO_ROOT,
        {**exp_ci_step["with"], "version": "installed"},  # installed here; no PyPI
        workspace=project,
        base_env=runner_environment(env, project, tmp_path, "pull_request", event, sha=head),
        files_dir=files,
        token="",
    )
    assert part1.failed is None, part1.report()
    assert part1.outputs["best"] == "lr-high" and part1.outputs["gate"] == "pass"
    saved = project / exp_ci_step["with"]["save-body"]
    body = saved.read_text()
    assert "lr-high ★" in body and "<!-- exp-ci:" not in body

    # download-artifact puts the file in RUNNER_TEMP/exp-ci-comment of another runner.
    workspace = tmp_path / "empty-workspace"
    workspace.mkdir()
    (poster_temp := tmp_path / "poster").mkdir()
    run_event = {
        "action": "completed",
        "workflow_run": {
            "id": 99,
            "event": "pull_request",
            "conclusion": "failure",
            "head_sha": head,
            "head_branch": "tune-lr",
            "pull_requests": [],
            "head_repository": {"full_name": "someone/models", "owner": {"login": "someone"}},
        },
        "repository": {"full_name": "octo/models"},
    }
    base_env = runner_environment(env, workspace, poster_temp, "workflow_run", run_event, sha="")
    artifact = Path(base_env["RUNNER_TEMP"]) / "exp-ci-comment"
    artifact.mkdir()
    shutil.copy(saved, artifact / saved.name)
    post = {**poster["jobs"]["comment"]["steps"][-1], "shell": "bash"}
    context = Context(inputs={}, token="", action_path="")
    result = run_step(post, post["name"], 1, context, base_env, [], workspace, files)
    assert result.returncode == 0, result.stdout + result.stderr
    # No token here either (offline): exp-ci says it did not post, and puts the saved body,
    # as is, in the job summary.
    assert "::warning title=exp-ci comment::the pull request comment was not posted" in (
        result.stdout
    )
    assert body.strip() in result.summary
    assert list(workspace.iterdir()) == []  # nothing checked out, nothing written there
