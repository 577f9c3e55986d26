"""The deliveries table: batched records, leased retry attempts, conditional attempt recording, reopening."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingest.core.deliveries_table import (
    Attempt,
    DeliveryItem,
    claim_attempt,
    get_delivery,
    get_many,
    list_for_event,
    list_for_subscription,
    put_many,
    record_attempt,
    reopen,
)
from ingest.core.errors import DeliveryConflict, DeliveryNotFound, MalformedRequest

TABLE = "triggers-test-deliveries"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def new(event_id: str = "E1", subscription_id: str = "S1", tenant_id: str = "t1") -> DeliveryItem:
    return DeliveryItem.new(
        tenant_id=tenant_id,
        event_id=event_id,
        subscription_id=subscription_id,
        target_url="https://example.com/hook",
        now=NOW,
        expires_at=2_000_000_000,
    )


def claim(dynamodb: Any, event_id: str = "E1", subscription_id: str = "S1", tenant_id: str = "t1") -> Any:
    """A delivery record with no attempt yet, as a replay creates it."""
    item = new(event_id, subscription_id, tenant_id)
    put_many(dynamodb, TABLE, [item])
    return item


def attempt(status: int | None = 500) -> Attempt:
    return Attempt(at=NOW.isoformat(), status_code=status, latency_ms=12, error=None)


def test_put_many_and_get_many_round_trip_more_than_one_request_each(dynamodb: Any) -> None:
    items = [new(event_id=f"E{index:03d}") for index in range(130)]

    put_many(dynamodb, TABLE, items)
    found = get_many(dynamodb, TABLE, [(item.event_id, "S1") for item in items] + [("missing", "S1")])

    assert found == {(item.event_id, "S1"): item for item in items}


def test_an_attempt_is_leased_to_one_caller_until_the_lease_expires(dynamodb: Any) -> None:
    delivery = claim(dynamodb)

    first = claim_attempt(dynamodb, TABLE, delivery, now=NOW, lease_seconds=10)
    second = claim_attempt(dynamodb, TABLE, delivery, now=NOW, lease_seconds=10)
    after_expiry = claim_attempt(dynamodb, TABLE, delivery, now=NOW + timedelta(seconds=11), lease_seconds=10)

    assert first is not None
    assert second is None
    assert after_expiry is not None


def test_a_recorded_attempt_cannot_be_leased_again(dynamodb: Any) -> None:
    delivery = claim(dynamodb)
    record_attempt(
        dynamodb,
        TABLE,
        event_id="E1",
        subscription_id="S1",
        attempt=attempt(500),
        expected_count=0,
        state="retrying",
        next_attempt_at="x",
        now=NOW,
    )

    assert claim_attempt(dynamodb, TABLE, delivery, now=NOW, lease_seconds=10) is None


def test_redrive_reopens_only_this_tenants_failed_delivery(dynamodb: Any) -> None:
    failed = claim(dynamodb).after(attempt(500), "failed", NOW)
    put_many(dynamodb, TABLE, [failed])
    arguments: dict[str, Any] = {
        "rule": "redrive",
        "event_id": "E1",
        "subscription_id": "S1",
        "target_url": failed.target_url,
        "now": NOW,
        "expires_at": failed.expires_at,
        "stale_before": NOW,
    }

    with pytest.raises(DeliveryConflict):
        reopen(dynamodb, TABLE, tenant_id="t2", **arguments)
    assert get_delivery(dynamodb, TABLE, "E1", "S1").state == "failed"
    reopened, previous = reopen(dynamodb, TABLE, tenant_id="t1", **arguments)

    assert (reopened.state, reopened.attempt_count, previous) == ("retrying", 1, failed)
    with pytest.raises(DeliveryConflict):
        reopen(dynamodb, TABLE, tenant_id="t1", **arguments)
    with pytest.raises(DeliveryNotFound):
        reopen(dynamodb, TABLE, tenant_id="t1", **{**arguments, "event_id": "E2"})


def test_record_attempt_appends_and_schedules(dynamodb: Any) -> None:
    claim(dynamodb)

    item = record_attempt(
        dynamodb,
        TABLE,
        event_id="E1",
        subscription_id="S1",
        attempt=attempt(None),
        expected_count=0,
        state="retrying",
        next_attempt_at="2026-01-01T00:00:05+00:00",
        now=NOW,
    )

    assert (item.state, item.attempt_count, item.next_attempt_at) == (
        "retrying",
        1,
        "2026-01-01T00:00:05+00:00",
    )
    assert item.attempts == [attempt(None)]


def test_duplicate_attempt_is_a_conflict(dynamodb: Any) -> None:
    claim(dynamodb)
    kwargs: dict[str, Any] = {"event_id": "E1", "subscription_id": "S1", "expected_count": 0, "now": NOW}
    record_attempt(dynamodb, TABLE, attempt=attempt(), state="retrying", next_attempt_at="x", **kwargs)

    with pytest.raises(DeliveryConflict):
        record_attempt(dynamodb, TABLE, attempt=attempt(), state="retrying", next_attempt_at="x", **kwargs)


def test_terminal_delivery_takes_no_more_attempts(dynamodb: Any) -> None:
    claim(dynamodb)
    record_attempt(
        dynamodb,
        TABLE,
        event_id="E1",
        subscription_id="S1",
        attempt=attempt(410),
        expected_count=0,
        state="gone",
        next_attempt_at=None,
        now=NOW,
    )

    with pytest.raises(DeliveryConflict):
        record_attempt(
            dynamodb,
            TABLE,
            event_id="E1",
            subscription_id="S1",
            attempt=attempt(200),
            expected_count=1,
            state="delivered",
            next_attempt_at=None,
            now=NOW,
        )


def test_missing_delivery_is_not_found(dynamodb: Any) -> None:
    with pytest.raises(DeliveryNotFound):
        get_delivery(dynamodb, TABLE, "E1", "S1")


def test_list_for_event_is_tenant_scoped(dynamodb: Any) -> None:
    claim(dynamodb, subscription_id="S1")
    claim(dynamodb, subscription_id="S2")

    assert [d.subscription_id for d in list_for_event(dynamodb, TABLE, "t1", "E1")] == ["S1", "S2"]
    assert list_for_event(dynamodb, TABLE, "t2", "E1") == []


def test_list_for_subscription_pages_newest_first(dynamodb: Any) -> None:
    for event_id in ("E1", "E2", "E3"):
        claim(dynamodb, event_id=event_id)

    first, cursor = list_for_subscription(dynamodb, TABLE, "t1", "S1", 2, None)
    second, end = list_for_subscription(dynamodb, TABLE, "t1", "S1", 2, cursor)

    assert [d.event_id for d in first + second] == ["E3", "E2", "E1"]
    assert end is None


def test_list_for_subscription_rejects_a_cursor_of_another_tenant(dynamodb: Any) -> None:
    for event_id in ("E1", "E2"):
        claim(dynamodb, event_id=event_id)
    _, cursor = list_for_subscription(dynamodb, TABLE, "t1", "S1", 1, None)
    assert cursor is not None

    with pytest.raises(MalformedRequest):
        list_for_subscription(dynamodb, TABLE, "t2", "S1", 1, cursor)


def test_list_for_subscription_rejects_garbage_cursor(dynamodb: Any) -> None:
    with pytest.raises(MalformedRequest):
        list_for_subscription(dynamodb, TABLE, "t1", "S1", 1, "not-base64!!")
