"""`triggers recover --subscription ID --since 24h [--until T]`: send a window's failures again.

Every delivery of the subscription that failed for good (dead-lettered, or refused with 410) for
an event received in the window gets a new attempt through the retry queue, under the same
`webhook-id` (its event id). Deliveries already reopened are left alone, so running it twice sends
nothing twice. The server takes at most 500 deliveries per call; this command calls again from
where it stopped until the window is done. See docs/webhooks.md "Recover".
"""

import argparse
from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from devtools.api_client import ApiError, api_client, call, parse_since, subscription_path
from devtools.console import emit, fail
from ingest.core.ids import isoformat

MAX_CALLS = 1000


def run(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    try:
        since = parse_since(args.since, now)
        until = parse_since(args.until, now) if args.until else None
    except ValueError as exc:
        return fail(args, str(exc), 2)
    totals = {"queued": 0, "in_progress": 0, "calls": 0}
    body: dict[str, Any] = {"since": isoformat(since)}
    if until is not None:
        body["until"] = isoformat(until)
    try:
        with api_client(args.target) as client:
            for _ in range(MAX_CALLS):
                answer = call(client, "POST", subscription_path(args.subscription) + "/recover", json=body)
                totals["calls"] += 1
                totals["queued"] += int(answer["queued"])
                totals["in_progress"] += int(answer["in_progress"])
                if not answer["truncated"] or not answer.get("next_since"):
                    break
                body["since"] = answer["next_since"]
    except ApiError as exc:
        return fail(args, f"recover failed: {exc}", status=exc.status, problem=exc.problem)
    summary = {
        "subscription_id": args.subscription,
        "since": isoformat(since),
        "until": isoformat(until) if until else None,
        **totals,
    }

    def human(out: Console) -> None:
        out.print(f"[green]{totals['queued']:>6}[/] failed deliveries queued for another attempt")
        out.print(f"[yellow]{totals['in_progress']:>6}[/] already being retried (left alone)")
        if totals["queued"]:
            out.print(
                f"Follow them with: GET /v1/subscriptions/{args.subscription}/deliveries, or triggers status"
            )

    emit(args, summary, human)
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser(
        "recover",
        help="send a subscription's failed deliveries of a time window again (same webhook-ids)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--subscription", required=True, metavar="ID", help="subscription to recover")
    parser.add_argument(
        "--since", required=True, help="events received at or after: ISO 8601 time, or a duration ago (24h)"
    )
    parser.add_argument("--until", help="events received at or before (default: now)")
    parser.set_defaults(func=run)
