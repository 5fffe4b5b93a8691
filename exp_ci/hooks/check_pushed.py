"""`exp-ci-check-pushed`: block pushing Git history whose DVC data is not in the DVC remote.

pre-push: every output recorded by a `dvc.lock` or `.dvc` file that the pushed commits add
or change must be in the DVC remote (the default one, the output's own `remote:`, or
--remote NAME). pre-commit: the staged DVC files' outputs must be in the local cache (the
data was really committed), and with --require-remote in the remote too. Outside
pre-commit it checks the commits of HEAD (or --to-ref) that no remote branch has yet.

Exit codes: 0 all there, 1 data missing (or the remote could not be checked), 2 a usage or
project problem such as a DVC file that does not parse.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

from exp_ci.errors import EXIT_CHECK_FAILED, EXIT_OK, UserError, run_guarded
from exp_ci.hooks import PROG
from exp_ci.lean_typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import argparse

    from exp_ci.adapters.dvc import LocalCache, RemoteLocation
    from exp_ci.adapters.gitcli import GitReader
    from exp_ci.hooks.history import DvcFileVersion
    from exp_ci.hooks.index import CheckedVersions
    from exp_ci.hooks.outputs import Output
    from exp_ci.hooks.verify import Verdict
    from exp_ci.read.dvcyaml import CachedOut

PRE_COMMIT = "pre-commit"
PRE_PUSH = "pre-push"


# The records here are NamedTuples (`exp_ci.lean_typing`'s), not dataclasses: a push that
# the index answers needs nothing else from this module, and importing `dataclasses` (or
# `typing`) is a large part of its time.


class CheckOptions(NamedTuple):
    """What to check, from the command line and pre-commit's environment."""

    repo: Path = Path()
    stage: str = PRE_PUSH
    to_ref: str = "HEAD"
    from_ref: str | None = None
    git_remote: str | None = None  # the Git remote being pushed to (pre-push)
    remote: str | None = None  # the DVC remote to check; None: each output's own, or default
    fix: bool = False
    allow_offline: bool = False
    require_remote: bool = False
    use_index: bool = True
    verbose: bool = False
    quiet: bool = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-r",
        "--remote",
        metavar="NAME",
        help="the DVC remote to check (default: each output's own `remote:`, else the "
        "project's default remote)",
    )
    parser.add_argument(
        "--fix",
        action="store_true",
        help="push exactly the missing objects with `dvc push`, then check again",
    )
    parser.add_argument(
        "--allow-offline",
        action="store_true",
        help="when the DVC remote cannot be reached, warn and pass instead of blocking",
    )
    parser.add_argument(
        "--require-remote",
        action="store_true",
        help="pre-commit stage: also require the staged outputs in the DVC remote",
    )
    parser.add_argument(
        "--no-index",
        dest="use_index",
        action="store_false",
        help="ask the remote about every object, not only those not yet seen there "
        "(the index in .dvc/tmp/exp-ci/ is still updated)",
    )
    parser.add_argument(
        "--stage",
        choices=(PRE_COMMIT, PRE_PUSH),
        help="what to check: the staged DVC files, or the commits being pushed (default: "
        "from pre-commit's environment; outside pre-commit, the commits being pushed)",
    )
    parser.add_argument(
        "--from-ref",
        metavar="REV",
        help="pre-push: the remote's old tip (default: $PRE_COMMIT_FROM_REF)",
    )
    parser.add_argument(
        "--to-ref",
        metavar="REV",
        help="pre-push: the commit being pushed (default: $PRE_COMMIT_TO_REF, else HEAD)",
    )


def options_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> CheckOptions:
    """Options from the command line, completed from pre-commit's environment variables."""
    return options_from_environ(environ, args.stage, args.to_ref, args.from_ref)._replace(
        repo=Path(args.repo),
        remote=args.remote,
        fix=args.fix,
        allow_offline=args.allow_offline,
        require_remote=args.require_remote,
        use_index=args.use_index,
        verbose=args.verbose,
        quiet=args.quiet,
    )


