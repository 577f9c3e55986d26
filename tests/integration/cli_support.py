"""Running `triggers` commands in-process against the embedded stack, and reading their output.

The stack's handlers log (and emit metrics) to stdout in this same process, one JSON object per
line with Powertools' `level` / EMF's `_aws` key; those lines are dropped before the output is read.
"""

import json
from typing import Any

import pytest

from devtools.cli import main
from devtools.stack import EmbeddedStack


def triggers(stack: EmbeddedStack, *argv: str) -> int:
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
