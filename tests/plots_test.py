"""Reading DVC plots from Git objects: what dvc.yaml declares, what the files hold, and the
same series as `dvc plots show`."""

from __future__ import annotations

import json
import shutil

import pytest

from exp_ci.adapters.git import GitRepository
from exp_ci.errors import UserError
from exp_ci.read.plots import (
    PlotDeclaration,
    PlotFormatError,
    Series,
    choose_series,
    declared_plots,
    parse_records,
    read_plots,
    series_of,
)
from exp_ci.render.charts import mermaid_blocks
from tests.helpers.plots_project import plots_project
from tests.helpers.project import commit_all, exp_ci, init_project, run, write


@pytest.fixture(scope="module")
def plots_repo(tmp_path_factory, session_env):
    return plots_project(tmp_path_factory.getbasetemp(), session_env)


# --- what dvc.yaml declares ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "where", "expected"),
    [
        (
            {"plots": ["dvclive/plots/metrics"]},
            "dvc.yaml",
            [PlotDeclaration("dvclive/plots/metrics")],
        ),
        (
            {"plots": [{"dvclive/plots/metrics": {"x": "step"}}]},
            "dvc.yaml",
            [PlotDeclaration("dvclive/plots/metrics", x="step")],
        ),
        (  # a plot id whose y names files: one declaration per file
            {
                "plots": [
                    {
                        "train_test": {
                            "x": "step",
                            "y": {"train.csv": "loss", "test.csv": ["loss", "acc"]},
                        }
                    }
                ]
            },
            "dvc.yaml",
            [
                PlotDeclaration("train.csv", x="step", y=("loss",)),
                PlotDeclaration("test.csv", x="step", y=("loss", "acc")),
            ],
        ),
        (
            {
                "plots": [
                    {
                        "roc": {
                            "x": {"roc.csv": "fpr"},
                            "y": {"roc.csv": "tpr"},
                            "template": "simple",
                        }
                    }
                ]
            },
            "dvc.yaml",
            [PlotDeclaration("roc.csv", x="fpr", y=("tpr",), template="simple")],
        ),
        (  # stage outputs, relative to the stage's wdir and the dvc.yaml's folder
            {
                "stages": {
                    "train": {
                        "wdir": "src",
                        "plots": ["p.csv", {"q.json": {"x": "epoch", "y": "lr", "cache": False}}],
                    }
                }
            },
            "models/dvc.yaml",
            [
                PlotDeclaration("models/src/p.csv"),
                PlotDeclaration("models/src/q.json", x="epoch", y=("lr",)),
            ],
        ),
        (  # top-level plots first, as DVC lists them; templated entries are skipped
            {
                "stages": {"s": {"plots": ["stage.tsv", "${item}.tsv"]}},
                "plots": ["top.tsv", {"${x}": {}}],
            },
            "dvc.yaml",
            [PlotDeclaration("top.tsv"), PlotDeclaration("stage.tsv")],
        ),
        (  # foreach stages keep their plots under `do`; a CSV without a header line
            {"stages": {"s": {"foreach": [1, 2], "do": {"plots": [{"a.csv": {"header": False}}]}}}},
            "dvc.yaml",
            [PlotDeclaration("a.csv", header=False)],
        ),
        ({"stages": {"s": {"cmd": "x"}}}, "dvc.yaml", []),
        (None, "dvc.yaml", []),
    ],
)
def test_declared_plots(document, where, expected):
    assert declared_plots(document, where) == expected