def options_from_environ(
    environ: Mapping[str, str],
    stage: str | None = None,
    to_ref: str | None = None,
    from_ref: str | None = None,
) -> CheckOptions:
    """The stage, refs and Git remote from pre-commit's environment (unless the command line
    named them); everything else at its default, as when no argument is given."""
    pushing = bool(environ.get("PRE_COMMIT_TO_REF") or environ.get("PRE_COMMIT_REMOTE_NAME"))
    return CheckOptions(
        stage=stage
        or (PRE_COMMIT if environ.get("PRE_COMMIT") == "1" and not pushing else PRE_PUSH),
        to_ref=to_ref
        or environ.get("PRE_COMMIT_TO_REF")
        or environ.get("PRE_COMMIT_LOCAL_BRANCH")
        or "HEAD",
        from_ref=from_ref or environ.get("PRE_COMMIT_FROM_REF") or None,
        git_remote=environ.get("PRE_COMMIT_REMOTE_NAME") or None,
    )


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    argv = sys.argv[1:] if argv is None else argv
    if argv:
        options = options_from_args(_parser().parse_args(argv), environ)
    else:
        # How pre-commit runs the hook (`pass_filenames: false`, no `args:`): nothing to
        # parse, so argparse and what it loads (gettext, locale, shutil) stay unimported,
        # 7-12 ms on this machine of a push that the memory of checked versions answers.
        options = options_from_environ(environ)
    return run_guarded(lambda: check_pushed(options), verbose=options.verbose)


