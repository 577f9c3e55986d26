"""Replaying events to a subscription: reopen the delivery, enqueue its next attempt, never twice."""

from datetime import UTC, datetime, timedelta

import pytest

from ingest.core.deliveries_table import Attempt, DeliveryItem, put_many, record_attempt
from ingest.core.errors import QueueUnavailable
from ingest.core.events_table import EventItem
from ingest.core.lifecycle import Stores, replay_events
from ingest.core.settings import get_settings
from ingest.core.subscriptions_table import SubscriptionItem
from tests.unit.webhooks_support import STAGE_TABLE, Webhooks, body

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def attempted(
    webhooks: Webhooks, event: EventItem, subscription: SubscriptionItem, state: str, at: datetime = NOW
) -> DeliveryItem:
    """A delivery with one recorded attempt that left it in `state`."""
    table = STAGE_TABLE.format("deliveries")
    put_many(
        webhooks.dynamodb,
        table,
        [
            DeliveryItem.new(
                tenant_id=event.tenant_id,
                event_id=event.event_id,
                subscription_id=subscription.subscription_id,
                target_url=subscription.target_url,
                now=at,
                expires_at=event.expires_at,
            )
        ],
    )
    return record_attempt(
        webhooks.dynamodb,
        table,
        event_id=event.event_id,
        subscription_id=subscription.subscription_id,
        attempt=Attempt(at=at.isoformat(), status_code=200 if state == "delivered" else 500, latency_ms=3),
        expected_count=0,
        state=state,  # type: ignore[arg-type]
        next_attempt_at=(at + timedelta(minutes=5)).isoformat() if state == "retrying" else None,
        now=at,
    )


def stores(webhooks: Webhooks, retry_queue_url: str | None = None) -> Stores:
    settings = get_settings()
    return Stores(
        dynamodb=webhooks.dynamodb,
        sqs=webhooks.sqs,
        events_table=settings.events_table,
        deliveries_table=settings.deliveries_table,
        retry_queue_url=retry_queue_url or webhooks.retry_queue_url,
    )


def replay(
    webhooks: Webhooks, subscription: SubscriptionItem, *event_ids: str, now: datetime = NOW
) -> list[str]:
    results = replay_events(stores(webhooks), subscription, list(event_ids), now)
    return [result.outcome for result in results]


def test_a_delivered_event_is_reopened_with_its_attempts_and_its_next_attempt_queued(
    webhooks: Webhooks,
) -> None:
    subscription = webhooks.subscribe("t1", "http://127.0.0.1:9/hook")
    event = webhooks.put_event("t1")
    attempted(webhooks, event, subscription, "delivered")

    assert replay(webhooks, subscription, event.event_id) == ["queued"]

    delivery = webhooks.delivery(event, subscription)
    assert (delivery.state, delivery.attempt_count, len(delivery.attempts)) == ("retrying", 1, 1)
    (message,) = webhooks.receive(webhooks.retry_queue_url)
    assert body(message) == {
        "tenant_id": "t1",
        "event_id": event.event_id,
        "subscription_id": subscription.subscription_id,
        "attempt": 2,
        "due_at": NOW.isoformat().replace("+00:00", "Z"),
    }


def test_replaying_again_while_the_first_replay_is_queued_sends_nothing_more(webhooks: Webhooks) -> None:
    subscription = webhooks.subscribe("t1", "http://127.0.0.1:9/hook")
    event = webhooks.put_event("t1")
    attempted(webhooks, event, subscription, "delivered")

    assert replay(webhooks, subscription, event.event_id) == ["queued"]
    assert replay(webhooks, subscription, event.event_id) == ["in_progress"]

    assert webhooks.queued(webhooks.retry_queue_url) == 1


def test_an_event_never_delivered_to_the_subscription_gets_attempt_one(webhooks: Webhooks) -> None:
    subscription = webhooks.subscribe("t1", "http://127.0.0.1:9/hook")
    event = webhooks.put_event("t1")

    assert replay(webhooks, subscription, event.event_id) == ["queued"]

    delivery = webhooks.delivery(event, subscription)
    assert (delivery.state, delivery.attempt_count, delivery.expires_at) == ("retrying", 0, event.expires_at)
    (message,) = webhooks.receive(webhooks.retry_queue_url)
    assert body(message)["attempt"] == 1


def test_types_the_subscription_does_not_take_and_other_tenants_events_are_not_replayed(
    webhooks: Webhooks,
) -> None:
    subscription = webhooks.subscribe("t1", "http://127.0.0.1:9/hook", ["a.b"])
    other_type = webhooks.put_event("t1", event_type="c.d")
    other_tenant = webhooks.put_event("t2", event_type="a.b")

    assert replay(webhooks, subscription, other_type.event_id, other_tenant.event_id) == [
        "not_subscribed",
        "not_found",
    ]

    assert webhooks.queued(webhooks.retry_queue_url) == 0


def test_a_retrying_delivery_is_left_alone_unless_its_retry_is_long_overdue(webhooks: Webhooks) -> None:
    subscription = webhooks.subscribe("t1", "http://127.0.0.1:9/hook")
    event = webhooks.put_event("t1")
    attempted(webhooks, event, subscription, "retrying", at=NOW)

    assert replay(webhooks, subscription, event.event_id, now=NOW + timedelta(minutes=10)) == ["in_progress"]
    assert replay(webhooks, subscription, event.event_id, now=NOW + timedelta(hours=2)) == ["queued"]


@pytest.mark.parametrize("delivered_before", [True, False])
def test_a_failed_enqueue_puts_the_delivery_back_as_it_was(
    webhooks: Webhooks, delivered_before: bool
) -> None:
    subscription = webhooks.subscribe("t1", "http://127.0.0.1:9/hook")
    event = webhooks.put_event("t1")
    before = attempted(webhooks, event, subscription, "delivered") if delivered_before else None
    missing_queue = stores(webhooks, retry_queue_url=webhooks.retry_queue_url + "-missing")

    with pytest.raises(QueueUnavailable):
        replay_events(missing_queue, subscription, [event.event_id], NOW)

    response = webhooks.dynamodb.get_item(
        TableName=STAGE_TABLE.format("deliveries"),
        Key={"event_id": {"S": event.event_id}, "subscription_id": {"S": subscription.subscription_id}},
        ConsistentRead=True,
    )
    if before is None:
        assert "Item" not in response
    else:
        assert DeliveryItem.from_ddb(response["Item"]) == before
    assert webhooks.queued(webhooks.retry_queue_url) == 0
