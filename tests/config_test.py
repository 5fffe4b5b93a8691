"""Settings from `.exp-ci.yaml` or `[tool.exp-ci]`: typed, validated, never silently ignored."""

from __future__ import annotations

import pytest

from exp_ci.config import Settings, load_settings, parse_settings, settings_for
from exp_ci.errors import UserError
from exp_ci.model import Direction


def test_no_file_means_defaults(tmp_path):
    assert load_settings(tmp_path) == Settings()


def test_yaml_file_with_every_key(tmp_path):
    (tmp_path / ".exp-ci.yaml").write_text(
        "metric: auc\ndirection: min\nprecision: 3\nparams: 'train.*'\n"
        "metrics: [auc, loss]\nremote: storage\nmarker: nightly\n"
    )
    settings = load_settings(tmp_path)
    assert settings.metric == "auc"
    assert settings.direction is Direction.MIN
    assert settings.precision == 3
    assert settings.params == ("train.*",)
    assert settings.metrics == ("auc", "loss")
    assert (settings.remote, settings.marker) == ("storage", "nightly")


def test_pyproject_table(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.exp-ci]\nmetric = "f1"\n'
    )
    assert load_settings(tmp_path).metric == "f1"


def test_pyproject_without_our_table_is_fine(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_settings(tmp_path) == Settings()


def test_both_places_at_once_is_an_error(tmp_path):
    (tmp_path / ".exp-ci.yaml").write_text("metric: auc\n")
    (tmp_path / "pyproject.toml").write_text('[tool.exp-ci]\nmetric = "f1"\n')
    with pytest.raises(UserError, match="both"):
        load_settings(tmp_path)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"metirc": "auc"}, "unknown key 'metirc'"),
        ({"direction": "up"}, "direction must be 'max' or 'min'"),
        ({"precision": 0}, "precision must be"),
        ({"precision": "3"}, "precision must be"),
        ({"params": [1, 2]}, "params must be a glob"),
        ({"metric": ["a"]}, "metric must be a string"),
        (["metric", "auc"], "must be a mapping"),
    ],
)
def test_invalid_settings_say_what_is_wrong(raw, message):
    with pytest.raises(UserError, match=message):
        parse_settings(raw, ".exp-ci.yaml")


def test_dashes_and_underscores_are_the_same_key():
    assert parse_settings({"metric": "auc"}, "x") == parse_settings({"metric": "auc"}, "x")


def test_broken_yaml_is_a_user_error(tmp_path):
    (tmp_path / ".exp-ci.yaml").write_text("metric: [auc\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_settings(tmp_path)


def test_a_settings_file_that_is_not_utf8_names_the_file_and_the_byte(tmp_path):
    (tmp_path / ".exp-ci.yaml").write_bytes(b"metric: \xff\n")
    with pytest.raises(UserError, match=r"\.exp-ci\.yaml is not UTF-8 text .* at byte 8\)"):
        load_settings(tmp_path)
    (tmp_path / ".exp-ci.yaml").unlink()
    (tmp_path / "pyproject.toml").write_bytes(b'[tool.exp-ci]\nmetric = "\xe9"\n')
    with pytest.raises(UserError, match=r"pyproject\.toml is not UTF-8 text"):
        load_settings(tmp_path)


def test_aliases_in_the_settings_file_are_bounded(tmp_path):
    from tests.helpers.untrusted import billion_laughs

    (tmp_path / ".exp-ci.yaml").write_text(billion_laughs(6, 10) + "params: *f\n")
    with pytest.raises(UserError, match="YAML aliases expand to more than 100,000 values"):
        load_settings(tmp_path)


def _repository(root):
    (root / ".git").mkdir(parents=True)
    (root / "project" / "src").mkdir(parents=True)
    return root


def test_a_sub_folder_project_may_have_settings_of_its_own(tmp_path):
    root = _repository(tmp_path / "repo")
    (root / ".exp-ci.yaml").write_text("metric: root_metric\n")
    (root / "project" / ".exp-ci.yaml").write_text("metric: its_own\n")
    assert settings_for(root / "project").metric == "its_own"
    assert settings_for(root / "project" / "src").metric == "its_own"


def test_without_its_own_a_folder_shares_the_repository_root_settings(tmp_path):
    root = _repository(tmp_path / "repo")
    (root / "pyproject.toml").write_text("[tool.exp-ci]\nmetric = 'auc'\n")
    (root / "project" / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert settings_for(root / "project" / "src").metric == "auc"


def test_settings_above_the_repository_are_not_read(tmp_path):
    (tmp_path / ".exp-ci.yaml").write_text("metric: outside\n")
    root = _repository(tmp_path / "repo")
    assert settings_for(root / "project") == Settings()
