"""All DVC access outside Git objects: the project's config, its local cache, its remotes,
and every mutating DVC operation (`dvc exp push`, `dvc push`, `dvc exp apply`, ...) as a
DVC command (`dvc exp run` of a sweep goes through `adapters.dvc_fork`). Reading the
cache is plain file access: an object is at `files/md5/ab/cdef...` (DVC 3) or `ab/cdef...`
(DVC 2) under the cache folder.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exp_ci.errors import UserError
from exp_ci.read.dvcyaml import CachedOut

if TYPE_CHECKING:
    from exp_ci.adapters.dvc_fork import PreloadedDvc
    from exp_ci.read.states import QueueEntry


def _read_config(path: Path) -> configparser.ConfigParser:
    """A DVC config file; one that is not UTF-8 (or too large) is a UserError naming it."""
    from exp_ci.config import read_text

    parser = configparser.ConfigParser(interpolation=None, strict=False)
    if not path.is_file():
        return parser
    text = read_text(path)
    # A config that does not parse leaves DVC's defaults, as a missing one does.
    with contextlib.suppress(configparser.Error):
        parser.read_string(text, source=str(path))
    return parser


def cache_dir(project_root: Path) -> Path:
    """The local cache folder: `cache.dir` from `.dvc/config.local` or `.dvc/config`."""
    dvc_dir = project_root / ".dvc"
    for name in ("config.local", "config"):
        config = _read_config(dvc_dir / name)
        if config.has_option("cache", "dir"):
            return (dvc_dir / config.get("cache", "dir").strip("'\"")).resolve()
    return dvc_dir / "cache"


class LocalCache:
    """Read-only view of a DVC project's local cache."""

    def __init__(self, project_root: Path) -> None:
        self.root = cache_dir(project_root)

    def object_path(self, out: CachedOut) -> Path:
        digest = out.md5
        base = self.root if out.legacy_layout else self.root / "files" / "md5"
        return base / digest[:2] / digest[2:]

    def read(self, out: CachedOut) -> bytes | None:
        try:
            return self.object_path(out).read_bytes()
        except OSError:
            return None

    def size(self, out: CachedOut) -> int | None:
        """The object's size in bytes, or None when this cache does not hold it."""
        try:
            return self.object_path(out).stat().st_size
        except OSError:
            return None


def is_dvc_project(root: Path) -> bool:
    return (root / ".dvc").is_dir()


MAX_RUN_FILES = 10_000  # info files read at most (a runaway queue must not stall a table)
LOG_TAIL_BYTES = 16_384  # of a failed run's output, enough for its last error lines


def run_infos(project_root: Path) -> dict[str, QueueEntry]:
    """Stash SHA -> the state DVC's info files give its runs: running or failed (finished
    ones are experiment refs). Files that are not DVC's shape are skipped."""
    from exp_ci.read.states import RUN_FOLDER, TEMP_RUN_FOLDER

    found: dict[str, QueueEntry] = {}
    for folder, temp in ((RUN_FOLDER, False), (TEMP_RUN_FOLDER, True)):
        try:
            runs = sorted((project_root / folder).iterdir())[:MAX_RUN_FILES]
        except OSError:
            continue
        for run in runs:
            entry = _run_entry(run, temp)
            if entry is not None:
                found[run.name] = entry
    return found


def _run_entry(run: Path, temp: bool) -> QueueEntry | None:
    from exp_ci.read.states import SHA, QueueEntry, failure_reason, run_state

    info = _json_file(run / f"{run.name}.run")
    if not SHA.match(run.name) or not isinstance(info, dict):
        return None
    root = info.get("root_dir")
    root_exists = isinstance(root, str) and Path(root).is_dir()
    state = run_state(info, temp=temp, root_exists=root_exists)
    baseline, name = info.get("baseline_rev"), info.get("name")
    if state is None or not isinstance(baseline, str) or not SHA.match(baseline):
        return None
    reason = None
    if state == "failed":
        process = _json_file(run / f"{run.name}.json")
        code = process.get("returncode") if isinstance(process, dict) else None
        reason = failure_reason(_tail(run / f"{run.name}.out"), code)
    return QueueEntry(
        run.name, baseline, name if isinstance(name, str) and name else None, state, reason
    )


def _json_file(path: Path) -> Any:
    import json

    try:
        with path.open("rb") as file:
            return json.loads(file.read(LOG_TAIL_BYTES))
    except (OSError, ValueError):
        return None


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as file:
            file.seek(max(0, path.stat().st_size - LOG_TAIL_BYTES))
            return file.read().decode("utf-8", "replace")
    except OSError:
        return ""


