"""Concurrent `comment --section` jobs on one existing comment: no section is lost.

GitHub has no compare-and-swap on comments, so jobs that update one comment at once race:
each reads the body, puts its section in and writes it back, and a write based on an older
read drops what others wrote meanwhile. `upsert(verify=True)` re-reads and merges until the
comment is stable with its section in it (`sticky.sync._verify_section`). Here 8 and 16
jobs (threads) update an existing comment at once, round after round, against the
thread-safe GitHub fake, with a seeded random delay before each request so reads and
writes interleave; after each round every section must hold that round's content.
The same rounds without the re-read lose sections: the race is real in this setup.
"""

from __future__ import annotations

import random
import threading
import time

import pytest
import responses

from exp_ci.adapters import github as github_adapter
from exp_ci.adapters.github import GitHub, Pacing
from exp_ci.sticky.format import assemble, parse_sections
from exp_ci.sticky.sync import Section, identity, upsert
from tests.helpers.github_api import BOT, FakeGitHub

pytestmark = pytest.mark.slow

TOKEN = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
PR = 7
ROUNDS = 6
LATENCY = 0.004  # at most, before each request
SETTLE = 0.02  # the pause before a re-read, jittered ×0.5–1.5 as `exp-ci comment` does


def run_rounds(jobs: int, *, verify: bool, seed: int) -> tuple[int, int]:
    """(sections lost, sections expected) over ROUNDS rounds of `jobs` concurrent jobs."""
    chance = random.Random(seed)
    lock = threading.Lock()

    def delay(method: str, path: str) -> None:
        with lock:
            seconds = chance.uniform(0, LATENCY)
        time.sleep(seconds)

    def settle() -> None:
        with lock:
            seconds = SETTLE * chance.uniform(0.5, 1.5)
        time.sleep(seconds)

    keys = [f"shard-{n}" for n in range(1, jobs + 1)]
    lost = 0
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeGitHub(mock, token=TOKEN)
        fake.add_pull(PR, head_sha="a" * 40)
        comment = fake.add_comment(PR, assemble("exp-ci", {k: "round 0" for k in keys}), BOT)
        fake.before.append(delay)
        for number in range(1, ROUNDS + 1):
            errors: list[BaseException] = []
            start = threading.Barrier(jobs, timeout=30)

            def job(key: str, number=number, start=start, errors=errors) -> None:
                try:
                    client = GitHub(TOKEN, fake.repository, fake.api, Pacing.none())
                    text = f"round {number}"
                    section = Section("exp-ci", key, lambda budget, summary, t=text: t)
                    start.wait()
                    outcome = upsert(
                        client,
                        PR,
                        section,
                        lambda: identity(None, None),
                        verify=verify,
                        settle=settle,
                    )
                    assert outcome.action in ("updated", "unchanged"), outcome.action
                except BaseException as error:  # pragma: no cover - reported below
                    errors.append(error)

            threads = [threading.Thread(target=job, args=(key,)) for key in keys]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert not errors, errors
            assert len(fake.marked(PR)) == 1  # one comment, always
            sections = parse_sections(comment["body"], "exp-ci")
            lost += sum(1 for key in keys if sections.get(key) != f"round {number}")
    return lost, jobs * ROUNDS


@pytest.fixture(autouse=True)
def no_pacing(monkeypatch):
    monkeypatch.setattr(github_adapter, "DEFAULT_PACING", Pacing.none())


@pytest.mark.parametrize("jobs", [8, 16])
def test_concurrent_section_updates_lose_no_section(jobs):
    lost, expected = run_rounds(jobs, verify=True, seed=jobs)
    assert (lost, expected) == (0, jobs * ROUNDS)


def test_without_the_re_read_the_same_rounds_lose_sections():
    lost, _ = run_rounds(8, verify=False, seed=8)
    assert lost > 0
