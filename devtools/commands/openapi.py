"""`triggers openapi [--output docs/openapi.json]`: the ingest API's OpenAPI document."""

import argparse
import sys
from pathlib import Path

from devtools.template import REPO_ROOT

DEFAULT_OUTPUT = REPO_ROOT / "docs" / "openapi.json"


def document() -> str:
    """The OpenAPI document as committed: the API's own JSON plus a final newline."""
    from ingest.api import openapi_json

    return openapi_json() + "\n"


def run(args: argparse.Namespace) -> int:
    text = document()
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    print(f"wrote {output}")
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser("openapi", help="write the ingest API's OpenAPI document")
    parser.add_argument(
        "--output", default=str(DEFAULT_OUTPUT), help="file to write, or - for stdout (default: %(default)s)"
    )
    parser.set_defaults(func=run)
