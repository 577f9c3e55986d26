"""Scenario 2, fan-out: one stream batch of 10 events x 10 subscribers, each endpoint adding 50 ms.

The fanout handler is invoked in-process with a DynamoDB stream event, as the ESM runner would
(signing, delivery records and status updates included; the signing secrets are decrypted with KMS in
the warm-up batch and cached after, as on a warm Lambda). Baselines send the same signed
envelopes: a naive loop (one request after another, a new connection each), and a pooled async
client running one in-order chain per subscriber concurrently, which is the least the order
guarantee allows (per subscriber, event n+1 goes after event n's answer).

During the measured invocations the DynamoDB write requests of the handler are counted (hooks on
the client it uses, devtools/bench/awscalls.py) and its time is split by phase: DynamoDB reads,
DynamoDB writes, SQS, webhook sends, and the wall time with none of them in flight.
"""

import asyncio
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import requests

from devtools.bench import ordering
from devtools.bench.awscalls import (
    Call,
    CallLog,
    Interval,
    SendLog,
    call_intervals,
    phase_profile,
    write_cost,
    write_figures,
    writes_of,
)
from devtools.bench.context import BenchContext, event_body, stream_event
from devtools.bench.core import Figure
from devtools.receiver import Faults, Receiver
from devtools.runner.lambda_context import LocalLambdaContext, invoked_function
from devtools.runner.mappings import function_spec
from ingest.core.events_table import EventItem
from ingest.core.subscriptions_table import Issued, create_subscription
from processors.webhooks.signing import envelope, signed_headers

SCENARIO = "2. fan-out"
EVENTS = 10
SUBSCRIBERS = 10
LATENCY_SECONDS = 0.05
EVENT_TYPE = "bench.fanout"
POOLED_TARGET = 0.8


