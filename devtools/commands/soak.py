"""`triggers soak`: ingest + fan-out at a fixed rate on an embedded stack, then the no-loss check."""

import argparse
import tempfile
from pathlib import Path


def run(args: argparse.Namespace) -> int:
    from devtools.soak import SOAK_RETRY_SCHEDULE, SoakSettings, configure_handlers, run_soak, stack_stores
    from devtools.stack import EmbeddedStack, Ports

    settings = SoakSettings(
        rate=args.rate, duration=args.duration, tenants=args.tenants, drain_timeout=args.drain_timeout
    )
    with tempfile.TemporaryDirectory(prefix="triggers-soak-") as state_dir:
        print("soak: starting an embedded stack on ephemeral loopback ports...", flush=True)
        with EmbeddedStack(stage=args.stage, ports=Ports.ephemeral(), state_dir=Path(state_dir)) as stack:
            configure_handlers(RETRY_SCHEDULE=SOAK_RETRY_SCHEDULE, RETRY_JITTER_RATIO="0")
            result = run_soak(stack, settings, stack_stores(stack), say=lambda line: print(line, flush=True))
    for line in result.lines():
        print(line)
    if not result.ok:
        print(result.report.describe())
        return 1
    print("soak: OK, nothing lost, nothing duplicated")
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    soak = commands.add_parser("soak", help="fixed-rate ingest + fan-out soak with the no-loss check")
    soak.add_argument(
        "--rate",
        type=float,
        default=10.0,
        help="events per second; 10 is what the local single-shard fan-out (3 subscribers each) sustains "
        "on 2 cores, see docs/benchmarks.md",
    )
    soak.add_argument("--duration", type=float, default=600.0, help="seconds of load (default: 600)")
    soak.add_argument("--tenants", type=int, default=2, help="tenants, 3 subscribers each (default: 2)")
    soak.add_argument(
        "--drain-timeout",
        type=float,
        default=1800.0,
        help="seconds to wait for the pipeline to settle after the load (default: 1800)",
    )
    soak.set_defaults(func=run)
