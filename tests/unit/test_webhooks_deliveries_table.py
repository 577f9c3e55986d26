"""The deliveries table: idempotent claims and attempt recording."""

from datetime import UTC, datetime
from typing import Any

import pytest

from ingest.core.deliveries_table import (
    Attempt,
    claim_delivery,
    get_delivery,
    list_for_event,
    list_for_subscription,
    record_attempt,
)
from ingest.core.errors import DeliveryConflict, DeliveryNotFound, MalformedRequest

TABLE = "triggers-test-deliveries"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def claim(dynamodb: Any, event_id: str = "E1", subscription_id: str = "S1", tenant_id: str = "t1") -> Any:
    return claim_delivery(
        dynamodb,
        TABLE,
        tenant_id=tenant_id,
        event_id=event_id,
        subscription_id=subscription_id,
        target_url="https://example.com/hook",
        now=NOW,
        expires_at=2_000_000_000,
    )


def attempt(status: int | None = 500) -> Attempt:
    return Attempt(at=NOW.isoformat(), status_code=status, latency_ms=12, error=None)


def test_claim_creates_pending_delivery(dynamodb: Any) -> None:
    item = claim(dynamodb)

    assert item is not None
    assert (item.state, item.attempt_count, item.attempts) == ("pending", 0, [])
    assert get_delivery(dynamodb, TABLE, "E1", "S1") == item


def test_claim_is_repeatable_until_an_attempt_is_recorded(dynamodb: Any) -> None:
    assert claim(dynamodb) is not None
    assert claim(dynamodb) is not None

    record_attempt(
        dynamodb,
        TABLE,
        event_id="E1",
        subscription_id="S1",
        attempt=attempt(200),
        expected_count=0,
        state="delivered",
        next_attempt_at=None,
        now=NOW,
    )

    assert claim(dynamodb) is None


def test_claim_of_another_tenants_delivery_is_refused(dynamodb: Any) -> None:
    claim(dynamodb)

    assert claim(dynamodb, tenant_id="t2") is None
    assert get_delivery(dynamodb, TABLE, "E1", "S1").tenant_id == "t1"


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
