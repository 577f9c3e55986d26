"""Benchmarks of the ingest path, reported as ratios against a baseline measured in the same run.

Absolute numbers on a shared 2-core machine say little; the ratio of the API path to a direct
DynamoDB write through the same moto server does. All load goes to 127.0.0.1 and is bounded.
"""

import json
import platform
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import requests

from devtools.stack import EmbeddedStack, Ports
from ingest.api_keys_table import create_api_key


@dataclass(frozen=True)
class Measurement:
    name: str
    operations: int
    events: int
    seconds: float
    latencies_ms: list[float]

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _measure(
    name: str, operations: int, events_each: int, call: Callable[[int], None], threads: int = 1
) -> Measurement:
    latencies: list[float] = []

    def timed(index: int) -> None:
        started = time.perf_counter()
        call(index)
        latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    if threads == 1:
        for index in range(operations):
            timed(index)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(timed, range(operations)))
    return Measurement(name, operations, operations * events_each, time.perf_counter() - started, latencies)


def _event_body(index: int) -> dict[str, Any]:
    return {"event_type": "bench.created", "source": "bench", "payload": {"index": index, "pad": "x" * 200}}


def run_benchmarks(operations: int = 200) -> list[tuple[Measurement, Measurement]]:
    """Pairs of (measured, baseline) from one embedded stack."""
    with EmbeddedStack(ports=Ports.ephemeral()) as stack:
        dynamodb = boto3.client("dynamodb", endpoint_url=stack.aws_url)
        events_table = stack.template.physical_name("EventsTable")
        tenant = f"bench-{uuid.uuid4().hex[:8]}"
        api_key = create_api_key(dynamodb, stack.template.physical_name("ApiKeysTable"), tenant)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {api_key}"
        url = stack.api_url + "/v1/events"

        def direct_put(index: int) -> None:
            dynamodb.put_item(
                TableName=events_table,
                Item={
                    "tenant_id": {"S": "baseline"},
                    "event_id": {"S": f"{index:026d}"},
                    "payload": {"S": json.dumps(_event_body(index)["payload"])},
                },
            )

        def direct_batch(index: int) -> None:
            dynamodb.batch_write_item(
                RequestItems={
                    events_table: [
                        {
                            "PutRequest": {
                                "Item": {
                                    "tenant_id": {"S": "baseline-b"},
                                    "event_id": {"S": f"{index:020d}{n:06d}"},
                                    "payload": {"S": json.dumps(_event_body(n)["payload"])},
                                }
                            }
                        }
                        for n in range(25)
                    ]
                }
            )

        def api_post(index: int) -> None:
            session.post(url, json=_event_body(index), timeout=30).raise_for_status()

        def api_batch(index: int) -> None:
            session.post(url, json=[_event_body(n) for n in range(25)], timeout=30).raise_for_status()

        threaded = requests.Session()
        threaded.headers.update(session.headers)

        def api_post_concurrent(index: int) -> None:
            threaded.post(url, json=_event_body(index), timeout=30).raise_for_status()

        def direct_put_concurrent(index: int) -> None:
            direct_put(index + 1_000_000)

        # Warm both paths (connection set-up, first-import costs) before measuring.
        for index in range(10):
            direct_put(index)
            api_post(index)
        batches = max(1, operations // 10)
        return [
            _fanout_pairs(stack, session, batches),
            _search_pairs(stack, session, batches),
            (
                _measure("POST /v1/events, one event", operations, 1, api_post),
                _measure("PutItem direct to moto", operations, 1, direct_put),
            ),
            (
                _measure("POST /v1/events, batch of 25", batches, 25, api_batch),
                _measure("BatchWriteItem of 25 direct to moto", batches, 25, direct_batch),
            ),
            (
                _measure(
                    "POST /v1/events, 8 concurrent clients", operations, 1, api_post_concurrent, threads=8
                ),
                _measure(
                    "PutItem direct, 8 concurrent clients", operations, 1, direct_put_concurrent, threads=8
                ),
            ),
        ]


def _post_batches(session: requests.Session, url: str, batches: int, event_type: str, word: str) -> None:
    for batch in range(batches):
        body: list[dict[str, Any]] = [
            {"event_type": event_type, "payload": {"batch": batch, "n": n, "word": word}} for n in range(10)
        ]
        session.post(url, json=body, timeout=30).raise_for_status()


def _fanout_pairs(
    stack: EmbeddedStack, session: requests.Session, batches: int
) -> tuple[Measurement, Measurement]:
    """Stream -> fanout -> signed webhook, against signing and POSTing the same envelopes directly."""
    from devtools.receiver import Receiver
    from processors.webhooks.signing import signed_headers

    events = batches * 10
    with Receiver() as receiver:
        created = session.post(
            stack.api_url + "/v1/subscriptions",
            json={"target_url": receiver.url, "event_types": ["bench.fanout"]},
            timeout=30,
        )
        created.raise_for_status()
        secret = created.json()["secret"]
        started = time.perf_counter()
        _post_batches(session, stack.api_url + "/v1/events", batches, "bench.fanout", "fanout")
        deliveries = receiver.wait_for(events, timeout=120)
        pipeline_seconds = time.perf_counter() - started
        pipeline = Measurement(
            "POST -> stream -> fanout -> signed webhook", events, events, pipeline_seconds, []
        )

        direct = requests.Session()
        started = time.perf_counter()
        for delivery in deliveries:
            body = delivery.body.decode()
            headers = signed_headers(delivery.webhook_id or "", body, [secret], datetime.now(UTC))
            direct.post(receiver.url, data=body, headers=headers, timeout=30).raise_for_status()
        direct_seconds = time.perf_counter() - started
    return pipeline, Measurement(
        "the same envelopes signed and POSTed directly", events, events, direct_seconds, []
    )


def _search_pairs(
    stack: EmbeddedStack, session: requests.Session, batches: int
) -> tuple[Measurement, Measurement]:
    """Stream -> indexer -> searchable, against one direct _bulk of the same documents."""
    from opensearchpy import helpers

    from ingest.opensearch_client import opensearch_client

    events = batches * 10
    word = f"w{uuid.uuid4().hex[:10]}"
    started = time.perf_counter()
    _post_batches(session, stack.api_url + "/v1/events", batches, "bench.search", word)
    deadline = time.monotonic() + 120
    while True:
        found = session.get(
            stack.api_url + "/v1/events", params={"q": word, "limit": "100"}, timeout=30
        ).json()
        if len(found["data"]) >= min(events, 100) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    pipeline_seconds = time.perf_counter() - started
    client = opensearch_client(stack.opensearch_url)
    documents = [
        {
            "_index": "bench-baseline",
            "_id": str(n),
            "_source": {"payload": json.dumps({"n": n, "word": word})},
        }
        for n in range(events)
    ]
    started = time.perf_counter()
    helpers.bulk(client, documents, refresh="wait_for")
    direct_seconds = time.perf_counter() - started
    client.indices.delete(index="bench-baseline")
    return (
        Measurement("POST -> stream -> indexer -> searchable", events, events, pipeline_seconds, []),
        Measurement("one direct _bulk of the same documents", events, events, direct_seconds, []),
    )


def _ms(measurement: Measurement, fraction: float) -> str:
    """A latency percentile, or a dash for rows timed as a whole (pipelines)."""
    return f"{measurement.percentile(fraction):.1f}" if measurement.latencies_ms else "-"


def render(results: list[tuple[Measurement, Measurement]]) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
        f"({platform.machine()}, Python {platform.python_version()}, shared machine).",
        "",
        "Each row compares the measured path with a baseline measured in the same run against the",
        "same embedded stack (the ESM runner's pollers share the moto server with both sides): the",
        "ratio is what our path adds over the bare operation, independent of the machine's speed.",
        "",
        "| measured | baseline | events/s (measured / baseline) | throughput ratio "
        "| p50 ms | p95 ms | baseline p95 ms |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for measured, baseline in results:
        ratio = measured.events_per_second / baseline.events_per_second
        lines.append(
            f"| {measured.name} | {baseline.name} | {measured.events_per_second:.0f} / "
            f"{baseline.events_per_second:.0f} | {ratio:.2f} | {_ms(measured, 0.5)} | "
            f"{_ms(measured, 0.95)} | {_ms(baseline, 0.95)} |"
        )
    lines += [
        "",
        "Reading it: a POST costs one auth GetItem plus one write, so a ratio near 0.5 for single",
        "events is the floor set by the extra round trip; batches amortise the auth lookup.",
        "The two pipeline rows time from the first POST to the last delivery / the last event being",
        "searchable, full batches of 10 (so no batching-window wait); their baselines do only the last",
        "hop directly. The gap is the stream polling, the deliveries table writes and the idempotency",
        "checks that make delivery at-least-once without duplicates; fan-out sends one subscriber's",
        "events in stream order, so a single subscriber is the slowest case.",
        "The local API server runs one invocation at a time (one Lambda instance), so concurrent",
        "clients queue for it while the stream processors share the same process: on AWS each",
        "concurrent request gets its own execution environment.",
        "",
    ]
    return "\n".join(lines)


def write_report(path: Path, operations: int) -> str:
    report = render(run_benchmarks(operations))
    path.write_text(report)
    return report
