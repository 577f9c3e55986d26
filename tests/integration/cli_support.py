"""Running `triggers` commands in-process against the embedded stack, and reading their output.

The stack's handlers log (and emit metrics) to stdout in this same process, one JSON object per
line with Powertools' `level` / EMF's `_aws` key; the helpers below read around those lines.
"""

import json
from typing import Any

import pytest

from devtools.cli import main
from devtools.runner.esm import wait_for_idle_streams
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


def triggers(stack: EmbeddedStack, *argv: str) -> int:
    """`triggers <argv>` against the test stack's AWS endpoint and stage."""
    return main([*argv, "--stage", stack.stage, "--endpoint", stack.aws_url])


def _is_handler_log(line: str) -> bool:
    if not line.startswith('{"'):
        return False
    try:
        value = json.loads(line)
    except ValueError:
        return False
    return isinstance(value, dict) and ("_aws" in value or {"level", "service"} <= value.keys())


def command_output(capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """(stdout without the handlers' log lines, stderr) of the command since the last read."""
    captured = capsys.readouterr()
    lines = captured.out.splitlines(keepends=True)
    return "".join(line for line in lines if not _is_handler_log(line)), captured.err


def command_json(capsys: pytest.CaptureFixture[str]) -> Any:
    return json.loads(command_output(capsys)[0])


def wait_for_stream_idle(stack: EmbeddedStack, timeout: float = 120.0) -> None:
    """Until no stream mapping has moved its checkpoint for longer than the batching window:
    every record written so far has been through fanout and the indexer."""
    if not wait_for_idle_streams(stack.state_dir, stack.batching_window + 1, timeout):
        raise AssertionError(f"the stream pollers were still busy after {timeout} s")
