"""Scenario 1, ingest: POST /v1/events through the local HTTP API vs raw PutItem/BatchWriteItem.

Both sides write the same items (the API's own item builder makes the baseline's) to the same
events table on the same moto server, at the same concurrency, in alternating rounds, each started
with the stream pollers caught up, so the stream processors behind the table and the other
tenants of the machine weigh on both alike.
Concurrent rows use the API with several execution environments (processes), as Lambda runs
concurrent requests; one client uses the single in-process environment `make up` serves.
"""

import asyncio
import json
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from typing import Any

from ulid import ULID

from devtools.bench.context import BenchContext, event_body
from devtools.bench.core import Figure, Sample, latency_summary
from devtools.bench.footprint import cpu_components
from devtools.bench.load import Send, blocking, closed_loop, http_client, open_loop, run
from ingest.core import event_types_table, tenants_table

SCENARIO = "1. ingest"
BATCH = 25
# The flooding tenant's ingest limit (requests/s, and as many at once), what it offers (x10), and
# the quiet tenant's steady rate of single POSTs.
FLOOD_LIMIT = 20
FLOOD_FACTOR = 5
QUIET_RATE = 10
# The schema the checked side's events match (as `event_body` makes them): a few typed members.
BENCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["index", "pad"],
    "properties": {
        "index": {"type": "integer", "minimum": 0},
        "pad": {"type": "string", "maxLength": 65536},
    },
    "additionalProperties": False,
}


def _api_send(client: Any, size: int, event_type: str = "bench.created") -> Send:
    bodies = [event_body(n, event_type) for n in range(size)]
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
    figures.append(schema_check(context))
    figures.extend(_flood(context))
    if context.settings.sustained_seconds:
        figures += _sustained(context)
    return figures


def _flood(context: BenchContext) -> list[Figure]:
    """A quiet tenant's latency alone, then while another tenant floods far past its rate limit."""
    settings = context.settings
    seconds = settings.round_seconds * 2
    quiet_id, quiet_key = context.new_tenant("quiet")
    flood_id, flood_key = context.new_tenant("flood")
    limit = {"ingest_per_second": FLOOD_LIMIT, "ingest_burst": FLOOD_LIMIT}
    tenants_table.update_limits(context.dynamodb, context.app_settings.tenants_table, flood_id, limit)
    api_url = context.pooled_api_url
    flood_rate = FLOOD_LIMIT * FLOOD_FACTOR
    statuses: Counter[int] = Counter()
    cpu = {"alone": 0.0, "beside": 0.0}
    windows: dict[str, list[tuple[float, float]]] = {"alone": [], "beside": []}
    context.say(f"ingest: quiet tenant at {QUIET_RATE}/s, alone then beside a tenant offering {flood_rate}/s")

    async def measured(side: str, loop: Any) -> Sample:
        before, started = sum(cpu_components(context).values()), time.time()
        sample: Sample = await loop
        cpu[side] += sum(cpu_components(context).values()) - before
        windows[side].append((started, time.time()))
        return sample

    async def rounds(flooders: ProcessPoolExecutor) -> tuple[Sample, Sample]:
        alone, beside = Sample(0.0), Sample(0.0)
        loop = asyncio.get_running_loop()
        async with http_client(api_url, {"authorization": f"Bearer {quiet_key}"}, 8) as quiet:
            quiet_send = _api_send(quiet, 1)
            await closed_loop(quiet_send, 1, min(1.0, settings.round_seconds))  # warm connections
            for _ in range(settings.rounds):
                await asyncio.to_thread(context.wait_for_idle_pipeline, 1.5, 60.0)
                alone = alone.merge(await measured("alone", open_loop(quiet_send, QUIET_RATE, seconds, 8)))
                await asyncio.to_thread(context.wait_for_idle_pipeline, 1.5, 60.0)
                flood = loop.run_in_executor(
                    flooders, _flood_from_elsewhere, api_url, flood_key, flood_rate, seconds + 1.0
                )
                # The flood is on, its burst spent, before the quiet tenant starts.
                await asyncio.sleep(0.5)
                beside = beside.merge(await measured("beside", open_loop(quiet_send, QUIET_RATE, seconds, 8)))
                flood_statuses, flood_cpu_seconds = await flood
                statuses.update(flood_statuses)
                cpu["beside"] += flood_cpu_seconds
        return alone, beside

    # The flooding tenant is another client: it sends from a process of its own (as it would from
    # another machine), so its event loop and GIL do not delay the quiet tenant's requests.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as flooders:
        flooders.submit(time.process_time).result()  # started and imported before the rounds
        alone, beside = run(rounds(flooders))
    inside = _latencies_in_function(context, quiet_id, windows)
    p95 = "p95_ms"
    two_tenants = (
        f"two tenants, one flooding ({flood_rate} POSTs/s offered against its {FLOOD_LIMIT}/s limit)"
    )
    figures = [
        Figure(
            scenario=SCENARIO,
            name=f"{two_tenants}: quiet tenant's p95 at {QUIET_RATE} POSTs/s",
            unit="ms",
            measured=beside.summary()[p95],
            baseline=alone.summary()[p95],
            baseline_name="the quiet tenant alone, same schedule",
            better="lower",
            target=1 / 1.5,
            target_text="p95 ≤ 1.5x unloaded",
            details={
                "measured": beside.summary(),
                "baseline": alone.summary(),
                "flooder_statuses": {str(status): count for status, count in sorted(statuses.items())},
                # What the flood added to the whole local system's CPU (every process, the load drivers
                # included) per flooding request, over the quiet rounds; the machine has 2 shared cores.
                "cpu_ms_per_flooding_request": round(
                    (cpu["beside"] - cpu["alone"]) * 1000 / max(1, flood_rate * seconds * settings.rounds), 2
                ),
                "tenants": {"quiet": quiet_id, "flooding": flood_id},
            },
        ),
        Figure(
            scenario=SCENARIO,
            name=f"{two_tenants}: quiet tenant's p95 inside the ingest function (request lines' latency_ms)",
            unit="ms",
            measured=latency_summary(inside["beside"])[p95],
            baseline=latency_summary(inside["alone"])[p95],
            baseline_name="the quiet tenant alone, same schedule",
            better="lower",
            target=1 / 1.5,
            target_text="p95 ≤ 1.5x unloaded",
            details={
                "measured": {"requests": len(inside["beside"]), **latency_summary(inside["beside"])},
                "baseline": {"requests": len(inside["alone"]), **latency_summary(inside["alone"])},
                # The row above times the same requests at the client: the difference is the local
                # gateway (one HTTP server, `environments` processes shared by both tenants), which
                # on AWS is API Gateway and an execution environment per concurrent request.
                "source": "the handler's `request` log lines (ingest/core/observability.py)",
            },
        ),
    ]
    return figures


