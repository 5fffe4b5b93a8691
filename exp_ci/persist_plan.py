"""What `exp-ci persist` will write, decided before anything is written (pure).

Ref names come from templates and are checked with Git's own `check-ref-format` rules;
each ref is compared with what exists locally and on the Git remote, so a rerun finds
everything "up to date" and a ref that points elsewhere is a conflict that names both
commits. No Git, no DVC, no I/O here; the texts written with the refs (tag messages,
`exp-ci apply`'s commit message, the pull-request body) are in `exp_ci.render.messages`.

Templates (`--name`, `--title`, the action's `name-template`) take only the placeholders
themselves, each with an optional format spec (`{name}`, `{value:.3f}`); attribute access,
indexing, conversions and unknown fields are UserErrors, so a template cannot reach Python
objects (`{name.__class__...}`) or the environment.

Namespaces: experiment names come from whoever ran the experiment, so a ref name made from
a template stays in the folder the template's author chose. A template's namespace is its
literal text before the first placeholder, up to and including the last `/` (`exp/{name}`:
`exp/`; `kept/{date}-{name}`: `kept/`). Every name it makes starts with that text (`..` is
refused by Git's rules, so a value cannot climb out). A template with placeholders but
without a namespace (`{name}`, `best-{name}`, `v{name}`) is refused: there an experiment
named `main` or `1.0` would create or, with --force, move `main` or `v1.0`. A template
without placeholders is a name the user wrote out, and may be any branch or tag.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from exp_ci.errors import UserError
from exp_ci.model import SHORT_SHA, Experiment, MetricSpec
from exp_ci.refnames import ref_format_error
from exp_ci.select import metric_value

PLACEHOLDERS = ("name", "rev", "baseline", "metric", "value", "date")
MAX_FORMAT_NUMBER = 100  # widths and precisions in a template's format specs


class Kind(str, Enum):
    BRANCH = "branch"
    TAG = "tag"

    @property
    def prefix(self) -> str:
        return "refs/heads/" if self is Kind.BRANCH else "refs/tags/"


DEFAULT_TEMPLATES = {Kind.BRANCH: "exp/{name}", Kind.TAG: "exp/{name}-{rev}"}

# --- Git ref names ------------------------------------------------------------------------


def short_name_error(kind: Kind, name: str) -> str | None:
    """Why `name` cannot be a branch or tag name, or None (as `git branch`/`git tag` judge)."""
    if name.startswith("-"):
        return "it starts with '-' (it would read as an option)"
    if kind is Kind.BRANCH and name == "HEAD":
        return "'HEAD' is not a branch name Git allows"
    return ref_format_error(kind.prefix + name)


# --- templates ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Number:
    """A metric value in a template: shortest form by default, `{value:.3f}` works too."""

    value: float
    precision: int

    def __format__(self, spec: str) -> str:
        from exp_ci.render.formats import format_value

        return format(self.value, spec) if spec else format_value(self.value, self.precision)


def template_values(
    experiment: Experiment, metric: MetricSpec | None, precision: int
) -> dict[str, Any]:
    """What each placeholder stands for; `metric`/`value` only when ranked by a metric.

    `{date}` is the day the experiment ran (UTC), not today, so a rerun names the same ref.
    """
    values: dict[str, Any] = {
        "name": experiment.label,
        "rev": experiment.rev[:SHORT_SHA],
        "baseline": experiment.baseline_rev[:SHORT_SHA],
        "date": experiment.created.strftime("%Y-%m-%d"),
    }
    if metric is not None:
        values["metric"] = metric.key
        value = metric_value(experiment, metric)
        if value is not None:
            values["value"] = _Number(value, precision)
    return values


def _parse(template: str, option: str) -> list[tuple[str, str | None, str | None, str | None]]:
    try:
        return list(string.Formatter().parse(template))
    except ValueError as error:
        raise UserError(
            f"{option} '{template}' is not a valid template ({error}). Use {_known()}; write "
            "a literal brace as {{ or }}."
        ) from None


def _known() -> str:
    return " ".join("{" + p + "}" for p in PLACEHOLDERS)


def _check_field(template: str, field: str, spec: str, conversion: str | None, option: str):
    shown = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
    shown += "}"
    allowed = f"Use {_known()}, each with an optional format spec such as {{value:.3f}}."
    if conversion is not None:
        raise UserError(
            f"{option} '{template}' uses the conversion {shown}; conversions (!r, !s, !a) are "
            f"not allowed in templates. {allowed}"
        )
    if field not in PLACEHOLDERS:
        if any(mark in field for mark in ".["):
            raise UserError(
                f"{option} '{template}' reaches into a value with {shown}; attribute access "
                f"and indexing are not allowed in templates. {allowed}"
            )
        raise UserError(f"{option} '{template}' has the unknown placeholder {shown}. {allowed}")
    if "{" in spec or "}" in spec:
        raise UserError(
            f"{option} '{template}' nests a placeholder in the format spec of {shown}; "
            f"format specs are plain text. {allowed}"
        )
    if any(int(number) > MAX_FORMAT_NUMBER for number in re.findall(r"[0-9]+", spec)):
        raise UserError(
            f"{option} '{template}' asks for more than {MAX_FORMAT_NUMBER} characters or "
            f"digits in {shown}. {allowed}"
        )


def render_template(template: str, values: Mapping[str, Any], *, option: str) -> str:
    """Fill a `{placeholder}` template; every mistake is a UserError naming `option`.

    Only the placeholders themselves and format specs: attribute access (`{name.x}`),
    indexing (`{name[0]}`) and conversions (`{name!r}`) are refused, since `str.format`
    would reach Python objects through them. Filled piece by piece, never by `format_map`.
    """
    parsed = _parse(template, option)
    for _, field, spec, conversion in parsed:
        if field is not None:
            _check_field(template, field, spec or "", conversion, option)
    for _, field, _, _ in parsed:
        if field is not None and field not in values:
            needs = (
                "the experiment has no numeric value for the metric"
                if field == "value" and "metric" in values
                else "pass --metric (or set `metric:` in .exp-ci.yaml)"
            )
            raise UserError(f"{option} '{template}' uses {{{field}}}: {needs}.")
    out = []
    for literal, field, spec, _ in parsed:
        out.append(literal)
        if field is None:
            continue
        try:
            out.append(format(values[field], spec or ""))
        except (ValueError, TypeError) as error:
            raise UserError(f"{option} '{template}' cannot be filled in: {error}.") from None
    return "".join(out)


def template_namespace(template: str) -> str | None:
    """The folder a template's names land in: its literal text before the first
    placeholder, up to and including the last `/` ('' when there is none). None for a
    template without placeholders: a name the user wrote out."""
    parsed = list(string.Formatter().parse(template))
    prefix = []
    for literal, field, _, _ in parsed:
        prefix.append(literal)
        if field is not None:
            text = "".join(prefix)
            return text[: text.rfind("/") + 1]
    return None


# --- the plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A branch or tag to point at an experiment commit."""

    experiment: Experiment
    kind: Kind
    name: str  # short: exp/lr-high
    message: str | None = None  # the annotated tag's message

    @property
    def ref(self) -> str:
        return self.kind.prefix + self.name


