"""action.yml and the ready-to-copy files in examples/: valid, safe, and wired together.

Linters: `check-jsonschema` with its vendored GitHub schemas (actions, workflows),
`zizmor --offline --persona pedantic` (its strictest persona; one finding is suppressed
inline, with its reason: `dangerous-triggers` on the workflow_run half of the fork-safe
pair, which that pattern needs), `pre-commit validate-config`. Then the structure a copy
relies on, and the fork-safe pair simulated end to end, offline, on the sample project.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from exp_ci.action import ActionInputs
from tests.helpers.act import (
    EXP_CI_USES,
    PR,
    TOKEN,
    Act,
    ActRun,
    git,
    keep_local_dvc_config,
    pull_request_event,
    stubs,
)
from tests.helpers.github_api import REPOSITORY, FakeGitHub
from tests.helpers.github_server import serve_github
from tests.helpers.project import run

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = REPO_ROOT / "examples"
WORKFLOWS = sorted(EXAMPLES.glob("*.yml"))
BIN = Path(sys.executable).parent
SHA = re.compile(r"[0-9a-f]{40}")
EXP_CI_ACTION = re.compile(r"[A-Za-z0-9-]+/exp-ci@[0-9a-f]{40}")


def tool(name: str, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BIN / name, *map(str, args)], capture_output=True, text=True)


def load_action(root: Path) -> dict:
    return yaml.safe_load((root / "action.yml").read_text())


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


@pytest.mark.slow  # starts processes
@pytest.mark.parametrize(
    ("schema", "path"),
    [("vendor.github-actions", REPO_ROOT / "action.yml")]
    + [("vendor.github-workflows", path) for path in WORKFLOWS],
    ids=lambda value: value.name if isinstance(value, Path) else value,
)
def test_check_jsonschema_validates_the_action_and_every_workflow(schema: str, path: Path):
    done = tool("check-jsonschema", "--builtin-schema", schema, path)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow  # starts processes
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


@pytest.mark.slow  # starts processes
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


# --- GitHub's own parser: @actions/languageservice (tests/render/validate_workflows.mjs) ------

RENDER = REPO_ROOT / "tests" / "render"
DOCUMENTS = [REPO_ROOT / "action.yml", *WORKFLOWS]

# A broken copy of a document (name, text replaced, by what) and what the service must say.
BROKEN = {
    "an input exp-ci's action does not declare": (
        "pr-experiments.yml", "          metric: auc\n", "          metrc: auc\n",
        "Invalid action input 'metrc'",
    ),
    "an input setup-python does not declare": (
        "pr-comparison.yml", 'python-version: "3.12"', 'python-versio: "3.12"',
        "Invalid action input 'python-versio'",
    ),
    "an unknown function": (
        "pr-experiments.yml", "${{ steps.exp-ci.outputs.best }}",
        "${{ fromJSONX(steps.exp-ci.outputs.best) }}", "Unrecognized function: 'fromJSONX'",
    ),
    "an expression that does not parse": (
        "fork-safe-experiments.yml", "${{ !cancelled() }}", "${{ !cancelled( }}",
        "Unexpected end of expression",
    ),
    "an unknown context": (
        "scheduled-sweep.yml", "${{ matrix.shard }}", "${{ matrx.shard }}",
        "Unrecognized named-value: 'matrx'",
    ),
    "action.yml: an unknown function": (
        "action.yml", "${{ inputs.metric }}", "${{ frobnicate(inputs.metric) }}",
        "Unrecognized function: 'frobnicate'",
    ),
    "action.yml: a misspelt key": (
        "action.yml", "      id: exp-ci\n      shell: bash", "      id: exp-ci\n      shel: bash",
        "Unexpected value 'shel'",
    ),
}  # fmt: skip


def language_service_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (RENDER / "node_modules" / "@actions" / "languageservice").is_dir():
        return "@actions/languageservice is not installed: run `npm ci --prefix tests/render`"
    return None


@pytest.fixture(scope="module")
def language_service(tmp_path_factory) -> dict[str, list[dict]]:
    """What GitHub's language service says of each document and each broken copy, by name."""
    from tests.helpers.pinned_actions import metadata

    missing = language_service_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the language service test cannot run in CI: {missing}")
        pytest.skip(missing)
    action = load_action(REPO_ROOT)
    ours = {key: action[key] for key in ("name", "description", "inputs", "outputs")}
    documents = {path.name: (path.as_uri(), path.read_text()) for path in DOCUMENTS}
    for case, (name, old, new, _) in BROKEN.items():
        text = documents[name][1]
        assert old in text, (case, old)
        folder = "broken-" + re.sub(r"\W+", "-", case)
        broken_uri = f"file:///{folder}/{name}"  # action.yml keeps its name: its own schema
        documents[case] = (broken_uri, text.replace(old, new))
    request = tmp_path_factory.mktemp("language-service") / "request.json"
    request.write_text(
        json.dumps(
            {
                "files": [{"uri": uri, "text": text} for uri, text in documents.values()],
                "actions": metadata() | {EXP_CI_USES.split("@")[0]: ours},
            }
        )
    )
    done = subprocess.run(
        ["node", str(RENDER / "validate_workflows.mjs"), str(request)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]
    return {name: r["diagnostics"] for name, r in zip(documents, results, strict=True)}


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_githubs_language_service_finds_nothing_in_the_action_and_the_workflows(
    language_service, path: Path
):
    assert language_service[path.name] == []


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_githubs_language_service_catches_a_broken_copy(language_service, case: str):
    expected = BROKEN[case][3]
    errors = [d["message"] for d in language_service[case] if d["severity"] == "error"]
    assert any(expected in message for message in errors), errors


def test_the_stubs_of_the_runner_tests_declare_only_inputs_the_real_actions_have():
    from tests.helpers.act import STUBS
    from tests.helpers.pinned_actions import INPUTS_AND_OUTPUTS

    for action, text in STUBS.items():
        declared = set(yaml.safe_load(text)["inputs"])
        assert declared <= set(INPUTS_AND_OUTPUTS[action][0]), action


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


# --- every example as written, in a real runner (act) -----------------------------------------


@pytest.fixture
def github():
    with serve_github(token=TOKEN) as fake:
        yield fake


def runner_for(workdir: Path, env, runner_env, action_checkout, github: FakeGitHub, scratch):
    """act on `workdir` as a runner checks it out, exp-ci's action the checkout's copy."""
    if "github" not in git(workdir, "remote", env=env).split():
        git(workdir, "remote", "add", "github", f"https://github.com/{REPOSITORY}.git", env=env)
    if (workdir / ".dvc").is_dir():
        keep_local_dvc_config(workdir)
        # What `pip install -r requirements.txt` installs: here, already there (no index).
        (workdir / "requirements.txt").write_text("dvc\nPyYAML\n")
    scratch.mkdir(parents=True, exist_ok=True)
    return Act(
        workdir,
        scratch,
        runner_env,
        github.api,
        TOKEN,
        [f"{EXP_CI_USES}={action_checkout}", *stubs(scratch / "stubs")],
    )


def ok(result: ActRun, *jobs: str) -> ActRun:
    assert result.returncode == 0, result.report()
    for job in jobs:
        assert set(result.job_results()[job]) == {"success"}, result.report()
    return result


def test_pr_experiments_runs_the_sweep_gates_and_posts_one_comment(
    project: Path, env, baselines, runner_env, action_checkout, github, tmp_path
):
    run(project, "dvc", "push", "-q", env=env)  # what `dvc pull` in the job brings back
    head = git(project, "rev-parse", "HEAD", env=env)
    github.add_pull(PR, head_sha=head)
    act = runner_for(project, env, runner_env, action_checkout, github, tmp_path / "act")
    event = pull_request_event(baselines["first"], head)
    done = ok(act.run(EXAMPLES / "pr-experiments.yml", "pull_request", event), "experiments")
    log = done.log()
    assert "stub setup-python 3.12" in log
    # The example's last step reads the action's outputs: lr-high (0.85) stays the best of
    # HEAD's experiments (the sweep's lr values are lower), and it passes the gate.
    assert "best experiment: lr-high\n" in log and "gate: pass\n" in log
    (comment,) = github.marked(PR)
    table = comment["body"]
    for lr in ("0.001", "0.01", "0.1"):
        assert re.search(rf"\| {re.escape(lr)} +\|", table), lr
    assert "lr-high ★" in table and "#### Gate: ✅ pass" in table
    assert "lr-high ★" in done.summary()
    assert github.statuses == []  # gate-status is not asked for


def test_pr_comparison_reproduces_compares_gates_and_comments(
    env, runner_env, action_checkout, github, tmp_path, pr_checkout
):
    root = pr_checkout.root
    github.add_pull(PR, head_sha=pr_checkout.head, head_ref="tune-lr")
    act = runner_for(root, env, runner_env, action_checkout, github, tmp_path / "act")
    event = pull_request_event(pr_checkout.base, pr_checkout.head)
    done = ok(act.run(EXAMPLES / "pr-comparison.yml", "pull_request", event), "compare")
    log = done.log()
    # dvc repro ran (lr 0.3: auc 0.65 against the base's 0.55), the Δ is an output.
    delta = re.search(r"auc against the base: (\S+)\n", log)
    assert delta and float(delta.group(1)) == pytest.approx(0.1), log
    assert "gate: pass\n" in log
    (comment,) = github.marked(PR)
    body = comment["body"]
    assert "workspace (pull request)" in body and "main (base)" in body
    assert "xychart-beta" in body  # the curve
    assert re.search(r"\| train\.lr +\| 0\.1 +\| 0\.3 +\|", body)
    assert "#### Gate: ✅ pass" in body


def test_the_fork_safe_pair_saves_the_body_then_posts_it_from_workflow_run(
    project: Path, env, baselines, runner_env, action_checkout, github, tmp_path
):
    """Part 1 on a fork's pull request (a read-only token: writes answer 403), its body
    handed over as an artifact; part 2 on workflow_run, in an empty repository, posts it."""
    head = git(project, "rev-parse", "HEAD", env=env)
    github.add_pull(PR, head_ref="tune-lr", head_sha=head, head_repo="someone/project")
    github.read_only = True
    act = runner_for(project, env, runner_env, action_checkout, github, tmp_path / "act")
    event = pull_request_event(baselines["first"], head, head_repo="someone/project")
    part1 = ok(act.run(EXAMPLES / "fork-safe-experiments.yml", "pull_request", event))
    warnings = [w["arg"] for w in part1.commands("warning")]
    assert any("the pull request comment was not posted" in w for w in warnings), warnings
    assert github.marked(PR) == [] and github.calls("POST")  # it tried, and was refused
    saved = part1.artifacts / "exp-ci-comment" / "exp-ci-comment.md"
    body = saved.read_text()
    assert "lr-high ★" in body and "<!-- exp-ci:" not in body

    github.read_only = False  # the base repository's token
    empty = tmp_path / "poster"
    empty.mkdir()
    git(empty, "init", "-q", "-b", "main", env=env)
    git(empty, "commit", "-q", "--allow-empty", "-m", "default branch", env=env)
    poster = runner_for(empty, env, runner_env, action_checkout, github, tmp_path / "act")
    run_event = {
        "action": "completed",
        "workflow_run": {
            "id": 4242,
            "name": "fork-safe-experiments",
            "event": "pull_request",
            "conclusion": "success",
            "head_sha": head,
            "head_branch": "tune-lr",
            "pull_requests": [],  # GitHub leaves it empty for forks
            "head_repository": {"full_name": "someone/project", "owner": {"login": "someone"}},
        },
        "repository": {"full_name": REPOSITORY},
    }
    part2 = ok(act.run(EXAMPLES / "fork-safe-comment.yml", "workflow_run", run_event), "comment")
    assert "stub download-artifact exp-ci-comment of run 4242" in part2.log()
    (comment,) = github.marked(PR)
    assert body.strip() in comment["body"]
    assert part2.step_results("comment")["Post it as the sticky comment"] == "success"
    del poster


def test_the_scheduled_sweep_shards_collects_and_keeps_the_winner_with_a_pull_request(
    project: Path, env, runner_env, action_checkout, github, tmp_path
):
    (project / "sweep.yaml").write_text("train.lr: [0.4, 0.5, 0.6, 0.7]\n")
    act = runner_for(project, env, runner_env, action_checkout, github, tmp_path / "act")
    done = ok(
        act.run(EXAMPLES / "scheduled-sweep.yml", "schedule", {"schedule": "17 2 * * *"}),
        "sweep",
        "collect",
    )
    assert len(done.job_results()["sweep"]) == 4  # the matrix: one job per shard
    origin = project.parent / "project-origin.git"
    pushed = git(origin, "for-each-ref", "--format=%(refname)", "refs/exps", env=env).split()
    assert len(pushed) == 4, pushed  # every shard pushed its one experiment
    # The winner (lr 0.7) is a branch on origin with a pull request carrying the table.
    branches = git(origin, "for-each-ref", "--format=%(refname:short)", "refs/heads/sweep", env=env)
    (branch,) = branches.split()
    (pull,) = github.pulls
    assert pull["head_ref"] == branch and pull["base_ref"] == "main"
    assert pull["body"].startswith("<!-- exp-ci:persist -->") and "★" in pull["body"]
    assert "| 0.7 " in pull["body"]
    assert "Nightly sweep of" in done.summary("collect")
    assert github.seen_tokens == {f"token {TOKEN}"}
