"""dvc.yaml templating is resolved by DVC's own resolver, over files read from Git objects.

Pure cases run DVC's resolver over files held in a dict; the agreement test compares a
project with every templating shape (and experiments that move what it depends on) with
`dvc exp show --json`, both ways.
"""

from __future__ import annotations

import json

import pytest

from exp_ci.read.dvcfiles import DvcFileError
from exp_ci.read.templating import Resolver, needs_resolving
from tests.helpers.project import differences, dvc_values, exp_ci, exp_ci_values, exp_show_json
from tests.helpers.shapes import TEMPLATED, build, templated_experiments
from tests.helpers.synthetic import add_experiments


class DictFiles:
    """A snapshot made of a dict, counting how often each file is read."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files
        self.reads: dict[str, int] = {}

    def kind(self, path):
        if path in self.files:
            return "file"
        return "dir" if any(p.startswith(path.rstrip("/") + "/") for p in self.files) else None

    def read(self, path):
        self.reads[path] = self.reads.get(path, 0) + 1
        return self.files[path].encode()

    def size(self, path):
        return len(self.files[path].encode())

    def content_key(self, path):
        return str(hash(self.files[path])) if path in self.files else None

    def refusal(self, path):
        return "outside" if path.startswith("..") else None


def _pipeline(files: dict[str, str], path: str = "dvc.yaml", resolver: Resolver | None = None):
    import yaml

    snapshot = DictFiles(files)
    model = (resolver or Resolver()).pipeline(path, lambda: yaml.safe_load(files[path]), snapshot)
    return model, snapshot


@pytest.mark.parametrize(
    ("document", "templated"),
    [
        ({"stages": {"t": {"cmd": "x", "metrics": ["m.json"]}}}, False),
        ({"stages": {"t": {"cmd": "echo ${lr}"}}}, True),
        ({"vars": ["p.yaml"], "stages": {}}, True),
        ({"stages": {"t": {"foreach": [1], "do": {"cmd": "x"}}}}, True),
        ({"stages": {"t": {"matrix": {"a": [1]}, "cmd": "x"}}}, True),
        ({"metrics": ["${folder}/m.json"]}, True),
    ],
)
def test_only_templated_documents_go_through_dvcs_resolver(document, templated):
    assert needs_resolving(document) is templated


def test_every_shape_resolves_to_the_stages_and_paths_dvc_sees():
    model, _ = _pipeline(TEMPLATED)
    names = [stage.name for stage in model.stages]
    assert names == [
        "train",
        "eval@a",
        "eval@b",
        "grid@x-1",
        "grid@x-2",
        "grid@y-1",
        "grid@y-2",
        "regions@us",
        "regions@eu",
    ]
    assert [out.path for out in model.outs(["metrics"])] == [
        "runs/results.json",
        "outs/a.json",
        "outs/b.json",
        "sub_us/m.json",
        "sub_eu/m.json",
    ]
    assert model.stage("grid@x-1").params == ({"ds1.yaml": ()},)
    assert model.stage("regions@eu").wdir == "sub_eu"
    # vars used in ${} are listed as params, as DVC lists them (inline vars are not)
    assert model.vars_params == {
        "vars2.yaml": {"thr": 0.5, "out_dir": "outs"},
        "config/extra.yaml": {"data.name": "ds1"},
        "params.yaml": {"train.lr": 0.1, "train.project": "runs", "models.0": "a", "models.1": "b"},
    }


def test_a_dvc_yaml_in_a_subfolder_reads_its_vars_beside_it():
    files = {
        "exp/dvc.yaml": "vars: [cfg.yaml]\nstages:\n  t:\n    cmd: x\n"
        "    metrics: [{'${name}.json': {cache: false}}]\n",
        "exp/cfg.yaml": "name: scores\n",
    }
    model, _ = _pipeline(files, "exp/dvc.yaml")
    assert [out.path for out in model.outs()] == ["exp/scores.json"]


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({"dvc.yaml": "stages:\n  t:\n    cmd: echo ${missing}\n"}, "missing"),
        ({"dvc.yaml": "vars: [gone.yaml]\nstages: {}\n"}, "gone.yaml"),
        ({"dvc.yaml": "vars: [../up.yaml]\nstages: {}\n"}, "up.yaml"),
        ({"dvc.yaml": "stages:\n  t:\n    foreach: 3\n    do: {cmd: x}\n"}, "expected list"),
    ],
)
def test_what_does_not_resolve_is_an_error_that_says_why(files, reason):
    with pytest.raises(DvcFileError, match="templating does not resolve") as error:
        _pipeline(files)
    assert reason in str(error.value)
    assert str(error.value).startswith("dvc.yaml: ")


def test_a_resolution_is_reused_where_what_it_depends_on_is_the_same():
    resolver = Resolver()
    first, _ = _pipeline(TEMPLATED, resolver=resolver)
    again, snapshot = _pipeline(dict(TEMPLATED), resolver=resolver)
    assert again.stages is first.stages  # not resolved again
    assert snapshot.reads == {}  # nor read again: the same content
    # A value used only in a command (a swept learning rate) keeps the stages; the
    # vars values listed as params are those of the new files.
    swept = {**TEMPLATED, "vars2.yaml": "out_dir: outs\nthr: 0.9\n"}
    lr, _ = _pipeline(swept, resolver=resolver)
    assert lr.stages is first.stages
    assert lr.vars_params["vars2.yaml"] == {"thr": 0.9, "out_dir": "outs"}
    # A value a path is made of resolves again.
    moved = {**TEMPLATED, "vars2.yaml": "out_dir: elsewhere\nthr: 0.5\n"}
    other, _ = _pipeline(moved, resolver=resolver)
    assert other.stage("eval@a").outs[0].path == "elsewhere/a.json"
    # So do a new key in a vars file (DVC may now refuse the merge) and a new file.
    added = {**TEMPLATED, "vars2.yaml": "out_dir: outs\nthr: 0.5\nunused: 1\n"}
    assert _pipeline(added, resolver=resolver)[0].stages is not first.stages
    unrelated = {**TEMPLATED, "outs/a.json": '{"f": 99}'}
    assert _pipeline(unrelated, resolver=resolver)[0].stages is first.stages


def test_a_conflict_between_vars_files_is_found_after_a_reuse():
    resolver = Resolver()
    _pipeline(TEMPLATED, resolver=resolver)
    clash = {**TEMPLATED, "vars2.yaml": "out_dir: outs\nthr: 0.5\nmodels: [c]\n"}
    with pytest.raises(DvcFileError, match="templating does not resolve"):
        _pipeline(clash, resolver=resolver)


@pytest.mark.slow
def test_templated_projects_agree_with_dvc_both_ways(tmp_path, env):
    project = tmp_path / "project"
    baseline = build(project, TEMPLATED)
    add_experiments(project, baseline, templated_experiments())
    result = exp_ci(project, env, "show", "--format", "json")
    assert result.returncode == 0, result.stderr
    ours = exp_ci_values(json.loads(result.stdout))
    theirs = dvc_values(exp_show_json(project, env))
    assert len(ours) == 1 + len(templated_experiments())
    assert differences(ours, theirs) == []
    by_name = {v["name"]: v for v in ours.values()}
    assert by_name["project"]["metrics"]["other/results.json:acc"] == 0.95
    assert by_name["dataset"]["params"]["ds2.yaml:w"] == 2
    assert by_name["broken-vars"]["errors"] == {""}  # the whole row, as in DVC


def test_the_hook_takes_push_flags_from_the_resolved_stages():
    from exp_ci.hooks.outputs import outputs_of

    dvc_yaml = (
        "vars: [cfg.yaml]\nstages:\n  fit:\n    foreach: [a, b]\n    do:\n"
        "      wdir: ${folder}\n      cmd: x\n      outs:\n"
        "        - model-${item}.pkl: {remote: big}\n"
        "        - log-${item}.txt: {push: false}\n"
    )
    md5 = "ab" * 16
    lock = "schema: '2.0'\nstages:\n" + "".join(
        f"  fit@{item}:\n    outs:\n"
        f"    - {{path: model-{item}.pkl, hash: md5, md5: {md5}}}\n"
        f"    - {{path: log-{item}.txt, hash: md5, md5: {md5}}}\n"
        for item in "ab"
    )
    files = DictFiles({"dvc.yaml": dvc_yaml, "cfg.yaml": "folder: work\n"})
    found = outputs_of("dvc.lock", lock.encode(), dvc_yaml.encode(), files)
    assert [(out.path, out.remote) for out in found] == [
        ("work/model-a.pkl", "big"),
        ("work/model-b.pkl", "big"),
    ]
