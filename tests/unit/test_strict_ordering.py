"""Strict ordering: one delivery in flight per subscription, in stream order; a failing event holds
back the later ones until it is delivered or dead-lettered (moto + real local receivers)."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from devtools.runner.lambda_context import LocalLambdaContext
from ingest.core import lanes_table, lifecycle
from ingest.core.events_table import EventItem
from ingest.core.settings import delivery_settings
from ingest.core.subscriptions_table import SubscriptionItem, delete_subscription, record_failure
from processors.fanout.handler import lambda_handler as fanout_handler
from processors.retry.handler import lambda_handler as retry_handler
from processors.webhooks import ordering
from tests.unit.webhooks_support import STAGE_TABLE, Webhooks, body, clear_webhook_caches, sqs_event

Receiver = Callable[[], HTTPServer]
DELIVERIES = STAGE_TABLE.format("deliveries")
SUBSCRIPTIONS = STAGE_TABLE.format("subscriptions")


def fan_out(webhooks: Webhooks, context: LocalLambdaContext, *events: Any) -> None:
    assert dict(fanout_handler(webhooks.stream_event(*events), context)) == {"batchItemFailures": []}


def drain(webhooks: Webhooks, context: LocalLambdaContext, rounds: int = 20, wait: float = 6) -> int:
    """Run the retry function on whatever the retry queue holds until it is empty; the messages run.

    Empty means: no message at all, or (while some are delayed) none visible for `wait` seconds,
    well beyond the 1 s retries the tests schedule even on a loaded machine."""
    handled = 0
    for _ in range(rounds):
        if webhooks.queued(webhooks.retry_queue_url) == 0:
            return handled
        # Whatever is visible once at least one message is (delayed ones come back in a later round).
        messages = webhooks.receive(webhooks.retry_queue_url, 1, timeout=wait)
        if not messages:
            return handled
        assert dict(retry_handler(sqs_event(messages), context)) == {"batchItemFailures": []}
        handled += len(messages)
    raise AssertionError("the retry queue never emptied")


def lane(webhooks: Webhooks, subscription: SubscriptionItem) -> lanes_table.Lane:
    return lanes_table.get(webhooks.dynamodb, DELIVERIES, subscription.subscription_id)


def arrivals(server: HTTPServer) -> list[tuple[str, int]]:
    return [(request.headers["webhook-id"], response.status_code) for request, response in server.log]


@pytest.fixture
def scripted(receiver: Receiver) -> Callable[[dict[str, list[int]]], HTTPServer]:
    """A receiver answering each webhook-id with its scripted statuses in turn (then 200)."""

    def start(script: dict[str, list[int]]) -> HTTPServer:
        server = receiver()
        answers = {event_id: list(statuses) for event_id, statuses in script.items()}

        def handle(request: Request) -> Response:
            pending = answers.get(request.headers["webhook-id"], [])
            return Response("x", status=pending.pop(0) if pending else 200)

        server.expect_request("/hook").respond_with_handler(handle)
        return server

    return start


def strict_events(webhooks: Webhooks, count: int) -> list[EventItem]:
    return [webhooks.put_event("t1", payload=json.dumps({"n": n})) for n in range(count)]


def test_the_fanout_holds_a_strict_subscriptions_events_and_queues_only_the_first(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given a strict subscription
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", server.url_for("/hook"), ordering="strict")
    events = strict_events(webhooks, 3)

    # When a batch of 3 events fans out
    fan_out(webhooks, lambda_context, *events)

    # Then nothing is sent by the fanout: the first is queued, the others wait behind it
    assert server.log == []
    assert [webhooks.delivery(e, subscription).state for e in events] == ["held"] * 3
    current = lane(webhooks, subscription)
    assert (current.head, current.held) == (events[0].event_id, [e.event_id for e in events[1:]])
    [message] = [body(m) for m in webhooks.receive(webhooks.retry_queue_url, 1)]
    assert (message["event_id"], message["attempt"]) == (events[0].event_id, 1)
    assert webhooks.queued(webhooks.retry_queue_url) == 0


def test_events_are_sent_one_at_a_time_in_stream_order(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", server.url_for("/hook"), ordering="strict")
    first, second = strict_events(webhooks, 3), strict_events(webhooks, 2)
    fan_out(webhooks, lambda_context, *first)
    fan_out(webhooks, lambda_context, *second)

    drain(webhooks, lambda_context)

    assert [event_id for event_id, _ in arrivals(server)] == [e.event_id for e in [*first, *second]]
    assert {webhooks.delivery(e, subscription).state for e in [*first, *second]} == {"delivered"}
    assert {webhooks.event(e).status for e in [*first, *second]} == {"delivered"}
    assert (lane(webhooks, subscription).head, lane(webhooks, subscription).held) == (None, [])


def test_a_failing_event_holds_back_the_later_ones_until_it_succeeds(
    webhooks: Webhooks,
    scripted: Callable[[dict[str, list[int]]], HTTPServer],
    lambda_context: LocalLambdaContext,
) -> None:
    # Given a receiver that fails event 1 twice, then accepts it
    events = strict_events(webhooks, 4)
    server = scripted({events[0].event_id: [500, 500]})
    subscription = webhooks.subscribe("t1", server.url_for("/hook"), ordering="strict")

    # When the events fan out and the retries run
    fan_out(webhooks, lambda_context, *events)
    drain(webhooks, lambda_context)

    # Then events 2..4 arrive only after event 1 succeeded, in order
    assert arrivals(server) == [
        (events[0].event_id, 500),
        (events[0].event_id, 500),
        (events[0].event_id, 200),
        *((e.event_id, 200) for e in events[1:]),
    ]
    assert [webhooks.delivery(e, subscription).attempt_count for e in events] == [3, 1, 1, 1]


def test_a_dead_lettered_head_releases_the_next(
    webhooks: Webhooks,
    scripted: Callable[[dict[str, list[int]]], HTTPServer],
    lambda_context: LocalLambdaContext,
) -> None:
    # Given event 1 fails every attempt of the schedule (3 attempts)
    events = strict_events(webhooks, 3)
    server = scripted({events[0].event_id: [500, 500, 500]})
    subscription = webhooks.subscribe("t1", server.url_for("/hook"), ordering="strict")

    fan_out(webhooks, lambda_context, *events)
    drain(webhooks, lambda_context)

    # Then it is dead-lettered and only then do 2 and 3 go out, in order
    assert arrivals(server) == [(events[0].event_id, 500)] * 3 + [(e.event_id, 200) for e in events[1:]]
    assert webhooks.delivery(events[0], subscription).state == "failed"
    [letter] = [body(m) for m in webhooks.receive(webhooks.dlq_url, 1)]
    assert letter["event_id"] == events[0].event_id


def test_a_retried_batch_and_duplicate_messages_add_nothing_and_send_each_event_once(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", server.url_for("/hook"), ordering="strict")
    events = strict_events(webhooks, 3)

    # When the stream hands the same batch over twice (a retried batch, duplicate records)
    fan_out(webhooks, lambda_context, *events)
    fan_out(webhooks, lambda_context, *events, *events[1:])

    # Then the lane holds each event once
    current = lane(webhooks, subscription)
    assert (current.head, current.held) == (events[0].event_id, [e.event_id for e in events[1:]])
    # and although the head's first attempt was queued twice, every event is sent once, in order
    drain(webhooks, lambda_context)
    assert [event_id for event_id, _ in arrivals(server)] == [e.event_id for e in events]


def test_a_replayed_event_waits_behind_the_one_in_flight(
    webhooks: Webhooks,
    scripted: Callable[[dict[str, list[int]]], HTTPServer],
    lambda_context: LocalLambdaContext,
) -> None:
    # Given event 2 was delivered, and event 1 (new) is failing as the head
    first, retried = strict_events(webhooks, 2)
    server = scripted({retried.event_id: [500]})
    subscription = webhooks.subscribe("t1", server.url_for("/hook"), ordering="strict")
    fan_out(webhooks, lambda_context, first)
    drain(webhooks, lambda_context)
    fan_out(webhooks, lambda_context, retried)
    [failing] = webhooks.receive(webhooks.retry_queue_url, 1)
    assert dict(retry_handler(sqs_event([failing]), lambda_context)) == {"batchItemFailures": []}

    # When a message for another attempt of the delivered event arrives (a replay) while 2 is retrying
    stores = lifecycle.Stores.of(webhooks.dynamodb, webhooks.sqs, delivery_settings())
    assert lifecycle.replay(stores, subscription, first.event_id, datetime.now(UTC)).outcome == "queued"
    drain(webhooks, lambda_context)

    # Then the replay went out only after the head succeeded
    assert [event_id for event_id, _ in arrivals(server)] == [
        first.event_id,
        retried.event_id,
        retried.event_id,
        first.event_id,
    ]


def test_a_deleted_subscription_releases_nothing_and_closes_what_was_held(
    webhooks: Webhooks,
    scripted: Callable[[dict[str, list[int]]], HTTPServer],
    lambda_context: LocalLambdaContext,
) -> None:
    # Given event 1 failed once and events 2, 3 wait behind it
    events = strict_events(webhooks, 3)
    server = scripted({events[0].event_id: [500, 500]})
    subscription = webhooks.subscribe("t1", server.url_for("/hook"), ordering="strict")
    fan_out(webhooks, lambda_context, *events)
    [head] = webhooks.receive(webhooks.retry_queue_url, 1)
    assert dict(retry_handler(sqs_event([head]), lambda_context)) == {"batchItemFailures": []}

    # When the subscription is deleted before event 1's retry
    delete_subscription(webhooks.dynamodb, SUBSCRIPTIONS, "t1", subscription.subscription_id)
    drain(webhooks, lambda_context)

    # Then nothing more is sent; every held delivery is closed as failed, not sent
    assert arrivals(server) == [(events[0].event_id, 500)]
    for event in events:
        delivery = webhooks.delivery(event, subscription)
        assert delivery.state == "failed"
        assert delivery.attempts[-1].error is not None
        assert delivery.attempts[-1].error.startswith("not sent")
    assert (lane(webhooks, subscription).head, lane(webhooks, subscription).held) == (None, [])
    assert webhooks.queued(webhooks.retry_queue_url) == 0


@pytest.mark.parametrize("how", ["automatic", "by hand"])
def test_a_disabled_subscriptions_lane_is_dead_lettered_unsent_at_once(
    webhooks: Webhooks,
    scripted: Callable[[dict[str, list[int]]], HTTPServer],
    lambda_context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    monkeypatch.setenv("RETRY_SCHEDULE", "1h")  # event 1's retry is due long after the test
    monkeypatch.setenv("DISABLE_AFTER_FAILING_SECONDS", "60")
    clear_webhook_caches()
    # Given event 1 failing as the head of a strict lane and events 2, 3 held behind it
    events = strict_events(webhooks, 3)
    server = scripted({events[0].event_id: [500]})
    subscription = webhooks.subscribe("t1", server.url_for("/hook"), ordering="strict")
    if how == "automatic":  # the endpoint has been failing for an hour: its next failure disables it
        an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
        record_failure(webhooks.dynamodb, SUBSCRIPTIONS, "t1", subscription.subscription_id, an_hour_ago)
    fan_out(webhooks, lambda_context, *events)
    [head] = webhooks.receive(webhooks.retry_queue_url, 1)

    # When the subscription is disabled: automatically by that failure, or by hand through the API
    # while event 1 waits an hour for its retry
    assert dict(retry_handler(sqs_event([head]), lambda_context)) == {"batchItemFailures": []}
    if how == "by hand":
        webhooks.disable_by_hand(subscription, "failing for too long")
    drain(webhooks, lambda_context)

    # Then either way, now: nothing more is sent, every event is dead-lettered unsent, the lane is empty
    assert arrivals(server) == [(events[0].event_id, 500)]
    assert webhooks.subscription(subscription).status == "disabled"
    for event in events[1:]:
        error = webhooks.delivery(event, subscription).attempts[-1].error
        assert error is not None and error.startswith("not sent: subscription disabled: ")
    assert {webhooks.delivery(e, subscription).state for e in events} == {"failed"}
    letters = [body(m) for m in webhooks.receive(webhooks.dlq_url, 3)]
    assert sorted(letter["event_id"] for letter in letters) == sorted(e.event_id for e in events)
    assert {letter["reason"].split(":")[0] for letter in letters} == {"subscription disabled"}
    assert (lane(webhooks, subscription).head, lane(webhooks, subscription).held) == (None, [])


def test_none_ordering_keeps_sending_from_the_fanout_without_a_lane(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    events = strict_events(webhooks, 3)

    fan_out(webhooks, lambda_context, *events)

    assert [event_id for event_id, _ in arrivals(server)] == [e.event_id for e in events]
    assert lane(webhooks, subscription).ver == 0
    assert webhooks.queued(webhooks.retry_queue_url) == 0


def test_changing_to_default_ordering_releases_the_held_events_at_once(
    webhooks: Webhooks,
    scripted: Callable[[dict[str, list[int]]], HTTPServer],
    lambda_context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RETRY_SCHEDULE", "5s")  # event 1's retry comes well after the release
    clear_webhook_caches()
    # Given event 1 failing as the head and events 2, 3 held behind it
    events = strict_events(webhooks, 3)
    server = scripted({events[0].event_id: [500]})
    subscription = webhooks.subscribe("t1", server.url_for("/hook"), ordering="strict")
    fan_out(webhooks, lambda_context, *events)
    [head] = webhooks.receive(webhooks.retry_queue_url, 1)
    assert dict(retry_handler(sqs_event([head]), lambda_context)) == {"batchItemFailures": []}

    # When the subscription's ordering becomes "none" (what PATCH does) and its lane is released
    webhooks.dynamodb.update_item(
        TableName=SUBSCRIPTIONS,
        Key={"tenant_id": {"S": "t1"}, "subscription_id": {"S": subscription.subscription_id}},
        UpdateExpression="SET ordering = :none",
        ExpressionAttributeValues={":none": {"S": "none"}},
    )
    stores = lifecycle.Stores.of(webhooks.dynamodb, webhooks.sqs, delivery_settings())
    assert lifecycle.release_lane(stores, subscription.subscription_id, datetime.now(UTC)) == 2
    drain(webhooks, lambda_context, wait=12)  # until event 1's retry, 5 s out, has run too

    # Then 2 and 3 went out without waiting for event 1's retry, and everything is delivered once
    sent = [event_id for event_id, status in arrivals(server) if status == 200]
    assert sent.index(events[1].event_id) < sent.index(events[0].event_id)
    assert sorted(sent) == sorted(e.event_id for e in events)
    assert (lane(webhooks, subscription).head, lane(webhooks, subscription).held) == (None, [])


def test_events_beyond_a_full_lane_are_dead_lettered_not_lost(
    webhooks: Webhooks,
    receiver: Receiver,
    lambda_context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a lane that holds at most one waiting event
    monkeypatch.setattr(lanes_table, "MAX_HELD", 1)
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", server.url_for("/hook"), ordering="strict")
    events = strict_events(webhooks, 4)

    # When four events fan out
    fan_out(webhooks, lambda_context, *events)

    # Then the head and one held event stay in the lane; the other two go to the DLQ, redrivable
    current = lane(webhooks, subscription)
    assert (current.head, current.held) == (events[0].event_id, [events[1].event_id])
    letters = sorted((body(m) for m in webhooks.receive(webhooks.dlq_url, 2)), key=lambda m: m["event_id"])
    assert [letter["event_id"] for letter in letters] == [e.event_id for e in events[2:]]
    assert {letter["reason"] for letter in letters} == {ordering.FULL_REASON}
    assert [webhooks.delivery(e, subscription).state for e in events] == ["held", "held", "failed", "failed"]