# --- the DVC CLI: every mutating DVC operation goes through `run_dvc` ----------------------


class DvcCommandError(UserError):
    """A DVC command failed; the message shows the command, its exit code and its output."""

    def __init__(self, args: Sequence[str], code: int, stdout: str, stderr: str) -> None:
        from exp_ci.adapters.git import redact_credentials

        self.args_run = tuple(args)
        self.code = code
        self.stdout = stdout
        self.stderr = stderr
        command = " ".join(["dvc", *args])
        shown = "".join(
            f"\n{label}:\n{redact_credentials(text.rstrip())}"
            for label, text in (("stdout", stdout), ("stderr", stderr))
            if text.strip()
        )
        from exp_ci.adapters.git import stale_lock_hint

        hint = stale_lock_hint(stdout + stderr)
        super().__init__(
            f"`{command}` failed with exit code {code}.{shown}"
            + (f"\n{hint.lstrip('. ')}" if hint else "")
        )


def run_dvc(
    root: Path,
    *args: str,
    failed_if: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """`dvc ARGS` in `root` with the DVC this exp-ci runs with; its stdout, or DvcCommandError.

    `python -m dvc` rather than `dvc` on PATH, so the DVC is the one exp-ci depends on.
    `failed_if`: text in the output that means failure although DVC exits 0. `environ`:
    variables set for this command only.
    """
    result = subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **environ} if environ else None,
    )
    failed = failed_if is not None and failed_if in result.stdout + result.stderr
    if result.returncode != 0 or failed:
        raise DvcCommandError(args, result.returncode, result.stdout, result.stderr)
    return result.stdout


def choose_remote(root: Path, name: str | None, flag: str = "--dvc-remote") -> str:
    """The DVC remote to push data to: `name` if given (and known), else the default.
    `flag` is the option that names another one, for the message when there is none."""
    return remote_location(root, name, flag=flag).name


def exp_push_refs(root: Path, git_remote: str, exp_refs: Sequence[str]) -> str:
    """`dvc exp push --no-cache`: only the experiment refs, to the Git remote.

    The data goes first, by `push_objects`, and is verified in the remote before this is
    called: `dvc exp push` with data sends the refs before the data (DVC 3.67), so a kill
    in between left refs on origin whose data never arrived. DVC reports a diverged remote
    experiment as a warning (exit 0), so that case is turned into an error here.
    """
    return run_dvc(root, "exp", "push", "--no-cache", git_remote, *exp_refs, failed_if="diverged")


def exp_apply(root: Path, experiment: str) -> str:
    """`dvc exp apply`: the experiment's files into the workspace (and staged), outputs too."""
    return run_dvc(root, "exp", "apply", experiment)


# --- DVC remotes: where they are, which objects they hold, pushing exact objects ----------


@dataclass(frozen=True)
class RemoteLocation:
    """A DVC remote by name, and its URL as DVC resolves it (a relative folder made absolute)."""

    name: str
    url: str


def _unquote(value: str) -> str:
    return value.strip().strip("'\"")


def _section_name(section: str) -> str:
    """`['remote "name"']`, as DVC writes it, and `[remote "name"]` both give `remote "name"`."""
    section = section.strip()
    if len(section) > 1 and section[0] == section[-1] == "'":
        section = section[1:-1]
    return section.replace("'", '"')


def _resolve_url(config_dir: Path, url: str) -> str:
    """DVC's rule for `url` values: URLs and absolute paths stay, others are relative to the
    folder of the config file that names them."""
    if re.match(r"\w+://", url) or Path(url).is_absolute():
        return url
    expanded = Path(url).expanduser()
    if expanded.is_absolute():
        return str(expanded)
    return os.path.normpath(config_dir.absolute() / url)


def find_remote(project_root: Path, name: str | None = None) -> RemoteLocation | None:
    """The remote (`name`, else the default) from the project's `.dvc/config.local` and
    `.dvc/config`, without importing DVC; None when only DVC's global or system config
    could say (the caller then asks DVC: `remote_location`)."""
    dvc_dir = project_root / ".dvc"
    configs = [_read_config(dvc_dir / file) for file in ("config.local", "config")]
    if name is None:
        name = next(
            (_unquote(c.get("core", "remote")) for c in configs if c.has_option("core", "remote")),
            None,
        )
        if name is None:
            return None
    for config in configs:
        for section in config.sections():
            if _section_name(section) == f'remote "{name}"' and config.has_option(section, "url"):
                url = _unquote(config.get(section, "url"))
                return RemoteLocation(name, _resolve_url(dvc_dir, url))
    return None


