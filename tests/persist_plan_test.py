"""What `exp-ci persist` decides before writing: ref names, templates, the plan (pure)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from exp_ci.errors import UserError
from exp_ci.persist_plan import (
    Action,
    Kind,
    RefState,
    data_line,
    exp_ref_line,
    local_line,
    make_target,
    plan_refs,
    remote_line,
    render_template,
    template_namespace,
    template_values,
)
from tests.helpers.kept import AUC, BASE, OTHER, REV, experiment


def test_every_placeholder_has_a_value():
    values = template_values(experiment(), AUC, precision=5)
    text = render_template("{name} {rev} {baseline} {metric} {value} {date}", values, option="-")
    assert text == "lr-high eeeeeee bbbbbbb auc 0.85 2026-03-04"


def test_value_takes_a_format_spec_and_defaults_to_significant_digits():
    values = template_values(experiment(auc=0.8512345678), AUC, precision=3)
    assert render_template("{value}", values, option="-") == "0.851"
    assert render_template("{value:.4f}", values, option="-") == "0.8512"


def test_date_is_the_day_the_experiment_ran_so_reruns_name_the_same_ref():
    late = experiment(created=datetime(2026, 1, 31, 23, 59, tzinfo=timezone.utc))
    assert template_values(late, None, 5)["date"] == "2026-01-31"


@pytest.mark.parametrize(
    ("template", "metric", "message"),
    [
        ("{nam}", AUC, "unknown placeholder {nam}"),
        ("{0}", AUC, "unknown placeholder {0}"),
        ("{}", AUC, "unknown placeholder {}"),
        ("exp/{name", AUC, "not a valid template"),
        ("{metric}", None, "pass --metric"),
        ("{value}", None, "pass --metric"),
    ],
)
def test_template_mistakes_are_user_errors(template, metric, message):
    values = template_values(experiment(), metric, 5)
    with pytest.raises(UserError, match=message.replace("{", r"\{").replace("}", r"\}")):
        render_template(template, values, option="--name")


def test_value_of_an_experiment_without_the_metric_is_explained():
    values = template_values(experiment(auc=None), AUC, 5)
    with pytest.raises(UserError, match="no numeric value for the metric"):
        render_template("{value}", values, option="--name")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{name.__class__}", "reaches into a value with {name.__class__}"),
        ("{name.__class__.__init__.__globals__[os].environ}", "attribute access and indexing"),
        ("{rev[0]}", "reaches into a value with {rev[0]}"),
        ("{name!r}", "the conversion {name!r}"),
        ("{name!s:>5}", "the conversion {name!s:>5}"),
        ("{nope}", "unknown placeholder {nope}"),
        ("{value:{name}}", "nests a placeholder"),
        ("{name:>99999999}", "more than 100 characters"),
        ("{name:.3f}", "cannot be filled in"),
    ],
)
def test_templates_reach_no_python_object(template, message):
    values = template_values(experiment(), AUC, 5)
    with pytest.raises(UserError) as error:
        render_template(template, values, option="--title")
    assert message in error.value.message
    assert error.value.message.startswith(f"--title '{template}'")
    if "cannot be filled" not in message:
        assert "{name} {rev} {baseline} {metric} {value} {date}" in error.value.message


def test_plain_fields_and_format_specs_still_work():
    values = template_values(experiment(), AUC, 5)
    assert render_template("{name:>9}|{value:.3f}|{{lit}}", values, option="-") == (
        "  lr-high|0.850|{lit}"
    )


@pytest.mark.parametrize(
    ("template", "namespace"),
    [
        ("exp/{name}", "exp/"),
        ("kept/{date}-{name}", "kept/"),
        ("a/b-{name}/c", "a/"),
        ("{name}", ""),
        ("best-{name}", ""),
        ("main", None),
    ],
)
def test_the_namespace_is_the_literal_folder_before_the_first_placeholder(template, namespace):
    assert template_namespace(template) == namespace


@pytest.mark.parametrize("template", ["{name}", "v{name}", "best-{name}", "{metric}/{name}"])
def test_an_experiment_never_chooses_a_top_level_branch_or_tag(template):
    main = experiment("main")
    for kind in Kind:
        with pytest.raises(UserError, match="lets the experiment choose the whole") as error:
            make_target(main, kind, template, AUC, 5)
        assert "exp/{name}" in error.value.message


def test_a_name_written_out_may_be_any_branch_and_force_moves_it():
    target = make_target(experiment("main"), Kind.BRANCH, "main", None, 5)
    assert target.ref == "refs/heads/main"
    state = {"refs/heads/main": RefState(OTHER, OTHER)}
    (step,) = plan_refs([target], state, force=True)
    assert step.local is Action.UPDATE


def test_an_experiment_named_main_lands_under_the_namespace():
    target = make_target(experiment("main"), Kind.BRANCH, None, None, 5)
    assert target.ref == "refs/heads/exp/main"


def test_literal_braces_are_allowed():
    assert render_template("{{x}}-{name}", {"name": "a"}, option="-") == "{x}-a"


@pytest.mark.parametrize(
    ("kind", "template", "expected"),
    [
        (Kind.BRANCH, None, "exp/lr-high"),
        (Kind.TAG, None, "exp/lr-high-eeeeeee"),
        (Kind.BRANCH, "best/{metric}-{value}", "best/auc-0.85"),
    ],
)
def test_default_and_custom_names(kind, template, expected):
    target = make_target(experiment(), kind, template, AUC, 5)
    assert target.name == expected
    assert target.ref == kind.prefix + expected


def test_a_name_git_rejects_is_refused_before_anything_is_written():
    with pytest.raises(UserError, match=r"'x\.\.lr-high'.*contains '\.\.'"):
        make_target(experiment(), Kind.BRANCH, "x..{name}", None, 5)
    with pytest.raises(UserError, match=r"ends with '\.lock'"):
        make_target(experiment(), Kind.TAG, "{name}.lock", None, 5)


# --- the plan -----------------------------------------------------------------------------


def branch(name="lr-high", rev=REV) -> object:
    return make_target(experiment(name, rev), Kind.BRANCH, None, None, 5)


def test_new_refs_are_created_locally_and_on_the_remote():
    (step,) = plan_refs([branch()], {}, {}, remote_name="origin")
    assert (step.local, step.remote) == (Action.CREATE, Action.CREATE)
    assert local_line(step, done=False) == (
        "would create branch exp/lr-high at eeeeeee (experiment lr-high)"
    )
    assert remote_line(step, "origin", done=True) == "pushed branch exp/lr-high to origin"


def test_refs_at_the_experiment_commit_are_up_to_date():
    state = {"refs/heads/exp/lr-high": RefState(REV, REV)}
    (step,) = plan_refs([branch()], state, state)
    assert (step.local, step.remote) == (Action.UP_TO_DATE, Action.UP_TO_DATE)
    assert local_line(step, done=True) == (
        "branch exp/lr-high is up to date at eeeeeee (experiment lr-high)"
    )


def test_without_push_there_is_no_remote_step():
    (step,) = plan_refs([branch()], {})
    assert step.remote is None


def test_a_tag_counts_by_the_commit_it_peels_to():
    target = make_target(experiment(), Kind.TAG, None, None, 5, message="m")
    tag_object = "7" * 40
    other_tag_object = "8" * 40  # made by another clone: same commit, another tagger date
    (step,) = plan_refs(
        [target],
        {target.ref: RefState(tag_object, REV)},
        {target.ref: RefState(other_tag_object, REV)},
    )
    assert (step.local, step.remote) == (Action.UP_TO_DATE, Action.UP_TO_DATE)


def test_a_ref_elsewhere_is_a_conflict_naming_both_commits_locally_and_remotely():
    state = {"refs/heads/exp/lr-high": RefState(OTHER, OTHER)}
    with pytest.raises(UserError) as error:
        plan_refs([branch()], state, state, remote_name="origin")
    message = error.value.message
    assert "branch exp/lr-high points at 0123456 here, not at eeeeeee" in message
    assert "points at 0123456 on origin" in message
    assert "--force" in message and "Nothing was changed" in message


def test_force_moves_refs_and_remembers_what_they_were():
    state = {"refs/heads/exp/lr-high": RefState(OTHER, OTHER)}
    (step,) = plan_refs([branch()], state, state, force=True)
    assert (step.local, step.remote) == (Action.UPDATE, Action.UPDATE)
    assert step.local_old == step.remote_old == RefState(OTHER, OTHER)
    assert local_line(step, done=True) == (
        "moved branch exp/lr-high from 0123456 to eeeeeee (experiment lr-high), --force"
    )
    assert remote_line(step, "origin", done=False) == (
        "would force-push branch exp/lr-high to origin (it was at 0123456 there)"
    )


def test_two_experiments_may_not_share_a_name():
    first = branch("lr-high", REV)
    second = make_target(experiment("lr-high", OTHER, base="c" * 40), Kind.BRANCH, None, None, 5)
    with pytest.raises(UserError, match=r"would both become branch exp/lr-high.*\{rev\}"):
        plan_refs([first, second], {})


def test_a_ref_where_git_needs_a_folder_or_a_file_is_refused():
    with pytest.raises(UserError, match="next to the existing refs/heads/exp"):
        plan_refs([branch()], {"refs/heads/exp": RefState(OTHER, OTHER)})
    target = make_target(experiment(), Kind.BRANCH, "keep/{name}", None, 5)
    with pytest.raises(UserError, match="next to the existing refs/heads/keep/lr-high/old"):
        plan_refs([target], {"refs/heads/keep/lr-high/old": RefState(OTHER, OTHER)})


def test_data_line_says_the_data_is_checked_in_the_remote_and_what_was_pushed():
    assert data_line(experiment(), "storage", 0, done=False) == (
        "would check that DVC remote 'storage' has the data of experiment lr-high, and "
        "push what it lacks"
    )
    assert data_line(experiment(), "storage", 3, done=True) == (
        "the data of experiment lr-high is in DVC remote 'storage' (checked there; 3 "
        "object(s) pushed)"
    )
    assert data_line(experiment(), "storage", 0, done=True).endswith("nothing to push)")
    assert exp_ref_line(experiment(), "origin", done=False) == (
        f"would push refs/exps/bb/{BASE[2:]}/lr-high to origin"
    )
