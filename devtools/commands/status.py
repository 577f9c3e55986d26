"""`triggers status`: what is running, queue depths, stream lag, deliveries per subscription and
the destination hosts whose circuit breaker is open; with `--subscription ID`, that subscription's
delivery success rate, outcomes and latency percentiles (`GET /v1/subscriptions/{id}/stats`).

Exits 1 when the AWS endpoint or the API does not answer, or the subscription's stats cannot be read.
"""

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from devtools import target as target_module
from devtools.api_client import ApiError
from devtools.console import emit
from devtools.status import (
    AwsError,
    Service,
    as_dicts,
    embedded_lag,
    open_breakers,
    probe,
    queue_depths,
    remote_lag,
    stream_mappings,
    subscription_states,
    subscription_stats,
)
from devtools.template import Template


def _aws_service(target: target_module.Target) -> Service:
    if target.endpoint is not None:
        return probe("aws", target.endpoint)
    try:
        account = target.client("sts").get_caller_identity()["Account"]
    except AwsError as exc:
        return Service("aws", "aws", False, type(exc).__name__)
    return Service("aws", "aws", True, f"account {account}")


def collect(args: argparse.Namespace) -> dict[str, Any]:
    target = args.target
    state = target_module.read_state(target_module.STATE_FILE)
    embedded = bool(state) and target.endpoint is not None and state.get("aws_url") == target.endpoint
    template = Template(target.stage, aws_endpoint=target.endpoint or "https://sqs.amazonaws.com")
    now = datetime.now(UTC)
    unknown: list[str] = []

    services = [
        _aws_service(target),
        probe("api", target.api_url, "/health"),
        probe("opensearch", state.get("opensearch_url")),
    ]
    if not services[0].reachable:
        unknown.append("queues and stream lag: the AWS endpoint does not answer")
        queues, lags = [], []
    elif embedded:
        queues = queue_depths(target.client("sqs"), template)
        dynamodb, streams = target.client("dynamodb"), target.client("dynamodbstreams")
        checkpoints = Path(state["logs"]) / "esm-checkpoints"
        lags = [embedded_lag(dynamodb, streams, spec, checkpoints, now) for spec in stream_mappings(template)]
    else:
        queues = queue_depths(target.client("sqs"), template)
        lambda_client, cloudwatch = target.client("lambda"), target.client("cloudwatch")
        lags = [remote_lag(lambda_client, cloudwatch, spec, now) for spec in stream_mappings(template)]
        if target.is_local and not state:
            unknown.append(
                "no running `triggers up` recorded (.triggers/stack.json): stream lag comes from the "
                "endpoint's event source mappings (LocalStack), which the embedded stack does not create"
            )

    subscriptions: list[dict[str, Any]] | None = None
    breakers: list[dict[str, Any]] | None = None
    if not target.api_key:
        unknown.append("deliveries: no API key (--api-key, TRIGGERS_API_KEY or `triggers up`)")
    else:
        try:
            breakers = open_breakers(target)
        except ApiError as exc:
            unknown.append(f"circuit breakers: {exc}")
    if target.api_key and not args.no_deliveries:
        try:
            subscriptions = as_dicts(subscription_states(target, args.max_deliveries))
        except ApiError as exc:
            unknown.append(f"deliveries: {exc}")

    stats: dict[str, Any] | None = None
    if args.subscription and target.api_key:
        try:
            stats = subscription_stats(target, args.subscription, args.window)
        except ApiError as exc:
            unknown.append(f"stats of {args.subscription}: {exc}")

    return {
        "stack": {
            "running": bool(state),
            "embedded": embedded,
            "pid": state.get("pid"),
            "stage": target.stage,
            "tenant": state.get("tenant"),
            "state_dir": state.get("logs"),
        },
        "services": as_dicts(services),
        "queues": as_dicts(queues),
        "streams": as_dicts(lags),
        "subscriptions": subscriptions,
        "breakers": breakers,
        "stats": stats,
        "unknown": unknown,
    }


def _short(name: str) -> str:
    """`triggers-local-fanout` -> `fanout`."""
    return name.rsplit("-", 1)[-1]


def _yes_no(value: bool | None) -> str:
    return {True: "[green]up[/]", False: "[red]down[/]", None: "[dim]unknown[/]"}[value]


