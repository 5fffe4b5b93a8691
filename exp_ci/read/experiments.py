"""Experiments and their baselines, read straight from Git objects.

This is the one path by which every command reads experiments. It gives the same values
as `dvc exp show --json` (tests compare them value for value) without DVC's per-revision
repository setup: each distinct tree, `dvc.yaml` and params/metrics blob is read and
parsed once, however many experiments share it.
"""

from __future__ import annotations

import os
import posixpath
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from exp_ci.adapters.dvc import LocalCache, is_dvc_project
from exp_ci.adapters.git import CommitInfo, GitRepository
from exp_ci.errors import UserError
from exp_ci.limits import MAX_FILE_BYTES, size_problem
from exp_ci.model import Baseline, Experiment, FileValues
from exp_ci.read.dvcfiles import (
    DEFAULT_PARAMS_FILE,
    DvcFileError,
    Pipeline,
    dvc_file_outs,
    lock_problem,
)
from exp_ci.read.dvcyaml import (
    CachedOut,
    RefusedOut,
    cache_entries,
    cached_outputs,
    declared_files,
    merge_params,
    path_problem,
)
from exp_ci.read.formats import (
    FileFormatError,
    extract_metrics,
    parse_file,
    read_metrics,
    read_params,
    select_keys,
)
from exp_ci.read.states import (
    FAILED_REF,
    QUEUE_REF,
    QueueEntry,
    merge_entries,
    parse_stash_entry,
)
from exp_ci.read.templating import Resolver

SKIPPED_FOLDERS = frozenset({".git", ".dvc"})


@dataclass(frozen=True)
class CommitData:
    params: dict[str, FileValues] = field(default_factory=dict)
    metrics: dict[str, FileValues] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class ReadPlan:
    """The files one tree declares: params files with tracked keys, metrics files."""

    params: dict[str, tuple[str, ...]]
    metrics: tuple[str, ...]
    outputs: dict[str, CachedOut | RefusedOut]  # DVC-cached outputs, for files not in Git
    vars_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    # ^ values of `vars` files used in `${}`, listed as params (as DVC lists them)


class Snapshot(Protocol):
    """The files of one commit, or of the workspace, as far as the reader needs them."""

    def dvcyaml_paths(self) -> tuple[str, ...]: ...

    def kind(self, path: str) -> str | None:
        """'file', 'dir', or None when the path is not there."""

    def read(self, path: str) -> bytes: ...

    def size(self, path: str) -> int:
        """The file's size in bytes, known without reading it."""

    def files_below(self, path: str) -> list[str]: ...

    def content_key(self, path: str) -> str | None:
        """A hash of the file's content for memoising, or None when it has none."""

    def refusal(self, path: str) -> str | None:
        """Why the path must not be read (it leads outside the project), or None."""


class TreeSnapshot:
    """A commit's tree, read through the shared Git caches."""

    def __init__(self, git: GitRepository, tree: str, find_dvcyaml) -> None:
        self._git = git
        self.tree = tree
        self._find_dvcyaml = find_dvcyaml

    def dvcyaml_paths(self) -> tuple[str, ...]:
        return self._find_dvcyaml(self.tree)

    def kind(self, path: str) -> str | None:
        entry = self._git.lookup(self.tree, path)
        return None if entry is None else ("dir" if entry.is_tree else "file")

    def read(self, path: str) -> bytes:
        entry = self._git.lookup(self.tree, path)
        assert entry is not None and not entry.is_tree
        return self._git.blob(entry.sha)

    def size(self, path: str) -> int:
        entry = self._git.lookup(self.tree, path)
        assert entry is not None and not entry.is_tree
        return self._git.blob_size(entry.sha)

    def files_below(self, path: str) -> list[str]:
        entry = self._git.lookup(self.tree, path)
        return self._git.files_below(entry.sha, path) if entry else []

    def content_key(self, path: str) -> str | None:
        entry = self._git.lookup(self.tree, path)
        return entry.sha if entry else None

    def refusal(self, path: str) -> str | None:
        return outside_note(path)


