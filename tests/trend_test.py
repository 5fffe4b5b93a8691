"""The ranking metric over the base branch's last commits, from a real Git history of a DVC
project (see tests/helpers/plots_project.py for the history)."""

from __future__ import annotations

import pytest

from exp_ci.adapters.git import GitRepository
from exp_ci.model import Direction, MetricSpec
from exp_ci.read.trend import first_parent_history, read_trends
from exp_ci.render.charts import GAP
from tests.helpers.plots_project import plots_project
from tests.helpers.project import exp_ci, run

AUC = MetricSpec("metrics.json", "auc", Direction.MAX)


@pytest.fixture(scope="module")
def plots_repo(tmp_path_factory, session_env):
    return plots_project(tmp_path_factory.getbasetemp(), session_env)


@pytest.fixture
def git(plots_repo):
    repository = GitRepository(plots_repo[0])
    yield repository
    repository.close()


def main_history(root, env) -> list[str]:
    out = run(root, "git", "rev-list", "--first-parent", "--reverse", "main", env=env)
    return out.split()


@pytest.mark.parametrize(
    ("rev", "count", "values"),
    [
        # skeleton (no metrics file), second, readme, merge, broken (does not parse), baseline
        ("main", 10, (None, 0.61, 0.61, 0.65, None, 0.7)),
        ("main", 3, (0.65, None, 0.7)),
        ("main", 1, (0.7,)),
        ("merge", 10, (None, 0.61, 0.61, 0.65)),
        # from the side branch, its own first parents: 0.99 is there, not on main
        ("side-2", 10, (None, 0.61, 0.99, 0.65)),
    ],
)
def test_trend_values_over_first_parent_commits(git, plots_repo, rev, count, values):
    _, shas = plots_repo
    target = shas.get(rev, rev)
    trend = read_trends(git, [target], AUC, count)[target]
    assert trend.values == values
    assert len(trend.revs) == len(values)
    assert trend.revs[-1] == git.resolve_commit(target)


def test_the_trend_follows_main_not_the_merged_branch(git, plots_repo, env):
    root, shas = plots_repo
    trend = read_trends(git, ["main"], AUC, 10)["main"]
    assert list(trend.revs) == main_history(root, env)
    assert shas["side-1"] not in trend.revs and 0.99 not in trend.values
    assert [c for c, _ in first_parent_history(git, "main", 2)] == main_history(root, env)[-2:]


def test_several_baselines_share_one_reading(git, plots_repo):
    _, shas = plots_repo
    trends = read_trends(git, [shas["baseline"], shas["merge"]], AUC, 2)
    assert trends[shas["baseline"]].values == (None, 0.7)
    assert trends[shas["merge"]].values == (0.61, 0.65)


def test_a_metric_no_commit_has_gives_only_gaps(git):
    trend = read_trends(git, ["main"], MetricSpec("metrics.json", "f1"), 4)["main"]
    assert trend.values == (None, None, None, None)


def test_show_md_puts_the_trend_beside_the_baseline_value(plots_repo, env):
    root, _ = plots_repo
    result = exp_ci(root, env, "show", "--format", "md", "--metric", "auc", "--trend", "10")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    spark = f"{GAP}▁▁▄{GAP}█"
    baseline_row = next(line for line in lines if line.startswith("| main "))
    assert f"| 0.7 `{spark}` |" in baseline_row
    assert (
        f"- auc over the last 6 commits up to main (oldest → newest): `{spark}` 0.61 → 0.7 "
        "(min 0.61, max 0.7); 2 without a value"
    ) in lines
    assert "```mermaid" not in result.stdout  # a trend alone draws no chart


def test_the_comment_carries_the_trend_too(plots_repo, env):
    root, _ = plots_repo
    result = exp_ci(root, env, "comment", "--dry-run", "--metric", "auc", "--trend", "3")
    assert result.returncode == 0, result.stderr
    assert f"| 0.7 `▁{GAP}█` |" in result.stdout
    assert "auc over the last 3 commits up to main" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trend", "0"], "--trend: must be 1 or more, got 0"),
        (
            ["--format", "md", "--trend", "5"],
            "--chart, --curve and --trend draw the ranking metric",
        ),
        (["--metric", "auc", "--trend", "5"], "add --format md (not plain)"),
    ],
)
def test_bad_trend_requests_are_user_errors(plots_repo, env, args, message):
    root, _ = plots_repo
    result = exp_ci(root, env, "show", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
