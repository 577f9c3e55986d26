"""`triggers tail <function> [--follow]`: a function's Lambda-style logs from the local stack."""

import argparse
import time
from datetime import UTC, datetime

from devtools.template import Template


def log_group(stage: str, function: str) -> str:
    """`fanout` -> `/aws/lambda/triggers-<stage>-fanout`; a full function name is kept."""
    template = Template(stage)
    for logical_id in template.of_type("AWS::Serverless::Function"):
        name = template.physical_name(logical_id)
        if function in (name, logical_id, name.rsplit("-", 1)[-1]):
            return f"/aws/lambda/{name}"
    return f"/aws/lambda/{function}"


def tail(args: argparse.Namespace) -> int:
    logs = args.target.client("logs")
    group = log_group(args.stage, args.function)
    start = int((time.time() - args.since * 60) * 1000)
    seen: dict[str, int] = {}  # event id -> timestamp, for events at or after `start`
    try:
        while True:
            kwargs = {"logGroupName": group, "startTime": start}
            try:
                pages = logs.get_paginator("filter_log_events").paginate(**kwargs)
                for page in pages:
                    for event in page["events"]:
                        if event["eventId"] in seen:
                            continue
                        seen[event["eventId"]] = event["timestamp"]
                        start = max(start, event["timestamp"])
                        moment = datetime.fromtimestamp(event["timestamp"] / 1000, UTC)
                        print(f"{moment.isoformat(timespec='milliseconds')} {event['message']}", flush=True)
            except logs.exceptions.ResourceNotFoundException:
                if not args.follow:
                    print(f"no logs yet in {group}")
            if not args.follow:
                return 0
            seen = {event_id: stamp for event_id, stamp in seen.items() if stamp >= start}
            time.sleep(1)
    except KeyboardInterrupt:
        return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser("tail", help="print a function's logs (CloudWatch Logs on the local stack)")
    parser.add_argument("function", help="fanout, indexer, retry, ingest or a full function name")
    parser.add_argument("--follow", "-f", action="store_true", help="keep printing new lines")
    parser.add_argument("--since", type=float, default=10, help="minutes of history to start with")
    parser.set_defaults(func=tail)
