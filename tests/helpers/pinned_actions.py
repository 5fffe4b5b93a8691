"""What GitHub's language service would fetch online for each pinned third-party action:
its name and the names of its inputs and outputs, from the action's action.yml (the
versions pinned in action.yml and examples/). Given to tests/render/validate_workflows.mjs
so that a `with:` key those actions do not declare is an error, offline."""

from __future__ import annotations

from typing import Any

INPUTS_AND_OUTPUTS: dict[str, tuple[list[str], list[str]]] = {
    "actions/checkout": (
        ["repository", "ref", "token", "ssh-key", "ssh-known-hosts", "ssh-strict", "ssh-user",
         "persist-credentials", "path", "clean", "filter", "sparse-checkout",
         "sparse-checkout-cone-mode", "fetch-depth", "fetch-tags", "show-progress",
         "reference", "lfs", "submodules", "set-safe-directory", "github-server-url"],
        ["ref", "commit"],
    ),
    "actions/setup-python": (
        ["python-version", "python-version-file", "cache", "architecture", "check-latest",
         "token", "cache-dependency-path", "update-environment", "allow-prereleases",
         "freethreaded", "pip-version", "pip-install", "ignore-platform-version"],
        ["python-version", "cache-hit", "python-path"],
    ),
    "actions/upload-artifact": (
        ["name", "path", "if-no-files-found", "retention-days", "compression-level",
         "overwrite", "include-hidden-files"],
        ["artifact-id", "artifact-url", "artifact-digest"],
    ),
    "actions/download-artifact": (
        ["name", "artifact-ids", "path", "pattern", "merge-multiple", "github-token",
         "repository", "run-id"],
        ["download-path", "artifacts"],
    ),
}  # fmt: skip


def metadata() -> dict[str, dict[str, Any]]:
    """`ActionMetadata` (@actions/languageservice) of each pinned action, by owner/name."""
    return {
        action: {
            "name": action,
            "description": action,
            "inputs": {name: {"description": name} for name in inputs},
            "outputs": {name: {"description": name} for name in outputs},
        }
        for action, (inputs, outputs) in INPUTS_AND_OUTPUTS.items()
    }