@dataclass(frozen=True)
class RefState:
    """Where an existing ref points: its object (a tag object for annotated tags), peeled."""

    object: str
    commit: str


class Action(str, Enum):
    CREATE = "create"
    UPDATE = "update"  # only with --force
    UP_TO_DATE = "up to date"


@dataclass(frozen=True)
class RefStep:
    target: Target
    local: Action
    local_old: RefState | None
    remote: Action | None = None  # None: not pushed
    remote_old: RefState | None = None


def make_target(
    experiment: Experiment,
    kind: Kind,
    template: str | None,
    metric: MetricSpec | None,
    precision: int,
    message: str | None = None,
) -> Target:
    """The branch or tag for one experiment, its name checked before anything is written."""
    chosen = template or DEFAULT_TEMPLATES[kind]
    values = template_values(experiment, metric, precision)
    name = render_template(chosen, values, option="--name")
    problem = short_name_error(kind, name)
    if problem:
        raise UserError(
            f"--name '{chosen}' gives the {kind.value} name '{name}' for experiment "
            f"{experiment.label}, which Git rejects: {problem}. Change the template."
        )
    namespace = template_namespace(chosen)
    if namespace == "":
        raise UserError(
            f"--name '{chosen}' lets the experiment choose the whole {kind.value} name "
            f"('{name}' for experiment {experiment.label}), so an experiment named like an "
            f"existing {kind.value} (main, v1.0) would create or move it. Start the template "
            "with a folder of your own, such as exp/{name}; to use one fixed name, write it "
            "without placeholders."
        )
    return Target(experiment, kind, name, message if kind is Kind.TAG else None)


def _action(
    state: RefState | None, target: Target, force: bool, where: str, conflicts: list[str]
) -> Action:
    if state is None:
        return Action.CREATE
    if state.commit == target.experiment.rev:
        return Action.UP_TO_DATE
    if not force:
        conflicts.append(
            f"{target.kind.value} {target.name} points at "
            f"{state.commit[:SHORT_SHA] or state.object[:SHORT_SHA]} {where}, not at "
            f"{target.experiment.rev[:SHORT_SHA]} (experiment {target.experiment.label})"
        )
    return Action.UPDATE


