"""The preloaded DVC: when it is used, and that a command gives what `python -m dvc` gives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exp_ci.adapters.dvc_fork import (
    Channels,
    PreloadedDvc,
    ServerGone,
    fork_available,
    memoize_safe_loads,
)
from tests.helpers.project import commit_all, init_project, run, write

# A stage whose command is templated (`${lr}` from params.yaml): DVC parses it with the
# `${...}` parser that the server builds before its first child.
TEMPLATED = {
    "score.py": "import json, sys\n"
    "json.dump({'score': float(sys.argv[1]) * 2}, open('m.json', 'w'))\n",
    "params.yaml": "lr: 0.0\n",
    "dvc.yaml": "stages:\n  score:\n    cmd: python score.py ${lr}\n    deps: [score.py]\n"
    "    params: [lr]\n    metrics:\n      - m.json:\n          cache: false\n",
}


@pytest.mark.parametrize(
    ("environ", "usable"),
    [
        ({}, True),
        ({"EXP_CI_DVC_FORK": "1"}, True),
        ({"EXP_CI_DVC_FORK": "0"}, False),
        ({"EXP_CI_DVC_FORK": "off"}, False),
    ],
)
def test_fork_is_used_unless_turned_off(environ: dict[str, str], usable: bool) -> None:
    reason = fork_available(environ)
    assert (reason is None) is usable
    if not usable:
        assert "EXP_CI_DVC_FORK" in str(reason)


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["--version"],
        ["exp", "run", "--name", "x"],
        ["no-such"],
        # the server parses -S values while the child runs (to warm Hydra's parser for the
        # next child): values that do not parse are the child's business only
        ["exp", "run", "-S", "lr=[1,", "--set-param", "params.yaml:x=1"],
    ],
)
def test_a_command_gives_the_subprocess_output_and_exit_code(tmp_path: Path, args) -> None:
    expected = subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=tmp_path, capture_output=True, text=True
    )
    dvc = PreloadedDvc.start()
    assert dvc is not None, PreloadedDvc.failure
    try:
        assert dvc.run(tmp_path, args) == (expected.returncode, expected.stdout, expected.stderr)
        assert dvc.run(tmp_path, args)[0] == expected.returncode  # the server goes on
    finally:
        dvc.close()


@pytest.mark.slow
def test_a_killed_server_is_reported_not_waited_for(tmp_path: Path) -> None:
    dvc = PreloadedDvc.start()
    assert dvc is not None
    dvc._process.kill()
    dvc._process.wait()
    with pytest.raises(ServerGone):
        dvc.run(tmp_path, ["--version"])
    assert not dvc.alive()
    dvc.close()


@pytest.mark.slow
def test_shared_channels_each_run_commands_and_the_server_ends_with_the_last(
    tmp_path: Path,
) -> None:
    import threading

    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        folder.mkdir()
    # `dvc init --no-scm` in a folder of its own, from two threads, one channel each
    channels = PreloadedDvc.start_shared(2)
    assert channels is not None, PreloadedDvc.failure
    results: dict[int, tuple[int, str, str]] = {}

    def work(number: int) -> None:
        results[number] = channels[number].run(folders[number], ["init", "--no-scm", "-q"])

    threads = [threading.Thread(target=work, args=(number,)) for number in (0, 1)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for channel in channels:
            channel.close()
    assert results == {0: (0, "", ""), 1: (0, "", "")}
    assert all((folder / ".dvc" / "config").is_file() for folder in folders)
    assert channels[0]._process.wait(timeout=10) == 0  # ended with its last channel


@pytest.mark.slow
def test_channels_a_plan_does_not_need_cost_the_server_no_fork(tmp_path: Path) -> None:
    """`--jobs 4` for a plan of one: the three channels closed before the server has
    finished importing get no serving fork of their own (each would be a copy of a
    process holding all of DVC, made before the first experiment can start)."""
    import psutil

    channels = Channels(4)
    channels.keep(1)
    kept = channels.take()
    assert kept is not None, PreloadedDvc.failure
    assert channels.take() is None
    try:
        assert kept.run(tmp_path, ["--version"])[0] == 0  # served, so past its imports
        server = psutil.Process(kept._process.pid)
        assert server.children() == []  # no helper, live or ended, beside the served command
    finally:
        kept.close()
    assert kept._process.wait(timeout=10) == 0


@pytest.mark.slow
def test_channels_are_taken_once_and_an_unused_server_is_killed_not_waited_for() -> None:
    import signal

    channels = Channels(2)
    first = channels.take()
    assert first is not None, PreloadedDvc.failure
    first.close()
    channels.close()  # the one never taken, the last: no command was sent, it may be importing
    assert channels.take() is None
    assert first._process.wait(timeout=10) == -signal.SIGKILL


@pytest.mark.slow
def test_a_templated_projects_experiments_are_those_python_m_dvc_makes(tmp_path: Path, env):
    """DVC's `${...}` parser, built in the server, gives each child what it gives
    `python -m dvc`: the same output, exit code and experiment commit, twice in a row."""
    forked, plain = tmp_path / "forked", tmp_path / "plain"
    for root in (forked, plain):
        init_project(root, env)
        write(root, TEMPLATED)
        commit_all(root, "templated project", env)
    dvc = PreloadedDvc.start()
    assert dvc is not None, PreloadedDvc.failure
    try:
        for name, lr in (("first", "0.1"), ("second", "0.25")):
            args = ["exp", "run", "--name", name, "--set-param", f"lr={lr}"]
            ours = dvc.run(forked, args)
            theirs = subprocess.run(
                [sys.executable, "-m", "dvc", *args], cwd=plain, capture_output=True, text=True
            )
            assert ours == (theirs.returncode, theirs.stdout, theirs.stderr)
            assert f"python score.py {lr}" in ours[1]
            files = [_experiment_files(root, name, env) for root in (forked, plain)]
            assert files[0] == files[1]  # params, dvc.lock, metrics: the same blobs
            assert json.loads(files[0]["m.json"]) == {"score": float(lr) * 2}
    finally:
        dvc.close()


def _experiment_files(root: Path, name: str, env) -> dict[str, str]:
    """The files of experiment `name`'s commit but `.dvc/config` (it names the remote's
    folder, which differs between the two projects)."""
    refs = run(root, "git", "for-each-ref", "--format=%(refname)", "refs/exps/", env=env)
    (ref,) = [line for line in refs.splitlines() if line.endswith(f"/{name}")]
    paths = run(root, "git", "ls-tree", "-r", "--name-only", ref, env=env).split()
    return {
        path: run(root, "git", "show", f"{ref}:{path}", env=env)
        for path in paths
        if path != ".dvc/config"
    }


# --- the server's YAML memo: a repeat gives what the parser gives ------------------------

_PIECES = st.sampled_from(
    [
        "a",
        "b: ",
        "- ",
        "\n",
        "  ",
        "&x ",
        "*x",
        "[",
        "]",
        "{",
        "}",
        ", ",
        "1",
        "007",
        "1.5",
        ".inf",
        "0x1F",
        "true",
        "null",
        "~",
        "'q'",
        '"\\u00e9"',
        "# c",
        "2001-12-14",
        ":",
        "? ",
        "|\n  ",
        "%YAML 1.1\n---\n",
        "---\n",
    ]
)


def _memoized_yaml() -> type:
    """A YAML class with the memo, counting the parses it passes on to ruamel's `load`."""
    from ruamel.yaml import YAML

    class Counting(YAML):
        parses = 0

        def load(self, stream):
            Counting.parses += 1
            return super().load(stream)

    class Memoized(Counting):  # the memo on a subclass: ruamel's own class stays as it is
        pass

    memoize_safe_loads(Memoized)
    return Memoized


