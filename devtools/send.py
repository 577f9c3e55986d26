"""Posting many events to the ingest API: input, pacing, concurrency, and an exact account.

Every input event ends in exactly one bucket of the `Summary`: accepted (201), duplicate (200:
an `Idempotency-Key` replay), rejected (an HTTP error, by status and problem type), failed (no
HTTP answer, by transport error), not sent (the run stopped: the key was refused or Ctrl-C),
or invalid (a JSONL line that is not JSON, never sent). A request refused with 429 (the tenant's
rate limit) stored nothing, so it is sent again after its `Retry-After`; `throttled` counts those waits.
"""

import asyncio
import hashlib
import json
import math
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import cycle, islice
from typing import Any

import httpx

from devtools.api_client import async_api_client, problem_type
from ingest.core.ids import isoformat
from ingest.core.models import MAX_BATCH


@dataclass(frozen=True)
class InvalidLine:
    line: int
    error: str


@dataclass
class Input:
    """Events as the JSON text of each object, and the input lines that were not JSON."""

    events: list[str] = field(default_factory=list)
    invalid: list[InvalidLine] = field(default_factory=list)


def parse_input(text: str) -> Input:
    """A JSON document (one event or an array of events), or JSON Lines (one event per line)."""
    try:
        document = json.loads(text)
    except ValueError:
        return _parse_lines(text)
    items = document if isinstance(document, list) else [document]
    return Input(events=[json.dumps(item, ensure_ascii=False) for item in items])


def _parse_lines(text: str) -> Input:
    parsed = Input()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            parsed.events.append(json.dumps(json.loads(line), ensure_ascii=False))
        except ValueError as exc:
            parsed.invalid.append(InvalidLine(number, f"not JSON: {exc}"))
    return parsed


def generate(count: int, event_type: str, source: str) -> list[str]:
    """`count` events of one type, each with a sequence number and this run's id in the payload."""
    run = uuid.uuid4().hex[:12]
    now = isoformat(datetime.now(UTC))
    return [
        json.dumps(
            {
                "event_type": event_type,
                "source": source,
                "payload": {"run": run, "seq": number, "generated_at": now},
            }
        )
        for number in range(1, count + 1)
    ]


def repeat(events: list[str], count: int | None) -> list[str]:
    """The events once each, or cycled to exactly `count`."""
    return events if count is None or not events else list(islice(cycle(events), count))


@dataclass(frozen=True)
class Request:
    events: int
    body: str
    batch: bool


def requests_for(events: list[str], batch: int) -> Iterator[Request]:
    """One request per event, or JSON arrays of up to `batch` events (`POST /v1/events` takes ≤ 25)."""
    if not 1 <= batch <= MAX_BATCH:
        raise ValueError(f"--batch must be between 1 and {MAX_BATCH}")
    if batch == 1:
        for event in events:
            yield Request(1, event, False)
        return
    for start in range(0, len(events), batch):
        chunk = events[start : start + batch]
        yield Request(len(chunk), "[" + ",".join(chunk) + "]", True)


# A 429's Retry-After is honoured up to this many seconds (a hostile value cannot stall the run).
MAX_RETRY_AFTER_SECONDS = 60.0


def retry_after_seconds(response: httpx.Response) -> float:
    """The wait a 429 asks for: its Retry-After in whole seconds (1 when absent or not a number)."""
    value = response.headers.get("retry-after", "").strip()
    return min(float(value), MAX_RETRY_AFTER_SECONDS) if value.isascii() and value.isdigit() else 1.0


@dataclass
class Summary:
    events: int = 0
    requests: int = 0
    throttled: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    not_sent: int = 0
    in_flight: int = 0
    invalid: list[InvalidLine] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    stopped_because: str | None = None

    @property
    def ok(self) -> bool:
        return self.accepted + self.duplicates == self.events

    def percentile(self, fraction: float) -> float | None:
        """Nearest-rank percentile of the request latencies."""
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return round(ordered[max(0, math.ceil(fraction * len(ordered)) - 1)], 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "requests": self.requests,
            "throttled": self.throttled,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": sum(self.rejected.values()),
            "rejected_by_reason": dict(self.rejected),
            "failed": sum(self.failed.values()),
            "failed_by_error": dict(self.failed),
            "not_sent": self.not_sent,
            "stopped_because": self.stopped_because,
            "invalid": len(self.invalid),
            "invalid_lines": [{"line": item.line, "error": item.error} for item in self.invalid],
            "latency_ms": {
                "p50": self.percentile(0.5),
                "p95": self.percentile(0.95),
                "max": self.percentile(1.0),
            },
            "elapsed_s": round(self.elapsed_s, 3),
            "events_per_s": round(self.accepted / self.elapsed_s, 1) if self.elapsed_s else None,
            "event_ids": self.event_ids,
        }