class WorkspaceSnapshot:
    """The files on disk: what `dvc repro` or `dvc exp run` left in the working tree.

    dvc.yaml files are found with `git ls-files` (tracked, and untracked but not ignored),
    so large ignored data folders are never walked.
    """

    def __init__(self, git: GitRepository) -> None:
        self._git = git
        self._root = git.dvc_root

    def dvcyaml_paths(self) -> tuple[str, ...]:
        prefix = self._git.dvc_prefix
        listed = self._git.run(
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "-z",
            "--",
            f":(top){prefix}dvc.yaml",
            f":(top){prefix}**/dvc.yaml",
        )
        paths = {
            p.removeprefix(prefix)
            for p in listed.split("\0")
            if p.startswith(prefix)
            and not set(p.split("/")[:-1]) & SKIPPED_FOLDERS
            and (self._git.root / p).is_file()
        }
        return tuple(
            sorted((p for p in paths if not self._in_other_project(p)), key=_dvcyaml_order)
        )

    def _in_other_project(self, path: str) -> bool:
        """Whether a file is in a DVC project nested in this one (DVC leaves those out)."""
        parts = path.split("/")[:-1]
        return any(
            is_dvc_project(self._root.joinpath(*parts[: depth + 1])) for depth in range(len(parts))
        )

    def kind(self, path: str) -> str | None:
        if self.refusal(path) is not None:
            return None
        full = self._root / path
        return "dir" if full.is_dir() else "file" if full.is_file() else None

    def read(self, path: str) -> bytes:
        return self._inside(path).read_bytes()

    def size(self, path: str) -> int:
        return self._inside(path).stat().st_size

    def refusal(self, path: str) -> str | None:
        """Paths from dvc.yaml stay inside the repository, symbolic links included."""
        note = outside_note(path)
        if note is None and not _is_within(self._root / path, self._root):
            note = (
                f"{path} is not read: it is a symbolic link (or below one) that leads "
                "outside the project, and exp-ci reads only files inside it"
            )
        return note

    def _inside(self, path: str) -> Path:
        note = self.refusal(path)
        if note is not None:
            raise FileFormatError(note)
        return self._root / path

    def files_below(self, path: str) -> list[str]:
        base = self._inside(path)  # rglob does not descend into linked folders
        return sorted(p.relative_to(self._root).as_posix() for p in base.rglob("*") if p.is_file())

    def content_key(self, path: str) -> str | None:
        return None


