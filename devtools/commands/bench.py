"""`triggers bench`: the benchmark suite, every figure against a baseline from the same run."""

import argparse
import json
import sys
from pathlib import Path

from devtools.template import REPO_ROOT

FULL_OUTPUTS = (REPO_ROOT / "docs" / "benchmarks.md", REPO_ROOT / "bench" / "results.json")
QUICK_OUTPUTS = (REPO_ROOT / ".triggers" / "bench-quick.md", REPO_ROOT / ".triggers" / "bench-quick.json")
# A partial run never overwrites the full report.
ONLY_OUTPUTS = (REPO_ROOT / ".triggers" / "bench-only.md", REPO_ROOT / ".triggers" / "bench-only.json")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from devtools.bench.core import Settings
    from devtools.bench.regressions import Comparison, compare, load_reference
    from devtools.bench.report import Results, print_table, write
    from devtools.bench.suite import handler_output_to, run_suite

    settings = Settings.smoke() if args.quick else Settings.full()
    only: list[str] = args.only or []
    markdown_path, json_path = ONLY_OUTPUTS if only else QUICK_OUTPUTS if args.quick else FULL_OUTPUTS
    markdown_path = Path(args.markdown) if args.markdown else markdown_path
    json_path = Path(args.results) if args.results else json_path
    if args.render:
        results = Results.from_json(json.loads(Path(args.render).read_text()))
        reproduce = "make bench QUICK=1" if results.settings.quick else "make bench"
        write(results, markdown_path, None, reproduce, json_name=args.render)
        print(f"wrote {markdown_path} from {args.render}")
        return 0
    # Read before the run: a file given as the reference may be the one the run overwrites.
    reference = None if args.compare_with == "none" else load_reference(args.compare_with)
    log_path = Path(args.log)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with handler_output_to(log_path) as terminal:
        console = Console(file=terminal, width=None if terminal.isatty() else 220)
        results = run_suite(settings, lambda line: console.print(f"[dim]{line}[/dim]"), log_path, only)
        if isinstance(reference, tuple):
            results.comparison = compare(reference[0], results.to_json(), reference[1]).to_json()
        elif reference is not None:
            results.comparison = Comparison(reference=args.compare_with, skipped=reference).to_json()
        print_table(results, console)
        reproduce = "make bench QUICK=1" if args.quick else "make bench"
        if only:
            reproduce = f"triggers bench{' --quick' if args.quick else ''} --only {' '.join(only)}"
        write(results, markdown_path, json_path, reproduce)
        console.print(f"wrote {markdown_path} and {json_path}")
    incomplete = [figure.name for figure in results.figures if not figure.complete]
    if results.errors or incomplete:
        print(f"scenarios without numbers: {sorted(results.errors)} {incomplete}", file=sys.stderr)
        return 1
    regressions = Comparison.from_json(results.comparison).regressions if results.comparison else []
    if args.fail_on_regression and regressions:
        print(f"{len(regressions)} ratio(s) fell by more than the limit (listed above)", file=sys.stderr)
        return 1
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    bench = commands.add_parser(
        "bench", help="run the benchmark suite against its own embedded stack on ephemeral loopback ports"
    )
    bench.add_argument("--quick", action="store_true", help="smoke mode: a few seconds per scenario")
    bench.add_argument(
        "--markdown", help="report path (default docs/benchmarks.md; quick: .triggers/bench-quick.md)"
    )
    bench.add_argument(
        "--results", help="figures path (default bench/results.json; quick: .triggers/bench-quick.json)"
    )
    bench.add_argument(
        "--only",
        nargs="+",
        metavar="SCENARIO",
        help="run only these scenarios, by number or a word of their name (e.g. 7, fan-out); "
        "outputs default to .triggers/bench-only.{md,json}",
    )
    bench.add_argument("--render", metavar="JSON", help="only write the report again from saved figures")
    bench.add_argument(
        "--compare-with",
        default="main",
        metavar="REF",
        help="flag every ratio that fell by more than 20 %% against this run: a git revision whose "
        "bench/results.json is read, a results file, or `none`",
    )
    bench.add_argument(
        "--fail-on-regression", action="store_true", help="exit 1 when a ratio fell by more than 20 %%"
    )
    bench.add_argument(
        "--log", default=str(REPO_ROOT / ".triggers" / "bench.log"), help="where the handlers' logs go"
    )
    bench.set_defaults(func=run)
