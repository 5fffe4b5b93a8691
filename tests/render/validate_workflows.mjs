// Validate action.yml and workflow files with GitHub's own parser and language service
// (@actions/languageservice, the engine of the VS Code extension "GitHub Actions"), offline.
// Used by tests/workflows_test.py.
//
//   node validate_workflows.mjs INPUT.json > OUTPUT.json
//
// INPUT:  {"files": [{"uri": "file:///.../x.yml", "text": "..."}],
//          "actions": {"OWNER/exp-ci": {name, description, inputs, outputs}}}
// OUTPUT: {"results": [{"uri", "diagnostics": [{"severity", "message", "line"}]}]}
//
// The metadata of an action named in INPUT is given to the service, so the inputs of a
// `uses:` step of it are checked (unknown, missing required); other actions are unknown
// to it (nothing is fetched) and only the step's shape is checked.

import { register } from "node:module";
import { readFile } from "node:fs/promises";

register("./json_import_hook.mjs", import.meta.url);

const { validate } = await import("@actions/languageservice");
const { TextDocument } = await import("vscode-languageserver-textdocument");

const SEVERITY = { 1: "error", 2: "warning", 3: "information", 4: "hint" };

async function main() {
  const input = JSON.parse(await readFile(process.argv[2], "utf8"));
  const actions = input.actions || {};
  const config = {
    actionsMetadataProvider: {
      fetchActionMetadata: async (ref) => actions[`${ref.owner}/${ref.name}`],
    },
  };
  const results = [];
  for (const { uri, text } of input.files) {
    const document = TextDocument.create(uri, "yaml", 1, text);
    const diagnostics = await validate(document, config);
    results.push({
      uri,
      diagnostics: diagnostics.map((d) => ({
        severity: SEVERITY[d.severity ?? 1],
        message: d.message,
        line: d.range.start.line + 1,
      })),
    });
  }
  process.stdout.write(JSON.stringify({ results }));
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