class ExperimentReader:
    """Reads params and metrics of commits, memoising everything content-addressed."""

    def __init__(self, git: GitRepository, cache: LocalCache) -> None:
        self._git = git
        self.cache = cache  # the local cache it reads DVC-tracked metrics from
        self._by_tree: dict[str, CommitData] = {}
        self._plans: dict[str, ReadPlan | str] = {}
        self._dvcyaml_paths: dict[str, tuple[str, ...]] = {}
        self._documents: dict[tuple[str, str], Any] = {}
        self._values: dict[tuple[str, str, str, tuple[str, ...]], FileValues] = {}
        self._resolver = Resolver(self._document)

    def project_tree(self, tree: str) -> str | None:
        """The tree of the DVC project in a commit's (root) tree: the same one, or its
        sub-folder's for a `dvc init --subdir` project; None when the commit lacks it."""
        prefix = self._git.dvc_prefix.rstrip("/")
        if not prefix:
            return tree
        entry = self._git.lookup(tree, prefix)
        return entry.sha if entry is not None and entry.is_tree else None

    def snapshot(self, tree: str) -> TreeSnapshot:
        """The DVC project's files in a commit, from the commit's (root) tree."""
        project = self.project_tree(tree)
        return TreeSnapshot(
            self._git, project or tree, lambda sha: self._find_dvcyaml(sha, "") if project else ()
        )

    def read_commits(self, trees: Iterable[str]) -> dict[str, CommitData]:
        """Many commits at once: their Git objects are fetched in a few pipelined batches."""
        roots = list(dict.fromkeys(trees))
        if self._git.dvc_prefix:
            self._git.prefetch_trees(roots, skip=SKIPPED_FOLDERS)  # to find the sub-folder
        projects = {root: self.project_tree(root) for root in roots}
        trees = [tree for tree in projects.values() if tree is not None]
        self._git.prefetch_trees(trees, skip=SKIPPED_FOLDERS)
        pipeline_files = [
            entry.sha
            for tree in trees
            for path in self._find_dvcyaml(tree, "")
            for name in (path, posixpath.join(posixpath.dirname(path), "dvc.lock"))
            if (entry := self._git.lookup(tree, name)) is not None
        ]
        self._git.prefetch_blobs(pipeline_files, max_size=MAX_FILE_BYTES)
        plans = {tree: self._plan(self._tree_snapshot(tree)) for tree in trees}
        self._git.prefetch_blobs(
            (
                entry.sha
                for tree, plan in plans.items()
                if isinstance(plan, ReadPlan)
                for path in (*plan.params, *plan.metrics)
                if (entry := self._git.lookup(tree, path)) is not None and not entry.is_tree
            ),
            max_size=MAX_FILE_BYTES,
        )
        return {root: self.read_commit(root) for root in roots}

    def _tree_snapshot(self, project_tree: str) -> TreeSnapshot:
        return TreeSnapshot(self._git, project_tree, lambda sha: self._find_dvcyaml(sha, ""))

    def read_commit(self, tree: str) -> CommitData:
        """The params and metrics of the DVC project in a commit's (root) tree."""
        project = self.project_tree(tree)
        if project is None:
            return CommitData(
                error=f"{self._git.dvc_prefix.rstrip('/')} (the DVC project) is not in this commit"
            )
        data = self._by_tree.get(project)
        if data is None:
            data = self._by_tree[project] = self.read_snapshot(self._tree_snapshot(project))
        return data

    def read_snapshot(self, snapshot: Snapshot) -> CommitData:
        plan = self._plan(snapshot)
        if isinstance(plan, str):
            return CommitData(error=plan)
        params = {
            file: self._values_of(snapshot, file, "params", keys, plan.outputs)
            for file, keys in plan.params.items()
        }
        metrics = {
            file: self._values_of(snapshot, file, "metrics", (), plan.outputs)
            for file in plan.metrics
        }
        for file, values in plan.vars_params.items():
            if file not in params:  # DVC lists a params file once, whole or as tracked
                params[file] = FileValues(file, data=values)
        return CommitData(params, metrics)

    def pipeline(self, snapshot: Snapshot, path: str) -> Pipeline:
        """The model of one dvc.yaml of a snapshot, its templating resolved as DVC
        resolves it (memoised: see `exp_ci.read.templating.Resolver`)."""
        return self._resolver.pipeline(path, lambda: self._document(snapshot, path), snapshot)

    def _plan(self, snapshot: Snapshot) -> ReadPlan | str:
        """What to read in a snapshot, or why its dvc.yaml files cannot say (memoised per tree)."""
        tree = getattr(snapshot, "tree", None)
        if tree is not None and tree in self._plans:
            return self._plans[tree]
        try:
            plan: ReadPlan | str = self._make_plan(snapshot)
        except (DvcFileError, FileFormatError) as error:
            plan = str(error)
        if tree is not None:
            self._plans[tree] = plan
        return plan

    def _make_plan(self, snapshot: Snapshot) -> ReadPlan:
        entries: list[dict[str, list[str]]] = []
        metrics_paths: list[str] = []
        outputs: dict[str, CachedOut | RefusedOut] = {}
        vars_params: dict[str, dict[str, Any]] = {}
        for path in snapshot.dvcyaml_paths():
            model = self.pipeline(snapshot, path)
            for file, values in model.vars_params.items():
                vars_params.setdefault(file, {}).update(values)
            declared_params, declared_metrics = declared_files(model, path)
            entries.extend(declared_params)
            metrics_paths.extend(declared_metrics)
            lock = self._lock(snapshot, model)
            if declared_metrics and lock is not None:
                outputs.update(cached_outputs(lock, model.lock_path, model))
        if snapshot.kind(DEFAULT_PARAMS_FILE) == "file":
            entries.append({DEFAULT_PARAMS_FILE: []})
        params = {
            file: tuple(keys)
            for path, keys in merge_params(entries).items()
            for file in self._expand(snapshot, path)
        }
        metrics = tuple(
            dict.fromkeys(
                f for path in dict.fromkeys(metrics_paths) for f in self._expand(snapshot, path)
            )
        )
        for path in (*params, *metrics):
            if path not in outputs and snapshot.kind(path) is None:
                outputs.update(self._added_output(snapshot, path))
        return ReadPlan(params, metrics, outputs, vars_params)

    def _lock(self, snapshot: Snapshot, model: Pipeline) -> Any:
        """The parsed dvc.lock beside a dvc.yaml, or None when there is none. One that DVC 3
        refuses fails the revision (DvcFileError), params too, as it fails it in DVC."""
        if snapshot.kind(model.lock_path) != "file":
            return None
        lock = self._document(snapshot, model.lock_path)
        problem = lock_problem(lock)
        if problem is not None:
            raise DvcFileError(
                model.lock_path,
                f"DVC 3 refuses it: {problem}. Delete it and run `dvc repro` with DVC 3, "
                "which writes it again",
            )
        return lock

    def _added_output(self, snapshot: Snapshot, path: str) -> dict[str, CachedOut | RefusedOut]:
        """The cache entry of a params or metrics file that `dvc add` tracks, from the
        `<path>.dvc` file beside it (the name `dvc add` gives it; DVC would also find the
        file through a `.dvc` file of another name, exp-ci does not look for those)."""
        dvc_file = f"{path}.dvc"
        if snapshot.refusal(dvc_file) is not None or snapshot.kind(dvc_file) != "file":
            return {}
        recorded = dvc_file_outs(self._document(snapshot, dvc_file), dvc_file)
        return {p: out for p, out in cache_entries(recorded).items() if p == path}

    def _find_dvcyaml(self, tree: str, prefix: str) -> tuple[str, ...]:
        """Paths of every dvc.yaml in a tree, memoised per subtree."""
        found = self._dvcyaml_paths.get(tree)
        if found is None:
            relative: list[str] = []
            for entry in self._git.tree(tree):
                if entry.is_tree and entry.name not in SKIPPED_FOLDERS:
                    if any(e.name == ".dvc" and e.is_tree for e in self._git.tree(entry.sha)):
                        continue  # another DVC project (a sub-repo): DVC leaves it out
                    relative.extend(f"{entry.name}/{p}" for p in self._find_dvcyaml(entry.sha, ""))
                elif not entry.is_tree and entry.name == "dvc.yaml":
                    relative.append(entry.name)
            found = self._dvcyaml_paths[tree] = tuple(sorted(relative, key=_dvcyaml_order))
        return tuple(f"{prefix}{p}" for p in found)

    def _document(self, snapshot: Snapshot, path: str) -> Any:
        refused = snapshot.refusal(path)
        if refused is not None:
            raise FileFormatError(refused)
        if snapshot.kind(path) != "file":
            return None
        content_key = snapshot.content_key(path)
        key = (content_key, path) if content_key else None
        if key is None or key not in self._documents:
            try:
                document = parse_file(path, read_bounded(snapshot, path))
            except FileFormatError as error:
                document = error
            if key is None:
                return _raise_or_return(document)
            self._documents[key] = document
        return _raise_or_return(self._documents[key])

    def _expand(self, snapshot: Snapshot, path: str) -> list[str]:
        if snapshot.refusal(path) is None and snapshot.kind(path) == "dir":
            return snapshot.files_below(path)
        return [path]

    def _values_of(
        self,
        snapshot: Snapshot,
        path: str,
        kind: str,
        keys: tuple[str, ...],
        outputs: dict[str, CachedOut | RefusedOut],
    ) -> FileValues:
        refused = snapshot.refusal(path)
        if refused is not None:
            return FileValues(path, error=refused)
        if snapshot.kind(path) == "file":
            content_key = snapshot.content_key(path)
            if content_key is None:
                return _parse(path, kind, keys, lambda: read_bounded(snapshot, path))
            memo_key = (content_key, path, kind, keys)
            if memo_key not in self._values:
                self._values[memo_key] = self._parsed_values(snapshot, path, kind, keys)
            return self._values[memo_key]
        out = outputs.get(path)
        if out is None:
            return FileValues(path, error=f"{path} is missing")
        if isinstance(out, RefusedOut):
            return FileValues(path, error=out.note)
        size = self.cache.size(out)
        too_large = size_problem(size) if size is not None else None
        if too_large is not None:
            return FileValues(path, error=f"{path} is not read: {too_large}")
        content = self.cache.read(out)
        if content is None:
            return FileValues(
                path,
                error=f"{path} is only in the DVC cache (md5 {out.md5}), not in the local one; "
                f"`dvc pull {path}` brings it",
            )
        return _parse(path, kind, keys, lambda: content)

    def _parsed_values(
        self, snapshot: Snapshot, path: str, kind: str, keys: tuple[str, ...]
    ) -> FileValues:
        """A tracked file's values, through the document memo that templating shares."""
        try:
            document = self._document(snapshot, path)
        except FileFormatError as error:
            return FileValues(path, error=str(error))
        if kind == "metrics":
            return FileValues(path, data=extract_metrics(document) or {})
        return FileValues(path, data=select_keys(document, keys) if keys else document)