def _latencies_in_function(
    context: BenchContext, tenant_id: str, windows: dict[str, list[tuple[float, float]]]
) -> dict[str, list[float]]:
    """`latency_ms` of the tenant's `POST /v1/events` request lines, by the window they fell in."""
    found: dict[str, list[float]] = {side: [] for side in windows}
    if context.log_path is None or not context.log_path.exists():
        return found
    marker = f'"tenant_id":"{tenant_id}"'
    with context.log_path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if marker not in line or '"message":"request"' not in line:
                continue
            try:
                record = json.loads(line[line.index("{") :])
                at = datetime.strptime(record["timestamp"], "%Y-%m-%d %H:%M:%S,%f%z").timestamp()
            except (ValueError, KeyError):
                continue
            if record.get("method") != "POST" or record.get("endpoint") != "/v1/events":
                continue
            for side, spans in windows.items():
                if any(start <= at <= end for start, end in spans):
                    found[side].append(float(record["latency_ms"]))
    return found


def _flood_from_elsewhere(
    api_url: str, api_key: str, rate: float, seconds: float
) -> tuple[Counter[int], float]:
    """Offer `rate` single POSTs/s for `seconds` (run in the flooder's own process): the statuses
    answered and the CPU seconds this flood took in its process."""
    statuses: Counter[int] = Counter()
    started = time.process_time()
    body = event_body(0)

    async def flood() -> None:
        async with http_client(api_url, {"authorization": f"Bearer {api_key}"}, 32) as flooder:

            async def send(_index: int) -> int:
                response = await flooder.post("/v1/events", json=body)
                statuses[response.status_code] += 1
                return 1

            await open_loop(send, rate, seconds, 32)

    run(flood())
    return statuses, time.process_time() - started


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


def schema_check(context: BenchContext) -> Figure:
    """Batches of 25 to a type with a JSON Schema (every payload checked) vs a type without,
    alternating rounds, one tenant, one client (the in-process environment)."""
    settings = context.settings
    tenant_id, api_key = context.new_tenant("schema")
    event_types_table.create(
        context.dynamodb,
        context.app_settings.tenants_table,
        tenant_id,
        "bench.checked",
        description="bench",
        schema_text=json.dumps(BENCH_SCHEMA),
        deprecated=False,
    )
    context.say(f"ingest: batches of {BATCH} to a type with a JSON Schema vs one without")

    async def rounds() -> tuple[Sample, Sample]:
        checked, plain = Sample(0.0), Sample(0.0)
        async with http_client(context.stack.api_url, {"authorization": f"Bearer {api_key}"}, 1) as client:
            with_schema = _api_send(client, BATCH, "bench.checked")
            without = _api_send(client, BATCH, "bench.plain")
            await closed_loop(with_schema, 1, min(1.0, settings.round_seconds))  # warm the cache too
            await closed_loop(without, 1, min(1.0, settings.round_seconds))
            for _ in range(settings.rounds):
                await asyncio.to_thread(context.wait_for_idle_pipeline, 1.5, 60.0)
                checked = checked.merge(await closed_loop(with_schema, 1, settings.round_seconds))
                await asyncio.to_thread(context.wait_for_idle_pipeline, 1.5, 60.0)
                plain = plain.merge(await closed_loop(without, 1, settings.round_seconds))
        return checked, plain

    checked, plain = run(rounds())
    return Figure(
        scenario=SCENARIO,
        name=f"POST /v1/events, batch of {BATCH} of a type with a JSON Schema, 1 client",
        unit="events/s",
        measured=checked.events_per_second,
        baseline=plain.events_per_second,
        baseline_name="the same batches of a type without a schema",
        target=0.8,
        target_text="≥ 0.8x without a schema",
        details={"measured": checked.summary(), "baseline": plain.summary(), "schema": BENCH_SCHEMA},
    )
