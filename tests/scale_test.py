"""Scale: a CI matrix pushing at once to one bare origin and one S3 bucket (moto on
127.0.0.1), then `collect`: every point of the plan exactly once, no ref without data.

Each job is a real `exp-ci run --shard I/N --push origin` process in a clone of its own,
as CI runners are; the stage is trivial so the real `dvc exp run`s stay cheap. At most
AT_ONCE jobs run together: enough on 2 cores for pushes to overlap on one origin and one
bucket, few enough that the run stays bounded. The suite runs SHARDS = 8 (all 8 at once,
the same overlap as any longer matrix here, in a quarter of the time);
`EXP_CI_SCALE_SHARDS=32` runs the 32-job matrix README reports (about 4 minutes).
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from tests.helpers.project import exp_ci, exp_ci_process, run
from tests.helpers.remote_store import Store, refs_without_data
from tests.helpers.sweep_project import build_template, clone, copy_template, experiment_refs

pytestmark = pytest.mark.slow

SHARDS = int(os.environ.get("EXP_CI_SCALE_SHARDS", "8"))
AT_ONCE = 8


@pytest.fixture
def sweep_root(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, session_env) -> Path:
    template = build_template(tmp_path_factory.getbasetemp() / "sweep-template", session_env)
    return copy_template(template, tmp_path)


def test_shards_push_at_once_to_one_origin_and_bucket_and_collect_has_each_point_once(
    sweep_root: Path, env, s3
):
    store = Store(sweep_root, s3)
    values = [f"0.{n:03d}" for n in range(1, SHARDS + 1)]
    plan = ("run", "-S", "lr=" + ",".join(values), "--name-prefix", "scale")
    first = clone(sweep_root, "shard-1", env)
    store.configure(first, env)
    config = (first / ".dvc" / "config.local").read_text()
    clones = [first]
    for index in range(2, SHARDS + 1):
        repo = clone(sweep_root, f"shard-{index}", env)
        (repo / ".dvc" / "config.local").write_text(config)  # the same bucket, as in CI
        clones.append(repo)

    running, peak, lock = 0, 0, threading.Lock()

    def job(index: int):
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            args = (*plan, "--shard", f"{index}/{SHARDS}", "--push", "origin")
            return exp_ci_process(clones[index - 1], env, *args)
        finally:
            with lock:
                running -= 1

    started = time.perf_counter()
    with ThreadPoolExecutor(AT_ONCE) as pool:
        results = list(pool.map(job, range(1, SHARDS + 1)))
    jobs_seconds = time.perf_counter() - started
    failed = [(i + 1, r.stderr[-2000:]) for i, r in enumerate(results) if r.returncode != 0]
    assert failed == []
    assert peak > 1  # the jobs really ran together

    on_origin = experiment_refs(first, env, remote="origin")
    assert len(on_origin) == SHARDS
    collector = clone(sweep_root, "collector", env)
    (collector / ".dvc" / "config.local").write_text(config)
    started = time.perf_counter()
    collected = exp_ci(collector, env, "collect", "origin", "--with-data")
    collect_seconds = time.perf_counter() - started
    assert collected.returncode == 0, collected.stderr
    refs = experiment_refs(collector, env)
    assert refs == on_origin
    names = sorted(ref.rsplit("/", 1)[1] for ref in refs)
    width = len(str(SHARDS))  # names are numbered to the plan's width: scale-01 of 32
    assert names == [f"scale-{n:0{width}d}" for n in range(1, SHARDS + 1)]
    ran = sorted(
        str(yaml.safe_load(run(collector, "git", "show", f"{sha}:params.yaml", env=env))["lr"])
        for sha in refs.values()
    )
    assert ran == sorted(str(float(v)) for v in values)  # every point exactly once
    assert refs_without_data(collector, env, store) == []
    origin = sweep_root / "origin.git"
    origin_bytes = sum(p.stat().st_size for p in origin.rglob("*") if p.is_file())
    advertised = len(run(first, "git", "ls-remote", "origin", "refs/exps/*", env=env))
    load = " ".join(f"{n:.1f}" for n in os.getloadavg())
    print(  # figures for the README, never asserted
        f"{SHARDS} shards, at most {peak} at once: {len(refs)} experiments, 0 without data; "
        f"jobs {jobs_seconds:.0f} s, collect --with-data {collect_seconds:.1f} s, "
        f"origin {origin_bytes / 1024:.0f} KiB (its refs/exps listing {advertised} bytes), "
        f"{len(store.objects())} objects in the "
        f"bucket; load {load}"
    )
