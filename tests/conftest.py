from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

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
