from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers.pr_project import PullRequestCheckout, build_pull_request_checkout
from tests.helpers.project import build_template, environment


@pytest.fixture(scope="session")
def session_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return environment(tmp_path_factory.mktemp("home"))


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, session_env: dict[str, str]) -> None:
    """Every test sees the isolated HOME and Git config, in-process too."""
    for name in list(os.environ):
        if name.startswith(("GIT_", "DVC_", "GITHUB_")):
            monkeypatch.delenv(name)
    for name, value in session_env.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory, session_env: dict[str, str]):
    """The real DVC project with real experiments, built once per session (slow)."""
    root = tmp_path_factory.mktemp("template") / "project"
    baselines = build_template(root, session_env)
    return root, baselines


@pytest.fixture
def project(tmp_path: Path, template) -> Path:
    """A private copy of the template project (with its origin and DVC remote beside it)."""
    source, _ = template
    for sibling in source.parent.iterdir():
        shutil.copytree(sibling, tmp_path / sibling.name, symlinks=True)
    root = tmp_path / source.name
    # The copied configs still name the template's origin and DVC remote; point them at ours.
    for config in (root / ".dvc" / "config", root / ".git" / "config"):
        config.write_text(config.read_text().replace(str(source.parent), str(tmp_path)))
    # DVC also reads the remote from the config committed in each commit (the template's
    # folder); the local config overrides it everywhere, so no test writes to the template's.
    (root / ".dvc" / "config.local").write_text(
        f"['remote \"storage\"']\n    url = {tmp_path / (source.name + '-storage')}\n"
    )
    return root


@pytest.fixture(scope="session")
def pr_template(tmp_path_factory, session_env) -> PullRequestCheckout:
    return build_pull_request_checkout(tmp_path_factory.mktemp("pr") / "project", session_env)


@pytest.fixture
def pr_checkout(pr_template: PullRequestCheckout, tmp_path: Path) -> PullRequestCheckout:
    """A private copy of the merge-commit checkout (with its origin and DVC remote)."""
    source = pr_template.root
    for sibling in source.parent.iterdir():
        shutil.copytree(sibling, tmp_path / sibling.name, symlinks=True)
    root = tmp_path / source.name
    for config in (root / ".dvc" / "config", root / ".git" / "config"):
        config.write_text(config.read_text().replace(str(source.parent), str(tmp_path)))
    return PullRequestCheckout(root, pr_template.base, pr_template.head, pr_template.merge)


@pytest.fixture
def baselines(template) -> dict[str, str]:
    return template[1]


@pytest.fixture
def env(session_env: dict[str, str]) -> dict[str, str]:
    return session_env


@pytest.fixture(scope="session")
def moto_endpoint(session_env: dict[str, str]):
    """moto's S3 server on 127.0.0.1, once per session; the dummy credentials go into the
    session's environment (and so into every DVC subprocess)."""
    pytest.importorskip("moto.server")
    pytest.importorskip("dvc_s3")
    from tests.helpers.s3 import CREDENTIALS, moto_server

    session_env.update(CREDENTIALS)
    yield from moto_server()


@pytest.fixture
def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    """A fresh bucket on the local moto server."""
    import re

    from tests.helpers.s3 import CREDENTIALS, S3

    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    bucket = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:50].strip("-") + "-b"
    store = S3(moto_endpoint, bucket)
    store.client().create_bucket(Bucket=bucket)
    return store


# --- a real Actions runner (act) --------------------------------------------------------------


@pytest.fixture(scope="session")
def action_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean copy of this checkout's tracked files: what `uses: OWNER/exp-ci@SHA` gets."""
    from tests.helpers.act import action_copy

    return action_copy(tmp_path_factory.mktemp("exp-ci-action") / "exp-ci")


@pytest.fixture(scope="session")
def runner_env(
    tmp_path_factory: pytest.TempPathFactory, session_env: dict[str, str], action_checkout: Path
) -> dict[str, str]:
    """The runner's environment: isolated HOME and Git, a throwaway Python with exp-ci."""
    from tests.helpers.act import act_missing, runner_python

    missing = act_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the act tests cannot run in CI: {missing}")
        pytest.skip(missing)
    bin_dir = runner_python(tmp_path_factory.mktemp("runner") / "venv", action_checkout)
    environ = {k: v for k, v in session_env.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**environ, "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin"}


# --- the fast loop: `pytest -m "not slow"` ------------------------------------------------------

# Fixtures that build real Git/DVC projects, run act or draw in Chromium: a test using one
# (directly or through another fixture) is slow.
SLOW_FIXTURES = {
    "template",
    "pr_template",
    "runner_env",
    "action_checkout",
    "pushed_template",
    "sweep_root",
    "plots_repo",
    "git_dir",
    "odd_project",
    "hostile_project",
    "rendered",
    "language_service",
    "monorepo",
    "s3",
    "moto_endpoint",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _fast_tests_start_no_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """In the fast loop (`-m "not slow"`), a test that starts a process (git, dvc, exp-ci,
    act, a linter) fails: it belongs in the slow set. The full run does not check this."""
    fast_loop = "not slow" in (request.config.getoption("markexpr") or "")
    if not fast_loop or request.node.get_closest_marker("slow"):
        yield
        return
    import subprocess

    started: list[str] = []
    original = subprocess.Popen.__init__

    def recording(self, args, *rest, **kwargs):
        started.append(str(args if isinstance(args, str) else args[0]))
        return original(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", recording)
    yield
    if started:
        pytest.fail(
            f"this test started {len(started)} process(es) ({started[0]} first) but is not "
            "marked slow: mark it `@pytest.mark.slow` or use a fixture of SLOW_FIXTURES",
            pytrace=False,
        )
