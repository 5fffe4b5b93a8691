// Render Mermaid diagrams with the real `mermaid` package in Debian's Chromium, as GitHub
// does in the browser, and report every failure. Used by tests/charts_render_test.py.
//
//   node render_mermaid.mjs INPUT.json > OUTPUT.json
//
// INPUT:  {"diagrams": [{"id": "...", "source": "..."}],
//          "pages": [{"markdown": "...", "screenshot": "/abs/path.png"}]}
// OUTPUT: {"diagrams": [{"id", "ok", "type", "error", "svg"}], "pages": [{"screenshot", "errors"}]}
//
// One browser serves every diagram and page. It is the system's Chromium (CHROMIUM, else
// /usr/bin/chromium), started headless with a new empty profile and no network features;
// puppeteer-core never downloads a browser of its own. Nothing is fetched from the network:
// mermaid's bundle is injected from node_modules and the pages are set from strings.

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Marked } from "marked";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const MERMAID = require.resolve("mermaid/dist/mermaid.min.js");

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// Enough of GitHub's look to read a screenshot: its fonts, table borders, code spans.
const STYLE = `
  body { font-family: -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
         font-size: 14px; line-height: 1.5; color: #1f2328; margin: 24px; max-width: 880px; }
  table { border-collapse: collapse; margin: 8px 0; }
  th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
  tr:nth-child(2n) { background: #f6f8fa; }
  code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; background: #eff1f3;
         padding: 0.2em 0.4em; border-radius: 6px; font-size: 85%; white-space: break-spaces; }
  .mermaid-box { border: 1px solid #d1d9e0; border-radius: 6px; padding: 8px; margin: 12px 0; }
  h3 { margin: 8px 0; }
`;

function escapeHtml(text) {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

function pageHtml(markdown) {
  const marked = new Marked({ gfm: true });
  let n = 0;
  marked.use({
    renderer: {
      code({ text, lang }) {
        if (lang === "mermaid") {
          n += 1;
          return `<div class="mermaid-box" data-source="${escapeHtml(text)}" id="box-${n}"></div>`;
        }
        return `<pre><code>${escapeHtml(text)}</code></pre>`;
      },
    },
  });
  return `<!doctype html><html><head><meta charset="utf-8"><style>${STYLE}</style></head>` +
    `<body>${marked.parse(markdown)}</body></html>`;
}

// In the page: parse, then render; an error diagram counts as a failure too.
async function renderInPage(id, source) {
  const result = { id, ok: false, type: null, error: null, svg: null };
  try {
    const parsed = await window.mermaid.parse(source);
    result.type = parsed && parsed.diagramType;
    const { svg } = await window.mermaid.render(`m-${id.replace(/[^A-Za-z0-9_-]/g, "_")}`, source);
    result.svg = svg;
    if (/aria-roledescription="error"|Syntax error in text/.test(svg)) {
      result.error = "mermaid drew its error diagram";
    } else {
      result.ok = true;
    }
  } catch (error) {
    result.error = String((error && (error.message || error.str)) || error);
  }
  return result;
}

async function renderPage(page, markdown, screenshot) {
  await page.setContent(pageHtml(markdown), { waitUntil: "load" });
  await page.addScriptTag({ path: MERMAID });
  const errors = await page.evaluate(async () => {
    window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
    const problems = [];
    for (const box of document.querySelectorAll(".mermaid-box")) {
      try {
        const { svg } = await window.mermaid.render(`p-${box.id}`, box.dataset.source);
        if (/aria-roledescription="error"/.test(svg)) problems.push(`${box.id}: error diagram`);
        box.innerHTML = svg;
      } catch (error) {
        problems.push(`${box.id}: ${error && error.message ? error.message : error}`);
      }
    }
    return problems;
  });
  await page.screenshot({ path: screenshot, fullPage: true });
  return { screenshot, errors };
}

async function main() {
  const input = JSON.parse(await readFile(process.argv[2], "utf8"));
  const profile = await mkdtemp(join(tmpdir(), "exp-ci-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    userDataDir: profile,
    args: FLAGS,
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 960, height: 800 });
    await page.setContent("<!doctype html><html><body></body></html>");
    await page.addScriptTag({ path: MERMAID });
    await page.evaluate(() => window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict" }));
    const diagrams = [];
    for (const { id, source } of input.diagrams || []) {
      diagrams.push(await page.evaluate(renderInPage, id, source));
    }
    const pages = [];
    for (const { markdown, screenshot } of input.pages || []) {
      pages.push(await renderPage(page, markdown, screenshot));
    }
    process.stdout.write(JSON.stringify({ diagrams, pages }));
  } finally {
    await browser.close();
    await rm(profile, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
