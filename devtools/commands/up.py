"""`triggers up`: the embedded local stack in the foreground."""

import argparse
import os
import re
import signal
import sys
import threading
import time

from devtools.stack import EmbeddedStack, Ports, StackError
from devtools.target import clear_state, write_state

LOCAL_RETRY_SCHEDULE = "2s,4s,8s"
SCHEDULE = re.compile(r"^\d+[smhd](,\d+[smhd])*$")


def _schedule(text: str) -> str:
    if not SCHEDULE.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a schedule such as 2s,4s,8s or 5s,5m,30m")
    return text


def run(args: argparse.Namespace) -> int:
    ports = Ports(aws=args.aws_port, api=args.api_port, opensearch=args.opensearch_port)
    stack = EmbeddedStack(
        stage=args.stage,
        ports=ports,
        say=lambda line: print(f"  {line}", flush=True),
        environment={
            "RETRY_SCHEDULE": args.retry_schedule,
            "BREAKER_FAILURE_THRESHOLD": str(args.breaker_threshold),
            "BREAKER_OPEN_SECONDS": str(args.breaker_open_seconds),
        },
    )
    print("Starting the Triggers local stack...", flush=True)
    started = time.monotonic()
    try:
        stack.start()
    except StackError as exc:
        print(f"triggers up: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C while starting: start() has already stopped what it began
        return 130
    stopping = threading.Event()
    # Explicit handlers: a shell that starts `make up` in the background ignores SIGINT for it;
    # SIGHUP (the terminal closed) must stop the servers too, which run in their own group.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        from ingest.core.api_keys_table import create_api_key
        from ingest.core.clients import dynamodb_client

        api_key = create_api_key(dynamodb_client(), stack.template.physical_name("ApiKeysTable"), args.tenant)
        events_table = stack.template.physical_name("EventsTable")
        write_state(
            {
                "pid": os.getpid(),
                "stage": args.stage,
                "aws_url": stack.aws_url,
                "api_url": stack.api_url,
                "opensearch_url": stack.opensearch_url,
                "api_key": api_key,
                "tenant": args.tenant,
                "logs": str(stack.state_dir),
            }
        )
        print(
            f"""
Triggers is up (stage {args.stage}, ready in {time.monotonic() - started:.1f} s). Ctrl-C stops everything.

  API URL      {stack.api_url}
  API key      {api_key}   (tenant {args.tenant}; shown once)
  Console      {stack.api_url}/console   (paste the API key)
  AWS endpoint {stack.aws_url}   (awslocal, or boto3 with AWS_ENDPOINT_URL)
  OpenSearch   {stack.opensearch_url}
  Retries      {args.retry_schedule}   (then the delivery DLQ; --retry-schedule to change)

Other `triggers` commands (in another terminal) use this stack and key by default:
  uv run triggers send --count 100     uv run triggers status     uv run triggers tail --follow

Or with curl:
  export URL={stack.api_url} KEY={api_key}
  curl -H "Authorization: Bearer $KEY" $URL/v1/events \\
       -d '{{"event_type":"order.created","payload":{{"id":1}}}}'

  uv run awslocal dynamodb scan --table-name {events_table}
""",
            flush=True,
        )
        stopping.wait()
        print("\nStopping...", flush=True)
    finally:
        clear_state()
        stack.stop()
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    up = commands.add_parser("up", help="start the embedded local stack in the foreground")
    up.add_argument("--tenant", default="demo", help="tenant of the API key printed at start")
    up.add_argument("--aws-port", type=int, default=4566)
    up.add_argument("--api-port", type=int, default=3000)
    up.add_argument("--opensearch-port", type=int, default=9200)
    up.add_argument(
        "--retry-schedule",
        type=_schedule,
        default=os.environ.get("RETRY_SCHEDULE", LOCAL_RETRY_SCHEDULE),
        help="delays between webhook attempts before the DLQ; short locally so a broken receiver "
        "fills the DLQ in seconds (AWS uses the template's Svix-like schedule)",
    )
    up.add_argument(
        "--breaker-threshold",
        type=int,
        default=int(os.environ.get("BREAKER_FAILURE_THRESHOLD", "0")),
        help="consecutive failed attempts to a destination host that pause its deliveries (the "
        "circuit breaker); 0, the local default, turns it off (deployed stacks use 5)",
    )
    up.add_argument(
        "--breaker-open-seconds",
        type=float,
        default=float(os.environ.get("BREAKER_OPEN_SECONDS", "30")),
        help="how long an open breaker pauses a host at first (doubling on each failed probe)",
    )
    up.set_defaults(func=run)
