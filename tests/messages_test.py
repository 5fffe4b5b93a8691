"""The texts written with kept experiments: tag messages, commit messages, pull-request
bodies (exp_ci.render.messages)."""

from __future__ import annotations

from exp_ci.render.messages import commit_message, pull_request_body, tag_message
from tests.helpers.kept import AUC, BASE, BASELINE, REV, experiment


def test_tag_message_has_the_ranking_identity_and_a_values_table():
    message = tag_message(experiment(), BASELINE, AUC, 5)
    subject, _, rest = message.partition("\n\n")
    assert subject == "Experiment lr-high: auc 0.85, +0.2 against the baseline"
    assert f"commit:     {REV}" in rest
    assert f"baseline:   {BASE} (main)" in rest
    rows = {
        line.split()[1]: line.split()[2:]
        for line in rest.splitlines()
        if line.startswith(("metric ", "param "))
    }
    assert rows["auc"] == ["0.85", "0.65", "*"]
    assert rows["loss.val"] == ["0.7", "0.9", "*"]
    assert rows["train.lr"] == ["0.3", "0.1", "*"]
    assert rows["seed"] == ["7", "7"]


def test_tag_message_without_a_metric_still_lists_the_values():
    message = tag_message(experiment(), BASELINE, None, 5)
    assert message.startswith("Experiment lr-high\n\n")
    assert "auc" in message and "train.lr" in message


def test_commit_message_names_the_experiment_and_its_metrics():
    message = commit_message(experiment(), BASELINE, 5)
    assert message.splitlines()[0] == "Apply experiment lr-high (auc=0.85, loss.val=0.7)"
    assert f"ref:        refs/exps/bb/{BASE[2:]}/lr-high" in message


def test_a_custom_subject_keeps_the_experiment_details():
    message = commit_message(experiment(), BASELINE, 5, subject="Use the higher rate")
    assert message.splitlines()[0] == "Use the higher rate"
    assert "experiment: lr-high" in message and "auc" in message


def test_pull_request_body_escapes_names_and_compares_with_the_baseline():
    sneaky = experiment(name="x|<b>@team")
    body = pull_request_body(sneaky, BASELINE, "exp/x", "origin", AUC, 5)
    assert body.startswith("<!-- exp-ci:persist -->\n")
    assert "<b>" not in body and " @team" not in body and "&gt;@team" not in body
    assert "x\\|&lt;b&gt;`@team`" in body  # GitHub pings nobody from a code span
    assert "| auc " in body or "| auc|" in body.replace(" ", "")
    assert "+0.2" in body
    assert "~~~sh\ngit fetch origin exp/x\ngit checkout exp/x\ndvc pull\n~~~" in body


def test_pull_request_body_follows_the_include_globs():
    body = pull_request_body(experiment(), BASELINE, "exp/x", "origin", AUC, 5, params=("train.*",))
    header = next(line for line in body.splitlines() if line.startswith("| Experiment"))
    assert "train.lr" in header and "seed" not in header
