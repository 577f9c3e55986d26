"""Delivery statistics from delivery records: outcomes, percentiles, buckets and the read bound."""

from datetime import UTC, datetime, timedelta
from typing import Any

from ingest.core import deliveries_table, delivery_stats
from ingest.core.deliveries_table import Attempt, DeliveryItem
from ingest.core.ids import new_event_id

TABLE = "triggers-test-deliveries"
NOW = datetime(2026, 3, 1, 12, 30, 30, tzinfo=UTC)
SINCE = datetime(2026, 3, 1, 11, 31, tzinfo=UTC)


def delivery(
    attempts: list[Attempt], state: deliveries_table.DeliveryState = "delivered", **overrides: Any
) -> DeliveryItem:
    fields: dict[str, Any] = {
        "event_id": new_event_id(NOW - timedelta(minutes=5)),
        "subscription_id": "sub_01JDQ5W2B7C4D6E8F0G2H4J6KA",
        "tenant_id": "t1",
        "target_url": "http://127.0.0.1:9/",
        "state": state,
        "attempts": attempts,
        "attempt_count": len(attempts),
        "created_at": NOW.isoformat(),
        "updated_at": NOW.isoformat(),
        "expires_at": 2_000_000_000,
        **overrides,
    }
    return DeliveryItem(**fields)


def attempt(minutes_ago: float, status: int | None, latency: int, error: str | None = None) -> Attempt:
    return Attempt(
        at=(NOW - timedelta(minutes=minutes_ago)).isoformat(),
        status_code=status,
        latency_ms=latency,
        error=error,
    )


def test_outcomes_rate_and_percentiles_count_only_attempts_in_the_window() -> None:
    items = [
        delivery([attempt(10, 500, 100), attempt(9, 200, 20)]),
        delivery([attempt(3, None, 5000, "timeout")], state="retrying"),
        delivery([attempt(2, None, 0, "not sent: circuit breaker open")], state="retrying"),
        delivery([attempt(90, 200, 7)]),  # before the window
    ]

    stats = delivery_stats.aggregate(items, SINCE, SINCE + timedelta(hours=1), timedelta(minutes=1))

    assert stats.outcomes.model_dump() == {"succeeded": 1, "failed": 1, "no_response": 1, "not_sent": 1}
    assert stats.attempts == 4
    assert stats.success_rate == round(1 / 3, 4)
    assert stats.deliveries == {"delivered": 1, "retrying": 2}
    assert (stats.latency_ms.p50, stats.latency_ms.p95, stats.latency_ms.p99) == (100, 5000, 5000)
    assert len(stats.series) == 60
    by_start = {bucket.start: bucket for bucket in stats.series}
    failed_minute = by_start["2026-03-01T12:20:00.000Z"]
    assert failed_minute.attempts.failed == 1 and failed_minute.latency_ms.p50 == 100
    assert sum(bucket.attempts.succeeded for bucket in stats.series) == 1


def test_no_attempts_give_nulls_not_zeros() -> None:
    stats = delivery_stats.aggregate([], SINCE, SINCE + timedelta(hours=1), timedelta(minutes=1))

    assert stats.success_rate is None
    assert stats.latency_ms.p50 is None
    assert all(bucket.attempts.succeeded == 0 for bucket in stats.series)


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 101))

    assert delivery_stats.percentile(values, 0.5) == 50
    assert delivery_stats.percentile(values, 0.95) == 95
    assert delivery_stats.percentile(values, 0.99) == 99
    assert delivery_stats.percentile([7], 0.99) == 7


def test_report_reads_at_most_the_bound_newest_first_and_says_truncated(dynamodb: Any) -> None:
    # Given 30 deliveries of one subscription, one attempt each, and one of another tenant
    sub = "sub_01JDQ5W2B7C4D6E8F0G2H4J6KA"
    items = [
        delivery([attempt(1, 200, n)], event_id=new_event_id(NOW - timedelta(minutes=30 - n)))
        for n in range(30)
    ]
    items.append(delivery([attempt(1, 500, 1)], tenant_id="t2"))
    deliveries_table.put_many(dynamodb, TABLE, items)

    # When the report may read 10 records
    overall, each = delivery_stats.report(dynamodb, TABLE, "t1", [sub], "1h", NOW, max_items=10)

    # Then it read the 10 newest, says it stopped, and counted nothing of the other tenant
    assert (overall.records_read, overall.truncated) == (10, True)
    assert overall.outcomes.succeeded == 10 and overall.outcomes.failed == 0
    assert overall.latency_ms.p99 == 29
    assert each[sub].records_read == 10


def test_report_without_the_bound_reads_everything_in_the_window(dynamodb: Any) -> None:
    sub = "sub_01JDQ5W2B7C4D6E8F0G2H4J6KA"
    recent = delivery([attempt(1, 200, 3)])
    old = delivery([attempt(1, 200, 3)], event_id=new_event_id(NOW - timedelta(hours=5)))
    deliveries_table.put_many(dynamodb, TABLE, [recent, old])

    overall, _ = delivery_stats.report(dynamodb, TABLE, "t1", [sub], "1h", NOW)

    assert (overall.records_read, overall.truncated, overall.attempts) == (1, False, 1)
    assert overall.window == "1h" and overall.bucket_seconds == 60
    assert overall.until == "2026-03-01T12:31:00.000Z"
