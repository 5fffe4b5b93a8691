"""Run a composite action's steps locally, as the GitHub Actions runner would, offline.

Composite steps never get `INPUT_*` variables: they see an input only where action.yml
wrote `${{ inputs.NAME }}` (in `env:`, `with:`, `if:`). So this module evaluates those
expressions itself, and only the forms our action uses: `inputs.NAME`, `github.token`,
`github.action_path`, `steps.ID.outputs.NAME`, and in `if:` one of them compared with a
string literal (`==`, `!=`, case-insensitive as in Actions). Any other form raises
`UnsupportedExpression`, so a new expression in action.yml cannot pass unevaluated.

`run:` steps run with `bash --noprofile --norc -eo pipefail FILE` (what `shell: bash`
means), with the files the runner provides: a fresh `GITHUB_OUTPUT`, `GITHUB_ENV`,
`GITHUB_PATH` and `GITHUB_STEP_SUMMARY` per step, read back afterwards (`NAME=VALUE` and
the `NAME<<DELIMITER` heredoc form) into `steps.ID.outputs`, the next steps' environment
and PATH. `uses:` steps need the network (they download an action): they are not run, and
the result says which. A failing step stops the action, as on the runner.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

STEP_KEYS = {"name", "id", "if", "uses", "with", "run", "shell", "env"}
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_COMPARISON = re.compile(r"(?P<left>[A-Za-z0-9_.-]+)\s*(?P<op>==|!=)\s*'(?P<literal>(?:[^']|'')*)'")


class UnsupportedExpression(AssertionError):
    """An expression form this evaluator does not know: the test must fail, not pass."""


@dataclass
class Context:
    inputs: dict[str, str]
    token: str
    action_path: str
    steps: dict[str, dict[str, str]] = field(default_factory=dict)


def evaluate(expression: str, context: Context) -> str:
    """The value of one expression (the text between `${{` and `}}`)."""
    text = expression.strip()
    if match := re.fullmatch(rf"inputs\.({_NAME})", text):
        name = match.group(1)
        if name not in context.inputs:
            raise UnsupportedExpression(f"${{{{ {text} }}}}: the action declares no input {name}")
        return context.inputs[name]
    if text == "github.token":
        return context.token
    if text == "github.action_path":
        return context.action_path
    if match := re.fullmatch(rf"steps\.({_NAME})\.outputs\.({_NAME})", text):
        step, name = match.groups()
        if step not in context.steps:
            raise UnsupportedExpression(f"${{{{ {text} }}}}: no step has id {step}")
        return context.steps[step].get(name, "")  # never set, or the step never ran: ''
    raise UnsupportedExpression(f"expression form not supported by this test: ${{{{ {text} }}}}")


def interpolate(value: object, context: Context) -> str:
    """A string with every `${{ ... }}` replaced, as the runner does in env:/with:."""
    if isinstance(value, bool):
        return str(value).lower()
    return _EXPRESSION.sub(lambda m: evaluate(m.group(1), context), str(value))


def condition(value: object, context: Context) -> bool:
    """An `if:`: `X == 'literal'` or `X != 'literal'`, with or without `${{ }}`."""
    text = str(value).strip()
    if whole := re.fullmatch(r"\$\{\{(.*)\}\}", text, re.DOTALL):
        text = whole.group(1).strip()
    match = _COMPARISON.fullmatch(text)
    if not match:
        raise UnsupportedExpression(f"if: form not supported by this test: {value!r}")
    left = evaluate(match.group("left"), context)
    literal = match.group("literal").replace("''", "'")
    equal = left.casefold() == literal.casefold()
    return equal if match.group("op") == "==" else not equal


def parse_file_commands(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT / GITHUB_ENV: `NAME=VALUE` lines and `NAME<<DELIMITER` heredocs."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index].rstrip("\r")
        index += 1
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            values[line[:equals]] = line[equals + 1 :]
            continue
        if heredoc < 0:
            raise AssertionError(f"malformed file command line: {line!r}")
        name, delimiter = line[:heredoc], line[heredoc + 2 :]
        body: list[str] = []
        while index < len(lines) and lines[index].rstrip("\r") != delimiter:
            body.append(lines[index])
            index += 1
        if index >= len(lines):
            raise AssertionError(f"heredoc {name} is never closed by {delimiter!r}")
        index += 1
        values[name] = "\n".join(body)
    return values


@dataclass
class StepResult:
    name: str
    status: str  # "ran", "skipped: condition false", "skipped: needs the network (uses X)"
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""


@dataclass
class ActionRun:
    steps: list[StepResult]
    outputs: dict[str, str]

    @property
    def network_skipped(self) -> list[str]:
        return [s.name for s in self.steps if s.status.startswith("skipped: needs the network")]

    @property
    def failed(self) -> StepResult | None:
        return next((s for s in self.steps if s.returncode not in (None, 0)), None)

    def step(self, name: str) -> StepResult:
        return next(s for s in self.steps if s.name == name)

    def report(self) -> str:
        """Every step with its status, exit code and output, for assertion messages."""
        parts = []
        for s in self.steps:
            parts.append(f"--- {s.name}: {s.status} (exit {s.returncode})")
            parts.append(f"stdout:\n{s.stdout}\nstderr:\n{s.stderr}")
        return "\n".join(parts)


def load_action(action_dir: Path) -> dict:
    return yaml.safe_load((action_dir / "action.yml").read_text(encoding="utf-8"))


def resolve_inputs(
    definition: Mapping, given: Mapping[str, str], context: Context
) -> dict[str, str]:
    """Given inputs over the defaults (defaults may be expressions, e.g. github.token)."""
    declared = definition.get("inputs") or {}
    unknown = set(given) - set(declared)
    if unknown:
        raise AssertionError(f"inputs the action does not declare: {sorted(unknown)}")
    values: dict[str, str] = {}
    for name, spec in declared.items():
        if name in given:
            values[name] = given[name]
        elif spec.get("required") and "default" not in spec:
            raise AssertionError(f"required input {name} not given")
        else:
            values[name] = interpolate(spec.get("default", ""), context)
    return values


def run_composite(
    action_dir: Path,
    inputs: Mapping[str, str],
    *,
    workspace: Path,
    base_env: Mapping[str, str],
    files_dir: Path,
    token: str = "",
    stop_after: str | None = None,
) -> ActionRun:
    """Run action.yml's steps in order; `base_env` holds the runner's GITHUB_* variables."""
    definition = load_action(action_dir)
    assert definition["runs"]["using"] == "composite"
    context = Context(inputs={}, token=token, action_path=str(action_dir))
    context.inputs = resolve_inputs(definition, inputs, context)
    context.steps = {s["id"]: {} for s in definition["runs"]["steps"] if "id" in s}
    env = dict(base_env)
    env.update(GITHUB_ACTION_PATH=str(action_dir), GITHUB_ACTIONS="true")
    extra_path: list[str] = []
    results: list[StepResult] = []
    for number, step in enumerate(definition["runs"]["steps"], start=1):
        unknown = set(step) - STEP_KEYS
        if unknown:
            raise UnsupportedExpression(f"step keys this test does not run: {sorted(unknown)}")
        name = step.get("name") or f"step {number}"
        if "if" in step and not condition(step["if"], context):
            results.append(StepResult(name, "skipped: condition false"))
            continue
        if "uses" in step:
            for value in (step.get("with") or {}).values():
                interpolate(value, context)  # every expression must still be one we know
            results.append(StepResult(name, f"skipped: needs the network (uses {step['uses']})"))
            continue
        result = run_step(step, name, number, context, env, extra_path, workspace, files_dir)
        results.append(result)
        if "id" in step:
            context.steps[step["id"]] = result.outputs
        if result.returncode != 0 or name == stop_after:
            break
    outputs = {
        name: interpolate(spec.get("value", ""), context)
        for name, spec in (definition.get("outputs") or {}).items()
    }
    return ActionRun(results, outputs)


def run_step(
    step: Mapping,
    name: str,
    number: int,
    context: Context,
    env: dict[str, str],
    extra_path: list[str],
    workspace: Path,
    files_dir: Path,
) -> StepResult:
    if step.get("shell") != "bash":
        raise UnsupportedExpression(f"step {name}: only `shell: bash` is run by this test")
    if "${{" in step["run"]:
        raise AssertionError(f"step {name}: an expression inside run: (use env:)")
    files = {
        kind: files_dir / f"step{number}-{kind.lower()}"
        for kind in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")
    }
    for path in files.values():
        path.write_text("")
    script = files_dir / f"step{number}.sh"
    script.write_text(step["run"])
    step_env = dict(env)
    step_env.update({k: str(v) for k, v in files.items()})
    if extra_path:
        step_env["PATH"] = ":".join([*extra_path, env.get("PATH", "")])
    for key, value in (step.get("env") or {}).items():
        step_env[key] = interpolate(value, context)
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=workspace,
        env=step_env,
        capture_output=True,
        text=True,
    )
    env.update(parse_file_commands(files["GITHUB_ENV"].read_text()))
    extra_path[:0] = [p for p in files["GITHUB_PATH"].read_text().splitlines() if p][::-1]
    return StepResult(
        name,
        "ran",
        done.returncode,
        done.stdout,
        done.stderr,
        parse_file_commands(files["GITHUB_OUTPUT"].read_text()),
        files["GITHUB_STEP_SUMMARY"].read_text(),
    )


def runner_environment(
    env: Mapping[str, str],
    workspace: Path,
    temp_root: Path,
    event_name: str,
    event: Mapping,
    *,
    sha: str = "",
    repository: str = "octo/models",
) -> dict[str, str]:
    """What the runner sets for every step of a job (GITHUB_ACTION_PATH and the per-step
    files are added by run_composite), with the event payload written to a file."""
    event_path = temp_root / f"{event_name}-event.json"
    event_path.write_text(json.dumps(event))
    runner_temp = temp_root / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    return {
        **env,
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": repository,
        "GITHUB_SHA": sha,
        "GITHUB_RUN_ID": "4242",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_WORKSPACE": str(workspace),
        "RUNNER_TEMP": str(runner_temp),
    }


def pull_request_event(base_sha: str, head_sha: str, head_repo: str = "octo/models") -> dict:
    return {
        "action": "synchronize",
        "number": 7,
        "pull_request": {
            "number": 7,
            "base": {"sha": base_sha, "ref": "main", "repo": {"full_name": "octo/models"}},
            "head": {"sha": head_sha, "ref": "tune-lr", "repo": {"full_name": head_repo}},
        },
        "repository": {"full_name": "octo/models"},
    }
