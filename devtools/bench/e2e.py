"""Scenario 4, end to end: POST /v1/events -> stream -> fanout -> signed webhook received.

Latency is from just before the POST to the receiver getting the webhook (same clock). At a
trickle (1 event/s) every batch waits the mapping's batching window; under load (10 tenants,
one subscription each) batches fill up. The baseline is the same hop done with bare parts:
PutItem of the same item, a plain GetRecords loop polling 4 times a second (as Lambda does) and
a pooled, signed POST to the same receiver, with no window, no claims and no bookkeeping.
"""

import asyncio
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import boto3
import urllib3

from devtools.bench.context import BenchContext, event_body
from devtools.bench.core import Figure, Sample, latency_summary, percentile
from devtools.bench.load import blocking, http_client, open_loop
from devtools.bench.receipts import latencies_ms, wait_for_receipts
from devtools.receiver import Receiver
from devtools.runner.mappings import load_mappings
from ingest.core.events_table import EventItem
from ingest.core.subscriptions_table import create_subscription, new_secret
from processors.webhooks.signing import envelope, signed_headers

SCENARIO = "4. end to end"
EVENT_TYPE = "bench.e2e"
TENANTS_UNDER_LOAD = 10
POLL_SECONDS = 0.25
LOAD_TARGET_RATIO = 0.5  # our p95 at most twice the bare chain's


class RawChain:
    """Stream -> signed POST with nothing else: the floor the pipeline is compared with."""

    def __init__(self, context: BenchContext, tenants: set[str], url: str) -> None:
        settings = context.app_settings
        self.streams = boto3.client("dynamodbstreams", endpoint_url=context.stack.aws_url)
        table = context.dynamodb.describe_table(TableName=settings.events_table)["Table"]
        self.stream_arn = table["LatestStreamArn"]
        self.tenants = tenants
        self.url = url
        self.secret = new_secret()
        self.http = urllib3.PoolManager(maxsize=4)
        self._stop = threading.Event()
        shard = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"][-1]
        self.iterator: str | None = self.streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
        )["ShardIterator"]
        self._thread = threading.Thread(target=self._run, name="bench-raw-chain", daemon=True)

    def __enter__(self) -> "RawChain":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set() and self.iterator:
            response = self.streams.get_records(ShardIterator=self.iterator, Limit=1000)
            records = response.get("Records", [])
            if records:
                self.iterator = response.get("NextShardIterator")
            for record in records:
                image = record["dynamodb"].get("NewImage")
                if (
                    record["eventName"] != "INSERT"
                    or not image
                    or image["tenant_id"]["S"] not in self.tenants
                ):
                    continue
                item = EventItem.from_ddb(image)
                body = envelope(item)
                headers = signed_headers(item.event_id, body, [self.secret], datetime.now(UTC))
                self.http.request("POST", self.url, body=body.encode(), headers=headers, retries=False)
            if not records:
                self._stop.wait(POLL_SECONDS)


def _latencies(sent: dict[str, float], receiver: Receiver, timeout: float) -> tuple[list[float], int]:
    """Milliseconds from send to receipt per event; events still missing at `timeout` count as
    `timeout` (a lower bound) and are returned as the second value."""
    counted, _ = wait_for_receipts(sent, {"receiver": receiver}, timeout)
    return latencies_ms(sent, counted.first_at) + [timeout * 1000] * counted.missing, counted.missing


@dataclass
class Posted:
    """Accepted event ids with when each was POSTed, the load sample, and when the last answer came
    (epoch seconds)."""

    sent: dict[str, float]
    sample: Sample
    started_at: float
    finished_at: float


async def post_events(
    api_url: str, keys: list[str], rate: float, count: int, in_flight: int, event_type: str = EVENT_TYPE
) -> Posted:
    """POST `count` single events at `rate` per second (open loop), round-robin over the tenants'
    `keys`."""
    sent: dict[str, float] = {}
    started_at = time.time()
    async with http_client(api_url, {}, in_flight) as client:

        async def send(index: int) -> int:
            at = time.time()
            response = await client.post(
                "/v1/events",
                json=event_body(index, event_type),
                headers={"authorization": f"Bearer {keys[index % len(keys)]}"},
            )
            response.raise_for_status()
            sent[response.json()["id"]] = at
            return 1

        sample = await open_loop(send, rate, count / rate, in_flight)
    return Posted(sent, sample, started_at, time.time())


