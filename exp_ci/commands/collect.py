"""`exp-ci collect REMOTE`: bring every shard's experiments back from the Git remote.

Fetches the experiment refs pushed for HEAD's commit (-A: for every baseline) with one
`git fetch`, without DVC and without data; --with-data also pulls their cached outputs
(`dvc exp pull`). Afterwards `exp-ci show`, `best`, `persist` and `comment` see them all.
A local experiment with the same name but another commit is never overwritten unless
--force.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from exp_ci.errors import EXIT_OK, EXIT_USER_ERROR
from exp_ci.options import option


@dataclass(frozen=True)
class CollectOptions:
    repo: Path
    remote: str = option("remote", metavar="REMOTE", help="the Git remote (name or URL)")
    all_baselines: bool = option(
        "-A",
        "--all-baselines",
        action="store_true",
        help="experiments of every baseline, not only of HEAD's commit",
    )
    with_data: bool = option(
        "--with-data",
        action="store_true",
        help="also pull the experiments' cached outputs from the DVC remote (dvc exp pull)",
    )
    dvc_remote: str | None = option(
        "--dvc-remote",
        metavar="NAME",
        help="with --with-data: the DVC remote to pull from (default: the project's default)",
    )
    force: bool = option(
        "--force",
        action="store_true",
        help="replace local experiments that have the same name as a remote one",
    )
    quiet: bool = False


OPTIONS = CollectOptions


def _check_pulled(root: Path, refs: dict[str, str], dvc_remote: str) -> None:
    """Every object the collected experiments record is in the local cache now. `dvc exp
    pull` only warns about data the remote lacks (exit 0); here each missing object is an
    error (exit 2) that names it and the experiment that records it."""
    from exp_ci.adapters.git import parse_exp_ref
    from exp_ci.errors import UserError
    from exp_ci.hooks.publish import missing_locally
    from exp_ci.hooks.report import missing_lines

    missing = missing_locally(root, list(refs.values()))
    if not missing:
        return
    names = {sha: parse_exp_ref(ref)[1] for ref, sha in refs.items()}  # type: ignore[index]
    experiments = sorted({names.get(m.output.commit or "", "?") for m in missing})
    raise UserError(
        f"`dvc exp pull` did not bring {len(missing)} object(s) that the experiments "
        f"{', '.join(experiments)} record: DVC remote '{dvc_remote}' lacks them (the job that "
        "ran them did not finish pushing their data):\n"
        + "\n".join(missing_lines(missing, f"remote '{dvc_remote}'"))
        + "\nThe experiment refs are collected. Rerun the jobs that made them with "
        "`exp-ci run --push` (or `dvc exp push` them from the machine that has the data), or "
        "remove them (`dvc exp remove NAME`) before keeping any of them."
    )


def run(options: CollectOptions) -> int:
    from exp_ci.adapters.dvc import choose_remote, exp_pull
    from exp_ci.adapters.git import fetch_refs, parse_exp_ref, remote_experiment_refs
    from exp_ci.errors import UserError
    from exp_ci.read.experiments import open_project

    if options.dvc_remote is not None and not options.with_data:
        raise UserError("--dvc-remote only matters with --with-data; add --with-data.")
    with open_project(options.repo) as git:
        baseline = None if options.all_baselines else git.resolve_commit("HEAD")
        dvc_remote = choose_remote(git.dvc_root, options.dvc_remote) if options.with_data else None
        remote_refs = {
            ref: sha
            for ref, sha in remote_experiment_refs(git, options.remote).items()
            if baseline is None or parse_exp_ref(ref)[0] == baseline  # type: ignore[index]
        }
        local = {ref.ref: ref.commit.sha for ref in git.experiment_refs()}
        new = [ref for ref in remote_refs if ref not in local]
        same = [ref for ref, sha in remote_refs.items() if local.get(ref) == sha]
        conflicts = [ref for ref, sha in remote_refs.items() if local.get(ref) not in (None, sha)]
        fetch_refs(git, options.remote, new)
        if options.force:
            fetch_refs(git, options.remote, conflicts, force=True)
        if options.with_data and remote_refs and (options.force or not conflicts):
            exp_pull(
                git.dvc_root,
                options.remote,
                all_baselines=options.all_baselines,
                dvc_remote=dvc_remote or "",
                force=options.force,
            )
            _check_pulled(git.dvc_root, remote_refs, dvc_remote or "")

    where = "every baseline" if baseline is None else f"HEAD ({baseline[:7]})"
    replaced = len(conflicts) if options.force else 0
    message = (
        f"collected {len(remote_refs)} experiment(s) of {where} from {options.remote}: "
        f"{len(new)} new, {len(same)} already here"
        + (f", {replaced} replaced (--force)" if replaced else "")
        + ("; their data pulled" if options.with_data and remote_refs else "")
    )
    if not options.quiet:
        print(f"exp-ci: {message}", file=sys.stderr)
    if conflicts and not options.force:
        names = ", ".join(parse_exp_ref(ref)[1] for ref in conflicts)  # type: ignore[index]
        print(
            f"exp-ci: error: {len(conflicts)} local experiment(s) have the same name as a "
            f"different one on {options.remote} and were kept: {names}. Rename or remove yours "
            "(`dvc exp rename`, `dvc exp remove`), or pass --force to replace them.",
            file=sys.stderr,
        )
        return EXIT_USER_ERROR
    return EXIT_OK
