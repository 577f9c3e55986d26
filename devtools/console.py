"""Output for CLI commands: coloured text for people, one JSON document with `--json` for scripts.

Colour follows rich's rules (off when stdout is not a terminal, or with NO_COLOR / --no-color).
"""

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console


def stdout(args: argparse.Namespace) -> Console:
    return Console(no_color=bool(getattr(args, "no_color", False)) or None, highlight=False, soft_wrap=True)


def stderr(args: argparse.Namespace) -> Console:
    return Console(
        stderr=True, no_color=bool(getattr(args, "no_color", False)) or None, highlight=False, soft_wrap=True
    )


def emit(args: argparse.Namespace, data: Any, human: Callable[[Console], None]) -> None:
    """Print `data` as JSON with --json, otherwise let `human` render it."""
    if getattr(args, "json", False):
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        sys.stdout.flush()
    else:
        human(stdout(args))


def fail(args: argparse.Namespace, message: str, code: int = 1, **details: Any) -> int:
    """Report an error on stderr (as {"error": ...} with --json) and return the exit code."""
    if getattr(args, "json", False):
        sys.stderr.write(json.dumps({"error": message, **details}, default=str) + "\n")
    else:
        stderr(args).print(f"[bold red]error:[/] {message}", markup=True)
    return code
