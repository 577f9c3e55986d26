"""Part of scenario 2 (fan-out): the throughput cost of `ordering: "strict"` against the default.

One subscriber, batches of 10 events, its endpoint adding 50 ms. Default ordering: the fanout sends
the batch itself, one request after the other (the measured time is the fanout invocation). Strict:
the fanout holds the batch in the subscription's lane and queues the first event; the retry
function then sends one event per message, each releasing the next (the measured time runs from
the fanout invocation until the last of the 10 answered; the retry queue is polled here, with no
wait between messages). Both run in-process against the stack's DynamoDB and SQS, on an events
table and a retry queue of their own (not the stack's: its ESM runner must not take these records
and messages), alternating, in the same run, so the ratio is what the figure reports.

The local figure is a floor of the cost: in AWS each strict event also waits for the SQS event
source mapping to hand its message to the retry function (tens of milliseconds while the queue is
busy, more once its pollers scale down).
"""

import statistics
import time
import uuid
from typing import Any

from devtools.bench.context import BenchContext, event_body, stream_event
from devtools.bench.core import Figure
from devtools.receiver import Faults, Receiver
from ingest.core.credentials import credential_key
from ingest.core.events_table import put_events
from ingest.core.settings import delivery_settings
from ingest.core.subscriptions_table import create_subscription
from processors.fanout.logic import SubscriptionCache, fan_out
from processors.retry.logic import retry_batch
from processors.webhooks.delivery import Deliverer, transport_settings
from processors.webhooks.signing import SigningSecrets
from processors.webhooks.transport import Sender

EVENTS = 10
LATENCY_SECONDS = 0.05
EVENT_TYPE = "bench.ordering"
DRAIN_TIMEOUT = 120.0


def _isolated(context: BenchContext) -> tuple[Deliverer, str]:
    """A deliverer on the stack's tables, but with its own events table and retry queue."""
    from ingest.core.clients import dynamodb_client, sqs_client

    settings = delivery_settings()
    run = uuid.uuid4().hex[:8]
    events_table = f"{settings.events_table}-bench-ordering-{run}"
    described = context.dynamodb.describe_table(TableName=settings.events_table)["Table"]
    context.dynamodb.create_table(
        TableName=events_table,
        KeySchema=described["KeySchema"],
        AttributeDefinitions=[
            a
            for a in described["AttributeDefinitions"]
            if a["AttributeName"] in {k["AttributeName"] for k in described["KeySchema"]}
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    sqs = sqs_client()
    queue_url = sqs.create_queue(QueueName=f"triggers-bench-ordering-{run}")["QueueUrl"]
    isolated = settings.model_copy(update={"events_table": events_table, "retry_queue_url": queue_url})
    deliverer = Deliverer(
        dynamodb_client(),
        sqs,
        isolated,
        Sender(transport_settings(isolated)),
        SigningSecrets(credential_key(isolated.secrets_key_id)),
    )
    return deliverer, events_table


def _drain(deliverer: Deliverer, receiver: Receiver, expected: int) -> None:
    """Run the retry function on the isolated queue's messages until the receiver has `expected`."""
    sqs, queue_url = deliverer.sqs, deliverer.settings.retry_queue_url
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while len(receiver.deliveries) < expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"strict ordering delivered {len(receiver.deliveries)} of {expected}")
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        if not messages:
            continue
        records: list[dict[str, Any]] = [
            {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]}
            for m in messages
        ]
        failures = retry_batch(records, deliverer)
        if failures:
            raise RuntimeError(f"retry function failed: {failures.errors}")
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def run(context: BenchContext, scenario: str) -> list[Figure]:
    deliverer, events_table = _isolated(context)
    cache = SubscriptionCache()
    timings: dict[str, list[float]] = {"none": [], "strict": []}
    receivers = {mode: Receiver(faults=Faults(latency=LATENCY_SECONDS)).start() for mode in timings}
    try:
        tenants = {}
        for mode, receiver in receivers.items():
            tenant_id, _ = context.new_tenant(f"bench-ordering-{mode}")
            create_subscription(
                deliverer.dynamodb,
                deliverer.settings.subscriptions_table,
                tenant_id,
                receiver.url,
                [EVENT_TYPE],
                context.secrets_key,
                ordering="strict" if mode == "strict" else "none",
            )
            tenants[mode] = tenant_id
        batches = context.settings.fanout_repeats + 1  # the first one warms caches and pools
        for repeat in range(batches):
            for mode, receiver in receivers.items():
                context.say(f"fan-out ordering {mode}: batch {repeat + 1} of {batches}")
                items = context.items(tenants[mode], [event_body(n, EVENT_TYPE) for n in range(EVENTS)])
                put_events(deliverer.dynamodb, events_table, items)
                expected = len(receiver.deliveries) + EVENTS
                started = time.perf_counter()
                outcome = fan_out(stream_event(items, "bench")["Records"], deliverer, cache)
                if outcome:
                    raise RuntimeError(f"fanout failed: {outcome.errors}")
                if mode == "strict":
                    _drain(deliverer, receiver, expected)
                elapsed = time.perf_counter() - started
                if len(receiver.deliveries) != expected:
                    raise RuntimeError(f"{mode}: {len(receiver.deliveries)} deliveries, expected {expected}")
                arrived = [d.webhook_id for d in receiver.deliveries[-EVENTS:]]
                if arrived != [item.event_id for item in items]:
                    raise RuntimeError(f"{mode}: deliveries out of order")
                if repeat:
                    timings[mode].append(elapsed)
    finally:
        for receiver in receivers.values():
            receiver.stop()
        deliverer.sqs.delete_queue(QueueUrl=deliverer.settings.retry_queue_url)
        context.dynamodb.delete_table(TableName=events_table)
    strict, default = statistics.median(timings["strict"]), statistics.median(timings["none"])
    return [
        Figure(
            scenario=scenario,
            name=(
                f'ordering "strict" vs "none", {EVENTS} events x 1 subscriber, '
                f"endpoint +{LATENCY_SECONDS * 1000:.0f} ms (batch until the last answer)"
            ),
            unit="s",
            measured=strict,
            baseline=default,
            baseline_name='default ordering ("none"): the fanout sends the batch in order itself',
            better="lower",
            details={
                "strict_s": [round(value, 3) for value in timings["strict"]],
                "none_s": [round(value, 3) for value in timings["none"]],
                "strict_per_event_overhead_ms": round((strict - default) / EVENTS * 1000, 1),
            },
        )
    ]
