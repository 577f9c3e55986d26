"""`triggers`: the developer and operator CLI (subcommands live in devtools/commands/).

Every command targets the embedded stack started by `triggers up` by default, and LocalStack or
AWS by flag or environment (see devtools/target.py).
"""

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from typing import Any

from devtools import commands
from devtools.target import Target

TARGET_OPTIONS = ("stage", "endpoint", "profile", "region", "api_url", "api_key")


class TriggersParser(argparse.ArgumentParser):
    """Every parser in the tree accepts the common options, so they work after the subcommand too.

    They default to SUPPRESS below the root so a subcommand never overwrites a value given
    earlier on the command line.
    """

    def __init__(self, *args: Any, root: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)
        default: Any = None if root else argparse.SUPPRESS
        flag: Any = False if root else argparse.SUPPRESS
        common = self.add_argument_group("common options")
        common.add_argument("--json", action="store_true", default=flag, help="machine-readable output")
        common.add_argument(
            "--no-color", action="store_true", default=flag, help="plain text (also NO_COLOR)"
        )
        common.add_argument("--stage", default=default, help="template stage (env STAGE; default local)")
        common.add_argument(
            "--endpoint",
            default=default,
            help="AWS endpoint URL, or `aws` for real AWS (env AWS_ENDPOINT_URL; default: the running "
            "`triggers up`, else http://127.0.0.1:4566)",
        )
        common.add_argument("--profile", default=default, help="AWS profile (env AWS_PROFILE)")
        common.add_argument("--region", default=default, help="AWS region (env AWS_DEFAULT_REGION)")
        common.add_argument(
            "--api-url",
            default=default,
            help="ingest API URL (env TRIGGERS_API_URL; default: running stack)",
        )
        common.add_argument(
            "--api-key", default=default, help="API key (env TRIGGERS_API_KEY; default: the key `up` printed)"
        )


def build_parser() -> argparse.ArgumentParser:
    parser = TriggersParser(prog="triggers", description=__doc__, root=True)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda info: info.name):
        importlib.import_module(f"{commands.__name__}.{module_info.name}").register(subparsers)
    return parser


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    args.target = Target.resolve(**{name: getattr(args, name) for name in TARGET_OPTIONS})
    args.stage = args.target.stage
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
