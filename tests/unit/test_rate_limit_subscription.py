"""Per-subscription rate limits: slots shared through DynamoDB, excess deferred via the retry queue."""

from collections.abc import Callable
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from pytest_httpserver import HTTPServer

from devtools.runner.lambda_context import LocalLambdaContext
from ingest.core import pacing_table
from processors.fanout.handler import lambda_handler as fanout_handler
from processors.retry.handler import lambda_handler as retry_handler
from tests.unit.webhooks_support import STAGE_TABLE, Webhooks, body, sqs_event

Receiver = Callable[[], HTTPServer]
DELIVERIES = STAGE_TABLE.format("deliveries")
MICROS = 1_000_000


def fan_out(webhooks: Webhooks, context: LocalLambdaContext, *events: Any) -> None:
    assert dict(fanout_handler(webhooks.stream_event(*events), context)) == {"batchItemFailures": []}


def webhook_ids(server: HTTPServer) -> list[str]:
    return [request.headers["webhook-id"] for request, _ in server.log]


def test_reservations_hand_out_consecutive_slots_shared_by_every_caller(webhooks: Webhooks) -> None:
    # Given an idle subscription paced at 4/s (250 ms apart)
    now = 1_700_000_000 * MICROS

    def reserve(count: int, now_us: int) -> int:
        return pacing_table.reserve(
            webhooks.dynamodb,
            DELIVERIES,
            tenant_id="t1",
            subscription_id="sub_x",
            count=count,
            interval_us=250_000,
            now_us=now_us,
        )

    # When two callers reserve 3 slots and 1 slot at the same instant
    first, second = reserve(3, now), reserve(1, now)

    # Then the first gets now, now+250ms, now+500ms and the second the slot after them
    assert (first, second) == (now, now + 750_000)
    assert pacing_table.read_tat(webhooks.dynamodb, DELIVERIES, "sub_x") == now + 1_000_000
    # and an idle period restarts the schedule from the present, with no credit for the past
    later = now + 10 * MICROS
    assert reserve(1, later) == later


def test_excess_deliveries_are_deferred_not_sent_not_counted_as_attempts_or_failures(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given a subscription limited to 2 deliveries a second
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", server.url_for("/hook"), rate_limit=2)
    events = [webhooks.put_event("t1", payload=f'{{"n": {n}}}') for n in range(5)]

    # When a batch of 5 events fans out
    fan_out(webhooks, lambda_context, *events)

    # Then the first is sent at once and the other 4 wait for their slots, 0.5 s apart
    assert webhook_ids(server) == [events[0].event_id]
    messages = sorted(
        (body(m) for m in webhooks.receive(webhooks.retry_queue_url, 4)), key=lambda m: m["due_at"]
    )
    assert [m["event_id"] for m in messages] == [e.event_id for e in events[1:]]
    assert {(m["attempt"], m["rate_slot"]) for m in messages} == {(1, True)}
    dues = [datetime.fromisoformat(m["due_at"]) for m in messages]
    assert [round((b - a).total_seconds(), 3) for a, b in pairwise(dues)] == [0.5] * 3
    # neither an attempt nor a failure: no retry step used, no failure streak started
    for event in events[1:]:
        delivery = webhooks.delivery(event, subscription)
        assert (delivery.state, delivery.attempt_count, delivery.attempts) == ("retrying", 0, [])
    assert webhooks.subscription(subscription).failing_since is None
    assert webhooks.subscription(subscription).status == "active"


def test_a_deferred_delivery_is_sent_at_its_slot_exactly_once(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given 3 events deferred by a 2/s limit
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", server.url_for("/hook"), rate_limit=2)
    events = [webhooks.put_event("t1", payload=f'{{"n": {n}}}') for n in range(3)]
    fan_out(webhooks, lambda_context, *events)
    deferred = webhooks.receive(webhooks.retry_queue_url, 2)

    # When the retry function gets their messages once they are due, and then the same copies again
    assert dict(retry_handler(sqs_event(deferred), lambda_context)) == {"batchItemFailures": []}
    assert dict(retry_handler(sqs_event(deferred), lambda_context)) == {"batchItemFailures": []}

    # Then each event reached the endpoint exactly once and is delivered after one attempt
    assert sorted(webhook_ids(server)) == sorted(e.event_id for e in events)
    for event in events:
        delivery = webhooks.delivery(event, subscription)
        assert (delivery.state, delivery.attempt_count) == ("delivered", 1)
        assert webhooks.event(event).status == "delivered"
    assert webhooks.queued(webhooks.retry_queue_url) == 0


def test_a_retry_beyond_the_limit_is_deferred_to_a_slot_without_being_sent(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given a delivery whose first attempt failed (its retry is due in 1 s), to a 1/s subscription
    server = receiver()
    server.expect_request("/hook").respond_with_data("busy", status=500)
    subscription = webhooks.subscribe("t1", server.url_for("/hook"), rate_limit=1)
    event = webhooks.put_event("t1")
    fan_out(webhooks, lambda_context, event)
    retry = webhooks.receive(webhooks.retry_queue_url, 1)
    # and the next 5 seconds of slots taken by other deliveries
    pacing_table.reserve(
        webhooks.dynamodb,
        DELIVERIES,
        tenant_id="t1",
        subscription_id=subscription.subscription_id,
        count=5,
        interval_us=MICROS,
        now_us=int(datetime.now(UTC).timestamp() * MICROS),
    )

    # When the retry comes due
    assert dict(retry_handler(sqs_event(retry), lambda_context)) == {"batchItemFailures": []}

    # Then it is not sent but deferred, as the same attempt, to a reserved slot
    assert len(server.log) == 1
    [again] = [body(m) for m in webhooks.receive(webhooks.retry_queue_url, 1)]
    assert (again["attempt"], again["rate_slot"]) == (2, True)
    assert webhooks.delivery(event, subscription).attempt_count == 1


def test_subscriptions_without_a_limit_reserve_nothing(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    events = [webhooks.put_event("t1") for _ in range(5)]

    fan_out(webhooks, lambda_context, *events)

    assert len(server.log) == 5
    assert pacing_table.read_tat(webhooks.dynamodb, DELIVERIES, subscription.subscription_id) is None
    assert webhooks.queued(webhooks.retry_queue_url) == 0
