"""Real Git + DVC projects for tests: built once per session, copied into each test.

The template has what `dvc exp show` must agree with us on: nested params, a params file
other than params.yaml (JSON, with a key no stage tracks), TOML and Python params files,
two metrics files plus one kept only in the DVC cache, a second dvc.yaml in a subfolder,
an experiment missing a metric, and one whose metrics file does not parse.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from textwrap import dedent

TRAIN_SCRIPT = """\
import json, sys, tomllib, yaml
sys.path.insert(0, ".")
import hyper

p = yaml.safe_load(open("params.yaml"))
o = json.load(open("other.json"))
with open("config.toml", "rb") as f:
    t = tomllib.load(f)
lr = p["train"]["lr"]
metrics = {"auc": round(0.5 + lr + o["alpha"] / 10, 6), "loss": {"val": round(1 - lr, 6)}}
if p["train"].get("drop_loss"):
    del metrics["loss"]
json.dump(metrics, open("metrics.json", "w"))
if p["train"].get("break_scores"):
    open("scores.yaml", "w").write("acc: [unclosed\\n")
else:
    open("scores.yaml", "w").write(f"acc: {p['seed'] / 10}\\nbatch: {t['model']['batch']}\\n")
json.dump({"f1": round(lr * hyper.WIDTH / 100, 6)}, open("cached.json", "w"))
"""

PARAMS = """\
train:
  lr: 0.1
  epochs: 3
  layers: [1, 2]
  drop_loss: false
  break_scores: false
seed: 7
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params:
      - train
      - seed
      - other.json:
          - alpha
          - opt.name
      - config.toml:
          - model.batch
      - hyper.py:
          - WIDTH
    metrics:
      - metrics.json:
          cache: false
      - scores.yaml:
          cache: false
      - cached.json
"""

SUB_TRAIN = """\
import json, yaml
p = yaml.safe_load(open("params.yaml"))
json.dump({"acc": p["filters"] / 100}, open("metrics.json", "w"))
"""

SUB_DVC_YAML = """\
stages:
  cnn:
    cmd: python train.py
    deps: [train.py]
    params: [filters]
    metrics:
      - metrics.json:
          cache: false
"""


def environment(home: Path) -> dict[str, str]:
    """An environment where nothing of the machine's Git or DVC config leaks in."""
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(("GIT_", "DVC_", "GITHUB_")):
            del env[name]
    gitconfig = home / ".gitconfig"
    if not gitconfig.exists():
        gitconfig.parent.mkdir(parents=True, exist_ok=True)
        gitconfig.write_text(
            "[user]\n\tname = exp-ci tests\n\temail = tests@example.invalid\n"
            "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
        )
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(gitconfig),
        DVC_NO_ANALYTICS="1",
        DVC_SITE_CACHE_DIR=str(home / "dvc-site-cache"),
        DVC_GLOBAL_CONFIG_DIR=str(home / "dvc-global"),
        DVC_SYSTEM_CONFIG_DIR=str(home / "dvc-system"),
        TZ="UTC",
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    )
    return env


