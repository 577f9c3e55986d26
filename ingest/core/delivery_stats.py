"""Delivery statistics from the delivery records: success rate, outcomes, latency percentiles and a
per-bucket series, per subscription or for a tenant, over the last hour or day.

No metric dimension per subscription (that would be one CloudWatch series per subscriber): the
numbers are computed on request from the `deliveries` table, one bounded key-range query per
subscription on its SubscriptionIndex (sort key: the event ULID, so "events since T" is a range).

What is counted: the attempts made inside the window, of the deliveries of events accepted since
one window before the window started (a retry of an older event is not read). At most
`MAX_ITEMS` delivery records are read per request, newest event first; beyond that the answer says
`truncated` and covers the newest records only.
"""

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from ingest.core import deliveries_table
from ingest.core.deliveries_table import Attempt, DeliveryItem, DeliveryState
from ingest.core.ids import isoformat, lowest_id_at

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Window = Literal["1h", "24h"]
Outcome = Literal["succeeded", "failed", "no_response", "not_sent"]
# Delivery records read per request at most (per subscription, or shared by a tenant's subscriptions).
MAX_ITEMS = 5_000


@dataclass(frozen=True)
class WindowSpec:
    length: timedelta
    bucket: timedelta


WINDOWS: dict[str, WindowSpec] = {
    "1h": WindowSpec(timedelta(hours=1), timedelta(minutes=1)),
    "24h": WindowSpec(timedelta(hours=24), timedelta(minutes=15)),
}


class Latency(BaseModel):
    model_config = ConfigDict(defer_build=True)

    p50: int | None = Field(description="Median attempt latency (ms); null without attempts")
    p95: int | None
    p99: int | None


class OutcomeCounts(BaseModel):
    model_config = ConfigDict(defer_build=True)

    succeeded: int = Field(0, description="Attempts answered 2xx")
    failed: int = Field(0, description="Attempts answered with another status")
    no_response: int = Field(0, description="Attempts without an answer (timeout, refused, reset)")
    not_sent: int = Field(0, description="Attempts not sent (open circuit breaker, refused destination)")


class Bucket(BaseModel):
    model_config = ConfigDict(defer_build=True)

    start: str = Field(description="Start of the bucket (ISO 8601, UTC)")
    attempts: OutcomeCounts
    latency_ms: Latency


class Stats(BaseModel):
    model_config = ConfigDict(defer_build=True)

    attempts: int = Field(description="Attempts made in the window")
    success_rate: float | None = Field(
        description="Succeeded attempts / attempts made (not_sent left out), 0..1; null without attempts"
    )
    outcomes: OutcomeCounts
    deliveries: dict[DeliveryState, int] = Field(
        description="Deliveries with an attempt in the window, by their current state"
    )
    latency_ms: Latency
    series: list[Bucket] = Field(description="One bucket per `bucket_seconds`, oldest first, every bucket")


class StatsReport(Stats):
    window: Window
    since: str
    until: str
    bucket_seconds: int
    records_read: int = Field(description=f"Delivery records read (at most {MAX_ITEMS})")
    truncated: bool = Field(
        description="More records than the read bound: the numbers cover the newest events' deliveries only"
    )


def outcome(attempt: Attempt) -> Outcome:
    if attempt.status_code is None:
        return "not_sent" if (attempt.error or "").startswith("not sent") else "no_response"
    return "succeeded" if 200 <= attempt.status_code < 300 else "failed"


def percentile(ordered: Sequence[int], fraction: float) -> int | None:
    """Nearest-rank percentile of an ascending sequence; None when it is empty."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _latency(values: list[int]) -> Latency:
    ordered = sorted(values)
    return Latency(p50=percentile(ordered, 0.5), p95=percentile(ordered, 0.95), p99=percentile(ordered, 0.99))


def _parse(at: str) -> datetime:
    parsed = datetime.fromisoformat(at)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def aggregate(items: Iterable[DeliveryItem], since: datetime, until: datetime, bucket: timedelta) -> Stats:
    """The statistics of the attempts of `items` made in [since, until), bucketed by attempt time."""
    count = math.ceil((until - since) / bucket)
    totals: Counter[str] = Counter()
    bucket_counts: list[Counter[str]] = [Counter() for _ in range(count)]
    latencies: list[int] = []
    bucket_latencies: list[list[int]] = [[] for _ in range(count)]
    states: Counter[DeliveryState] = Counter()
    for item in items:
        in_window = [attempt for attempt in item.attempts if since <= _parse(attempt.at) < until]
        if in_window:
            states[item.state] += 1
        for attempt in in_window:
            kind = outcome(attempt)
            index = int((_parse(attempt.at) - since) / bucket)
            totals[kind] += 1
            bucket_counts[index][kind] += 1
            if kind != "not_sent":
                latencies.append(attempt.latency_ms)
                bucket_latencies[index].append(attempt.latency_ms)
    made = totals["succeeded"] + totals["failed"] + totals["no_response"]
    return Stats(
        attempts=made + totals["not_sent"],
        success_rate=round(totals["succeeded"] / made, 4) if made else None,
        outcomes=OutcomeCounts(**totals),
        deliveries=dict(states),
        latency_ms=_latency(latencies),
        series=[
            Bucket(
                start=isoformat(since + index * bucket),
                attempts=OutcomeCounts(**counts),
                latency_ms=_latency(values),
            )
            for index, (counts, values) in enumerate(zip(bucket_counts, bucket_latencies, strict=True))
        ],
    )


def _bounds(window: Window, now: datetime) -> tuple[datetime, datetime, WindowSpec]:
    spec = WINDOWS[window]
    # Buckets on whole bucket boundaries, the last one holding `now`.
    step = spec.bucket.total_seconds()
    until = datetime.fromtimestamp((math.floor(now.timestamp() / step) + 1) * step, UTC)
    return until - spec.length, until, spec


def report(
    client: "DynamoDBClient",
    table: str,
    tenant_id: str,
    subscription_ids: Sequence[str],
    window: Window,
    now: datetime,
    max_items: int = MAX_ITEMS,
) -> tuple[StatsReport, dict[str, StatsReport]]:
    """The statistics of the subscriptions together, and of each; `max_items` records read in all,
    shared evenly between the subscriptions."""
    since, until, spec = _bounds(window, now)
    floor = lowest_id_at(since - spec.length)
    share = max(1, max_items // max(1, len(subscription_ids)))
    everything: list[DeliveryItem] = []
    each: dict[str, StatsReport] = {}
    any_truncated = False
    for subscription_id in subscription_ids:
        items, truncated = deliveries_table.read_recent_for_subscription(
            client, table, tenant_id, subscription_id, floor, share
        )
        everything.extend(items)
        any_truncated = any_truncated or truncated
        each[subscription_id] = _report(items, truncated, window, since, until, spec)
    return _report(everything, any_truncated, window, since, until, spec), each


def _report(
    items: list[DeliveryItem],
    truncated: bool,
    window: Window,
    since: datetime,
    until: datetime,
    spec: WindowSpec,
) -> StatsReport:
    stats = aggregate(items, since, until, spec.bucket)
    return StatsReport(
        **stats.model_dump(),
        window=window,
        since=isoformat(since),
        until=isoformat(until),
        bucket_seconds=int(spec.bucket.total_seconds()),
        records_read=len(items),
        truncated=truncated,
    )