def _requests(
    items: list[EventItem], subscriptions: list[Issued]
) -> list[list[tuple[str, str, dict[str, str]]]]:
    """Per subscriber, in event order: (url, body, signed headers) of each delivery."""
    now = datetime.now(UTC)
    chains = []
    for subscription, secret in subscriptions:
        chain = []
        for item in items:
            body = envelope(item)
            chain.append(
                (
                    subscription.target_url,
                    body,
                    signed_headers(item.event_id, body, [secret], now),
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
    """How many small UpdateItem calls per second the moto server serves to `threads` clients."""
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


@dataclass
class Measured:
    """The measured invocations: their times, AWS calls, webhook sends and deliveries."""

    handler_s: list[float] = field(default_factory=list)
    naive_s: list[float] = field(default_factory=list)
    pooled_s: list[float] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    intervals: list[Interval] = field(default_factory=list)
    deliveries: int = 0
    touching: set[str] = field(default_factory=set)


def _invoke(
    function_name: str, event: dict[str, Any], calls: CallLog, sends: SendLog, ports: list[int]
) -> tuple[float, dict[str, Any], list[Call], list[Interval]]:
    """Invoke the fanout handler as `function_name`: (seconds, response, its calls, its sends)."""
    from processors.fanout.handler import lambda_handler

    lambda_context = LocalLambdaContext(function_name, timeout_seconds=60)
    mark, sent = calls.mark(), len(sends.intervals)
    token = invoked_function.set(function_name)
    try:
        with sends.patched(ports):
            started = time.perf_counter()
            response = lambda_handler(event, lambda_context)
            elapsed = time.perf_counter() - started
    finally:
        invoked_function.reset(token)
    own = [call for call in calls.since(mark) if call.function == function_name]
    return elapsed, dict(response), own, sends.intervals[sent:]


def run_scenario(context: BenchContext) -> list[Figure]:
    from ingest.core.clients import dynamodb_client, sqs_client

    settings = context.app_settings
    function_name = function_spec(context.stack.template, "FanoutFunction").function_name
    tenant_id, _ = context.new_tenant("bench-fanout")
    stream_arn = context.dynamodb.describe_table(TableName=settings.events_table)["Table"]["LatestStreamArn"]
    receivers = [Receiver(faults=Faults(latency=LATENCY_SECONDS)).start() for _ in range(SUBSCRIBERS)]
    ports = [receiver.port for receiver in receivers]
    measured = Measured(touching={tenant_id})
    calls, sends = CallLog(), SendLog()
    try:
        subscriptions = [
            create_subscription(
                context.dynamodb,
                settings.subscriptions_table,
                tenant_id,
                receiver.url,
                [EVENT_TYPE],
                context.secrets_key,
            )
            for receiver in receivers
        ]
        measured.touching |= {subscription.subscription_id for subscription, _ in subscriptions}
        with calls.attached(dynamodb_client(), sqs_client()):
            for repeat in range(context.settings.fanout_repeats + 1):  # the first one warms caches and pools
                context.say(f"fan-out: batch {repeat + 1} of {context.settings.fanout_repeats + 1}")
                items = context.items(tenant_id, [event_body(n, EVENT_TYPE) for n in range(EVENTS)])
                before = sum(len(receiver.deliveries) for receiver in receivers)
                elapsed, response, own_calls, own_sends = _invoke(
                    function_name, stream_event(items, stream_arn), calls, sends, ports
                )
                delivered = sum(len(receiver.deliveries) for receiver in receivers) - before
                if response.get("batchItemFailures") or delivered != EVENTS * SUBSCRIBERS:
                    raise RuntimeError(f"fanout delivered {delivered} of {EVENTS * SUBSCRIBERS}: {response}")
                chains = _requests(items, subscriptions)
                naive = _naive(chains)
                pooled = asyncio.run(_pooled(chains))
                if repeat:
                    measured.handler_s.append(elapsed)
                    measured.naive_s.append(naive)
                    measured.pooled_s.append(pooled)
                    measured.calls += own_calls
                    measured.intervals += call_intervals(own_calls) + own_sends
                    measured.deliveries += delivered
                    measured.touching |= {item.event_id for item in items}
    finally:
        for receiver in receivers:
            receiver.stop()
    return [*_figures(context, measured), *ordering.run(context, SCENARIO)]


def _figures(context: BenchContext, measured: Measured) -> list[Figure]:
    handler = statistics.median(measured.handler_s)
    batches = len(measured.handler_s)
    writes = writes_of(measured.calls, touching=measured.touching)
    writes_per_batch = len(writes) / batches
    updates = moto_updates_per_second(context, max(1, round(writes_per_batch)), SUBSCRIBERS)
    cost = write_cost(writes, measured.deliveries, context.dynamodb)
    details = {
        "moto_update_item_per_s": round(updates, 1),
        "write_requests_per_batch": round(writes_per_batch, 1),
        "moto_floor_s": round(writes_per_batch / updates + EVENTS * LATENCY_SECONDS, 3),
        "handler_s": [round(value, 3) for value in measured.handler_s],
        "naive_s": [round(value, 3) for value in measured.naive_s],
        "pooled_s": [round(value, 3) for value in measured.pooled_s],
        "floor_s": EVENTS * LATENCY_SECONDS,
        "profile": phase_profile(measured.intervals, sum(measured.handler_s)),
        "sends_observed": sum(1 for interval in measured.intervals if interval.phase == "webhook sends"),
    }
    latency_ms = LATENCY_SECONDS * 1000
    name = f"fanout handler, {EVENTS} events x {SUBSCRIBERS} subscribers, endpoints +{latency_ms:.0f} ms"
    return [
        Figure(
            scenario=SCENARIO,
            name=f"{name}: vs naive loop",
            unit="s",
            measured=handler,
            baseline=statistics.median(measured.naive_s),
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
            baseline=statistics.median(measured.pooled_s),
            baseline_name="pooled async client, one in-order chain per subscriber",
            better="lower",
            target=POOLED_TARGET,
            target_text=f"≥ {POOLED_TARGET:g}x",
            details=details,
        ),
        *write_figures(SCENARIO, f"fanout handler, {batches} batches of {EVENTS} x {SUBSCRIBERS}", cost),
    ]
