"""Count the HTTP requests one `exp-ci comment` makes, by size of the pull request.

For pull requests with 0, 50, 250 and 1,000 existing comments this runs the real command
(`exp_ci.cli.main(["comment", ...])`, in-process) against the in-memory GitHub of
`tests/helpers/github_api.py`, served through `responses`, and counts every request it
sees. Where the sticky comment already is matters, so each size is measured with:

- first: no sticky comment yet (it is created, then duplicates are looked for);
- top: the sticky comment is the 3rd comment (made on the first push, then updated);
- middle: in the middle of the conversation (the worst place for the page walk);
- bottom: the last comment (after `--mode recreate`).

Both kinds of token are measured: the workflow's `GITHUB_TOKEN` (an installation token:
exp-ci never calls `GET /user` for it) and a personal access token (one `GET /user`, only
when a marker comment has to be told apart from someone else's). After every run the pull
request must hold exactly one sticky comment. No network and no waiting are involved (the
throttle is off: this counts requests, it does not time them).

    python benchmarks/bench_comment.py [--sizes 0,50,250,1000] [--markdown]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import responses  # noqa: E402

from exp_ci.adapters import github as github_adapter  # noqa: E402
from exp_ci.cli import main  # noqa: E402
from exp_ci.sticky.format import assemble  # noqa: E402
from tests.helpers.github_api import BOT, REPOSITORY, FakeGitHub  # noqa: E402

PR = 7
PLACES = ("first", "top", "middle", "bottom")
TOKENS = {
    "GITHUB_TOKEN": "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
    "personal token": "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
}
TARGET = 5  # requests per upsert, up to 250 comments
TARGET_UP_TO = 250


def seed(fake: FakeGitHub, size: int, place: str) -> None:
    """`size` comments in all, the sticky one (if any) at `place`."""
    if place == "first" or size == 0:
        fake.seed(PR, size)
        return
    position = {"top": min(2, size - 1), "middle": size // 2, "bottom": size - 1}[place]
    fake.seed(PR, position)
    fake.add_comment(PR, assemble("exp-ci", {"default": "the table of the last push"}), BOT)
    fake.seed(PR, size - position - 1)


def measure(size: int, place: str, token: str, body_file: Path, event_file: Path) -> int:
    """Requests of one `exp-ci comment` run; asserts one sticky comment afterwards."""
    environ = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_TOKEN": token,
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event_file),
        "GITHUB_RUN_ID": "1",
        "GITHUB_API_URL": "https://api.github.com",
    }
    saved = dict(os.environ)
    os.environ.update(environ)
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            fake = FakeGitHub(mock, token=token)
            fake.add_pull(PR)
            if token.startswith("ghp_"):
                fake.authenticated_login = BOT  # the token's user, who wrote the comment
            seed(fake, size, place)
            sink = io.StringIO()
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                code = main(["comment", "--body-file", str(body_file)])
            if code != 0:
                raise SystemExit(f"exp-ci comment failed ({code}):\n{sink.getvalue()}")
            sticky = fake.marked(PR)
            if len(sticky) != 1:
                raise SystemExit(f"{len(sticky)} sticky comments after {place} at {size}")
            return len(mock.calls)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main_(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="0,50,250,1000", help="comma-separated comment counts")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    github_adapter.DEFAULT_PACING = github_adapter.Pacing.none()

    with tempfile.TemporaryDirectory() as tmp:
        body = Path(tmp) / "body.md"
        body.write_text("## Experiments\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
        event = Path(tmp) / "event.json"
        event.write_text(json.dumps({"number": PR, "pull_request": {"number": PR}}))
        results: dict[tuple[int, str, str], int] = {}
        for size in sizes:
            for place in PLACES:
                if size == 0 and place != "first":
                    continue
                for label, token in TOKENS.items():
                    results[(size, place, label)] = measure(size, place, token, body, event)

    header = ["comments", "token", *[f"sticky {p}" if p != "first" else "first" for p in PLACES]]
    rows = []
    for size in sizes:
        for label in TOKENS:
            cells = [
                str(results[(size, p, label)]) if (size, p, label) in results else "-"
                for p in PLACES
            ]
            rows.append([str(size), label, *cells])
    print("HTTP requests per `exp-ci comment` (one upsert), counted through `responses`;")
    print("after every run the pull request held exactly one sticky comment.")
    if args.markdown:
        print("\n| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            print(line.rstrip())
    worst = max(
        (count for (size, _, _), count in results.items() if size <= TARGET_UP_TO), default=0
    )
    verdict = "met" if worst <= TARGET else "NOT met"
    print(
        f"\nworst case up to {TARGET_UP_TO} comments: {worst} requests "
        f"(target at most {TARGET}: {verdict})"
    )
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main_())
