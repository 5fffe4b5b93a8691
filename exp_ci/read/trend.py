"""The ranking metric over a branch's last commits: is the base branch getting better?

The commits are the first-parent history ending at a baseline (in a pull request's CI,
the merge commit's first parent is the base branch), listed with their trees by one
`git log` call and read by the experiment reader in a few batched Git reads. Each value is
what `exp-ci show` would show for that commit; a commit without one (no metrics file yet,
a file that does not parse, a non-numeric value) is a gap.
"""

from __future__ import annotations

from collections.abc import Sequence

from exp_ci.adapters.git import GitRepository
from exp_ci.model import MetricSpec
from exp_ci.numbers import finite_number
from exp_ci.read.experiments import experiment_reader
from exp_ci.render.charts import Trend
from exp_ci.select import flat_values


def first_parent_history(git: GitRepository, rev: str, count: int) -> list[tuple[str, str]]:
    """(commit, tree) of the last `count` first-parent commits up to `rev`, oldest first."""
    sha = git.resolve_commit(rev)
    out = git.run("log", "--first-parent", f"--max-count={count}", "--format=%H %T", sha, "--")
    pairs = [tuple(line.split(" ", 1)) for line in out.splitlines() if line.strip()]
    return [(commit, tree) for commit, tree in reversed(pairs)]


def read_trends(
    git: GitRepository, revs: Sequence[str], metric: MetricSpec, count: int
) -> dict[str, Trend]:
    """The metric's trend up to each of `revs` (one reader, so shared history is read once)."""
    reader = experiment_reader(git)
    histories = {rev: first_parent_history(git, rev, count) for rev in revs}
    data = reader.read_commits(tree for history in histories.values() for _, tree in history)
    trends = {}
    for rev, history in histories.items():
        values = tuple(
            finite_number(flat_values(data[tree].metrics).get(metric.full_name))
            for _, tree in history
        )
        trends[rev] = Trend(values, tuple(commit for commit, _ in history))
    return trends