def _no_remote_error(
    project_root: Path, name: str | None, names: Sequence[str], flag: str
) -> UserError:
    if name is not None:
        known = ", ".join(names) or "none"
        return UserError(
            f"there is no DVC remote named '{name}' in {project_root} (known: {known}). "
            f"Add it with `dvc remote add {name} URL`, or pass another {flag} NAME."
        )
    hint = f"`dvc remote default {names[0]}`" if names else "`dvc remote add -d NAME URL`"
    return UserError(
        f"no default DVC remote is configured in {project_root}, so the data has no "
        f"remote to go to or be checked in. Set one with {hint}, or pass {flag} NAME."
    )


def remote_location(
    project_root: Path, name: str | None = None, *, flag: str = "--remote"
) -> RemoteLocation:
    """`find_remote`, falling back on DVC's whole configuration (global and system too)."""
    found = find_remote(project_root, name)
    if found is not None:
        return found
    from dvc.config import Config, ConfigError

    try:
        config = Config(dvc_dir=str(project_root / ".dvc"))
    except ConfigError as error:
        raise UserError(f"DVC cannot read its configuration in {project_root}: {error}") from None
    remotes = config.get("remote", {})
    chosen = name or config.get("core", {}).get("remote")
    if not chosen or chosen not in remotes or "url" not in remotes[chosen]:
        raise _no_remote_error(project_root, name, list(remotes), flag)
    return RemoteLocation(chosen, str(remotes[chosen]["url"]))


class RemoteUnreachable(Exception):
    """The remote could not be asked (network, credentials, a missing DVC plugin...)."""

    def __init__(self, remote: RemoteLocation, reason: str) -> None:
        super().__init__(f"DVC remote '{remote.name}' ({remote.url}): {reason}")
        self.remote = remote
        self.reason = reason


def _reason(error: BaseException) -> str:
    from exp_ci.adapters.git import redact_credentials

    text = " ".join(str(error).split()) or type(error).__name__
    return redact_credentials(f"{type(error).__name__}: {text}")


class DvcRemote:
    """One DVC remote, read through DVC's own filesystem layer so every kind DVC supports
    (local, SSH, S3, GCS, Azure, HTTP, ... with their plugins) works. DVC is imported and
    the remote opened on first use only.

    The remote is opened as `dvc.data_cloud.DataCloud` does (config, `get_cloud_fs`,
    `get_odb`), without `dvc.repo.Repo`, whose import and setup would double the time of
    a check that asks the remote about a few new objects.
    """

    def __init__(self, project_root: Path, location: RemoteLocation) -> None:
        self.project_root = project_root
        self.location = location
        self._odbs: dict[bool, Any] = {}

    def _odb(self, legacy_layout: bool) -> Any:
        if legacy_layout not in self._odbs:
            self._odbs[legacy_layout] = self._open(legacy_layout)
        return self._odbs[legacy_layout]

    def _open(self, legacy_layout: bool) -> Any:
        from dvc.config import Config
        from dvc.exceptions import DvcException
        from dvc.fs import get_cloud_fs
        from dvc_data.hashfile.db import get_odb

        name, url = self.location.name, self.location.url
        try:
            config = Config(dvc_dir=str(self.project_root / ".dvc"))
            cls, fs_config, fs_path = get_cloud_fs(config, name=name)
            if fs_config.pop("worktree", False) or fs_config.get("version_aware"):
                raise UserError(
                    f"DVC remote '{name}' ({url}) is cloud-versioned: its files are not kept "
                    "by hash, so exp-ci-check-pushed cannot check it. Use `dvc push` itself."
                )
            fs = cls(**fs_config)
            if legacy_layout:  # DVC 2 objects: ab/cdef... at the remote's root
                return get_odb(fs, fs_path, hash_name="md5-dos2unix", **fs_config)
            return get_odb(fs, fs.join(fs_path, "files", "md5"), hash_name="md5", **fs_config)
        except (DvcException, ImportError) as error:  # ImportError: a plugin is missing
            raise UserError(
                f"DVC cannot open the remote '{name}' ({url}): {' '.join(str(error).split())}. "
                "If a plugin is missing (`dvc-s3`, `dvc-ssh`, ...), install it where exp-ci "
                "runs; for pre-commit, list it under `additional_dependencies` of the hook."
            ) from None

    def exists(self, objects: Collection[CachedOut]) -> set[CachedOut]:
        """The objects the remote holds. A remote that cannot be asked raises
        RemoteUnreachable: some DVC filesystems answer "no" to any error, so a "no" is
        confirmed by reading a byte of one missing object, which raises for a real failure.
        """
        present: set[CachedOut] = set()
        for legacy_layout in (False, True):
            wanted = {obj.md5: obj for obj in objects if obj.legacy_layout is legacy_layout}
            if not wanted:
                continue
            odb = self._odb(legacy_layout)
            try:
                found = set(odb.oids_exist(list(wanted)))
            except Exception as error:
                raise RemoteUnreachable(self.location, _reason(error)) from None
            present.update(obj for md5, obj in wanted.items() if md5 in found)
            absent = next((md5 for md5 in wanted if md5 not in found), None)
            if absent is not None and self._holds(odb, absent):
                present.add(wanted[absent])
        return present

    def _holds(self, odb: Any, md5: str) -> bool:
        try:  # one byte: `info` and `exists` of some filesystems (HTTP) hide the real error
            odb.fs.cat_file(odb.oid_to_path(md5), start=0, end=1)
        except FileNotFoundError:
            return False
        except Exception as error:
            raise RemoteUnreachable(self.location, _reason(error)) from None
        return True

    def read(self, obj: CachedOut) -> bytes | None:
        odb = self._odb(obj.legacy_layout)
        try:
            return odb.fs.cat_file(odb.oid_to_path(obj.md5))
        except FileNotFoundError:
            return None
        except Exception as error:
            raise RemoteUnreachable(self.location, _reason(error)) from None

    def close(self) -> None:
        self._odbs.clear()


