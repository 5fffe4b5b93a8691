"""The preloaded DVC: when it is used, and that a command gives what `python -m dvc` gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from exp_ci.adapters.dvc_fork import Channels, PreloadedDvc, ServerGone, fork_available


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
def test_channels_are_taken_once_and_an_unused_server_is_killed_not_waited_for() -> None:
    import signal

    channels = Channels(2)
    first = channels.take()
    assert first is not None, PreloadedDvc.failure
    first.close()
    channels.close()  # the one never taken, the last: no command was sent, it may be importing
    assert channels.take() is None
    assert first._process.wait(timeout=10) == -signal.SIGKILL
