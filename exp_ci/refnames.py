"""Git's ref-name rules, once: for the refs `persist` makes and the experiment names `run`
gives (DVC makes each name the last part of `refs/exps/.../<name>`)."""

from __future__ import annotations

# Characters `git check-ref-format` rejects anywhere (rule 4, 5 and 10 of its manual).
_BAD_CHARACTERS = frozenset(" ~^:?*[\\\x7f") | frozenset(chr(c) for c in range(32))


def ref_format_error(refname: str) -> str | None:
    """Why Git would reject `refname` (a full ref such as refs/heads/x), or None.

    The rules of `git check-ref-format` without options; tests compare this with Git.
    """
    if refname == "@":
        return "it is the single character '@'"
    bad = sorted({c for c in refname if c in _BAD_CHARACTERS})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        return f"it contains {shown} (no spaces, control characters, ~ ^ : ? * [ or \\)"
    if ".." in refname:
        return "it contains '..'"
    if "@{" in refname:
        return "it contains '@{'"
    if refname.endswith("."):
        return "it ends with '.'"
    components = refname.split("/")
    if len(components) < 2:
        return "it has a single level (a full ref has at least one '/')"
    for component in components:
        if not component:
            return "it has an empty part (a leading, trailing or doubled '/')"
        if component.startswith("."):
            return f"its part '{component}' starts with '.'"
        if component.endswith(".lock"):
            return f"its part '{component}' ends with '.lock'"
    return None


def experiment_name_error(name: str) -> str | None:
    """Why `name` cannot be a DVC experiment name, or None: one part of a Git ref, and not
    `-...` (DVC's command line would read it as an option) nor `@` (Git's name for HEAD)."""
    if not name:
        return "it is empty"
    if "/" in name:
        return "it contains '/' (an experiment name is one part of a ref)"
    if name.startswith("-"):
        return "it starts with '-' (it would read as an option)"
    if name == "@":
        return "it is the single character '@'"
    error = ref_format_error(f"refs/exps/{name}")
    return None if error is None else error.replace(f"its part '{name}'", "it")
