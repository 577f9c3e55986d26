"""`triggers search QUERY`: search the tenant's events (`GET /v1/events?q=`): text and fields."""

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from devtools.api_client import ApiError, SearchQuery, api_client, parse_since, search
from devtools.commands.send import positive_int
from devtools.console import emit, fail

PAYLOAD_CHARS = 60


def query_from(args: argparse.Namespace) -> SearchQuery:
    now = datetime.now(UTC)
    return SearchQuery(
        text=args.query,
        event_type=args.type,
        source=args.source,
        since=parse_since(args.since, now) if args.since else None,
        until=parse_since(args.until, now) if getattr(args, "until", None) else None,
    )


def _payload(event: dict[str, Any]) -> str:
    text = json.dumps(event.get("payload"), separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= PAYLOAD_CHARS else text[: PAYLOAD_CHARS - 1] + "…"


def run(args: argparse.Namespace) -> int:
    try:
        query = query_from(args)
        with api_client(args.target) as client:
            result = search(client, query, None if args.all else args.limit, args.cursor)
    except ValueError as exc:
        return fail(args, str(exc), 2)
    except ApiError as exc:
        return fail(args, f"search failed: {exc}", status=exc.status, problem=exc.problem)

    def human(out: Console) -> None:
        if not result.events:
            out.print(f"no events match [bold]{args.query}[/]")
            return
        table = Table(show_edge=False, header_style="bold")
        table.add_column("received at", overflow="fold")
        table.add_column("id", no_wrap=True, min_width=26)
        for column in ("type", "status", "payload"):
            table.add_column(column, overflow="fold")
        for event in result.events:
            table.add_row(
                event["received_at"], event["id"], event["event_type"], event["status"], _payload(event)
            )
        out.print(table)
        more = f"; more: --cursor {result.next_cursor} (or --all)" if result.next_cursor else ""
        out.print(f"[dim]{len(result.events)} event(s){more}[/]")

    emit(
        args,
        {"data": result.events, "count": len(result.events), "next_cursor": result.next_cursor},
        human,
    )
    return 0


def add_query_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--type", help="only this event type")
    parser.add_argument("--source", help="only events from this source")
    parser.add_argument(
        "--since", help="received at or after: ISO 8601 time, or a duration ago (15m, 2h, 7d)"
    )


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser(
        "search",
        help='search events: payload words, "phrase", pre*, field:value (payload.customer.id:42), OR, -not',
        description=(
            "Search your events through the API (GET /v1/events?q=), newest first. Terms must all "
            "match; `a OR b` either; `-term` excludes. Fields: payload.<path>:value (exact, any depth), "
            "event_type:order.*, source:shop, status:failed, payload:word. The syntax is in docs/api.md."
        ),
    )
    parser.add_argument(
        "query",
        help="e.g. 'o-1001', '\"blue shoes\" -refund' or 'payload.customer.id:42 event_type:order.*'",
    )
    add_query_options(parser)
    parser.add_argument("--until", help="received at or before: ISO 8601 time, or a duration ago")
    parser.add_argument("--limit", type=positive_int, default=50, help="at most this many events")
    parser.add_argument("--all", action="store_true", help="every matching event (ignores --limit)")
    parser.add_argument("--cursor", help="continue after an earlier page (its next_cursor)")
    parser.set_defaults(func=run)