def reason(response: httpx.Response) -> str:
    """`422 validation-failed`: the status and the problem type's last segment."""
    return f"{response.status_code} {problem_type(response) or 'error'}"


def idempotency_key(body: str) -> str:
    return "send-" + hashlib.sha256(body.encode()).hexdigest()


class Pacer:
    """Spaces request starts so that events go out at no more than `rate` per second overall."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self.next_start = time.monotonic()

    async def wait(self, events: int) -> None:
        if not self.rate:
            return
        now = time.monotonic()
        start = max(now, self.next_start)
        self.next_start = start + events / self.rate
        if start > now:
            await asyncio.sleep(start - now)


@dataclass
class Sender:
    api_url: str
    api_key: str
    concurrency: int = 8
    rate: float | None = None
    dedupe: bool = False
    timeout: float = 30.0
    on_progress: Callable[[int, Summary], None] = lambda events, summary: None

    async def run(self, requests: Iterable[Request], summary: Summary) -> Summary:
        pending = iter(requests)
        pacer = Pacer(self.rate)
        stop = asyncio.Event()
        started = time.monotonic()
        async with async_api_client(self.api_url, self.api_key, self.timeout, self.concurrency) as sdk:
            client = sdk.get_async_httpx_client()

            async def worker() -> None:
                for request in pending:
                    if stop.is_set():
                        summary.not_sent += request.events
                        continue
                    await pacer.wait(request.events)
                    await self._send(client, request, summary, stop)
                    self.on_progress(request.events, summary)

            workers = [asyncio.create_task(worker()) for _ in range(self.concurrency)]
            try:
                await asyncio.gather(*workers)
            finally:
                summary.elapsed_s = time.monotonic() - started
        return summary

    async def _send(
        self, client: httpx.AsyncClient, request: Request, summary: Summary, stop: asyncio.Event
    ) -> None:
        headers = {"content-type": "application/json"}
        if self.dedupe:
            headers["Idempotency-Key"] = idempotency_key(request.body)
        while True:
            summary.requests += 1
            summary.in_flight += request.events
            started = time.perf_counter()
            try:
                response = await client.post("/v1/events", content=request.body.encode(), headers=headers)
            except httpx.HTTPError as exc:
                summary.in_flight -= request.events
                summary.failed[type(exc).__name__] += request.events
                return
            summary.in_flight -= request.events
            if response.status_code != 429 or stop.is_set():
                break
            # Rate limited: nothing was stored; wait as the API asks and send the same request again.
            summary.throttled += 1
            await asyncio.sleep(retry_after_seconds(response))
        summary.latencies_ms.append((time.perf_counter() - started) * 1000)
        if response.status_code in (200, 201):
            try:
                body = response.json()
                items = body["data"] if request.batch else [body]
                ids = [str(item["id"]) for item in items]
            except (ValueError, KeyError, TypeError):
                summary.failed[f"{response.status_code} with an unreadable body"] += request.events
                return
            summary.event_ids.extend(ids)
            if response.status_code == 201:
                summary.accepted += request.events
            else:
                summary.duplicates += request.events
            return
        summary.rejected[reason(response)] += request.events
        if response.status_code == 401 and not stop.is_set():
            stop.set()
            summary.stopped_because = "the API refused the key (401): nothing more was sent"


def send(sender: Sender, requests: list[Request], summary: Summary) -> Summary:
    """Send every request; on Ctrl-C the requests not started count as not sent."""
    summary.events += sum(request.events for request in requests)
    try:
        return asyncio.run(sender.run(requests, summary))
    except KeyboardInterrupt:
        summary.failed["interrupted in flight (outcome unknown)"] += summary.in_flight
        summary.in_flight = 0
        counted = (
            summary.accepted
            + summary.duplicates
            + sum(summary.rejected.values())
            + sum(summary.failed.values())
            + summary.not_sent
        )
        summary.not_sent += summary.events - len(summary.invalid) - counted
        summary.stopped_because = "interrupted"
        return summary
