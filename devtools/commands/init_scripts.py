"""`triggers init-scripts`: regenerate localstack/init/ready.d from template.yaml (or check them)."""

import argparse
import sys
from pathlib import Path

from devtools.initscripts import INIT_DIR, REGENERATE, drift, write


def run(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    if args.check:
        stale = drift(directory)
        if stale:
            print(f"out of date with template.yaml: {', '.join(stale)}; run `{REGENERATE}`", file=sys.stderr)
            return 1
        print(f"{directory} matches template.yaml")
        return 0
    for path in write(directory):
        print(f"wrote {path}")
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser(
        "init-scripts", help="generate the LocalStack init scripts from template.yaml (stage local)"
    )
    parser.add_argument("--directory", default=str(INIT_DIR), help="where the scripts are written")
    parser.add_argument("--check", action="store_true", help="only report scripts that differ; exit 1 if any")
    parser.set_defaults(func=run)
