"""Find the experiments a user names: DVC name, full ref, or SHA prefix (pure).

DVC names are unique per baseline only, so one name can mean experiments of two
baselines. DVC itself would quietly pick the one of HEAD's baseline; exp-ci refuses and
lists the full refs, because a CI job that persists "lr-high" must not guess which.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from exp_ci.errors import UserError
from exp_ci.model import Baseline, Experiment

MIN_SHA_PREFIX = 4
_HEX = re.compile(r"^[0-9a-fA-F]+$")


def looks_like_sha(text: str) -> bool:
    """Hex digits only, at least MIN_SHA_PREFIX of them: a SHA or a prefix of one."""
    return len(text) >= MIN_SHA_PREFIX and bool(_HEX.match(text))


def all_experiments(baselines: Iterable[Baseline]) -> list[Experiment]:
    return [experiment for baseline in baselines for experiment in baseline.experiments]


def find_experiment(baselines: Sequence[Baseline], query: str) -> Experiment:
    """The one experiment `query` names, or a UserError that says how to name it."""
    experiments = all_experiments(baselines)
    query = query.strip()
    if not query:
        raise UserError("an empty experiment name was given. Name an experiment or leave it out.")
    by_ref = [e for e in experiments if e.ref == query]
    if by_ref:
        return by_ref[0]
    by_name = [e for e in experiments if e.name == query]
    if len(by_name) == 1:
        return by_name[0]
    if len(by_name) > 1:
        refs = "\n".join(f"  {e.ref}  ({e.rev[:7]})" for e in by_name)
        raise UserError(
            f"experiment name '{query}' is ambiguous: experiments of {len(by_name)} baselines "
            f"have it. Name one by its full ref (or a SHA prefix):\n{refs}"
        )
    if looks_like_sha(query):
        prefix = query.lower()
        by_sha = list({e.rev: e for e in experiments if e.rev.startswith(prefix)}.values())
        if len(by_sha) == 1:
            return by_sha[0]
        if len(by_sha) > 1:
            listed = "\n".join(f"  {e.rev}  {e.ref}" for e in by_sha)
            raise UserError(
                f"'{query}' is the start of {len(by_sha)} experiment commits. Give more of "
                f"the SHA, or the full ref:\n{listed}"
            )
    raise UserError(_unknown(query, experiments, baselines))


def find_experiments(baselines: Sequence[Baseline], queries: Iterable[str]) -> list[Experiment]:
    """Every named experiment once, in the order named."""
    found: dict[str, Experiment] = {}
    for query in queries:
        experiment = find_experiment(baselines, query)
        found.setdefault(experiment.rev, experiment)
    return list(found.values())


def _unknown(query: str, experiments: Sequence[Experiment], baselines: Sequence[Baseline]) -> str:
    where = ", ".join(b.commit.label for b in baselines) or "no baseline"
    names = sorted({e.label for e in experiments})
    shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
    hint = (
        " If it was pushed from elsewhere, fetch it first: "
        "`git fetch origin 'refs/exps/*:refs/exps/*'`."
    )
    short = ""
    if _HEX.match(query) and len(query) < MIN_SHA_PREFIX:
        short = f" (a SHA prefix needs {MIN_SHA_PREFIX} or more hex digits)"
    return (
        f"no experiment '{query}' (by name, ref or SHA prefix) among the experiments of "
        f"{where}{short}. "
        f"Known: {shown or 'none'}.{hint}"
    )
