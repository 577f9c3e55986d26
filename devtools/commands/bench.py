"""`triggers bench`: ingest benchmarks as ratios against a same-run baseline."""

import argparse
from pathlib import Path


def run(args: argparse.Namespace) -> int:
    from devtools.bench import write_report

    print(write_report(Path(args.output), args.operations))
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    bench = commands.add_parser("bench", help="run benchmarks against an embedded stack on ephemeral ports")
    bench.add_argument("--output", default="docs/benchmarks.md")
    bench.add_argument("--operations", type=int, default=200, help="requests per measurement (bounded)")
    bench.set_defaults(func=run)
