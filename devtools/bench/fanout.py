"""Scenario 2, fan-out: one stream batch of 10 events x 10 subscribers, each endpoint adding 50 ms.

The fanout handler is invoked in-process with a DynamoDB stream event, as the ESM runner would
(claims, signing, delivery records and status updates included). Baselines send the same signed
envelopes: a naive loop (one request after another, a new connection each), and a pooled async
client running one in-order chain per subscriber concurrently, which is the least the order
guarantee allows (per subscriber, event n+1 goes after event n's answer).
"""

import asyncio
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import requests

from devtools.bench.context import BenchContext, event_body, stream_event
from devtools.bench.core import Figure
from devtools.receiver import Faults, Receiver
from devtools.runner.lambda_context import LocalLambdaContext
from ingest.core.events_table import EventItem
from ingest.core.subscriptions_table import SubscriptionItem, create_subscription
from processors.webhooks.signing import envelope, signed_headers

SCENARIO = "2. fan-out"
EVENTS = 10
SUBSCRIBERS = 10
LATENCY_SECONDS = 0.05
EVENT_TYPE = "bench.fanout"


def _requests(
    items: list[EventItem], subscriptions: list[SubscriptionItem]
) -> list[list[tuple[str, str, dict[str, str]]]]:
    """Per subscriber, in event order: (url, body, signed headers) of each delivery."""
    now = datetime.now(UTC)
    chains = []
    for subscription in subscriptions:
        chain = []
        for item in items:
            body = envelope(item)
            chain.append(
                (
                    subscription.target_url,
                    body,
                    signed_headers(item.event_id, body, [subscription.secret], now),
                )
            )
        chains.append(chain)
    return chains


def _naive(chains: list[list[tuple[str, str, dict[str, str]]]]) -> float:
    started = time.perf_counter()
    for position in range(EVENTS):
        for chain in chains:
            url, body, headers = chain[position]
            requests.post(url, data=body.encode(), headers=headers, timeout=10).raise_for_status()
    return time.perf_counter() - started


async def _pooled(chains: list[list[tuple[str, str, dict[str, str]]]]) -> float:
    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=len(chains))) as client:

        async def deliver(chain: list[tuple[str, str, dict[str, str]]]) -> None:
            for url, body, headers in chain:
                (await client.post(url, content=body.encode(), headers=headers)).raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(deliver(chain) for chain in chains))
        return time.perf_counter() - started


def moto_updates_per_second(context: BenchContext, calls: int, threads: int) -> float:
    """How many small UpdateItem calls per second the moto server serves to `threads` clients:
    the fanout handler makes about three per delivery (claim, attempt, failure streak)."""
    table = context.app_settings.deliveries_table
    run_id = uuid.uuid4().hex

    def update(index: int) -> None:
        context.dynamodb.update_item(
            TableName=table,
            Key={"event_id": {"S": f"bench-{run_id}-{index}"}, "subscription_id": {"S": "bench"}},
            UpdateExpression="SET updated_at = :now",
            ExpressionAttributeValues={":now": {"S": datetime.now(UTC).isoformat()}},
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(update, range(calls)))
    return calls / (time.perf_counter() - started)


def run_scenario(context: BenchContext) -> list[Figure]:
    from processors.fanout.handler import lambda_handler

    settings = context.app_settings
    tenant_id, _ = context.new_tenant("bench-fanout")
    stream_arn = context.dynamodb.describe_table(TableName=settings.events_table)["Table"]["LatestStreamArn"]
    receivers = [Receiver(faults=Faults(latency=LATENCY_SECONDS)).start() for _ in range(SUBSCRIBERS)]
    try:
        subscriptions = [
            create_subscription(
                context.dynamodb, settings.subscriptions_table, tenant_id, receiver.url, [EVENT_TYPE]
            )
            for receiver in receivers
        ]
        handler_times: list[float] = []
        naive_times: list[float] = []
        pooled_times: list[float] = []
        for repeat in range(context.settings.fanout_repeats + 1):  # the first one warms caches and pools
            context.say(f"fan-out: batch {repeat + 1} of {context.settings.fanout_repeats + 1}")
            items = context.items(tenant_id, [event_body(n, EVENT_TYPE) for n in range(EVENTS)])
            before = sum(len(receiver.deliveries) for receiver in receivers)
            lambda_context = LocalLambdaContext("triggers-local-fanout", timeout_seconds=60)
            started = time.perf_counter()
            response = lambda_handler(stream_event(items, stream_arn), lambda_context)
            elapsed = time.perf_counter() - started
            delivered = sum(len(receiver.deliveries) for receiver in receivers) - before
            if response.get("batchItemFailures") or delivered != EVENTS * SUBSCRIBERS:
                raise RuntimeError(f"fanout delivered {delivered} of {EVENTS * SUBSCRIBERS}: {response}")
            chains = _requests(items, subscriptions)
            naive = _naive(chains)
            pooled = asyncio.run(_pooled(chains))
            if repeat:
                handler_times.append(elapsed)
                naive_times.append(naive)
                pooled_times.append(pooled)
    finally:
        for receiver in receivers:
            receiver.stop()
    handler = statistics.median(handler_times)
    updates = moto_updates_per_second(context, 3 * EVENTS * SUBSCRIBERS, SUBSCRIBERS)
    details = {
        "moto_update_item_per_s": round(updates, 1),
        "moto_floor_s": round(3 * EVENTS * SUBSCRIBERS / updates + EVENTS * LATENCY_SECONDS, 3),
        "handler_s": [round(value, 3) for value in handler_times],
        "naive_s": [round(value, 3) for value in naive_times],
        "pooled_s": [round(value, 3) for value in pooled_times],
        "floor_s": EVENTS * LATENCY_SECONDS,
    }
    latency_ms = LATENCY_SECONDS * 1000
    name = f"fanout handler, {EVENTS} events x {SUBSCRIBERS} subscribers, endpoints +{latency_ms:.0f} ms"
    return [
        Figure(
            scenario=SCENARIO,
            name=f"{name}: vs naive loop",
            unit="s",
            measured=handler,
            baseline=statistics.median(naive_times),
            baseline_name="naive sequential loop, same signed requests",
            better="lower",
            target=10.0,
            target_text="≥ 10x faster",
            details=details,
        ),
        Figure(
            scenario=SCENARIO,
            name=f"{name}: vs pooled client",
            unit="s",
            measured=handler,
            baseline=statistics.median(pooled_times),
            baseline_name="pooled async client, one in-order chain per subscriber",
            better="lower",
            target=0.6,
            target_text="≥ 0.6x",
            details=details,
        ),
    ]