def _path_conflict(ref: str, existing: Sequence[str]) -> str | None:
    """An existing ref that is a folder or a file where `ref` needs the other (Git refuses)."""
    for other in existing:
        if other != ref and (other.startswith(ref + "/") or ref.startswith(other + "/")):
            return other
    return None


def plan_refs(
    targets: Sequence[Target],
    local: Mapping[str, RefState],
    remote: Mapping[str, RefState] | None = None,
    *,
    force: bool = False,
    remote_name: str = "the remote",
) -> tuple[RefStep, ...]:
    """Compare every target with the refs that exist; refuse conflicts unless forced.

    `local` holds every local branch and tag; `remote` the targets' refs on the Git
    remote (None when nothing is pushed). All problems are reported together.
    """
    problems: list[str] = []
    by_ref: dict[str, Target] = {}
    for target in targets:
        earlier = by_ref.setdefault(target.ref, target)
        if earlier is not target and earlier.experiment.rev != target.experiment.rev:
            problems.append(
                f"experiments {earlier.experiment.ref or earlier.experiment.rev} and "
                f"{target.experiment.ref or target.experiment.rev} would both become "
                f"{target.kind.value} {target.name}; add {{rev}} or {{baseline}} to --name"
            )
    conflicts: list[str] = []
    steps = []
    for target in by_ref.values():
        clash = _path_conflict(target.ref, list(local))
        if clash is not None:
            problems.append(
                f"{target.ref} cannot exist next to the existing {clash}; choose another --name"
            )
        local_action = _action(local.get(target.ref), target, force, "here", conflicts)
        remote_action = None
        if remote is not None:
            where = f"on {remote_name}"
            remote_action = _action(remote.get(target.ref), target, force, where, conflicts)
        steps.append(
            RefStep(
                target,
                local_action,
                local.get(target.ref),
                remote_action,
                None if remote is None else remote.get(target.ref),
            )
        )
    if conflicts:
        problems.append(
            "; ".join(conflicts) + ". Nothing was changed. Pass --force to move them, or "
            "choose another name with --name"
        )
    if problems:
        raise UserError(". ".join(problems) + ".")
    return tuple(steps)


# --- what is said about the plan ----------------------------------------------------------


def _tense(done: bool, present: str, past: str) -> str:
    return past if done else f"would {present}"


def local_line(step: RefStep, *, done: bool) -> str:
    target = step.target
    what = f"{target.kind.value} {target.name}"
    at = target.experiment.rev[:SHORT_SHA]
    about = f"(experiment {target.experiment.label})"
    if step.local is Action.UP_TO_DATE:
        return f"{what} is up to date at {at} {about}"
    if step.local is Action.UPDATE and step.local_old is not None:
        old = step.local_old.commit[:SHORT_SHA]
        return f"{_tense(done, 'move', 'moved')} {what} from {old} to {at} {about}, --force"
    return f"{_tense(done, 'create', 'created')} {what} at {at} {about}"


def data_line(experiment: Experiment, dvc_remote: str, pushed: int, *, done: bool) -> str:
    if not done:
        return (
            f"would check that DVC remote '{dvc_remote}' has the data of experiment "
            f"{experiment.label}, and push what it lacks"
        )
    sent = f"{pushed} object(s) pushed" if pushed else "nothing to push"
    return (
        f"the data of experiment {experiment.label} is in DVC remote '{dvc_remote}' "
        f"(checked there; {sent})"
    )


def exp_ref_line(experiment: Experiment, git_remote: str, *, done: bool) -> str:
    return f"{_tense(done, 'push', 'pushed')} {experiment.ref} to {git_remote}"


def remote_line(step: RefStep, git_remote: str, *, done: bool) -> str:
    target = step.target
    what = f"{target.kind.value} {target.name}"
    if step.remote is Action.UP_TO_DATE:
        return f"{what} is up to date on {git_remote}"
    if step.remote is Action.UPDATE and step.remote_old is not None:
        old = step.remote_old.commit[:SHORT_SHA]
        verb = _tense(done, "force-push", "force-pushed")
        return f"{verb} {what} to {git_remote} (it was at {old} there)"
    return f"{_tense(done, 'push', 'pushed')} {what} to {git_remote}"


def needs_push(step: RefStep) -> bool:
    return step.remote in (Action.CREATE, Action.UPDATE)