PUSH_FOLDER_PREFIX = ".exp-ci-push-"  # in the project: DVC ignores targets under .dvc/
_IN_USE = ".in-use"  # made once the pushing process holds the folder's flock
_UNCLAIMED_GRACE_SECONDS = 60  # a folder without the mark: being created, or litter


def remove_stale_push_folders(project_root: Path) -> list[Path]:
    """Remove the `.exp-ci-push-*` folders that killed pushes left in the project: those
    whose flock no process holds any more (a kill releases it). A push running now keeps
    its own. The removed folders."""
    import fcntl
    import shutil
    import time

    removed = []
    for folder in project_root.glob(PUSH_FOLDER_PREFIX + "*"):
        try:
            if folder.is_symlink() or not folder.is_dir():
                continue
            if not (folder / _IN_USE).exists():
                # Killed before it took the lock, or taking it now: only old ones go.
                if time.time() - folder.stat().st_mtime > _UNCLAIMED_GRACE_SECONDS:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed.append(folder)
                continue
            fd = os.open(folder, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a live push holds it
        else:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        finally:
            os.close(fd)
    return removed


def _claim_push_folder(project_root: Path) -> tuple[Path, int]:
    """A new `.exp-ci-push-*` folder, flock-ed (the fd holds it), then marked in use."""
    import fcntl
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix=PUSH_FOLDER_PREFIX, dir=project_root))
    fd = os.open(folder, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    (folder / _IN_USE).write_text(f"{os.getpid()}\n")
    return folder, fd


def push_objects(project_root: Path, remote: str | None, objects: Sequence[CachedOut]) -> str:
    """`dvc push` of exactly these objects (a directory's `.dir`: its missing files too).

    `dvc push` takes outputs, not objects, and only the workspace's versions of them; so
    each object becomes an output of a temporary `.dvc` file in a temporary folder of the
    project (removed afterwards), and those files are the targets. DVC uploads what the
    remote lacks, from the local cache, into the layout the entry asks for (DVC 2 entries
    have no `hash: md5`). The folder must be in the work tree (DVC refuses targets under
    `.dvc/` and git-ignored ones), so a kill leaves it there: it holds a lock while in use,
    and the next push (`remove_stale_push_folders`) removes folders nobody holds.

    DVC keeps an index of what it believes a remote holds in its per-machine site cache;
    an interrupted push can leave entries there for objects that never arrived, and DVC
    then skips them. So DVC runs here with a fresh, empty site cache of its own and asks the
    remote. It still takes a directory's files as present once the remote has the `.dir`
    manifest: to push one missing file of a directory, pass that file's object itself.
    """
    import shutil
    import tempfile

    if not objects:
        return ""
    remove_stale_push_folders(project_root)
    folder, lock = _claim_push_folder(project_root)
    site_cache = tempfile.mkdtemp(prefix="exp-ci-dvc-site-cache-")
    try:
        targets = []
        for number, obj in enumerate(dict.fromkeys(objects)):
            hash_line = "" if obj.legacy_layout else "  hash: md5\n"
            target = folder / f"object-{number}.dvc"
            target.write_text(f"outs:\n- md5: {obj.md5}\n{hash_line}  path: object-{number}\n")
            targets.append(target.relative_to(project_root).as_posix())
        return run_dvc(
            project_root,
            "push",
            *(["-r", remote] if remote else []),
            *targets,
            environ={"DVC_SITE_CACHE_DIR": site_cache},
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(lock)
        shutil.rmtree(site_cache, ignore_errors=True)


# --- running experiments in scratch workspaces that share the project's cache ------------
# (used by exp-ci run and collect)


def _dvc_config(project_root: Path):
    from dvc.config import Config, ConfigError

    try:
        return Config(dvc_dir=str(project_root / ".dvc"), validate=False)
    except ConfigError as error:
        raise UserError(f"DVC cannot read its configuration in {project_root}: {error}") from None


def share_project_config(project_root: Path, workspace: Path) -> Path:
    """Give a scratch clone the project's local DVC config and make it use the project's
    cache (the one DVC resolves, global config included); the cache folder, returned.

    Outputs of experiments run there land in the project's cache, as with `dvc exp run
    --temp`, which does the same for its temporary folders. DVC's own config code writes
    the file, so relative paths in it are rebased on the new location.
    """
    project = _dvc_config(project_root)
    cache = Path(str(project["cache"].get("dir") or project_root / ".dvc" / "cache"))
    local = project.read("local")
    with _dvc_config(workspace).edit("local", validate=False) as config:
        config.update(local)
        config["cache"]["dir"] = str(cache)
    return cache


@dataclass(frozen=True)
class ExpRunResult:
    """How one `dvc exp run` ended."""

    exit_code: int  # DVC's
    output: str  # DVC's stdout (the stage commands' output too), then its stderr
    command_exit_code: int | None = None  # the failing stage command's, when DVC names it


_STAGE_EXIT = re.compile(r"failed to run: .*, exited with (-?\d+)")


def exp_run(
    workspace: Path, name: str, overrides: Sequence[str], preloaded: PreloadedDvc | None = None
) -> ExpRunResult:
    """`dvc exp run --name NAME -S ...` in `workspace`; a failure is a result, not an error.

    With `preloaded` (a sweep worker's), DVC's own CLI runs in a fresh fork of a process
    that has imported DVC already (`exp_ci.adapters.dvc_fork`); else `python -m dvc`.
    Either way the output and exit code are the command's own.
    """
    from exp_ci.adapters.dvc_fork import ServerGone

    args = ["exp", "run", "--name", name]
    for override in overrides:
        args += ["--set-param", override]
    if preloaded is None:
        try:
            return ExpRunResult(0, run_dvc(workspace, *args))
        except DvcCommandError as error:
            code, stdout, stderr = error.code, error.stdout, error.stderr
    else:
        try:
            code, stdout, stderr = preloaded.run(workspace, args)
        except ServerGone as gone:
            code, stdout, stderr = 1, "", f"exp-ci: {gone}; `dvc exp run` did not answer\n"
        if code == 0:
            return ExpRunResult(0, stdout)
    output = stdout + ("\n" if stdout and stderr else "") + stderr
    stage_exits = _STAGE_EXIT.findall(output)
    return ExpRunResult(code, output, int(stage_exits[-1]) if stage_exits else None)


def exp_pull(
    root: Path, git_remote: str, *, all_baselines: bool, dvc_remote: str, force: bool = False
) -> str:
    """`dvc exp pull`: the experiments' refs (HEAD's, or all with -A) and their cached data."""
    args = ["exp", "pull", "--remote", dvc_remote]
    args += ["--all-commits"] if all_baselines else []
    args += ["--force"] if force else []
    return run_dvc(root, *args, git_remote)


# --- new projects (exp-ci quickstart) -----------------------------------------------------


def init_project(root: Path, remote_name: str, remote_url: Path) -> None:
    """`dvc init` and a default remote in a Git repository that has none yet."""
    run_dvc(root, "init", "--quiet")
    run_dvc(root, "remote", "add", "--default", remote_name, str(remote_url))


def repro(root: Path) -> str:
    return run_dvc(root, "repro", "--quiet")
