"""The output layer: nothing exp-ci prints in GitHub Actions can act as a workflow command."""

from __future__ import annotations

import io
import json
import sys

import pytest

from exp_ci import output
from exp_ci.errors import UserError, run_guarded
from exp_ci.output import InertStream, guarded_streams, inert, write_command
from tests.helpers.runner_model import command_lines

ACTIONS = {"GITHUB_ACTIONS": "true"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("::add-mask::secret", ":\\:add-mask::secret"),
        ("   ::error::x", "   :\\:error::x"),
        ("\t\u200b:\u00ad:set-output name=x::y", "\t\u200b:\u00ad\\:set-output name=x::y"),
        ("\ufeff::warning::x", "\ufeff:\\:warning::x"),
        ("\x00::debug::x", "\x00:\\:debug::x"),
        ("name ##[group]x", "name ##\\[group]x"),
        ("a #\u200b#[error]x", "a #\u200b#\\[error]x"),
        ("###[x", "###\\[x"),
        ("ok\r::error::x", "ok\r:\\:error::x"),
        ("ok\r\n  ::error::x\n", "ok\r\n  :\\:error::x\n"),
        ("a::b ## [c] #[d] :x", "a::b ## [c] #[d] :x"),  # no marker: unchanged
        ("lr: 0.1", "lr: 0.1"),
    ],
)
def test_inert_adds_one_backslash_where_a_marker_would_complete(text, expected):
    assert inert(text) == expected
    assert command_lines(text) or text == expected
    assert command_lines(inert(text)) == []
    assert inert(inert(text)) == inert(text)  # escaping twice changes nothing


def test_the_json_form_keeps_json_valid_and_equal():
    document = {"name": "x##[add-mask]y", "##[k]": ["::error::z"]}
    text = json.dumps(document, indent=2)
    escaped = inert(text, json=True)
    assert command_lines(escaped) == []
    assert json.loads(escaped) == document


def test_the_stream_keeps_state_across_writes():
    raw = io.StringIO()
    stream = InertStream(raw)
    for piece in [":", ":add-mask::x\nname #", "#", "[group]\n  ", ":", ":y"]:
        stream.write(piece)
    assert raw.getvalue() == ":\\:add-mask::x\nname ##\\[group]\n  :\\:y"


def test_own_commands_pass_unescaped_on_a_line_of_their_own():
    raw = io.StringIO()
    stream = InertStream(raw)
    stream.write("half a line ")
    write_command("::error title=exp-ci::it failed", stream)
    stream.write("::after")
    assert raw.getvalue() == "half a line \n::error title=exp-ci::it failed\n:\\:after"


def test_streams_are_wrapped_only_in_actions(monkeypatch):
    before = sys.stdout
    with guarded_streams({}):
        assert sys.stdout is before
    with guarded_streams(ACTIONS):
        assert isinstance(sys.stdout, InertStream) and isinstance(sys.stderr, InertStream)
        inner = sys.stdout
        with guarded_streams(ACTIONS):
            assert sys.stdout is inner  # wrapped once
    assert sys.stdout is before


def test_a_user_error_quoting_yaml_is_inert_in_actions(monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")

    def command() -> int:
        print("a value ##[group]x")
        raise UserError("params.yaml has the key\n::add-mask::x\n  ::error::y; fix it.")

    assert run_guarded(command) == 2
    captured = capsys.readouterr()
    assert command_lines(captured.out) == [] and command_lines(captured.err) == []
    assert ":\\:add-mask::x" in captured.err
    assert captured.out == "a value ##\\[group]x\n"


def test_outside_actions_nothing_changes(monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)

    def command() -> int:
        raise UserError("key\n::add-mask::x")

    assert run_guarded(command) == 2
    assert capsys.readouterr().err == "exp-ci: error: key\n::add-mask::x\n"


def test_an_internal_error_is_inert_too(monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")

    def command() -> int:
        raise KeyError("\n::add-mask::x")

    assert run_guarded(command) == 3
    assert command_lines(capsys.readouterr().err) == []


def test_annotations_still_work_inside_the_guard(monkeypatch, capsys):
    from exp_ci.adapters import actions

    monkeypatch.setenv("GITHUB_ACTIONS", "true")

    def command() -> int:
        actions.warning("::add-mask::x ##[group] in\na message", ACTIONS, title="t::i,tle")
        return 0

    assert run_guarded(command) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["::warning title=t%3A%3Ai%2Ctle::::add-mask::x ##[group] in%0Aa message"]


def test_write_output_defuses_every_format(monkeypatch, capsys):
    from exp_ci.commands.common import write_output

    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    write_output('name,value\n"x\n::add-mask::y",##[group]\n', None)
    plain = capsys.readouterr().out
    assert command_lines(plain) == []
    document = [{"name": "a##[error]b"}]
    write_output(json.dumps(document), None)
    assert json.loads(capsys.readouterr().out) == document
    monkeypatch.delenv("GITHUB_ACTIONS")
    write_output("::add-mask::y\n", None)
    assert capsys.readouterr().out == "::add-mask::y\n"


def test_the_started_line_of_a_sweep_is_inert():
    from exp_ci.progress import ActionsReporter
    from exp_ci.runner import Task
    from exp_ci.sweep import Point, Setting

    stream = io.StringIO()
    reporter = ActionsReporter(ACTIONS, stream)
    reporter.started(Task(Point(1, (Setting("lr", "1\r::add-mask::x ##[group]"),)), "e-1"))
    assert command_lines(stream.getvalue()) == []
    assert "lr=1\r:\\:add-mask::x ##\\[group]" in stream.getvalue()


def test_module_doc_names_the_rule():
    assert "backslash" in (output.__doc__ or "")


class _Passthrough:
    """A wrapper such as colorama's StreamWrapper (DVC wraps sys.stdout in one)."""

    def __init__(self, wrapped) -> None:
        self._wrapped = wrapped

    def write(self, text: str) -> None:
        self._wrapped.write(text)

    def __getattr__(self, name: str):
        return getattr(self._wrapped, name)


def test_own_commands_pass_a_wrapper_that_someone_put_around_the_stream():
    raw = io.StringIO()
    wrapped = _Passthrough(InertStream(raw))
    wrapped.write("::x\n")
    write_command("::group::title", wrapped)  # type: ignore[arg-type]
    assert raw.getvalue() == ":\\:x\n::group::title\n"


def test_a_stream_already_guarded_under_a_wrapper_is_not_wrapped_again(monkeypatch):
    raw = io.StringIO()
    monkeypatch.setattr(sys, "stdout", _Passthrough(InertStream(raw)))
    with guarded_streams(ACTIONS):
        assert isinstance(sys.stdout, _Passthrough)
        write_command("::endgroup::")
    assert raw.getvalue() == "::endgroup::\n"
