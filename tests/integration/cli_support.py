"""Running `triggers` commands in-process against the embedded stack, reading their --json output."""

import json
from typing import Any

import pytest

from devtools.cli import main
from devtools.stack import EmbeddedStack
from tests.integration.conftest import ApiClient


def key_of(client: ApiClient) -> str:
    return str(client.session.headers["Authorization"]).split(" ", 1)[1]


def cli(client: ApiClient, stack: EmbeddedStack, *argv: str) -> list[str]:
    """`argv` pointed at the test stack with the client's API key."""
    return [*argv, "--api-url", stack.api_url, "--api-key", key_of(client), "--endpoint", stack.aws_url]


def json_document(out: str) -> Any:
    """The command's --json document (indented) among the one-line JSON logs in-process handlers print."""
    lines = out.splitlines()
    start = lines.index("{")
    end = lines.index("}", start)
    return json.loads("\n".join(lines[start : end + 1]))


def run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, Any]:
    """Exit status and --json document of `triggers <argv> --json` (None when it printed none)."""
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json_document(out) if "{" in out.splitlines() else None