def _parser() -> argparse.ArgumentParser:
    import argparse

    from exp_ci.options import add_shared_arguments

    parser = argparse.ArgumentParser(
        prog=PROG,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_shared_arguments(
        parser,
        repo_help="the Git repository to check (default: the current folder)",
        verbose_help="list every missing file; say what was checked",
        quiet_help="print only problems",
    )
    add_arguments(parser)
    return parser


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def check_pushed(options: CheckOptions) -> int:
    """Find the DVC files being pushed (or committed); check their outputs; report."""
    from exp_ci.adapters.gitcli import ZERO_SHA, GitReader
    from exp_ci.hooks import history

    if options.stage == PRE_PUSH and options.to_ref == ZERO_SHA:
        if options.verbose:
            _say(f"{PROG}: the push deletes a ref; nothing to check")
        return EXIT_OK
    git = GitReader(options.repo)
    if options.stage == PRE_COMMIT:
        versions = history.staged_dvc_files(git)
        scope = "the staged DVC files"
    else:
        versions = history.pushed_dvc_files(
            git, options.to_ref, options.from_ref, options.git_remote
        )
        scope = "the commits being pushed"
    if not versions:
        if options.verbose:
            _say(f"{PROG}: no dvc.lock or .dvc file changes in {scope}; nothing to check")
        return EXIT_OK
    memory = _checked_versions(git, versions, options)
    if memory is not None and all(key in seen for seen, keys in memory.values() for key in keys):
        if options.verbose:
            _say(
                f"{PROG}: every output of the {len(versions)} DVC file version(s) being pushed "
                "was in its DVC remote at an earlier check (remembered in "
                f"{INDEX_DIR_SHOWN}; --no-index asks the remote again)"
            )
        return EXIT_OK
    status = EXIT_OK
    for root, outputs in read_outputs(git, versions).items():
        code, verified = _check_project(
            root, outputs, options, scope, lambda: _fix_command(git, options)
        )
        status |= code
        if verified and memory is not None and root in memory:
            seen, keys = memory[root]
            seen.add(keys)
    return status


INDEX_DIR_SHOWN = ".dvc/tmp/exp-ci/remote-index/"


def _checked_versions(
    git: GitReader, versions: list[DvcFileVersion], options: CheckOptions
) -> dict[Path, tuple[CheckedVersions, list[str]]] | None:
    """Per DVC project, the versions already checked there (`index.CheckedVersions`) and the
    keys of the pushed ones; None when that memory does not apply (the pre-commit stage
    checks the local cache; --no-index asks the remote about everything)."""
    if options.stage != PRE_PUSH or not options.use_index:
        return None
    from exp_ci.hooks.index import CheckedVersions

    roots: dict[str, Path | None] = {}
    memory: dict[Path, tuple[CheckedVersions, list[str]]] = {}
    for version in versions:
        root = _project_root(git.root, version.path, roots)
        if root is None:
            continue  # not DVC's: read_outputs skips it too
        if root not in memory:
            memory[root] = (CheckedVersions.load(root, options.remote), [])
        tree = version.tree if version.is_lock else None  # a .dvc file is read on its own
        memory[root][1].append(CheckedVersions.key(version.path, version.blob, tree))
    return memory


def read_outputs(git: GitReader, versions: list[DvcFileVersion]) -> dict[Path, list[Output]]:
    """Outputs recorded by each DVC file version, grouped by the DVC project they belong to."""
    from dataclasses import replace

    from exp_ci.hooks.history import GitFiles, read_versions
    from exp_ci.hooks.outputs import DvcFileError, outputs_of

    roots: dict[str, Path | None] = {}
    projects: dict[Path, list[Output]] = {}
    for version, (content, beside) in read_versions(git, versions).items():
        root = _project_root(git.root, version.path, roots)
        if root is None:
            continue  # a `.dvc` file outside any DVC project is not DVC's
        try:
            files = GitFiles(git, version.tree)
            outputs = outputs_of(version.path, content, beside, files)
        except DvcFileError as error:
            where = f"at commit {version.commit[:7]}" if version.commit else "staged"
            raise UserError(
                f"{error} ({where}). DVC cannot use this file either: fix it (and amend the "
                "commit that recorded it) before pushing."
            ) from None
        outputs = [replace(output, commit=version.commit) for output in outputs]
        projects.setdefault(root, []).extend(outputs)
    return projects


def _project_root(repo_root: Path, path: str, roots: dict[str, Path | None]) -> Path | None:
    """The DVC project a file belongs to: the nearest folder above it holding `.dvc/`."""
    folder = path.rsplit("/", 1)[0] if "/" in path else ""
    if folder not in roots:
        if (repo_root / folder / ".dvc").is_dir():
            roots[folder] = repo_root / folder if folder else repo_root
        elif not folder:
            roots[folder] = None
        else:
            roots[folder] = _project_root(repo_root, folder, roots)
    return roots[folder]


def _fix_command(git: GitReader, options: CheckOptions) -> str:
    """The command that pushes exactly what is missing, for the same commits and remote."""
    words = [PROG, "--fix"]
    if options.stage == PRE_COMMIT:
        words += ["--stage", PRE_COMMIT, "--require-remote"]
    elif git.resolve_commit(options.to_ref) != git.resolve_commit("HEAD"):
        words += ["--to-ref", git.resolve_commit(options.to_ref)[:10]]
    if options.remote:
        words += ["-r", options.remote]
    return " ".join(words)


class LocalStore:
    """The project's local cache, asked like a remote (pre-commit stage)."""

    def __init__(self, cache: LocalCache) -> None:
        self.cache = cache

    def exists(self, objects: Collection[CachedOut]) -> set[CachedOut]:
        return {obj for obj in objects if self.cache.object_path(obj).is_file()}

    def read(self, obj: CachedOut) -> bytes | None:
        return self.cache.read(obj)


class RemoteCheck(NamedTuple):
    """One DVC remote's answer for the outputs that go to it."""

    location: RemoteLocation
    outputs: list[Output]
    verdict: Verdict | None  # None: the remote could not be reached
    unreachable: str = ""
    from_project_config: bool = True  # False: found in DVC's global or system config

    @property
    def verified(self) -> bool:
        """Every output found, in a remote the project's own config names."""
        return self.verdict is not None and not self.verdict.missing and self.from_project_config


def _check_project(
    root: Path,
    outputs: list[Output],
    options: CheckOptions,
    scope: str,
    fix_command: Callable[[], str],
) -> tuple[int, bool]:
    """Check one project's outputs and report; the exit status, and whether every output
    was verified in its remote (the versions may then be remembered as checked)."""
    from exp_ci.adapters.dvc import LocalCache
    from exp_ci.hooks import report
    from exp_ci.hooks.verify import find_missing, unique_outputs
    from exp_ci.render.words import count

    outputs = unique_outputs(outputs)  # the oldest commit recording each (path, object)
    cache = LocalCache(root)
    if options.stage == PRE_COMMIT:
        local = find_missing(outputs, LocalStore(cache), read_local=cache.read)
        if local.missing:
            _say(report.local_missing_report(local.missing, verbose=options.verbose))
            return EXIT_CHECK_FAILED, False
        if options.verbose:
            _say(f"{PROG}: {count(len(outputs), 'staged output')} in the local cache")
        if not options.require_remote:
            return EXIT_OK, False
    checks = check_remotes(root, outputs, cache, options)
    if options.fix and any(c.verdict and c.verdict.missing for c in checks):
        _fix(root, checks, cache, quiet=options.quiet)
        checks = check_remotes(root, outputs, cache, options)
    status = EXIT_OK
    for check in checks:
        name = check.location.name
        if check.verdict is None:
            _say(
                report.unreachable_report(
                    name, check.unreachable, len(check.outputs), allow_offline=options.allow_offline
                )
            )
            status |= EXIT_OK if options.allow_offline else EXIT_CHECK_FAILED
        elif check.verdict.missing:
            not_local = {m.obj for m in check.verdict.missing if not in_cache(cache, m.obj)}
            _say(
                report.remote_missing_report(
                    check.verdict.missing,
                    name,
                    check.location.url,
                    scope,
                    not_local,
                    fix_command(),
                    verbose=options.verbose,
                )
            )
            status |= EXIT_CHECK_FAILED
        elif options.verbose:
            _say(
                f"{PROG}: {count(len(check.outputs), 'output')} in DVC remote '{name}' "
                f"({count(check.verdict.asked, 'object')} asked of the remote, the "
                "rest known from the index)"
            )
    return status, all(check.verified for check in checks)


def in_cache(cache: LocalCache, obj: CachedOut) -> bool:
    return cache.object_path(obj).is_file()


def check_remotes(
    root: Path, outputs: list[Output], cache: LocalCache, options: CheckOptions
) -> list[RemoteCheck]:
    """Check outputs against their remotes, asking each only about objects its index lacks."""
    from exp_ci.adapters.dvc import DvcRemote, RemoteUnreachable, find_remote, remote_location
    from exp_ci.hooks.index import EmptyIndex, VerifiedIndex
    from exp_ci.hooks.verify import find_missing

    by_remote: dict[str | None, list[Output]] = {}
    for output in outputs:
        by_remote.setdefault(options.remote or output.remote, []).append(output)
    checks = []
    for name, group in by_remote.items():
        found = find_remote(root, name)
        location = found or remote_location(root, name)
        index = VerifiedIndex.load(root, location.url)
        remote = DvcRemote(root, location)
        try:
            verdict = find_missing(
                group,
                remote,
                read_local=cache.read,
                known=index if options.use_index else EmptyIndex(index),
            )
        except RemoteUnreachable as error:
            checks.append(RemoteCheck(location, group, None, error.reason))
            continue
        finally:
            remote.close()
        index.add(verdict.present)
        checks.append(RemoteCheck(location, group, verdict, from_project_config=found is not None))
    return checks


def _fix(root: Path, checks: list[RemoteCheck], cache: LocalCache, *, quiet: bool) -> None:
    """`dvc push` exactly the missing outputs' objects that this machine's cache has."""
    from exp_ci.adapters.dvc import DvcCommandError, push_objects
    from exp_ci.render.words import count

    for check in checks:
        if check.verdict is None or not check.verdict.missing:
            continue
        # The missing objects themselves: for one missing file of a directory, that file.
        # DVC takes a directory's files as present once the remote has its `.dir` manifest,
        # so pushing the directory output would upload nothing.
        objects = list(
            dict.fromkeys(m.obj for m in check.verdict.missing if in_cache(cache, m.obj))
        )
        if not objects:
            continue
        if not quiet:
            _say(
                f"{PROG}: pushing {count(len(objects), 'missing object')} to DVC remote "
                f"'{check.location.name}' with `dvc push`"
            )
        try:
            push_objects(root, check.location.name, objects)
        except DvcCommandError as error:
            _say(f"{PROG}: warning: {error.message}")
