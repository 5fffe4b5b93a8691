"""What the hook says: each missing output with its path, commit, hash and remote, then the
fix (pure: text from results)."""

from __future__ import annotations

from collections.abc import Container, Sequence

from exp_ci.hooks import PROG
from exp_ci.hooks.verify import NOT_IN_STORE, Missing
from exp_ci.read.dvcyaml import CachedOut
from exp_ci.render.words import count

SHOWN_PER_DIRECTORY = 10


def _where(item: Missing) -> str:
    output = item.output
    at = f"at commit {output.commit[:7]}" if output.commit else "(staged)"
    recorded = f"{output.source} {at}"
    if item.member:
        return f"in directory {output.path}, {recorded}"
    return recorded


def _line(item: Missing, store: str, not_local: Container[CachedOut]) -> str:
    path = item.path + ("/" if item.output.is_dir and not item.member else "")
    notes = [] if item.reason == NOT_IN_STORE else [item.reason.replace("the store", store)]
    if item.member is None and item.output.is_dir and item.reason == NOT_IN_STORE:
        notes.append(f"its directory manifest is not in {store}")
    if item.obj in not_local and item.reason == NOT_IN_STORE:
        notes.append("not in the local cache either")
    extra = "; " + "; ".join(notes) if notes else ""
    return f"  {path}  md5 {item.obj.md5} ({_where(item)}{extra})"


def missing_lines(
    missing: Sequence[Missing],
    store: str,
    not_local: Container[CachedOut] = frozenset(),
    *,
    verbose: bool = False,
) -> list[str]:
    """One line per missing object; past SHOWN_PER_DIRECTORY files of one directory output,
    a count instead (all with `verbose`)."""
    lines: list[str] = []
    shown: dict[tuple[str, CachedOut], int] = {}
    hidden: dict[tuple[str, CachedOut], int] = {}
    for item in missing:
        key = (item.output.path, item.output.obj)
        if item.member and not verbose and shown.get(key, 0) >= SHOWN_PER_DIRECTORY:
            hidden[key] = hidden.get(key, 0) + 1
            continue
        if item.member:
            shown[key] = shown.get(key, 0) + 1
        lines.append(_line(item, store, not_local))
    for (path, _), number in hidden.items():
        lines.append(f"  … and {number} more files of {path}/ (-v lists them)")
    return lines


def remote_missing_report(
    missing: Sequence[Missing],
    remote_name: str,
    remote_url: str,
    scope: str,
    not_local: Container[CachedOut],
    fix_command: str,
    *,
    verbose: bool = False,
) -> str:
    store = f"remote '{remote_name}'"
    outputs = len({(m.output.path, m.output.obj) for m in missing})
    lines = [
        f"{PROG}: DVC remote '{remote_name}' ({remote_url}) lacks data that {scope} record "
        f"({count(outputs, 'output')}, {count(len(missing), 'missing object')}):",
        *missing_lines(missing, store, not_local, verbose=verbose),
        "Push the data before the history that needs it:",
        f"  dvc push -r {remote_name}    (what your workspace records)",
        f"  {fix_command}    (exactly the objects above, then checks again)",
    ]
    unreachable_here = sum(1 for m in missing if m.obj in not_local)
    if unreachable_here:
        lines.append(
            f"{count(unreachable_here, 'object')} not in this machine's DVC cache either: push "
            "from the machine that produced them, or rebuild them (`dvc repro`) and commit again."
        )
    return "\n".join(lines)


def unreachable_report(remote_name: str, reason: str, outputs: int, *, allow_offline: bool) -> str:
    if allow_offline:
        return (
            f"{PROG}: warning: cannot reach DVC remote '{remote_name}' ({reason}); "
            f"{count(outputs, 'output')} not checked (--allow-offline)."
        )
    return (
        f"{PROG}: cannot reach DVC remote '{remote_name}' ({reason}), so "
        f"{count(outputs, 'output')} could not be checked and the push is blocked. Retry when "
        "the remote is reachable (check the network and credentials, `dvc remote list`), or "
        "pass --allow-offline to warn instead."
    )


def local_missing_report(missing: Sequence[Missing], *, verbose: bool = False) -> str:
    outputs = len({(m.output.path, m.output.obj) for m in missing})
    paths = sorted({m.output.path for m in missing})
    return "\n".join(
        [
            f"{PROG}: staged DVC files record data that is not in the local DVC cache "
            f"({count(outputs, 'output')}), so nobody could ever `dvc pull` it:",
            *missing_lines(missing, "the local cache", verbose=verbose),
            "Put the data in the cache, then stage the DVC file again: "
            f"`dvc commit {' '.join(paths)}` (or `dvc add` / `dvc repro`).",
        ]
    )
