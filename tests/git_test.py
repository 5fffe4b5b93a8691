"""The Git adapter reads names as Git writes them: one record per LF, whatever a name holds."""

from __future__ import annotations

import dataclasses
import json

import pytest

from exp_ci.adapters.git import GitRepository, redact_credentials
from tests.helpers.project import exp_ci
from tests.helpers.synthetic import add_experiments, make_project, sweep

ODD_NAMES = ["line\u2028sep", "para\u2029sep", "next\x85line", "rtl\u202eexe", "zw\u200bj"]


@pytest.fixture
def odd_project(tmp_path):
    root = tmp_path / "p"
    baseline = make_project(root)
    experiments = [
        dataclasses.replace(experiment, name=name)
        for experiment, name in zip(sweep(len(ODD_NAMES)), ODD_NAMES, strict=True)
    ]
    add_experiments(root, baseline, experiments)
    return root


def test_experiment_names_with_unicode_line_separators_are_read_whole(odd_project):
    git = GitRepository(odd_project)
    try:
        names = sorted(ref.name for ref in git.experiment_refs())
    finally:
        git.close()
    assert names == sorted(ODD_NAMES)


@pytest.mark.parametrize("format", ["md", "plain", "csv", "json"])
def test_show_handles_a_name_with_u2028_in_every_format(odd_project, env, format):
    result = exp_ci(odd_project, env, "show", "--format", format)
    assert result.returncode == 0, result.stderr
    if format == "json":
        names = json.dumps(json.loads(result.stdout), ensure_ascii=False)
        assert all(name in names for name in ODD_NAMES)
    if format == "md":
        assert "line sep" in result.stdout and "rtl\\[U+202E\\]exe" in result.stdout


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "fatal: unable to access 'https://x-access-token:ghs_abc@github.com/o/r.git/'",
            "fatal: unable to access 'https://***@github.com/o/r.git/'",
        ),
        ("'https://user:pass word@host/o/r/'", "'https://***@host/o/r/'"),
        ("https://tok\\nen@host/x", "https://***@host/x"),  # an escaped newline (repr)
        ("see https://user:a b\nc@host/repo", "see https://***@host/repo"),
        ("'https://host/x' and 'git@github.com'", "'https://host/x' and 'git@github.com'"),
    ],
)
def test_credentials_in_urls_are_redacted_even_with_spaces_or_escapes(text, expected):
    assert redact_credentials(text) == expected
