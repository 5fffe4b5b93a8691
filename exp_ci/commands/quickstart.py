"""`exp-ci quickstart`: the whole flow on a tiny bundled project, offline, in a minute.

It copies the example DVC project into a new folder, gives it a bare Git `origin` and a
local DVC remote beside it, runs a small sweep, shows the table, keeps the winner as a
branch with its data pushed, and prints the pull-request comment it would post. Every
step is the real exp-ci command, so what it prints is what those commands print.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from exp_ci.errors import EXIT_OK, UserError
from exp_ci.options import option

DEFAULT_FOLDER = "exp-ci-quickstart"
METRIC = "accuracy"
SWEEP = ("-S", "train.lr=0.1,0.5", "-S", "train.epochs=2,20")
PROJECT_FILES = ("train.py", "params.yaml", "dvc.yaml")


@dataclass(frozen=True)
class QuickstartOptions:
    folder: Path | None = option(
        "folder",
        nargs="?",
        type=Path,
        metavar="DIR",
        help=f"a new or empty folder to build the demo in (default: ./{DEFAULT_FOLDER}, "
        "or -2, -3, ... when that exists)",
    )
    jobs: int = option(
        "--jobs",
        type=int,
        default=2,
        metavar="J",
        help="experiments run at once during the sweep (default 2)",
    )
    quiet: bool = False


OPTIONS = QuickstartOptions


def _sweep_size() -> int:
    from exp_ci.sweep import build_plan, parse_set

    return len(build_plan([parse_set(value) for value in SWEEP[1::2]]).points)


def bundled_project() -> Path:
    """The example project: packaged as exp_ci/_quickstart, or examples/ in a checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_quickstart", package.parent / "examples" / "quickstart"):
        if all((candidate / name).is_file() for name in PROJECT_FILES):
            return candidate
    raise UserError(
        "the bundled example project is missing from this installation of exp-ci "
        f"(looked in {package / '_quickstart'}). Reinstall exp-ci."
    )


def choose_folder(requested: Path | None, cwd: Path) -> Path:
    if requested is not None:
        folder = requested if requested.is_absolute() else cwd / requested
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise UserError(
                f"{folder} exists and is not an empty folder; the quickstart never writes "
                "over files. Name a new folder (exp-ci quickstart DIR)."
            )
        return folder
    folder, number = cwd / DEFAULT_FOLDER, 1
    while folder.exists():
        number += 1
        folder = cwd / f"{DEFAULT_FOLDER}-{number}"
    return folder


def _step(options: QuickstartOptions, text: str) -> None:
    if not options.quiet:
        print(f"\n==> {text}", flush=True)


def run(options: QuickstartOptions) -> int:
    from exp_ci.adapters import dvc
    from exp_ci.adapters.git import GitRepository, ensure_identity, init_repository
    from exp_ci.cli import main as exp_ci

    if options.jobs < 1:
        raise UserError(f"--jobs must be 1 or more (got {options.jobs}).")
    source = bundled_project()
    folder = choose_folder(options.folder, Path.cwd())
    project, origin, storage = folder / "project", folder / "origin.git", folder / "dvc-storage"
    # The pipeline runs `python train.py`: let it find this Python (and its PyYAML) first.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])

    _step(options, f"a DVC project in {project}, origin {origin}, DVC remote {storage}")
    project.mkdir(parents=True)
    storage.mkdir()
    for name in PROJECT_FILES:
        shutil.copy2(source / name, project / name)
    init_repository(project)
    init_repository(origin, bare=True)
    with GitRepository(project) as git:
        if ensure_identity(git, "exp-ci quickstart", "quickstart@example.invalid"):
            _step(options, "Git had no user.name/user.email; set them for this project only")
        git.run("remote", "add", "origin", str(origin))
        dvc.init_project(project, "storage", storage)
        _step(options, "dvc repro: the baseline, committed and pushed")
        dvc.repro(project)
        git.run("add", "--all")
        git.run("commit", "--quiet", "--message", "quickstart: baseline")
        git.run("push", "--quiet", "origin", "main")

    where = ["-C", str(project)]
    quiet = ["-q"] if options.quiet else []
    steps = [
        (
            f"a sweep of {_sweep_size()} experiments",
            ["run", *where, *quiet, *SWEEP, "--jobs", str(options.jobs), "--name-prefix", "lr"],
        ),
        ("the comparison table", ["show", *where, "--metric", METRIC, "--only-changed"]),
        (
            "the winner, kept as a branch with its data pushed",
            ["persist", *where, *quiet, "--metric", METRIC, "--push", "origin"],
        ),
        (
            "the pull-request comment exp-ci would post",
            ["comment", *where, "--metric", METRIC, "--only-changed", "--dry-run"],
        ),
    ]
    for title, argv in steps:
        _step(options, f"{title}: exp-ci {' '.join(argv)}")
        code = exp_ci(argv)
        if code != EXIT_OK:
            print(f"exp-ci quickstart: `exp-ci {argv[0]}` exited {code}", file=sys.stderr)
            return code

    if not options.quiet:
        print(
            "\nDone. What to look at next:\n"
            f"- the project: cd {project}\n"
            f"- the table as a pull request shows it: exp-ci show --format md --metric {METRIC}\n"
            f"- the winner for scripts: exp-ci best --metric {METRIC} --json\n"
            f"- the winner's branch on origin: git -C {origin} branch\n"
            f"- its data in the DVC remote: ls {storage}/files/md5\n"
            "- the same experiments in DVC: dvc exp show\n"
            "- in CI: README.md, the GitHub Action (action.yml) and examples/\n"
        )
    return EXIT_OK