# --- what plot files hold ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content", "header", "expected"),
    [
        (
            "a.tsv",
            "step\tloss\n0\t1.0\n1\t0.5\n",
            True,
            [{"step": "0", "loss": "1.0"}, {"step": "1", "loss": "0.5"}],
        ),
        ("a.csv", "step,loss\n0,1.0\n", True, [{"step": "0", "loss": "1.0"}]),
        ("a.csv", "0,1.0\n1,0.5\n", False, [{"0": "0", "1": "1.0"}, {"0": "1", "1": "0.5"}]),
        ("a.json", '[{"x": 1, "y": 2}]', True, [{"x": 1, "y": 2}]),
        ("a.json", '{"train": {"rows": [{"x": 1, "y": 2}]}}', True, [{"x": 1, "y": 2}]),
        (  # two lists of records are merged row by row, as DVC does
            "a.json",
            '{"a": [{"x": 1}, {"x": 2}], "b": [{"y": 3}, {"y": 4}]}',
            True,
            [{"x": 1, "y": 3}, {"x": 2, "y": 4}],
        ),
        (
            "a.yaml",
            "rows:\n  - {x: 1, y: 2}\n  - {x: 2, y: 3}\n",
            True,
            [{"x": 1, "y": 2}, {"x": 2, "y": 3}],
        ),
        ("a.json", '{"no": "records"}', True, []),
        ("a.csv", "", True, []),
    ],
)
def test_parse_records(path, content, header, expected):
    assert parse_records(path, content.encode(), header) == expected


@pytest.mark.parametrize(
    ("path", "content", "message"),
    [
        ("a.json", b"{not json", "a.json does not parse"),
        ("a.tsv", b"\xff\xfe", "a.tsv is not UTF-8 text"),
    ],
)
def test_unreadable_plot_files_say_why(path, content, message):
    with pytest.raises(PlotFormatError, match=message):
        parse_records(path, content)


RECORDS = [
    {"timestamp": "100", "step": "0", "loss": "1.0"},
    {"timestamp": "101", "step": "2", "loss": "n/a"},  # not a number: left out
    {"timestamp": "102", "step": "4", "loss": "0.25"},
]


@pytest.mark.parametrize(
    ("plot", "expected"),
    [
        # DVC's defaults: y is the last field, x the row number (named step)
        (PlotDeclaration("l.tsv"), [("loss", "step", ((0.0, 1.0), (2.0, 0.25)))]),
        (PlotDeclaration("l.tsv", x="step"), [("loss", "step", ((0.0, 1.0), (4.0, 0.25)))]),
        (
            PlotDeclaration("l.tsv", x="step", y=("timestamp", "loss")),
            [
                ("timestamp", "step", ((0.0, 100.0), (2.0, 101.0), (4.0, 102.0))),
                ("loss", "step", ((0.0, 1.0), (4.0, 0.25))),
            ],
        ),
    ],
)
def test_series_of_a_file(plot, expected):
    found = [(s.field, s.x_field, s.points) for s in series_of("l.tsv", RECORDS, plot)]
    assert found == expected


@pytest.mark.parametrize(
    ("plot", "message"),
    [
        (PlotDeclaration("l.tsv", x="epoch"), "l.tsv has no field 'epoch' for x"),
        (PlotDeclaration("l.tsv", y=("acc",)), "l.tsv has no field 'acc' for y"),
    ],
)
def test_fields_that_are_not_there_are_reported(plot, message):
    with pytest.raises(PlotFormatError, match=message):
        series_of("l.tsv", RECORDS, plot)


