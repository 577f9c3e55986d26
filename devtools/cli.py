"""`triggers`: the developer CLI for the local stack (subcommands live in devtools/commands/)."""

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from devtools import commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="triggers", description=__doc__)
    parser.add_argument("--stage", default=os.environ.get("STAGE", "local"))
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda info: info.name):
        importlib.import_module(f"{commands.__name__}.{module_info.name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