def _raise_or_return(document: Any) -> Any:
    if isinstance(document, FileFormatError):
        raise document
    return document


def outside_note(path: str) -> str | None:
    """Why a repo-relative path from dvc.yaml is not read (absolute, or up with `..`)."""
    problem = path_problem(path)
    if problem is None:
        return None
    return f"{path} is not read: it {problem}, and exp-ci reads only files inside the project"


def _is_within(path: Path, root: Path) -> bool:
    """Whether `path`, with every symbolic link resolved, is `root` or below it."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def read_bounded(snapshot: Snapshot, path: str) -> bytes:
    """A file's bytes, unless it is larger than `MAX_FILE_BYTES` (FileFormatError): then
    it is not read at all."""
    problem = size_problem(snapshot.size(path))
    if problem is not None:
        raise FileFormatError(f"{path} is not read: {problem}")
    return snapshot.read(path)


def _parse(path: str, kind: str, keys: tuple[str, ...], content: Callable[[], bytes]) -> FileValues:
    try:
        if kind == "metrics":
            return FileValues(path, data=read_metrics(path, content()))
        return FileValues(path, data=read_params(path, content(), keys))
    except FileFormatError as error:
        return FileValues(path, error=str(error))


def _dvcyaml_order(path: str) -> tuple[int, str]:
    """The root dvc.yaml first, then subfolders in path order."""
    return (path.count("/"), path)


def find_dvc_root(start: Path, git_root: Path) -> Path | None:
    """The DVC project `start` is in, as DVC finds it: the nearest folder at or above it
    (up to the Git repository's root) that holds `.dvc/`."""
    folder = Path(os.path.realpath(start))
    top = Path(os.path.realpath(git_root))
    if folder.is_file():
        folder = folder.parent
    while True:
        if is_dvc_project(folder):
            return folder
        if folder == top or folder.parent == folder or not folder.is_relative_to(top):
            return None
        folder = folder.parent


def open_project(path: Path) -> GitRepository:
    """The Git repository at `path` and the DVC project `path` is in (its root, or a
    sub-folder project made with `dvc init --subdir`); names are relative to that project."""
    git = GitRepository(path)
    root = find_dvc_root(path, git.root)
    if root is None:
        git.close()
        raise UserError(
            f"{Path(path).resolve()} is not a DVC project, nor in one (no .dvc folder in it "
            f"or above it, up to the Git repository's root {git.root}). Run `dvc init` (or "
            "`dvc init --subdir` for a project in a sub-folder), or pass the project with -C PATH."
        )
    relative = root.relative_to(os.path.realpath(git.root)).as_posix()
    git.dvc_root = git.root / relative if relative != "." else git.root
    git.dvc_prefix = "" if relative == "." else relative + "/"
    return git


def read_baselines(
    git: GitRepository,
    revs: Iterable[str] = (),
    all_baselines: bool = False,
    unfinished: bool = False,
) -> list[Baseline]:
    """The requested baselines (default HEAD) with their experiments, newest first.

    With `unfinished`, also the experiments DVC's queue holds (queued, running, failed),
    as `dvc exp show` lists them: running, finished, queued, failed, each newest first.
    """
    refs = git.experiment_refs()
    entries = queue_entries(git) if unfinished else []
    head = git.resolve_commit("HEAD")
    if all_baselines:
        wanted = list(dict.fromkeys([r.baseline for r in refs] + [e.baseline for e in entries]))
    else:
        wanted = list(dict.fromkeys(git.resolve_commit(rev) for rev in (list(revs) or ["HEAD"])))
    commits = git.existing_commits(wanted) if all_baselines else git.commits(wanted)
    wanted = [sha for sha in wanted if sha in commits]
    if all_baselines:
        wanted.sort(key=lambda sha: (sha != head, -commits[sha].created.timestamp(), sha))
    names = git.names_of_commits()
    reader = experiment_reader(git)

    selected = [ref for ref in refs if ref.baseline in commits]
    entries = [e for e in entries if e.baseline in commits]
    stashes = git.existing_commits([e.rev for e in entries]) if entries else {}
    entries = [e for e in entries if e.rev in stashes]
    reader.read_commits(
        [commits[sha].tree for sha in wanted]
        + [r.commit.tree for r in selected]
        + [stashes[e.rev].tree for e in entries]
    )
    by_baseline: dict[str, list[Experiment]] = {sha: [] for sha in wanted}
    for ref in selected:
        by_baseline[ref.baseline].append(
            _experiment(reader, ref.commit, ref.baseline, ref.name, ref.ref)
        )
    for entry in entries:
        by_baseline[entry.baseline].append(_unfinished(reader, stashes[entry.rev], entry))
    baselines = []
    for sha in wanted:
        experiments = sorted(by_baseline[sha], key=lambda e: (e.created, e.rev), reverse=True)
        experiments.sort(key=lambda e: _GROUPS.get(e.state, 1))  # stable: newest first in each
        commit = _experiment(reader, commits[sha], sha, names.get(sha), None)
        baselines.append(Baseline(commit, tuple(experiments)))
    return baselines


# `dvc exp show` lists running experiments first, then finished, queued and failed ones.
_GROUPS = {"running": 0, "success": 1, "queued": 2, "failed": 3}


def queue_entries(git: GitRepository) -> list[QueueEntry]:
    """The experiments of DVC's celery queue that are not experiment refs (yet): queued
    (its stash's reflog), running and failed (info files, the failed stash's reflog)."""
    from exp_ci.adapters.dvc import run_infos

    def stash(ref: str, state: str) -> list[QueueEntry]:
        parsed = (parse_stash_entry(sha, message, state) for sha, message in git.reflog(ref))
        return [entry for entry in parsed if entry is not None]

    return merge_entries(
        stash(QUEUE_REF, "queued"), stash(FAILED_REF, "failed"), run_infos(git.dvc_root)
    )


def _unfinished(reader: ExperimentReader, stash: CommitInfo, entry: QueueEntry) -> Experiment:
    """A queued, running or failed experiment: the params it was queued with (its stash
    commit's), no metrics (a queued run has none, a running or failed one none it finished:
    DVC shows a failed run's stale workspace metrics here, exp-ci leaves them out)."""
    data = reader.read_commit(stash.tree)
    return Experiment(
        rev=entry.rev,
        baseline_rev=entry.baseline,
        name=entry.name,
        created=stash.created,
        params=data.params,
        metrics={},
        ref=None,
        state=entry.state,
        error=data.error,
        reason=entry.reason or ("the run failed" if entry.state == "failed" else None),
    )


_READERS: weakref.WeakKeyDictionary[GitRepository, ExperimentReader] = weakref.WeakKeyDictionary()


def experiment_reader(git: GitRepository) -> ExperimentReader:
    """The one reader of an open repository, so the plots, trends and comparison a command
    reads after its table find what the table already parsed (its memos are keyed by
    content, and the workspace is never memoised)."""
    reader = _READERS.get(git)
    if reader is None:
        reader = _READERS[git] = ExperimentReader(git, LocalCache(git.dvc_root))
    return reader


def read_workspace(git: GitRepository) -> CommitData:
    """Params and metrics of the files on disk, as `dvc exp show` reads its workspace row."""
    reader = experiment_reader(git)
    return reader.read_snapshot(WorkspaceSnapshot(git))


def read_workspace_row(git: GitRepository) -> Experiment:
    """The workspace as a row on top of HEAD, named `workspace` as DVC names it."""
    head = git.resolve_commit("HEAD")
    data = read_workspace(git)
    return Experiment(
        rev="workspace",
        baseline_rev=head,
        name="workspace",
        created=datetime.now(timezone.utc),
        params=data.params,
        metrics=data.metrics,
        error=data.error,
    )


def read_revision(git: GitRepository, rev: str) -> Experiment:
    """One commit (branch, tag or SHA) as a row: for comparing against a base commit."""
    sha = git.resolve_commit(rev)
    commit = git.commits([sha])[sha]
    reader = experiment_reader(git)
    return _experiment(reader, commit, sha, git.names_of_commits().get(sha), None)


def _experiment(
    reader: ExperimentReader, commit: CommitInfo, baseline: str, name: str | None, ref: str | None
) -> Experiment:
    data = reader.read_commit(commit.tree)
    return Experiment(
        rev=commit.sha,
        baseline_rev=baseline,
        name=name,
        created=commit.created,
        params=data.params,
        metrics=data.metrics,
        ref=ref,
        error=data.error,
    )
