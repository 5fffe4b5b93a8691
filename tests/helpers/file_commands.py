"""GitHub Actions' file commands, read back as the runner reads them."""

from __future__ import annotations


def parse_file_commands(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT / GITHUB_ENV: `NAME=VALUE` lines and `NAME<<DELIMITER` heredocs."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index].rstrip("\r")
        index += 1
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            values[line[:equals]] = line[equals + 1 :]
            continue
        if heredoc < 0:
            raise AssertionError(f"malformed file command line: {line!r}")
        name, delimiter = line[:heredoc], line[heredoc + 2 :]
        body: list[str] = []
        while index < len(lines) and lines[index].rstrip("\r") != delimiter:
            body.append(lines[index])
            index += 1
        if index >= len(lines):
            raise AssertionError(f"heredoc {name} is never closed by {delimiter!r}")
        index += 1
        values[name] = "\n".join(body)
    return values