def run(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    result = subprocess.run(
        list(args), cwd=cwd, env=dict(env or os.environ), capture_output=True, text=True
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({result.returncode}) in {cwd}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result.stdout


def write(root: Path, files: Mapping[str, str]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(content) if content.startswith("\n") else content)


def init_project(root: Path, env: Mapping[str, str]) -> None:
    """git init + dvc init, a bare `origin`, and a local folder as the default DVC remote."""
    root.mkdir(parents=True, exist_ok=True)
    run(root, "git", "init", "-q", "-b", "main", env=env)
    run(root, "dvc", "init", "-q", env=env)
    origin = root.parent / f"{root.name}-origin.git"
    run(root.parent, "git", "init", "-q", "--bare", str(origin), env=env)
    run(root, "git", "remote", "add", "origin", str(origin), env=env)
    storage = root.parent / f"{root.name}-storage"
    storage.mkdir(exist_ok=True)
    run(root, "dvc", "remote", "add", "-d", "storage", str(storage), env=env)


def commit_all(root: Path, message: str, env: Mapping[str, str]) -> str:
    run(root, "git", "add", "-A", env=env)
    run(root, "git", "commit", "-q", "-m", message, env=env)
    return run(root, "git", "rev-parse", "HEAD", env=env).strip()


def exp_run(root: Path, env: Mapping[str, str], name: str, *sets: str) -> None:
    """A real `dvc exp run` in a temporary folder, so the workspace stays at its baseline."""
    args = ["dvc", "exp", "run", "--all-pipelines", "--temp", "-n", name]
    for value in sets:
        args += ["-S", value]
    run(root, *args, env=env)


def build_template(root: Path, env: Mapping[str, str]) -> dict[str, str]:
    """The shared test project; returns the baseline SHAs by name."""
    init_project(root, env)
    write(
        root,
        {
            "train.py": TRAIN_SCRIPT,
            "params.yaml": PARAMS,
            "other.json": json.dumps({"alpha": 0.5, "opt": {"name": "sgd", "beta": 2}}),
            "config.toml": "[model]\nbatch = 32\nunused = 'x'\n",
            "hyper.py": "WIDTH = 64\nDEPTH = 3\n",
            "dvc.yaml": DVC_YAML,
            "experiments/cnn/train.py": SUB_TRAIN,
            "experiments/cnn/params.yaml": "filters: 16\n",
            "experiments/cnn/dvc.yaml": SUB_DVC_YAML,
        },
    )
    commit_all(root, "project", env)
    run(root, "dvc", "repro", "--all-pipelines", "-q", env=env)
    first = commit_all(root, "first baseline", env)
    exp_run(root, env, "old-exp", "train.lr=0.05")

    write(root, {"params.yaml": PARAMS.replace("epochs: 3", "epochs: 4")})
    run(root, "dvc", "repro", "--all-pipelines", "-q", env=env)
    second = commit_all(root, "second baseline", env)
    exp_run(root, env, "lr-high", "train.lr=0.3")
    exp_run(root, env, "alpha", "other.json:alpha=0.9", "experiments/cnn/params.yaml:filters=32")
    exp_run(root, env, "no-loss", "train.drop_loss=true", "train.lr=0.2")
    exp_run(root, env, "bad-scores", "train.break_scores=true")
    return {"first": first, "second": second}


def exp_show_json(root: Path, env: Mapping[str, str], *args: str) -> list[dict]:
    return json.loads(run(root, "dvc", "exp", "show", "--json", *args, env=env))


def exp_ci(
    root: Path, env: Mapping[str, str], *args: str | Path
) -> subprocess.CompletedProcess[str]:
    """`exp-ci ARGS` in `root` with the environment `env`, in this process.

    `exp_ci.cli.main(argv, environ)` runs as the console script would, without the ~0.7 s
    of a new Python: file descriptors 1 and 2 go to files for the duration, so what DVC
    and Git print in their own processes is captured too, and an exit by argparse is an
    exit code. Use `exp_ci_process` where a real process is the point.
    """
    import io
    import tempfile

    from exp_ci.cli import main

    cwd = os.getcwd()
    streams = sys.stdout, sys.stderr
    for stream in streams:
        stream.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        sys.stdout = io.TextIOWrapper(open(os.dup(1), "wb"), encoding="utf-8", newline="")  # noqa: SIM115
        sys.stderr = io.TextIOWrapper(open(os.dup(2), "wb"), encoding="utf-8", newline="")  # noqa: SIM115
        try:
            os.chdir(root)
            code = main([str(arg) for arg in args], dict(env))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 2
        finally:
            os.chdir(cwd)
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
                stream.close()
            sys.stdout, sys.stderr = streams
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    return subprocess.CompletedProcess(["exp-ci", *args], code, stdout, stderr)


def exp_ci_process(
    root: Path, env: Mapping[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """The real console entry point in a subprocess, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "exp_ci", *args],
        cwd=root,
        env=dict(env),
        capture_output=True,
        text=True,
    )


def flat(data: object, prefix: str = "") -> dict[str, object]:
    """Dotted keys, lists kept whole: how both tools name nested values."""
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, object] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(flat(value, name))
        else:
            out[name] = value
    return out


def dvc_values(rows: Sequence[dict]) -> dict[str, dict[str, object]]:
    """rev -> {"params"/"metrics" -> {file:key -> value}, "errors" -> files} from DVC's JSON."""
    result: dict[str, dict[str, object]] = {}

    def take(entry: dict) -> None:
        data = entry["data"]
        values: dict[str, object] = {"name": entry.get("name"), "errors": set()}
        if data is None:  # the revision as a whole did not load (e.g. its dvc.yaml)
            result[entry["rev"]] = {**values, "errors": {""}, "params": {}, "metrics": {}}
            return
        for kind in ("params", "metrics"):
            merged: dict[str, object] = {}
            for path, file in data[kind].items():
                if file.get("error"):
                    values["errors"].add(path)  # type: ignore[union-attr]
                    continue
                merged.update({f"{path}:{k}": v for k, v in flat(file["data"]).items()})
            values[kind] = merged
        result[entry["rev"]] = values

    for baseline in rows:
        if baseline["rev"] == "workspace":
            continue
        take(baseline)
        for experiment in baseline.get("experiments") or []:
            take(experiment["revs"][0])
    return result


def exp_ci_values(document: dict) -> dict[str, dict[str, object]]:
    """The same shape as `dvc_values`, from `exp-ci show --format json`."""
    result: dict[str, dict[str, object]] = {}
    for baseline in document["baselines"]:
        for row in [baseline, *baseline["experiments"]]:
            result[row["rev"]] = {
                "name": row["name"],
                "errors": set(row["error"] or {}),
                "params": row["params"],
                "metrics": row["metrics"],
            }
    return result


def differences(ours: Mapping[str, dict], theirs: Mapping[str, dict]) -> list[str]:
    """What one side has that the other lacks or has otherwise, both ways: rows, names,
    unreadable files, and every params and metrics value (empty when they agree)."""
    found = [f"row {rev[:7]}: only exp-ci lists it" for rev in ours.keys() - theirs.keys()]
    found += [f"row {rev[:7]}: only DVC lists it" for rev in theirs.keys() - ours.keys()]
    for rev in ours.keys() & theirs.keys():
        mine, dvc = ours[rev], theirs[rev]
        where = f"row {rev[:7]} ({mine['name'] or dvc['name']})"
        if mine["name"] != dvc["name"]:
            found.append(f"{where}: named {mine['name']!r} by exp-ci, {dvc['name']!r} by DVC")
        if mine["errors"] != dvc["errors"]:
            found.append(f"{where}: unreadable {mine['errors']} by exp-ci, {dvc['errors']} by DVC")
        for kind in ("params", "metrics"):
            a, b = mine[kind], dvc[kind]
            found += [f"{where}: {kind} {k}={a[k]!r} only in exp-ci" for k in a.keys() - b.keys()]
            found += [f"{where}: {kind} {k}={b[k]!r} only in DVC" for k in b.keys() - a.keys()]
            found += [
                f"{where}: {kind} {k} is {a[k]!r} in exp-ci, {b[k]!r} in DVC"
                for k in a.keys() & b.keys()
                if a[k] != b[k] or type(a[k]) is not type(b[k])
            ]
    return sorted(found)
