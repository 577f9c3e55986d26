"""Operational events from the delivery path, `*` leaving them out, and recover's lifecycle (moto)."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request
from werkzeug import Response as WerkzeugResponse

from devtools.runner.lambda_context import LocalLambdaContext
from ingest.core import events_table, operational
from ingest.core.deliveries_table import DeliveryItem
from ingest.core.events_table import EventItem, EventQuery
from ingest.core.ids import highest_id_at, lowest_id_at
from ingest.core.lifecycle import recover
from ingest.core.models import OPERATIONAL_TYPES
from ingest.core.subscriptions_table import SubscriptionItem
from processors.fanout.handler import lambda_handler as fanout_handler
from processors.webhooks.delivery import default_deliverer
from tests.unit.test_replay import attempted, stores
from tests.unit.webhooks_support import STAGE_TABLE, Webhooks, body

Receiver = Callable[[], HTTPServer]
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def notices(webhooks: Webhooks, tenant_id: str, event_type: str) -> list[dict[str, Any]]:
    page = events_table.list_events(
        webhooks.dynamodb, STAGE_TABLE.format("events"), tenant_id, EventQuery(event_type=event_type)
    )
    return [{"source": item.source, **json.loads(item.payload)} for item in page.items]


def fan_out(webhooks: Webhooks, context: LocalLambdaContext, *events: EventItem) -> None:
    assert dict(fanout_handler(webhooks.stream_event(*events), context)) == {"batchItemFailures": []}


def test_the_operational_types_are_the_reserved_ones() -> None:
    assert {
        operational.SUBSCRIPTION_DISABLED,
        operational.SUBSCRIPTION_ENABLED,
        operational.DELIVERY_EXHAUSTED,
    } == OPERATIONAL_TYPES


def test_star_takes_every_type_but_the_operational_ones_which_are_taken_by_name(webhooks: Webhooks) -> None:
    star = webhooks.subscribe("t1", "http://127.0.0.1:9/a", ["*"])
    named = webhooks.subscribe("t1", "http://127.0.0.1:9/b", ["delivery.exhausted"])

    assert star.matches("order.created")
    assert not any(star.matches(name) for name in OPERATIONAL_TYPES)
    assert named.matches("delivery.exhausted") and not named.matches("subscription.disabled")


def test_gone_disables_and_stores_one_subscription_disabled(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("gone", status=410)
    subscription = webhooks.subscribe("t1", server.url_for("/hook"), ["order.created"])

    fan_out(webhooks, lambda_context, webhooks.put_event("t1"))

    (notice,) = notices(webhooks, "t1", "subscription.disabled")
    assert notice["subscription_id"] == subscription.subscription_id
    assert notice["source"] == "triggers"
    assert "410" in notice["reason"]
    assert notice["trigger"] == "automatic"
    assert notices(webhooks, "t1", "delivery.exhausted") == []


def test_a_410_in_flight_when_disabled_by_hand_keeps_the_operator_s_reason_and_notice(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given an operator who disables the subscription while its delivery is in flight, and the
    # endpoint then answering 410
    server = receiver()

    def disable_by_hand_then_gone(request: Request) -> WerkzeugResponse:
        webhooks.disable_by_hand(subscription, "maintenance window")
        return WerkzeugResponse("gone", status=410)

    server.expect_request("/hook").respond_with_handler(disable_by_hand_then_gone)
    subscription = webhooks.subscribe("t1", server.url_for("/hook"), ["order.created"])

    # When the fanout delivers the event
    fan_out(webhooks, lambda_context, webhooks.put_event("t1"))

    # Then the subscription keeps the operator's reason, and only the operator's notice is stored
    assert len(server.log) == 1
    stored = webhooks.subscription(subscription)
    assert (stored.status, stored.disabled_reason) == ("disabled", "maintenance window")
    (notice,) = notices(webhooks, "t1", "subscription.disabled")
    assert (notice["trigger"], notice["reason"]) == ("manual", "maintenance window")


def test_a_dead_letter_stores_delivery_exhausted_unless_it_was_an_operational_event(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given a subscription (to an ordinary and an operational type) whose endpoint is gone quiet,
    # and the schedule exhausted after the first attempt
    server = receiver()
    server.expect_request("/hook").respond_with_data("down", status=500)
    subscription = webhooks.subscribe(
        "t1", server.url_for("/hook"), ["order.created", "subscription.enabled"]
    )
    ordinary = webhooks.put_event("t1")
    notice = webhooks.put_event("t1", "subscription.enabled", '{"subscription_id": "sub_x"}')
    deliverer = default_deliverer()

    # When both deliveries are dead-lettered
    for event in (ordinary, notice):
        deliverer.abandon(event, subscription, webhooks_delivery(event, subscription), "test")

    # Then the ordinary one is announced once; the operational one is not
    (exhausted,) = notices(webhooks, "t1", "delivery.exhausted")
    assert (exhausted["event_id"], exhausted["subscription_id"]) == (
        ordinary.event_id,
        subscription.subscription_id,
    )
    assert exhausted["last_attempt"]["error"] == "not sent: test"
    assert len(webhooks.receive(webhooks.dlq_url, 2)) == 2


def webhooks_delivery(event: EventItem, subscription: SubscriptionItem) -> DeliveryItem:
    return DeliveryItem.new(
        tenant_id=event.tenant_id,
        event_id=event.event_id,
        subscription_id=subscription.subscription_id,
        target_url=subscription.target_url,
        now=NOW,
        expires_at=event.expires_at,
    )


def window(hours: int = 1) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"low_event_id": lowest_id_at(now - timedelta(hours=hours)), "high_event_id": highest_id_at(now)}


def test_recover_reopens_failed_and_gone_deliveries_once(webhooks: Webhooks) -> None:
    # Given deliveries of one subscription in every state
    subscription = webhooks.subscribe("t1", "http://127.0.0.1:9/hook", ["order.created"])
    states = ["failed", "gone", "delivered", "retrying", "failed"]
    events = [webhooks.put_event("t1") for _ in states]
    for event, state in zip(events, states, strict=True):
        attempted(webhooks, event, subscription, state)

    # When the window is recovered twice
    first = recover(stores(webhooks), subscription, limit=100, now=NOW, **window())
    second = recover(stores(webhooks), subscription, limit=100, now=NOW, **window())

    # Then the failed and gone ones are queued once, the others left alone
    assert (first.queued, first.in_progress, first.truncated) == (3, 0, False)
    assert (second.queued, second.in_progress) == (0, 0)
    queued = webhooks.receive(webhooks.retry_queue_url, 3)
    assert sorted(body(message)["event_id"] for message in queued) == sorted(
        event.event_id for event, state in zip(events, states, strict=True) if state in ("failed", "gone")
    )
    assert {body(message)["attempt"] for message in queued} == {2}
    assert webhooks.queued(webhooks.retry_queue_url) == 0


def test_recover_takes_only_the_window_this_subscription_and_its_limit(webhooks: Webhooks) -> None:
    subscription = webhooks.subscribe("t1", "http://127.0.0.1:9/hook", ["order.created"])
    other = webhooks.subscribe("t1", "http://127.0.0.1:9/other", ["order.created"])
    events = [webhooks.put_event("t1") for _ in range(3)]
    for event in events:
        attempted(webhooks, event, subscription, "failed")
        attempted(webhooks, event, other, "failed")

    # An empty window (before the events), then a limit of two
    before = datetime.now(UTC) - timedelta(hours=2)
    empty = recover(
        stores(webhooks),
        subscription,
        low_event_id=lowest_id_at(before),
        high_event_id=highest_id_at(before + timedelta(minutes=1)),
        limit=100,
        now=NOW,
    )
    limited = recover(stores(webhooks), subscription, limit=2, now=NOW, **window())

    assert (empty.queued, empty.truncated) == (0, False)
    assert (limited.queued, limited.truncated, limited.last_event_id) == (2, True, events[1].event_id)
    queued = webhooks.receive(webhooks.retry_queue_url, 2)
    assert {body(message)["subscription_id"] for message in queued} == {subscription.subscription_id}
    assert webhooks.delivery(events[2], subscription).state == "failed"
    assert webhooks.delivery(events[0], other).state == "failed"
