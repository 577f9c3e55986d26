"""`triggers init-scripts`: regenerate localstack/init/ready.d from template.yaml (or check them).

First the per-route error-rate alarms of template.yaml are rewritten from the API's routes
(devtools/route_alarms.py), so the scripts create the alarms of every route.
"""

import argparse
import sys
from pathlib import Path

from devtools import route_alarms
from devtools.initscripts import INIT_DIR, REGENERATE, RENDER_ENDPOINT, STAGE, drift, write
from devtools.template import TEMPLATE_PATH, Template


def run(args: argparse.Namespace) -> int:
    if args.stage != STAGE:
        print(
            f"the LocalStack init scripts are for the {STAGE} stage; other stages deploy with sam",
            file=sys.stderr,
        )
        return 2
    directory = Path(args.directory)
    if args.check:
        from ingest.api import openapi_json

        text = TEMPLATE_PATH.read_text()
        if route_alarms.render(text, openapi_json()) != text:
            print(
                f"template.yaml's per-route alarms differ from the API's routes; run `{REGENERATE}`",
                file=sys.stderr,
            )
            return 1
    elif route_alarms.write(TEMPLATE_PATH):
        print(f"wrote the per-route error-rate alarms in {TEMPLATE_PATH}")
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
