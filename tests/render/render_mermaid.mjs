// Render Mermaid diagrams with the real `mermaid` package in Debian's Chromium, as GitHub
// does in the browser, and report every failure. Used by tests/charts_render_test.py.
//
//   node render_mermaid.mjs INPUT.json > OUTPUT.json
//
// INPUT:  {"diagrams": [{"id": "...", "source": "..."}],
//          "pages": [{"html": "...", "screenshot": "/abs/path.png"}]}
//
// A page's HTML is what GitHub's markdown engine made of the comment (cmarkgfm, in the
// Python test); it is styled with github-markdown-css, and each `<pre lang="mermaid">`
// block is drawn in place, as GitHub does.
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

import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const MERMAID = require.resolve("mermaid/dist/mermaid.min.js");
const GITHUB_CSS = require.resolve("github-markdown-css/github-markdown-light.css");

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

// GitHub's own stylesheet for rendered markdown, light theme, at GitHub's comment width.
const STYLE = `
  body { margin: 0; background: #ffffff; }
  .markdown-body { box-sizing: border-box; max-width: 880px; margin: 24px; }
  .mermaid-box { border: 1px solid #d1d9e0; border-radius: 6px; padding: 8px; margin: 12px 0; }
`;

async function pageHtml(html) {
  const css = await readFile(GITHUB_CSS, "utf8");
  return `<!doctype html><html><head><meta charset="utf-8"><style>${css}</style>` +
    `<style>${STYLE}</style></head><body><article class="markdown-body">${html}</article>` +
    `</body></html>`;
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

async function renderPage(page, html, screenshot) {
  await page.setContent(await pageHtml(html), { waitUntil: "load" });
  await page.addScriptTag({ path: MERMAID });
  const errors = await page.evaluate(async () => {
    window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
    const problems = [];
    let n = 0;
    for (const pre of document.querySelectorAll('pre[lang="mermaid"]')) {
      n += 1;
      const box = document.createElement("div");
      box.className = "mermaid-box";
      box.id = `box-${n}`;
      const source = pre.textContent;
      pre.replaceWith(box);
      try {
        const { svg } = await window.mermaid.render(`p-${box.id}`, source);
        if (/aria-roledescription="error"/.test(svg)) problems.push(`${box.id}: error diagram`);
        box.innerHTML = svg;
      } catch (error) {
        problems.push(`${box.id}: ${error && error.message ? error.message : error}`);
      }
    }
    if (n === 0) problems.push("no mermaid block in the page");
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
    for (const { html, screenshot } of input.pages || []) {
      pages.push(await renderPage(page, html, screenshot));
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