SERIES = [
    Series("dvclive/plots/metrics/acc.tsv", "acc", "step", ((0, 0.1), (1, 0.2))),
    Series("dvclive/plots/metrics/train/loss.tsv", "loss", "step", ((0, 1.0), (1, 0.5))),
    Series("dvclive/plots/metrics/eval/loss.tsv", "loss", "step", ((0, 1.1), (1, 0.6))),
    Series("plots/cm.json", "actual", "predicted", ((0, 1), (1, 0)), template="confusion"),
]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (None, "dvclive/plots/metrics/acc.tsv:acc"),  # the first curve
        ("dvclive/plots/metrics/train/loss.tsv:loss", "dvclive/plots/metrics/train/loss.tsv:loss"),
        ("dvclive/plots/metrics/eval/loss.tsv", "dvclive/plots/metrics/eval/loss.tsv:loss"),
        ("dvclive/plots/metrics/eval/loss", "dvclive/plots/metrics/eval/loss.tsv:loss"),
        ("train/loss", "dvclive/plots/metrics/train/loss.tsv:loss"),  # DVCLive's metric name
        ("acc", "dvclive/plots/metrics/acc.tsv:acc"),
        ("actual", "plots/cm.json:actual"),  # named: any template
    ],
)
def test_choose_series(name, expected):
    assert choose_series(name, SERIES).name == expected


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("loss", "'loss' is ambiguous: it is dvclive/plots/metrics/train/loss.tsv:loss, "),
        ("nope", "is not a plot series of the winner or its baseline. They have: dvclive"),
    ],
)
def test_unknown_or_ambiguous_curves_are_user_errors(name, message):
    with pytest.raises(UserError, match=message):
        choose_series(name, SERIES)


def test_no_curve_at_all_is_none_without_a_name():
    assert choose_series(None, SERIES[3:]) is None
    assert choose_series(None, []) is None


# --- a real project: commits read from Git -------------------------------------------------


def test_plots_of_the_baseline_and_an_experiment_are_read_from_their_commits(plots_repo):
    root, shas = plots_repo
    git = GitRepository(root)
    try:
        plots = read_plots(git, [shas["baseline"], shas["fast-lr"], shas["second"]])
    finally:
        git.close()
    base, fast, second = (plots[shas[name]] for name in ("baseline", "fast-lr", "second"))
    assert [s.name for s in base.series] == [
        "dvclive/plots/metrics/acc.tsv:acc",
        "dvclive/plots/metrics/eval/loss.tsv:loss",
        "dvclive/plots/metrics/train/loss.tsv:loss",
        "plots/roc.csv:tpr",
        "plots/lr.json:lr",
    ]
    assert base.errors == {}
    by_name = {s.name: s for s in fast.series}
    loss = by_name["dvclive/plots/metrics/train/loss.tsv:loss"]
    assert len(loss.points) == 120 and loss.x_field == "step" and loss.points[0] == (0.0, 1.0)
    assert by_name["plots/roc.csv:tpr"].points == ((0, 0), (0.1, 0.5), (0.3, 0.8), (1, 1))
    assert by_name["plots/lr.json:lr"].x_field == "epoch"
    assert len(next(s for s in base.series if s.field == "acc").points) == 60
    # Before the plots were committed: nothing to draw, and why.
    assert second.series == ()
    assert second.errors == {
        "dvclive/plots/metrics": "dvclive/plots/metrics is missing",
        "plots/roc.csv": "plots/roc.csv is missing",
        "plots/lr.json": "plots/lr.json is missing",
    }


def _dvc_series(document: dict) -> dict[str, tuple[str, list[tuple[float, float]]]]:
    """file:field -> (x field, points) from `dvc plots show --json` (its vega templates)."""
    found = {}
    for path, plots in document["data"].items():
        content = plots[0]["content"]
        x = content["encoding"]["x"]["field"]
        y = content["layer"][0]["encoding"]["y"]["field"]
        values = content["data"]["values"]
        found[f"{path}:{y}"] = (x, [(float(v[x]), float(v[y])) for v in values])
    return found


def test_the_series_agree_with_dvc_plots_show(plots_repo, env, tmp_path):
    source, shas = plots_repo
    root = tmp_path / "project"
    shutil.copytree(source, root, symlinks=True)  # DVC may write its own state; not in ours
    run(root, "git", "checkout", "-q", "--force", "main", env=env)
    document = json.loads(run(root, "dvc", "plots", "show", "--json", env=env))
    git = GitRepository(root)
    try:
        ours = read_plots(git, [shas["baseline"]])[shas["baseline"]]
    finally:
        git.close()
    assert {s.name: (s.x_field, list(s.points)) for s in ours.series} == _dvc_series(document)


