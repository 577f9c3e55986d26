"""`triggers replay --query Q --subscription ID [--since 2h]`: deliver matching events again.

The events matching the search are replayed to one subscription: each gets a new delivery
attempt through the retry queue, with the same `webhook-id` (its event id) so the receiver can
deduplicate. The server skips event types the subscription does not take and deliveries still in
progress; see docs/decisions.md "Replay".
"""

import argparse
from collections import Counter
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from triggers_client import AuthenticatedClient
from triggers_client.models import ReplayedEvent

from devtools.api_client import ApiError, api_client, replay, search, subscription
from devtools.commands.search import add_query_options, query_from
from devtools.console import emit, fail, stdout

OUTCOME_TEXT = {
    "queued": "queued for delivery",
    "in_progress": "still being delivered (left alone)",
    "not_subscribed": "type not taken by the subscription (not sent)",
    "not_found": "no longer exists",
}


def run(args: argparse.Namespace) -> int:
    try:
        query = query_from(args)
        with api_client(args.target) as client:
            target = subscription(client, args.subscription)
            if target.status.value != "active":
                return fail(
                    args,
                    f"subscription {args.subscription} is disabled ({target.disabled_reason}); "
                    "enable it first (POST /v1/subscriptions/{id}/enable)",
                    status=409,
                )
            found = search(client, query, limit=None)
            event_ids = [event["id"] for event in found.events]
            outcomes = (
                [] if args.dry_run else [outcome.to_dict() for outcome in _replay(args, client, event_ids)]
            )
    except ValueError as exc:
        return fail(args, str(exc), 2)
    except ApiError as exc:
        return fail(args, f"replay failed: {exc}", status=exc.status, problem=exc.problem)
    counts = Counter(outcome["outcome"] for outcome in outcomes)
    summary: dict[str, Any] = {
        "subscription_id": args.subscription,
        "query": args.query,
        "since": query.since.isoformat() if query.since else None,
        "matched": len(event_ids),
        "dry_run": args.dry_run,
        "outcomes": dict(counts),
        "events": outcomes if not args.dry_run else [{"event_id": event_id} for event_id in event_ids],
    }

    def human(out: Console) -> None:
        out.print(f"{len(event_ids)} event(s) match [bold]{args.query}[/]")
        if args.dry_run:
            for event in found.events:
                out.print(f"  {event['id']}  {event['event_type']}")
            out.print("[dim]dry run: nothing replayed[/]")
            return
        for outcome, number in sorted(counts.items()):
            colour = "green" if outcome == "queued" else "yellow"
            out.print(f"  [{colour}]{number:>6}[/] {OUTCOME_TEXT.get(outcome, outcome)}")
        if counts.get("queued"):
            out.print(
                f"Follow them with: triggers status, or GET /v1/subscriptions/{args.subscription}/deliveries"
            )

    emit(args, summary, human)
    return 0


def _replay(
    args: argparse.Namespace, client: AuthenticatedClient, event_ids: list[str]
) -> list[ReplayedEvent]:
    console = stdout(args)
    with Progress(
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=args.json or not console.is_terminal,
    ) as progress:
        task = progress.add_task("replay", total=len(event_ids))
        return replay(client, args.subscription, event_ids, lambda done: progress.advance(task, done))


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser(
        "replay",
        help="deliver the events matching a search to one subscription again (same webhook-ids)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--query", required=True, help="search text, as for `triggers search`")
    parser.add_argument("--subscription", required=True, metavar="ID", help="subscription to deliver to")
    add_query_options(parser)
    parser.add_argument("--dry-run", action="store_true", help="list the matching events, replay nothing")
    parser.set_defaults(func=run)
