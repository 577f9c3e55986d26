"""Scenario 7, sustained delivery: an open loop of POSTs through the whole embedded stack.

Single events are POSTed to the local API (its execution environments) at a fixed rate for a
fixed time, for one tenant with two subscriptions on two real receivers (devtools/receiver.py,
verifying the signatures). The events go through the DynamoDB stream, the local ESM runner and
the fanout function hosted in this process. Reported: events/s accepted against the schedule,
deliveries/s received (first to last receipt) against accepted events/s x subscribers, whether each
(event, subscriber) arrived exactly once (by webhook-id), how long the backlog took to drain after
the last POST, POST -> webhook latency, and the DynamoDB writes of the fanout and retry functions
per delivery (hooks on the client the handlers use).
"""

import asyncio
import time
import uuid
from contextlib import ExitStack
from typing import Any

from devtools.bench.awscalls import CallLog, write_cost, write_figures, writes_of
from devtools.bench.context import BenchContext
from devtools.bench.core import Figure, latency_summary
from devtools.bench.e2e import post_events
from devtools.bench.receipts import (
    drain_seconds,
    latencies_ms,
    rate_within,
    receipts_of,
    tally,
    throughput,
    wait_for_receipts,
)
from devtools.receiver import Receiver
from devtools.runner.mappings import load_mappings
from devtools.soak import new_tenant, subscribe_receiver

SCENARIO = "7. sustained delivery"
EVENT_TYPE = "bench.sustained"
SUBSCRIBERS = 2
IN_FLIGHT = 32
DRAIN_TARGET_S = 10.0


def _function_names(context: BenchContext) -> tuple[str, str, float]:
    """(fanout function, retry function, fanout batching window in seconds)."""
    mappings = load_mappings(context.stack.template)
    fanout = next(spec for spec in mappings if spec.handler.startswith("processors.fanout"))
    retry = next(spec for spec in mappings if spec.handler.startswith("processors.retry"))
    return fanout.function_name, retry.function_name, fanout.maximum_batching_window_seconds


def run_scenario(context: BenchContext) -> list[Figure]:
    from ingest.core.clients import dynamodb_client

    settings, stack = context.settings, context.stack
    rate, seconds = settings.delivery_rate, settings.delivery_seconds
    fanout_name, retry_name, window = _function_names(context)
    with ExitStack() as resources:
        receivers = {f"subscriber-{n + 1}": resources.enter_context(Receiver()) for n in range(SUBSCRIBERS)}
        tenant = new_tenant(stack, f"bench-sustained-{uuid.uuid4().hex[:10]}")
        resources.enter_context(tenant.client)
        for receiver in receivers.values():
            subscribe_receiver(tenant, receiver, (EVENT_TYPE,))
        api_url = context.pooled_api_url
        if not context.wait_for_idle_pipeline():
            context.say("sustained: the stream pollers still had a backlog after 120 s")
        context.say(f"sustained: {rate} events/s for {seconds:g} s, {SUBSCRIBERS} subscribers")
        calls = CallLog()
        with calls.attached(dynamodb_client()):
            posted = asyncio.run(
                post_events(api_url, [tenant.api_key], rate, int(rate * seconds), IN_FLIGHT, EVENT_TYPE)
            )
            counted, drained = wait_for_receipts(posted.sent, receivers, settings.delivery_drain_timeout)
            drain = (
                drain_seconds(posted.finished_at, counted.first_at.values())
                if drained
                else time.time() - posted.finished_at
            )
            # The last batch's bookkeeping (status updates) ends after its webhooks; late duplicates too.
            context.wait_for_idle_pipeline(quiet_seconds=1.0, timeout=10.0 if settings.quick else 30.0)
            counted = tally(posted.sent, receipts_of(receivers))
    subscription_ids = {str(document["id"]) for document, _ in tenant.subscriptions}
    ours = {tenant.tenant_id, *subscription_ids, *posted.sent}
    writes = writes_of(calls.calls, (fanout_name, retry_name), ours)
    delivered = len(counted.first_at)
    cost = write_cost(writes, delivered, context.dynamodb)
    cost["write_requests_by_any_function_during_run"] = len(writes_of(calls.calls))
    latencies = latencies_ms(posted.sent, counted.first_at)
    accepted = posted.sample.events_per_second
    load = f"{rate} events/s offered for {seconds:g} s, {SUBSCRIBERS} subscribers"
    receipts: dict[str, Any] = {
        **counted.summary(),
        "drained": drained,
        "drain_timeout_s": settings.delivery_drain_timeout,
        "missing_means": "not received by the drain timeout (late or lost)",
        "latency_over": f"the {len(counted.first_at)} pairs received",
        "deliveries_per_s_while_posting": round(
            rate_within(counted.first_at.values(), posted.started_at, posted.finished_at), 1
        ),
    }
    return [
        Figure(
            scenario=SCENARIO,
            name=f"{load}: events/s accepted",
            unit="events/s",
            measured=accepted,
            baseline=float(rate),
            baseline_name="events/s offered (open-loop schedule)",
            details={"measured": posted.sample.summary()},
        ),
        Figure(
            scenario=SCENARIO,
            name=f"{load}: deliveries/s received",
            unit="deliveries/s",
            measured=throughput(list(counted.first_at.values())),
            baseline=accepted * SUBSCRIBERS,
            baseline_name=f"events/s accepted x {SUBSCRIBERS} subscribers",
            details={"measured": latency_summary(latencies), **receipts},
        ),
        Figure(
            scenario=SCENARIO,
            name=f"{load}: (event, subscriber) pairs received exactly once",
            unit="deliveries",
            measured=float(counted.exactly_once),
            baseline=float(counted.expected),
            baseline_name="events accepted x subscribers",
            target=1.0,
            target_text="all, no duplicate",
            details=receipts,
        ),
        Figure(
            scenario=SCENARIO,
            name=f"{load}: backlog drain after the last POST",
            unit="s",
            measured=drain,
            baseline=window,
            baseline_name="the mapping's batching window (a last partial batch waits for it)",
            better="lower",
            target=DRAIN_TARGET_S,
            target_on="measured",
            target_text=f"≤ {DRAIN_TARGET_S:g} s",
            details=receipts,
        ),
        *write_figures(SCENARIO, load, cost),
    ]
