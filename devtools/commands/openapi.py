"""`triggers openapi`: the ingest API's OpenAPI document, and docs/api.md's route reference from it."""

import argparse
import json
import sys
from pathlib import Path

from devtools.apidoc import splice
from devtools.template import REPO_ROOT

DEFAULT_OUTPUT = REPO_ROOT / "docs" / "openapi.json"
DEFAULT_MARKDOWN = REPO_ROOT / "docs" / "api.md"


def document() -> str:
    """The OpenAPI document as committed: the API's own JSON plus a final newline."""
    from ingest.api import openapi_json

    return openapi_json() + "\n"


def api_page(page: str) -> str:
    """docs/api.md with its generated route reference brought up to date."""
    return splice(page, json.loads(document()))


def run(args: argparse.Namespace) -> int:
    text = document()
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    print(f"wrote {output}")
    if args.markdown:
        markdown = Path(args.markdown)
        markdown.write_text(api_page(markdown.read_text() if markdown.exists() else "# Triggers HTTP API\n"))
        print(f"wrote the route reference in {markdown}")
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser("openapi", help="write the ingest API's OpenAPI document")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT), help="file to write, or - for stdout")
    parser.add_argument(
        "--markdown",
        default=str(DEFAULT_MARKDOWN),
        help="page whose generated route reference to rewrite from the document ('' to skip)",
    )
    parser.set_defaults(func=run)
