"""`exp_ci.lean_typing.NamedTuple` makes the records `typing.NamedTuple` would make."""

from __future__ import annotations

import pickle

import pytest

from exp_ci.lean_typing import NamedTuple


class Version(NamedTuple):
    """A record of the shape the hook uses."""

    path: str
    blob: str
    commit: str | None = None
    tree: str | None = None

    @property
    def is_lock(self) -> bool:
        return self.path.endswith("dvc.lock")

    def named(self) -> str:
        return f"{self.commit}:{self.path}"


def test_a_record_is_a_tuple_of_its_fields_with_defaults_methods_and_docstring():
    version = Version("dvc.lock", "b1", tree="t1")
    assert version == ("dvc.lock", "b1", None, "t1")
    assert Version._fields == ("path", "blob", "commit", "tree")
    assert (version.path, version.commit, version.tree) == ("dvc.lock", None, "t1")
    assert version.is_lock and not Version("data.dvc", "b2").is_lock
    assert version._replace(commit="c1").named() == "c1:dvc.lock"
    assert Version.__doc__ == "A record of the shape the hook uses."
    assert repr(version) == "Version(path='dvc.lock', blob='b1', commit=None, tree='t1')"
    assert {version: 1}[Version("dvc.lock", "b1", None, "t1")] == 1
    assert pickle.loads(pickle.dumps(version)) == version
    with pytest.raises(AttributeError):
        version.path = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Version("dvc.lock")  # type: ignore[call-arg]


def test_a_field_without_default_after_one_with_a_default_is_refused():
    with pytest.raises(TypeError, match="without default follows"):

        class Wrong(NamedTuple):
            first: str = ""
            second: str  # type: ignore[misc]