def render(report: dict[str, Any], out: Console) -> None:
    stack = report["stack"]
    if stack["running"]:
        out.print(
            f"[bold]triggers up[/] running (pid {stack['pid']}, stage {stack['stage']}, "
            f"tenant {stack['tenant']})"
        )
    else:
        out.print(f"[bold]no `triggers up` running here[/] (stage {stack['stage']})")
    for service in report["services"]:
        out.print(
            f"  {service['name']:<11} {_yes_no(service['reachable'])}  {service['url'] or ''}  "
            f"[dim]{service['detail']}[/]"
        )

    queues = Table(title="queues", title_justify="left", show_edge=False, header_style="bold")
    for column in ("queue", "visible", "in flight", "delayed"):
        queues.add_column(column, justify="left" if column == "queue" else "right")
    for queue in report["queues"]:
        if queue["error"]:
            queues.add_row(queue["name"], f"[red]{queue['error']}[/]", "", "")
            continue
        colour = "red" if queue["name"].endswith("-dlq") and queue["visible"] else ""
        visible = f"[{colour}]{queue['visible']}[/]" if colour else str(queue["visible"])
        queues.add_row(queue["name"], visible, str(queue["in_flight"]), str(queue["delayed"]))
    out.print(queues)

    streams = Table(title="stream lag", title_justify="left", show_edge=False, header_style="bold")
    for column in ("function", "table", "state", "behind", "oldest", "note"):
        streams.add_column(column, no_wrap=column != "note")
    for lag in report["streams"]:
        behind = "?" if lag["behind"] is None else f"{lag['behind']}{'+' if lag['behind_capped'] else ''}"
        age = "?" if lag["oldest_age_s"] is None else f"{lag['oldest_age_s']} s"
        streams.add_row(
            _short(lag["function"]), _short(lag["source"]), lag["state"], behind, age, lag["detail"]
        )
    out.print(streams)

    if report["subscriptions"] is not None:
        subs = Table(
            title="subscriptions (this API key's tenant)",
            title_justify="left",
            show_edge=False,
            header_style="bold",
        )
        subs.add_column("id", no_wrap=True, min_width=30)
        for column in ("status", "types", "deliveries by state", "target"):
            subs.add_column(column, overflow="fold")
        for sub in report["subscriptions"]:
            counts = (
                ", ".join(f"{state} {number}" for state, number in sorted(sub["deliveries"].items()))
                or "none"
            )
            if sub["truncated"]:
                counts += f" (first {sub['counted']})"
            status = (
                sub["status"]
                if sub["status"] == "active"
                else f"[red]{sub['status']}[/] {sub['disabled_reason'] or ''}"
            )
            subs.add_row(sub["id"], status, ",".join(sub["event_types"]), counts, sub["target_url"])
        out.print(subs if report["subscriptions"] else "[dim]no subscriptions for this API key's tenant[/]")
    if report.get("breakers") is not None:
        if report["breakers"]:
            breakers = Table(
                title="open circuit breakers (this API key's tenant): deliveries to these hosts pause",
                title_justify="left",
                show_edge=False,
                header_style="bold",
            )
            for column in ("host", "state", "failures", "open until", "last error"):
                breakers.add_column(column, overflow="fold")
            for breaker in report["breakers"]:
                breakers.add_row(
                    breaker["host"],
                    f"[red]{breaker['state']}[/]",
                    str(breaker["consecutive_failures"]),
                    breaker["open_until"] or "",
                    breaker["last_error"] or "",
                )
            out.print(breakers)
        else:
            out.print("[dim]no open circuit breakers for this API key's tenant[/]")
    if report.get("stats") is not None:
        render_stats(report["stats"], out)
    for line in report["unknown"]:
        out.print(f"[yellow]unknown:[/] {line}")


SPARKS = " ▁▂▃▄▅▆▇█"


def _spark(values: list[int]) -> str:
    top = max(values, default=0)
    return "".join(SPARKS[0 if not top else round(value / top * (len(SPARKS) - 1))] for value in values)


def render_stats(stats: dict[str, Any], out: Console) -> None:
    """A subscription's delivery statistics (`GET /v1/subscriptions/{id}/stats`)."""
    rate = stats["success_rate"]
    latency = stats["latency_ms"]
    outcomes = stats["outcomes"]
    out.print(
        f"[bold]deliveries of {stats['subscription_id']}[/], last {stats['window']} "
        f"({stats['since']} .. {stats['until']})"
    )
    out.print(
        f"  success rate {'n/a' if rate is None else f'{rate:.1%}'} of {stats['attempts']} attempts: "
        + ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in outcomes.items())
    )
    out.print(
        "  latency ms  "
        + "  ".join(f"{name} {'-' if value is None else value}" for name, value in latency.items())
    )
    states = ", ".join(f"{state} {count}" for state, count in sorted(stats["deliveries"].items()))
    out.print(f"  deliveries by state: {states or 'none'}")
    minutes = stats["bucket_seconds"] // 60
    series = stats["series"]
    out.print(f"  succeeded / {minutes} min  {_spark([b['attempts']['succeeded'] for b in series])}")
    failed = [b["attempts"]["failed"] + b["attempts"]["no_response"] for b in series]
    out.print(f"  failed    / {minutes} min  [red]{_spark(failed)}[/]")
    if stats["truncated"]:
        out.print(f"  [yellow]only the newest {stats['records_read']} delivery records were read[/]")


def run(args: argparse.Namespace) -> int:
    report = collect(args)
    emit(args, report, lambda out: render(report, out))
    down = [
        service
        for service in report["services"]
        if service["name"] in ("aws", "api") and not service["reachable"]
    ]
    missing_stats = args.subscription and report["stats"] is None
    return 1 if down or missing_stats else 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser(
        "status",
        help="what is running: services, queue depths, stream lag, deliveries per subscription",
        description=__doc__,
    )
    parser.add_argument(
        "--no-deliveries", action="store_true", help="skip counting deliveries per subscription"
    )
    parser.add_argument(
        "--max-deliveries",
        type=int,
        default=10_000,
        help="count at most this many deliveries per subscription",
    )
    parser.add_argument(
        "--subscription",
        metavar="ID",
        help="also show this subscription's delivery success rate, outcomes and latency percentiles",
    )
    parser.add_argument(
        "--window", choices=("1h", "24h"), default="1h", help="the stats window of --subscription"
    )
    parser.set_defaults(func=run)
