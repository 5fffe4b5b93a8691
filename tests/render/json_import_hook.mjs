// Node 20 refuses `import data from "./file.json"` without `with { type: "json" }`, which
// @actions/workflow-parser writes (bundlers accept it). This loader hook adds the attribute
// to JSON imports only; validate_workflows.mjs registers it before loading the parser.

export async function load(url, context, nextLoad) {
  if (url.endsWith(".json") && !context.importAttributes?.type) {
    return nextLoad(url, { ...context, importAttributes: { ...context.importAttributes, type: "json" } });
  }
  return nextLoad(url, context);
}
