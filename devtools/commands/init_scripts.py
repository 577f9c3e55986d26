"""`triggers init-scripts`: regenerate localstack/init/ready.d from template.yaml (or check them)."""

import argparse
import sys
from pathlib import Path

from devtools.initscripts import INIT_DIR, REGENERATE, RENDER_ENDPOINT, STAGE, drift, write
from devtools.template import Template


def run(args: argparse.Namespace) -> int:
    if args.stage != STAGE:
        print(
            f"the LocalStack init scripts are for the {STAGE} stage; other stages deploy with sam",
            file=sys.stderr,
        )
        return 2
    directory = Path(args.directory)
    template = Template(STAGE, aws_endpoint=RENDER_ENDPOINT)
    if args.check:
        stale = drift(directory, template)
        if stale:
            print(f"out of date with template.yaml: {', '.join(stale)}; run `{REGENERATE}`", file=sys.stderr)
            return 1
        print(f"{directory} matches template.yaml")
        return 0
    for path in write(directory, template):
        print(f"wrote {path}")
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser(
        "init-scripts",
        help="generate the LocalStack init scripts from template.yaml",
        description="Write localstack/init/ready.d/*.sh: template.yaml's resources for the local stage.",
    )
    parser.add_argument("--directory", default=str(INIT_DIR), help="where the scripts are written")
    parser.add_argument("--check", action="store_true", help="only report scripts that differ; exit 1 if any")
    parser.set_defaults(func=run)