@pytest.mark.slow  # starts processes
def test_a_plot_kept_in_the_dvc_cache_is_read_from_the_local_cache(tmp_path, env):
    root = tmp_path / "cached"
    init_project(root, env)
    script = "open('curve.csv', 'w').write('step,acc\\n0,0.1\\n1,0.4\\n2,0.6\\n')"
    write(
        root,
        {
            "dvc.yaml": f'stages:\n  train:\n    cmd: python -c "{script}"\n'
            "    plots:\n      - curve.csv:\n          x: step\n"
        },
    )
    run(root, "dvc", "repro", "-q", env=env)
    head = commit_all(root, "trained", env)
    assert run(root, "git", "ls-files", "curve.csv", env=env) == ""  # DVC keeps it, not Git

    git = GitRepository(root)
    try:
        (series,) = read_plots(git, [head])[head].series
        assert series.name == "curve.csv:acc"
        assert series.points == ((0.0, 0.1), (1.0, 0.4), (2.0, 0.6))
    finally:
        git.close()

    shutil.rmtree(root / ".dvc" / "cache")
    git = GitRepository(root)
    try:
        data = read_plots(git, [head])[head]
    finally:
        git.close()
    assert data.series == ()
    assert "curve.csv is only in the DVC cache" in data.errors["curve.csv"]
    assert "`dvc pull curve.csv` brings it" in data.errors["curve.csv"]


# --- the command line ----------------------------------------------------------------------


def test_show_md_draws_the_chart_and_the_winners_curve_under_the_table(plots_repo, env):
    root, _ = plots_repo
    args = ["show", "--format", "md", "--metric", "auc", "--chart", "--curve", "train/loss"]
    result = exp_ci(root, env, *args)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    chart, curve = mermaid_blocks(text)
    assert text.index("| main ") < text.index("```mermaid")
    assert 'x-axis ["★ fast-lr", "slow-lr", "x\'),%(init)%\'y\'‹b›", "main (baseline)"]' in chart
    assert "bar [0.8, 0.75, 0.72, 0.7]" in chart
    assert 'title "loss (dvclive/plots/metrics/train/loss.tsv)"' in curve
    assert 'x-axis "step" 0 --> 119' in curve
    assert text.rstrip().endswith(
        "Lines: orange: main (baseline), blue: fast-lr (winner). 120 points drawn as 50; "
        "main has step 0–59 only and is held flat beyond."
    )


def test_the_default_curve_is_the_first_plot(plots_repo, env):
    root, _ = plots_repo
    result = exp_ci(root, env, "show", "--format", "md", "--metric", "auc", "--curve")
    assert result.returncode == 0, result.stderr
    (curve,) = mermaid_blocks(result.stdout)
    assert 'title "acc (dvclive/plots/metrics/acc.tsv)"' in curve


def test_a_project_without_plots_says_why_there_is_no_curve(project, env):
    result = exp_ci(project, env, "show", "--format", "md", "--metric", "auc", "--curve")
    assert result.returncode == 0, result.stderr
    assert "- no training curve: lr-high has no plot data in dvc.yaml" in result.stdout
    assert "```mermaid" not in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "--format", "md", "--metric", "auc", "--curve", "nope"], "--curve 'nope' is not"),
        (["show", "--format", "md", "--metric", "auc", "--curve", "loss"], "is ambiguous"),
        (["show", "--format", "json", "--metric", "auc", "--chart"], "add --format md (not json)"),
        (["comment", "--dry-run", "--body-file", "x.md", "--chart"], "use one or the other"),
    ],
)
def test_bad_picture_requests_are_user_errors(plots_repo, env, args, message):
    root, _ = plots_repo
    result = exp_ci(root, env, *args)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr
    assert "Traceback" not in result.stderr
