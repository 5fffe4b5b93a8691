"""GitHub settings are checked before any request, and the token never reaches a message."""

from __future__ import annotations

import json

import pytest
import responses

from exp_ci.adapters.github import check_settings, redact
from exp_ci.cli import main
from exp_ci.errors import UserError

TOKEN = "ghs_SeCrEtT0kenThatMustNeverBePrinted0001"
GOOD = {"token": TOKEN, "repository": "octo-org/project", "api_url": "https://api.github.com"}


@pytest.mark.parametrize(
    "api_url",
    [
        "api.github.com",
        "ftp://api.github.com",
        "https://",
        "https://:443/x",
        "https://host:99999",
        "https://host:port",
        "https://user:secret@host/api/v3",
        "https://host/api v3",
        "https://host/?x=1",
        "javascript:alert(1)",
    ],
)
def test_a_bad_api_url_is_a_user_error(api_url):
    with pytest.raises(UserError, match="GITHUB_API_URL must be the REST API root") as error:
        check_settings(**{**GOOD, "api_url": api_url})
    assert "secret" not in error.value.message


@pytest.mark.parametrize(
    "repository",
    ["bad", "", "a/b/c", "-x/y", "o/..", "o/.", "o/r\n", "o/r x", "o/" + "r" * 101, "o/r?x=1"],
)
def test_github_repository_must_be_owner_slash_name(repository):
    with pytest.raises(UserError, match="GITHUB_REPOSITORY must be owner/name"):
        check_settings(**{**GOOD, "repository": repository})


@pytest.mark.parametrize(
    ("token", "what"),
    [
        (TOKEN[:10] + "\n" + TOKEN[10:], "a newline at position 11"),
        (TOKEN + "\u2028", "the character U+2028"),
        ("ghs_tök", "the character U+00F6"),
        ("ghs_a b", "a space"),
    ],
)
def test_a_token_that_cannot_go_in_a_header_is_refused_without_showing_it(token, what):
    with pytest.raises(UserError) as error:
        check_settings(**{**GOOD, "token": token})
    assert what in error.value.message
    assert TOKEN[:10] not in error.value.message and TOKEN[10:] not in error.value.message


@pytest.mark.parametrize(
    ("repository", "api_url"),
    [("octo-org/project", "https://api.github.com"), ("a_b/c.d-e", "https://ghe.io/api/v3")],
)
def test_good_settings_pass(repository, api_url):
    check_settings(TOKEN, repository, api_url)


def test_redaction_catches_the_escaped_forms():
    token = TOKEN[:12] + "\n" + TOKEN[12:]
    message = (
        f"InvalidHeader: {('token ' + token)!r}; json {json.dumps(token)}; raw {token}; "
        f"bytes {token.encode()!r}"
    )
    redacted = redact(message, token)
    assert TOKEN[:12] not in redacted and TOKEN[12:] not in redacted
    assert redacted.count("***") >= 4


@pytest.fixture
def actions_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"number": 7, "pull_request": {"number": 7}}))
    (tmp_path / "body.md").write_text("## Results\n")
    for name, value in {
        "GITHUB_ACTIONS": "true",
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": "octo-org/project",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_API_URL": "https://api.github.com",
    }.items():
        monkeypatch.setenv(name, value)
    return tmp_path


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("GITHUB_API_URL", "not a url", "GITHUB_API_URL must be"),
        ("GITHUB_API_URL", "http://", "GITHUB_API_URL must be"),
        ("GITHUB_TOKEN", "ghs_t\u00f6ken\u2028x", "U+00F6"),
        ("GITHUB_TOKEN", TOKEN[:9] + "\n" + TOKEN[9:], "a newline"),
        ("GITHUB_REPOSITORY", "bad", "GITHUB_REPOSITORY must be owner/name"),
    ],
)
def test_comment_refuses_bad_settings_with_exit_2_and_no_request(
    actions_env, monkeypatch, capsys, variable, value, message
):
    monkeypatch.setenv(variable, value)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        code = main(["comment", "--body-file", "body.md"])
        assert len(mock.calls) == 0
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert message in err
    assert TOKEN[:9] not in out + err and TOKEN[9:] not in out + err
    assert "internal error" not in err
