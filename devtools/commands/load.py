"""`triggers load SCENARIO --stage STAGE` (`make load`): a locust load test with the seed's thresholds.

Scenarios, stages and thresholds are in tests/load/config.yaml. Exit code 0: every threshold held;
1: some missed (they are named); 2: the run could not be made.
"""

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from devtools.load.config import CONFIG_PATH, METRICS, Run, Scenario, StageConfig, load_config

if TYPE_CHECKING:  # the runner imports httpx and the receiver: only when a test runs
    from devtools.load.runner import ApiTarget

MISSED, FAILED = 1, 2


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    try:
        config = load_config(Path(args.config))
        scenario, stage, plan_run = config.choose(args.scenario, args.stage)
    except (ValidationError, ValueError, OSError) as exc:
        print(f"triggers load: {exc}", file=sys.stderr)
        return FAILED
    if stage.confirm and not _confirmed(args.stage, args.confirm):
        print(
            f"triggers load: stage {args.stage} needs confirmation: add --confirm {args.stage} "
            f"(make load ... CONFIRM={args.stage})",
            file=sys.stderr,
        )
        return FAILED
    from devtools.load.runner import LoadError, run_directory

    directory = Path(args.output) if args.output else run_directory(args.scenario, args.stage)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        return _run(args, scenario, stage, plan_run, directory)
    except LoadError as exc:
        print(f"triggers load: {exc}", file=sys.stderr)
        print(f"files: {directory}", file=sys.stderr)
        return FAILED


def _confirmed(stage: str, given: str | None) -> bool:
    if given == stage:
        return True
    if given is None and sys.stdin.isatty():
        print(f"This sends load to {stage}. Type the stage name to go on: ", end="", flush=True)
        return sys.stdin.readline().strip() == stage
    return False


def _run(
    args: argparse.Namespace, scenario: Scenario, stage: StageConfig, plan_run: Run, directory: Path
) -> int:
    from devtools.load.runner import run_scenario

    with ExitStack() as resources:
        terminal, target, receiver_url = resources.enter_context(_target(args, stage, scenario, directory))
        say = _printer(terminal)
        say(f"{args.scenario} ({scenario.seed}): {scenario.description}")
        outcome = run_scenario(
            args.scenario,
            scenario,
            args.stage,
            plan_run,
            target,
            directory,
            receiver_url=receiver_url,
            say=say,
        )
        from devtools.load.results import summary_lines

        for line in summary_lines(outcome.measured, scenario.events_per_request):
            say(f"  {line}")
        if outcome.measured.breaking_point is not None:
            point = outcome.measured.breaking_point
            say(
                f"  breaking point: {point.users} users after {point.after_s:.0f} s "
                f"({point.requests_per_s:.1f} requests/s, error rate {point.error_rate * 100:.2f} %, "
                f"p95 {point.p95_ms if point.p95_ms is not None else '-'} ms)"
            )
        for note in outcome.notes:
            say(f"  note: {note}")
        say("thresholds:")
        for verdict in outcome.verdicts:
            say(f"  {verdict.line()}   ({METRICS[verdict.threshold.metric]})")
        say(
            f"report: {outcome.report}   csv: {directory}/locust_stats.csv   "
            f"summary: {directory}/summary.json"
        )
        if outcome.missed:
            say(
                f"{len(outcome.missed)} threshold(s) missed: "
                + "; ".join(v.threshold.describe() for v in outcome.missed)
            )
            return MISSED
        say("every threshold held")
        return 0
    raise AssertionError("unreachable")  # pragma: no cover


def _printer(terminal: TextIO) -> Callable[[str], None]:
    def say(line: str) -> None:
        terminal.write(line + "\n")
        terminal.flush()

    return say


@contextmanager
def _target(
    args: argparse.Namespace, stage: StageConfig, scenario: Scenario, directory: Path
) -> Iterator[tuple[TextIO, "ApiTarget", str | None]]:
    """Where the load goes: (the terminal to print to, the API, the fan-out receiver's URL)."""
    from devtools.load.runner import ApiTarget, LoadError, local_receiver

    with ExitStack() as resources:
        receiver_url: str | None = None
        if stage.target == "embedded":
            terminal, target = resources.enter_context(_embedded_stack(directory))
        elif stage.target == "running":
            from devtools.target import read_state

            state = read_state()
            if not state.get("api_url") or not state.get("api_key"):
                raise LoadError("no running stack: start `make up` in another terminal first")
            terminal, target = sys.stdout, ApiTarget(state["api_url"], state["api_key"], loopback_only=True)
        else:
            assert stage.api_url_env and stage.api_key_env  # the config model checks it
            api_url = args.api_url or os.environ.get(stage.api_url_env)
            api_key = args.api_key or os.environ.get(stage.api_key_env)
            if not api_url or not api_key:
                raise LoadError(
                    f"stage {args.stage} reads the API URL from {stage.api_url_env} and the key from "
                    f"{stage.api_key_env} (or --api-url/--api-key); set both"
                )
            terminal = sys.stdout
            target = ApiTarget(api_url.rstrip("/"), api_key, loopback_only=False, verify_tls=stage.verify_tls)
            if scenario.subscribe:
                receiver_url = os.environ.get(stage.receiver_url_env or "") or None
                if receiver_url is None:
                    raise LoadError(
                        f"fan-out on {args.stage} needs {stage.receiver_url_env or 'a receiver_url_env'}: "
                        "the webhook URL of a `triggers receiver` this stage's functions can reach (https)"
                    )
        if scenario.subscribe and receiver_url is None:
            receiver_url = resources.enter_context(local_receiver())
        yield terminal, target, receiver_url


@contextmanager
def _embedded_stack(directory: Path) -> Iterator[tuple[TextIO, "ApiTarget"]]:
    """A stack for this run on ephemeral loopback ports; its processes' and handlers' logs in `directory`."""
    import boto3

    from devtools.bench.suite import handler_output_to
    from devtools.load.runner import ApiTarget
    from devtools.stack import EmbeddedStack, Ports
    from ingest.core.api_keys_table import create_api_key

    with handler_output_to(directory / "stack.log") as terminal:
        say = _printer(terminal)
        say(f"starting an embedded stack on ephemeral 127.0.0.1 ports (logs: {directory}/stack.log)")
        stack = EmbeddedStack(ports=Ports.ephemeral(), state_dir=directory / "stack", say=lambda line: None)
        with stack:
            dynamodb = boto3.client("dynamodb", endpoint_url=stack.aws_url)
            api_key = create_api_key(dynamodb, stack.template.physical_name("ApiKeysTable"), "load-test")
            yield terminal, ApiTarget(stack.api_url, api_key, loopback_only=True)


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser(
        "load",
        help="a locust load test (tests/load/config.yaml): thresholds checked, reports in build/load/",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("scenario", help="ingestion, inbox, mixed, stress or fanout (tests/load/config.yaml)")
    parser.add_argument(
        "--confirm", metavar="STAGE", help="confirm a stage that asks for it (prod): repeat its name"
    )
    parser.add_argument("--config", default=str(CONFIG_PATH), help="scenarios, stages and thresholds")
    parser.add_argument(
        "--output",
        help="directory for the report and CSV files (default build/load/<scenario>-<stage>-<time>/)",
    )
    parser.set_defaults(func=run)
