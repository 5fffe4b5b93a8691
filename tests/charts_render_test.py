"""Every Mermaid block exp-ci writes, drawn by the real `mermaid` package in headless
Chromium: from the chart cases, from `exp-ci show` and `exp-ci comment` on real projects.

One browser draws everything (tests/render/render_mermaid.mjs); the pages are the HTML
GitHub's engine makes of the markdown (cmarkgfm, tests/helpers/gfm.py) in GitHub's own
stylesheet (github-markdown-css), their ```mermaid blocks drawn in place. A diagram fails when
`mermaid.parse` or `mermaid.render` rejects it, when Mermaid draws its error picture, or
when the drawing is not what the text says (a bar per category, a line per series, every
label as written). Screenshots of the rendered comment and tables go to the module's
temporary folder. Needs `node`, `npm ci --prefix tests/render` and Debian's `chromium`
(.ci/run installs them); without them the tests are skipped, except in CI (CI=true).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from exp_ci.render.charts import curve_chart, mermaid_blocks, ranking_chart
from tests.helpers.chart_cases import CURVE_CASES, RANKING_CASES
from tests.helpers.gfm import render
from tests.helpers.plots_project import plots_project
from tests.helpers.project import exp_ci

RENDER = Path(__file__).parent / "render"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

# Mermaid blocks of the real outputs: (name, how many blocks).
REAL = {"plots-show": 2, "plots-comment": 2, "project-show": 1}
IDS = (
    [f"ranking/{case}" for case in sorted(RANKING_CASES)]
    + [f"curve/{case}" for case in sorted(CURVE_CASES)]
    + [f"{name}/{i}" for name, count in REAL.items() for i in range(count)]
)


def missing_tools() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    for package in ("mermaid", "puppeteer-core", "github-markdown-css"):
        if not (RENDER / "node_modules" / package).is_dir():
            return f"{package} is not installed: run `npm ci --prefix tests/render`"
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing: `apt-get install -y --no-install-recommends chromium`"
    return None


def _copy_template(template, destination: Path) -> Path:
    source, _ = template
    root = destination / source.name
    shutil.copytree(source, root, symlinks=True)
    return root


def _markdown(root: Path, env, *args: str) -> str:
    result = exp_ci(root, env, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, session_env, template):
    """Draw every diagram and page once; the results by diagram id."""
    missing = missing_tools()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the render test cannot run in CI: {missing}")
        pytest.skip(missing)
    folder = tmp_path_factory.mktemp("charts-render")
    env = session_env
    plots_root, _ = plots_project(tmp_path_factory.getbasetemp(), env)
    project_root = _copy_template(template, folder)
    pictures = ["--metric", "auc", "--chart", "--trend", "10"]
    markdown = {
        "plots-show": _markdown(
            plots_root, env, "show", "--format", "md", *pictures, "--curve", "train/loss"
        ),
        "plots-comment": _markdown(plots_root, env, "comment", "--dry-run", *pictures, "--curve"),
        "project-show": _markdown(
            project_root,
            env,
            "show",
            "--format",
            "md",
            "--metric",
            "auc",
            "--chart",
            "--trend",
            "5",
        ),
    }
    sources = {
        f"ranking/{c}": mermaid_blocks(ranking_chart(RANKING_CASES[c]()))[0] for c in RANKING_CASES
    }
    sources.update(
        {
            f"curve/{c}": mermaid_blocks(curve_chart("loss", "step", "loss", CURVE_CASES[c]))[0]
            for c in CURVE_CASES
        }
    )
    for name, text in markdown.items():
        sources.update({f"{name}/{i}": block for i, block in enumerate(mermaid_blocks(text))})
    screenshots = {name: folder / f"{name}.png" for name in markdown}
    request = {
        "diagrams": [{"id": key, "source": source} for key, source in sources.items()],
        "pages": [
            {"html": render(markdown[name]), "screenshot": str(path)}
            for name, path in screenshots.items()
        ],
    }
    (folder / "request.json").write_text(json.dumps(request))
    result = subprocess.run(
        ["node", str(RENDER / "render_mermaid.mjs"), str(folder / "request.json")],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "CHROMIUM": CHROMIUM},
    )
    assert result.returncode == 0, f"the renderer failed:\n{result.stderr}"
    output = json.loads(result.stdout)
    return {
        "sources": sources,
        "diagrams": {d["id"]: d for d in output["diagrams"]},
        "pages": dict(zip(markdown, output["pages"], strict=True)),
        "markdown": markdown,
        "screenshots": screenshots,
    }


def _texts(svg: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def _group(svg: str, name: str) -> str:
    match = re.search(rf'<g class="{name}">(.*?)</g>', svg, re.DOTALL)
    assert match, f"no {name} in the drawing"
    return match.group(1)


@pytest.mark.parametrize("key", IDS)
def test_each_diagram_renders_as_its_text_says(rendered, key):
    source = rendered["sources"][key]
    result = rendered["diagrams"][key]
    assert result["ok"], f"{key}: {result['error']}\n{source}"
    assert result["type"] == "xychart"
    svg = result["svg"]
    assert "NaN" not in svg and "Infinity" not in svg
    texts = _texts(svg)
    title = re.search(r'^\s*title "([^"]*)"', source, re.MULTILINE).group(1)
    assert title in texts
    categories = re.search(r"^\s*x-axis \[(.*)\]$", source, re.MULTILINE)
    if categories:  # a bar chart: one visible bar per category, taller for larger values
        labels = re.findall(r'"([^"]*)"', categories.group(1))
        for label in labels:
            assert label in texts, f"{label!r} is not drawn as written"
        bars = re.findall(r'<rect [^>]*height="([^"]+)"', _group(svg, "bar-plot-0"))
        assert len(bars) == len(labels)
        heights = [float(h) for h in bars]
        assert all(h > 0 for h in heights)
        values = [float(v) for v in re.search(r"bar \[(.*)\]", source).group(1).split(", ")]
        order = sorted(range(len(values)), key=lambda i: values[i])
        assert [heights[i] for i in order] == sorted(heights)
        assert 'fill="#2563eb"' in svg  # our palette took effect
    else:  # a curve chart: one drawn line per series, in our colours
        count = len(re.findall(r"^\s*line \[", source, re.MULTILINE))
        for i in range(count):
            assert re.search(rf'<g class="line-plot-{i}">\s*<path d="M[^"]+"', svg)
        assert 'stroke="#2563eb"' in svg


def test_every_output_had_the_blocks_expected(rendered):
    for name, count in REAL.items():
        assert len(mermaid_blocks(rendered["markdown"][name])) == count, name


def test_the_hostile_experiment_name_is_drawn_harmlessly(rendered):
    texts = _texts(rendered["diagrams"]["plots-show/0"]["svg"])
    assert "x'),%(init)%'y'‹b›" in texts  # the name x"];%%{init}%%`y`<b>, sanitised
    hostile = _texts(rendered["diagrams"]["ranking/hostile-names"]["svg"])
    assert "main'), (baseline)" in hostile


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("name", sorted(REAL))
def test_the_rendered_comment_and_tables_are_screenshotted(rendered, name):
    page = rendered["pages"][name]
    assert page["errors"] == []
    width, height = _png_size(rendered["screenshots"][name])
    assert width >= 960  # the viewport, or wider for a wide table
    assert height > 600  # the table and at least one chart under it
