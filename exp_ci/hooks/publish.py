"""Data before refs: every object a commit's DVC files record, checked in the DVC remote.

Before exp-ci pushes a ref that needs data (an experiment ref, a branch, a tag), it asks
the DVC remote itself, with the hook's verifier, about every output that the `dvc.lock`
and `.dvc` files of the ref's commit record (a directory: its manifest and each file).
Neither DVC's exit code nor an index is trusted: not DVC's per-machine push index (an
interrupted push leaves entries for objects that never arrived), and not exp-ci's own
(`hooks.index`: a bucket can lose objects). What is missing is pushed from the local
cache by `dvc push` of exactly those objects, and the remote is asked again; the ref goes
out only when nothing is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from exp_ci.errors import UserError

if TYPE_CHECKING:
    from exp_ci.adapters.gitcli import GitReader
    from exp_ci.hooks.check_pushed import RemoteCheck
    from exp_ci.hooks.outputs import Output
    from exp_ci.hooks.verify import Missing
    from exp_ci.read.dvcyaml import CachedOut


@dataclass(frozen=True)
class DataCheck:
    """What the remote lacks for some commits, after pushing what could be pushed."""

    remote: str  # the DVC remote's name
    url: str
    outputs: int  # outputs checked
    pushed: int  # objects uploaded by `dvc push`
    missing: tuple[Missing, ...]  # still missing afterwards
    not_local: frozenset[CachedOut]  # missing objects this machine's cache lacks too
    lacking: frozenset[str] = frozenset()  # the commits that record a missing object

    @property
    def complete(self) -> bool:
        return not self.missing


def _checks(root: Path, outputs, cache, dvc_remote: str | None) -> list[RemoteCheck]:
    from exp_ci.hooks.check_pushed import CheckOptions, check_remotes

    checks = check_remotes(root, outputs, cache, CheckOptions(remote=dvc_remote, use_index=False))
    for check in checks:
        if check.verdict is None:
            raise UserError(
                f"cannot reach DVC remote '{check.location.name}' ({check.location.url}): "
                f"{check.unreachable}. exp-ci checks that the remote holds the data before it "
                "pushes any ref that needs it, so nothing was pushed. Check the network, the "
                "credentials and the DVC plugin (`dvc-s3`, ...), then rerun the same command."
            )
    return checks


def ensure_data(
    project_root: Path,
    commits: Sequence[str],
    dvc_remote: str | None,
    *,
    push: bool = True,
    say: Callable[[str], None] = lambda _: None,
) -> list[DataCheck]:
    """Check the remote for the outputs that the DVC project at `project_root` records in
    `commits` (a sibling or nested project's are its own business, as for `dvc exp push`);
    push what it lacks (`push`); check again. One result per remote; `complete` says
    whether refs may go."""
    from exp_ci.adapters.dvc import LocalCache, push_objects, remove_stale_push_folders
    from exp_ci.adapters.gitcli import GitReader
    from exp_ci.hooks.check_pushed import in_cache
    from exp_ci.hooks.verify import unique_outputs

    git = GitReader(project_root)
    results = []
    for root, found in _project_outputs(git, project_root, commits).items():
        outputs = unique_outputs(found)
        cache = LocalCache(root)
        if push:  # a rerun after a kill mid-push: its folder goes, even with nothing to push
            remove_stale_push_folders(root)
        checks = _checks(root, outputs, cache, dvc_remote)
        pushed = 0
        if push:
            for check in checks:
                missing = check.verdict.missing if check.verdict else ()
                # The missing objects themselves: a directory's missing file as a file, since
                # DVC takes every file as present once the remote has the `.dir` manifest.
                objects = list(dict.fromkeys(m.obj for m in missing if in_cache(cache, m.obj)))
                if objects:
                    say(
                        f"pushing {len(objects)} object(s) that DVC remote "
                        f"'{check.location.name}' lacks (dvc push)"
                    )
                    push_objects(root, check.location.name, objects)
                    pushed += len(objects)
            if pushed:
                checks = _checks(root, outputs, cache, dvc_remote)
        for check in checks:
            missing = check.verdict.missing if check.verdict else ()
            # By object: an output shared by several commits is checked once, for all.
            gone = {m.output.obj for m in missing}
            lacking = frozenset(o.commit for o in found if o.commit and o.obj in gone)
            if missing and not lacking:  # cannot say whose: then none of them may go
                lacking = frozenset(commits)
            results.append(
                DataCheck(
                    check.location.name,
                    check.location.url,
                    len(check.outputs),
                    pushed,
                    tuple(missing),
                    frozenset(m.obj for m in missing if not in_cache(cache, m.obj)),
                    lacking,
                )
            )
    return results


def missing_locally(project_root: Path, commits: Sequence[str]) -> list[Missing]:
    """The outputs of `commits` (of the DVC project at `project_root`) that this machine's
    DVC cache lacks (after a pull: what the pull did not bring), each named by path,
    commit and object."""
    from exp_ci.adapters.dvc import LocalCache
    from exp_ci.adapters.gitcli import GitReader
    from exp_ci.hooks.check_pushed import LocalStore
    from exp_ci.hooks.verify import find_missing

    git = GitReader(project_root)
    missing: list[Missing] = []
    for root, outputs in _project_outputs(git, project_root, commits).items():
        cache = LocalCache(root)
        missing += find_missing(outputs, LocalStore(cache), read_local=cache.read).missing
    return missing


def _project_outputs(
    git: GitReader, project_root: Path, commits: Sequence[str]
) -> dict[Path, list[Output]]:
    """The outputs `commits` record, of the DVC project at `project_root` only."""
    from exp_ci.hooks.check_pushed import read_outputs
    from exp_ci.hooks.history import commit_dvc_files

    found = read_outputs(git, commit_dvc_files(git, list(commits)))
    own = project_root.resolve()
    return {root: outputs for root, outputs in found.items() if root.resolve() == own}


def missing_message(checks: Sequence[DataCheck], what: str, fix: str) -> str:
    """`what` (e.g. "experiment lr-high") needs objects the remote lacks: each named."""
    from exp_ci.hooks.report import missing_lines

    lines = []
    for check in checks:
        if check.complete:
            continue
        lines.append(
            f"DVC remote '{check.remote}' ({check.url}) lacks {len(check.missing)} object(s) "
            f"that {what} record(s):"
        )
        lines += missing_lines(check.missing, f"remote '{check.remote}'", check.not_local)
        if check.pushed and any(m.obj not in check.not_local for m in check.missing):
            lines.append(
                f"({check.pushed} object(s) were pushed, and the remote still lacks these: DVC "
                "reported success for data that did not arrive)"
            )
        if check.not_local:
            lines.append(
                "They are not in this machine's DVC cache either: push them from the machine "
                "that produced them (`dvc push`, or `exp-ci run --push` of that job), or rebuild "
                "them (`dvc repro`)."
            )
    lines.append(fix)
    return "\n".join(lines)
