"""`triggers sdk`: regenerate the API clients in sdk/ from docs/openapi.json (or check them)."""

import argparse
import sys

from devtools.sdk import (
    PYTHON_DIR,
    REGENERATE,
    TYPESCRIPT_DIR,
    TYPESCRIPT_SCHEMA,
    SdkError,
    generate_python,
    generate_typescript,
    lock_python,
    python_drift,
    typescript_drift,
)

LANGUAGES = ("python", "typescript")


def run(args: argparse.Namespace) -> int:
    languages = args.only or list(LANGUAGES)
    try:
        if args.check:
            stale = [f"sdk/python/{name}" for name in python_drift()] if "python" in languages else []
            if "typescript" in languages:
                stale += [f"sdk/typescript/{name}" for name in typescript_drift()]
            if stale:
                print(
                    f"out of date with docs/openapi.json: {', '.join(stale)}; run `{REGENERATE}`",
                    file=sys.stderr,
                )
                return 1
            print("sdk/ matches docs/openapi.json")
            return 0
        if "python" in languages:
            generate_python(PYTHON_DIR)
            lock_python()
            print(f"wrote {PYTHON_DIR} (and uv.lock)")
        if "typescript" in languages:
            generate_typescript(TYPESCRIPT_DIR / TYPESCRIPT_SCHEMA)
            print(f"wrote {TYPESCRIPT_DIR / TYPESCRIPT_SCHEMA}")
    except SdkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser(
        "sdk",
        help="regenerate the Python and TypeScript API clients in sdk/ from docs/openapi.json",
        description=(
            "Write sdk/python (openapi-python-client, configured by sdk/openapi-python-client.yaml) and "
            "sdk/typescript/src/schema.ts (openapi-typescript) from docs/openapi.json. Run it after "
            "`triggers openapi` whenever a route changes; tests fail while sdk/ is stale."
        ),
    )
    parser.add_argument("--check", action="store_true", help="only report files that differ; exit 1 if any")
    parser.add_argument(
        "--only", action="append", choices=LANGUAGES, help="this language only (repeatable); default: both"
    )
    parser.set_defaults(func=run)
