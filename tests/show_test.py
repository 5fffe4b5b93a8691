"""`exp-ci show` on a real project: the table people read, in every format."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess

import pytest

from tests.helpers.project import exp_ci, run


def _show(project, env, *args):
    result = exp_ci(project, env, "show", *args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def test_plain_table_draws_the_baseline_then_its_experiments_as_a_tree(project, env):
    lines = _show(project, env).splitlines()
    assert lines[0].split()[:3] == ["Experiment", "Rev", "Created"]
    labels = [line.split("  ")[0].strip() for line in lines[2:7]]
    assert labels == [
        "main",
        "├── bad-scores",
        "├── no-loss",
        "├── alpha",
        "└── lr-high",
    ]


def test_columns_are_named_as_dvc_names_them(project, env):
    header = _show(project, env).splitlines()[0].split()
    # `acc` is in two metrics files, so both are qualified; unique keys stay short.
    assert "scores.yaml:acc" in header
    assert "experiments/cnn/metrics.json:acc" in header
    assert "auc" in header and "train.lr" in header and "filters" in header
    assert header.index("auc") < header.index("train.lr")  # metrics before params


def test_metric_marks_the_winner_and_adds_a_delta_against_the_baseline(project, env):
    text = _show(project, env, "--metric", "auc")
    header = text.splitlines()[0].split()
    assert header[header.index("auc") + 1 : header.index("auc") + 3] == ["Δ", "auc"]
    winner = next(line for line in text.splitlines() if "★" in line and "──" in line)
    assert "lr-high" in winner and "+0.2" in winner
    assert "★ best by auc (max): lr-high = 0.85, +0.2 against its baseline" in text


def test_direction_min_picks_the_smallest_value(project, env):
    text = _show(project, env, "--metric", "loss.val", "--direction", "min")
    winner = next(line for line in text.splitlines() if "──" in line and "★" in line)
    assert "lr-high" in winner  # loss.val 0.7 is the smallest; no-loss has none


def test_unreadable_file_shows_a_mark_and_a_note_and_the_table_still_prints(project, env):
    text = _show(project, env)
    row = next(line for line in text.splitlines() if "bad-scores" in line)
    assert "!" in row.split()
    assert "! bad-scores: scores.yaml does not parse" in text


def test_include_globs_and_only_changed_keep_the_columns_asked_for(project, env):
    header = _show(project, env, "--params", "train.*", "--metrics", "auc").splitlines()[0]
    assert header.split() == [
        "Experiment",
        "Rev",
        "Created",
        "auc",
        "train.lr",
        "train.epochs",
        "train.layers",
        "train.drop_loss",
        "train.break_scores",
    ]
    changed = _show(project, env, "--only-changed").splitlines()[0].split()
    assert "train.lr" in changed and "alpha" in changed
    assert "train.epochs" not in changed and "seed" not in changed and "WIDTH" not in changed


def test_top_keeps_the_best_experiments_and_says_how_many_are_hidden(project, env):
    text = _show(project, env, "--metric", "auc", "--top", "2")
    rows = [line for line in text.splitlines() if "──" in line]
    assert [r.split()[1] for r in rows] == ["lr-high", "no-loss"]
    assert "2 more experiment(s) not shown (--top)" in text


def test_sort_by_orders_experiments_by_a_column(project, env):
    text = _show(project, env, "--sort-by", "train.lr", "--direction", "min")
    rows = [line.split()[1] for line in text.splitlines() if "──" in line]
    assert rows[-1] == "lr-high"  # largest lr last when smaller is better


def test_precision_rounds_decimal_numbers(project, env):
    document = _show(project, env, "--precision", "1", "--metric", "auc")
    row = next(line for line in document.splitlines() if "alpha" in line and "──" in line)
    assert " 0.7 " in row  # auc 0.69 to one significant digit


def test_markdown_is_a_github_table_with_the_winner_in_bold(project, env):
    text = _show(project, env, "--format", "md", "--metric", "auc")
    lines = text.splitlines()
    assert lines[0].startswith("| Experiment")
    assert set(lines[1].replace("|", "")) <= {"-", ":"}
    assert any(line.startswith("| **└── lr-high ★**") for line in lines)
    assert all(line.count("|") == lines[0].count("|") for line in lines[:7])


def test_csv_has_one_row_per_commit_with_full_revs(project, env):
    rows = list(
        csv.DictReader(io.StringIO(_show(project, env, "--format", "csv", "--metric", "auc")))
    )
    assert [r["Experiment"] for r in rows] == ["main", "bad-scores", "no-loss", "alpha", "lr-high"]
    assert all(len(r["rev"]) == 40 for r in rows)
    winner = next(r for r in rows if r["winner"] == "true")
    assert winner["Experiment"] == "lr-high"
    assert float(winner["delta"]) == pytest.approx(0.2)


def test_json_marks_winner_delta_and_states(project, env):
    document = json.loads(_show(project, env, "--format", "json", "--metric", "auc"))
    assert document["version"] == 1
    assert document["metric"] == {"name": "metrics.json:auc", "direction": "max"}
    experiments = document["baselines"][0]["experiments"]
    assert [e["name"] for e in experiments if e["winner"]] == ["lr-high"]
    assert {e["state"] for e in experiments} == {"success"}
    assert all(e["ref"].startswith("refs/exps/") for e in experiments)


def test_output_writes_the_table_to_a_file(project, env, tmp_path):
    target = tmp_path / "table.md"
    result = exp_ci(project, env, "show", "--format", "md", "--output", str(target))
    assert result.returncode == 0 and result.stdout == ""
    assert target.read_text().startswith("| Experiment")


def test_runs_from_a_subfolder_and_with_dash_c(project, env, tmp_path):
    from_sub = exp_ci(project / "experiments", env, "show", "--format", "json")
    from_elsewhere = exp_ci(tmp_path, env, "show", "-C", str(project), "--format", "json")
    assert from_sub.returncode == 0 and from_elsewhere.returncode == 0
    assert json.loads(from_sub.stdout) == json.loads(from_elsewhere.stdout)


def test_machinery_refs_and_failed_queue_entries_never_break_the_table(project, env):
    head = run(project, "git", "rev-parse", "HEAD", env=env).strip()
    for ref in (
        "refs/exps/exec/EXEC_HEAD",
        "refs/exps/celery/failed",
        "refs/exps/stash",
        "refs/exps/temp/x",
    ):
        run(project, "git", "update-ref", ref, head, env=env)
    document = json.loads(_show(project, env, "--format", "json"))
    names = [e["name"] for e in document["baselines"][0]["experiments"]]
    assert names == ["bad-scores", "no-loss", "alpha", "lr-high"]


def test_all_baselines_includes_one_no_branch_reaches(project, env, baselines):
    run(project, "git", "checkout", "-q", "-b", "gone", env=env)
    run(project, "git", "commit", "-q", "--allow-empty", "-m", "soon unreachable", env=env)
    orphan = run(project, "git", "rev-parse", "HEAD", env=env).strip()
    run(project, "dvc", "exp", "run", "--temp", "-n", "orphaned", "-S", "train.lr=0.4", env=env)
    run(project, "git", "checkout", "-q", "main", env=env)
    run(project, "git", "branch", "-q", "-D", "gone", env=env)
    document = json.loads(_show(project, env, "-A", "--format", "json"))
    revs = [b["rev"] for b in document["baselines"]]
    assert revs[0] == baselines["second"]  # HEAD's baseline first
    assert set(revs) == {baselines["first"], baselines["second"], orphan}
    orphaned = next(b for b in document["baselines"] if b["rev"] == orphan)
    assert [e["name"] for e in orphaned["experiments"]] == ["orphaned"]


def test_a_cached_metric_missing_locally_is_shown_missing_with_the_reason(project, env):
    shutil.rmtree(project / ".dvc" / "cache")
    text = _show(project, env, "--format", "json")
    baseline = json.loads(text)["baselines"][0]
    assert "cached.json:f1" not in baseline["metrics"]
    assert "dvc pull cached.json" in baseline["error"]["cached.json"]
    assert baseline["metrics"]["metrics.json:auc"] == 0.65


def test_show_does_not_touch_the_network_for_cached_metrics(project, env):
    # A DVC remote that cannot be reached must not slow down or fail `show`.
    run(
        project, "dvc", "remote", "modify", "storage", "url", "https://127.0.0.1:9/nowhere", env=env
    )
    shutil.rmtree(project / ".dvc" / "cache")
    result = subprocess.run(
        ["python", "-m", "exp_ci", "show", "--format", "json"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