def _outcome(load, text: str) -> str:
    """What a load gives, types included (`1`, `1.0` and `True` differ), or what it raises."""
    try:
        return repr(load(text))
    except Exception as error:
        return f"{type(error).__name__}: {error}"


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=30).map("".join))
def test_a_memoized_safe_load_gives_what_the_parser_gives_each_time(text: str) -> None:
    from ruamel.yaml import YAML

    memoized = _memoized_yaml()
    parsed = _outcome(YAML(typ="safe").load, text)
    assert [_outcome(memoized(typ="safe").load, text) for _ in range(3)] == [parsed] * 3


def test_each_memoized_load_is_its_own_copy_with_its_aliases_shared() -> None:
    memoized = _memoized_yaml()
    text = "a: &x [1, 2]\nb: *x\nc: {d: 1}\n"
    first = memoized(typ="safe").load(text)
    first["a"].append(3)
    first["c"]["d"] = 9
    second = memoized(typ="safe").load(text)
    assert second == {"a": [1, 2], "b": [1, 2], "c": {"d": 1}}
    assert second["a"] is second["b"]


def test_a_repeated_text_is_parsed_once_but_round_trip_loads_and_streams_each_time() -> None:
    import io

    memoized = _memoized_yaml()
    text = "a: 1  # kept\n"
    for _ in range(3):
        memoized(typ="safe").load(text)
    assert memoized.parses == 1
    for _ in range(2):
        assert memoized(typ="rt").load(text).ca.items  # comments: only a parse has them
        memoized(typ="safe").load(io.StringIO(text))
    assert memoized.parses == 5