async def _put_events(
    context: BenchContext, tenants: list[str], rate: float, count: int, in_flight: int
) -> dict[str, float]:
    sent: dict[str, float] = {}
    table = context.app_settings.events_table

    def put(index: int) -> int:
        (item,) = context.items(tenants[index % len(tenants)], [event_body(index, EVENT_TYPE)])
        sent[item.event_id] = time.time()
        context.dynamodb.put_item(TableName=table, Item=item.to_ddb())
        return 1

    send, pool = blocking(put, in_flight)
    try:
        await open_loop(send, rate, count / rate, in_flight)
    finally:
        pool.shutdown()
    return sent


def _figure(
    name: str,
    measured: list[float],
    baseline: list[float],
    details: dict[str, Any],
    *,
    target_ms: float | None = None,
    target_ratio: float | None = None,
) -> Figure:
    """A p95 row: the target is absolute (`target_ms`) or a ratio to the baseline's p95."""
    target_on: Literal["measured", "ratio"] = "measured" if target_ms is not None else "ratio"
    target = target_ms if target_ms is not None else target_ratio
    if target_ms is not None:
        text = f"p95 ≤ {target_ms / 1000:g} s"
    else:
        text = f"p95 ≤ {1 / (target_ratio or 1):g}x baseline's"
    return Figure(
        scenario=SCENARIO,
        name=f"{name}: p95 POST -> webhook received",
        unit="ms",
        measured=percentile(measured, 0.95),
        baseline=percentile(baseline, 0.95),
        baseline_name="PutItem -> GetRecords loop -> pooled signed POST",
        better="lower",
        target=target,
        target_on=target_on,
        target_text=text,
        details={"measured": latency_summary(measured), "baseline": latency_summary(baseline), **details},
    )


def run_scenario(context: BenchContext) -> list[Figure]:
    settings, stack = context.settings, context.stack
    fanout = next(
        spec for spec in load_mappings(stack.template) if spec.handler.startswith("processors.fanout")
    )
    window = fanout.maximum_batching_window_seconds
    figures: list[Figure] = []
    with Receiver() as receiver:
        tenants = [context.new_tenant("bench-e2e") for _ in range(TENANTS_UNDER_LOAD)]
        for tenant_id, _ in tenants:
            create_subscription(
                context.dynamodb,
                context.app_settings.subscriptions_table,
                tenant_id,
                receiver.url,
                [EVENT_TYPE],
                context.secrets_key,
            )
        raw_tenants = [f"{tenant_id}-raw" for tenant_id, _ in tenants]
        drain = window + 30.0 if settings.quick else window + 90.0
        if not context.wait_for_idle_pipeline():
            context.say("end to end: the stream pollers still had a backlog after 120 s")
        with RawChain(context, set(raw_tenants), receiver.url):
            count = settings.trickle_events
            context.say(f"end to end: trickle, {count} events at 1/s (window {window} s)")
            sent = asyncio.run(post_events(stack.api_url, [tenants[0][1]], 1.0, count, 4)).sent
            measured, missing = _latencies(sent, receiver, drain)
            sent = asyncio.run(_put_events(context, raw_tenants[:1], 1.0, count, 4))
            baseline, raw_missing = _latencies(sent, receiver, drain)
            figures.append(
                _figure(
                    f"trickle, 1 event/s, {count} events",
                    measured,
                    baseline,
                    {"missing": missing, "baseline_missing": raw_missing, "window_s": window},
                    target_ms=(window + 1) * 1000,
                )
            )
            rate, count = settings.load_rate, int(settings.load_rate * settings.load_seconds)
            context.say(
                f"end to end: load, {rate} events/s for {settings.load_seconds:g} s, {len(tenants)} tenants"
            )
            keys = [key for _, key in tenants]
            sent = asyncio.run(post_events(context.pooled_api_url, keys, rate, count, 32)).sent
            measured, missing = _latencies(sent, receiver, drain)
            sent = asyncio.run(_put_events(context, raw_tenants, rate, count, 32))
            baseline, raw_missing = _latencies(sent, receiver, drain)
            figures.append(
                _figure(
                    f"load, {rate} events/s for {settings.load_seconds:g} s, {len(tenants)} tenants",
                    measured,
                    baseline,
                    {"missing": missing, "baseline_missing": raw_missing, "events": count},
                    target_ratio=LOAD_TARGET_RATIO,
                )
            )
    return figures
