"""Scenario 1, ingest: POST /v1/events through the local HTTP API vs raw PutItem/BatchWriteItem.

Both sides write the same items (the API's own item builder makes the baseline's) to the same
events table on the same moto server, at the same concurrency, in alternating rounds, each started
with the stream pollers caught up, so the stream processors behind the table and the other
tenants of the machine weigh on both alike.
Concurrent rows use the API with several execution environments (processes), as Lambda runs
concurrent requests; one client uses the single in-process environment `make up` serves.
"""

import asyncio
from collections.abc import Callable
from typing import Any

from ulid import ULID

from devtools.bench.context import BenchContext, event_body
from devtools.bench.core import Figure, Sample
from devtools.bench.footprint import cpu_components
from devtools.bench.load import Send, blocking, closed_loop, http_client, open_loop, run

SCENARIO = "1. ingest"
BATCH = 25


def _api_send(client: Any, size: int) -> Send:
    bodies = [event_body(n) for n in range(size)]
    body: Any = bodies if size > 1 else bodies[0]

    async def send(_index: int) -> int:
        response = await client.post("/v1/events", json=body)
        response.raise_for_status()
        return size

    return send


def _raw_call(context: BenchContext, tenant_id: str, size: int) -> Callable[[int], int]:
    """PutItem (one event) or BatchWriteItem (a batch) of items shaped like the API's."""
    template = context.items(tenant_id, [event_body(n) for n in range(size)])
    table = context.app_settings.events_table
    dynamodb = context.dynamodb

    def fresh(item_index: int) -> dict[str, Any]:
        item = template[item_index].model_copy(update={"event_id": str(ULID())})
        return item.to_ddb()

    def call(_index: int) -> int:
        if size == 1:
            dynamodb.put_item(TableName=table, Item=fresh(0))
            return 1
        requests: list[Any] = [{"PutRequest": {"Item": fresh(n)}} for n in range(size)]
        while requests:
            response = dynamodb.batch_write_item(RequestItems={table: requests})
            requests = list(response.get("UnprocessedItems", {}).get(table, []))
        return size

    return call


def _pair(
    context: BenchContext, size: int, clients: int
) -> tuple[Sample, Sample, str, dict[str, dict[str, float]]]:
    settings = context.settings
    api_url = context.stack.api_url if clients == 1 else context.pooled_api_url
    environments = 1 if clients == 1 else settings.environments
    tenant_id, api_key = context.new_tenant()
    raw, pool = blocking(_raw_call(context, f"{tenant_id}-raw", size), clients)

    cpu: dict[str, dict[str, float]] = {"measured": {}, "baseline": {}}

    async def timed_round(side: str, send: Send) -> Sample:
        # Each round starts with the stream pollers caught up: otherwise the faster side's
        # backlog would be processed (and paid for) during the other side's round.
        await asyncio.to_thread(context.wait_for_idle_pipeline, 1.5, 60.0)
        before = cpu_components(context)
        sample = await closed_loop(send, clients, settings.round_seconds)
        for name, value in cpu_components(context).items():
            cpu[side][name] = cpu[side].get(name, 0.0) + value - before[name]
        return sample

    async def rounds() -> tuple[Sample, Sample]:
        measured, baseline = Sample(0.0), Sample(0.0)
        async with http_client(api_url, {"authorization": f"Bearer {api_key}"}, clients) as client:
            send = _api_send(client, size)
            await closed_loop(send, clients, min(1.0, settings.round_seconds))  # warm connections
            await closed_loop(raw, clients, min(1.0, settings.round_seconds))
            for _ in range(settings.rounds):
                measured = measured.merge(await timed_round("measured", send))
                baseline = baseline.merge(await timed_round("baseline", raw))
        return measured, baseline

    try:
        measured, baseline = run(rounds())
    finally:
        pool.shutdown()
    where = f"{environments} environment{'s' if environments > 1 else ''}"
    cpu_ms_per_event = {
        side: {name: round(value * 1000 / max(1, sample.events), 2) for name, value in cpu[side].items()}
        for side, sample in (("measured", measured), ("baseline", baseline))
    }
    return measured, baseline, where, cpu_ms_per_event


def run_scenario(context: BenchContext) -> list[Figure]:
    figures: list[Figure] = []
    for clients in context.settings.concurrency:
        for size in (1, BATCH):
            context.say(f"ingest: {'batch' if size > 1 else 'single'} POSTs, {clients} client(s)")
            measured, baseline, where, cpu = _pair(context, size, clients)
            what = f"batch of {BATCH}" if size > 1 else "one event"
            figures.append(
                Figure(
                    scenario=SCENARIO,
                    name=f"POST /v1/events, {what}, {clients} client(s), {where}",
                    unit="events/s",
                    measured=measured.events_per_second,
                    baseline=baseline.events_per_second,
                    baseline_name=f"{'BatchWriteItem' if size > 1 else 'PutItem'}, {clients} thread(s)",
                    target=0.8 if size > 1 else None,
                    target_text="≥ 0.8x raw" if size > 1 else "",
                    details={
                        "measured": measured.summary(),
                        "baseline": baseline.summary(),
                        "cpu_ms_per_event": cpu,
                    },
                )
            )
    if context.settings.sustained_seconds:
        figures += _sustained(context)
    return figures


def _sustained(context: BenchContext) -> list[Figure]:
    """An open loop at `sustained_rate` events/s in batches, for `sustained_seconds`."""
    settings = context.settings
    seconds, rate = settings.sustained_seconds, settings.sustained_rate
    in_flight = max(settings.concurrency) * 4
    tenant_id, api_key = context.new_tenant()
    raw, pool = blocking(_raw_call(context, f"{tenant_id}-raw", BATCH), in_flight)
    api_url = context.pooled_api_url
    context.say(f"ingest: sustained {rate} events/s for {seconds:.0f} s (API, then raw)")

    async def both() -> tuple[Sample, Sample]:
        await asyncio.to_thread(context.wait_for_idle_pipeline, 1.5, 60.0)
        async with http_client(api_url, {"authorization": f"Bearer {api_key}"}, in_flight) as client:
            measured = await open_loop(_api_send(client, BATCH), rate / BATCH, seconds, in_flight)
        await asyncio.to_thread(context.wait_for_idle_pipeline, 1.5, 120.0)
        baseline = await open_loop(raw, rate / BATCH, seconds, in_flight)
        return measured, baseline

    try:
        measured, baseline = run(both())
    finally:
        pool.shutdown()
    details = {"measured": measured.summary(), "baseline": baseline.summary()}
    name = f"sustained {seconds:.0f} s at {rate} events/s offered (batches of {BATCH})"
    return [
        Figure(
            scenario=SCENARIO,
            name=f"{name}: events/s accepted",
            unit="events/s",
            measured=measured.events_per_second,
            baseline=baseline.events_per_second,
            baseline_name="BatchWriteItem at the same schedule",
            target=float(rate),
            target_on="measured",
            target_text=f"≥ {rate} events/s",
            details=details,
        ),
        Figure(
            scenario=SCENARIO,
            name=f"{name}: success ratio",
            unit="ratio",
            measured=measured.success_ratio,
            baseline=baseline.success_ratio,
            baseline_name="BatchWriteItem at the same schedule",
            target=0.999,
            target_on="measured",
            target_text="≥ 99.9 %",
            details=details,
        ),
    ]
