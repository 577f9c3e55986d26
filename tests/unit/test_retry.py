"""The retry handler: re-attempts from the retry queue, DLQ, auto-disable (moto + real receivers)."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import svix.webhooks
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from pytest_httpserver import HTTPServer

from devtools.runner.lambda_context import LocalLambdaContext
from ingest.core import events_table
from ingest.core.audit_table import AuditQuery, list_changes
from ingest.core.errors import StoreUnavailable
from ingest.core.queues import RetryMessage
from ingest.core.settings import get_settings
from ingest.core.subscriptions_table import delete_subscription, disable, record_failure
from processors.fanout.handler import lambda_handler as fanout_handler
from processors.retry.handler import lambda_handler as retry_handler
from tests.unit.webhooks_support import STAGE_TABLE, Webhooks, body, clear_webhook_caches, sqs_event

Receiver = Callable[[], HTTPServer]
SUBSCRIPTIONS = STAGE_TABLE.format("subscriptions")


def fan_out(webhooks: Webhooks, context: LocalLambdaContext, *events: Any) -> None:
    assert dict(fanout_handler(webhooks.stream_event(*events), context)) == {"batchItemFailures": []}


def run_retries(webhooks: Webhooks, context: LocalLambdaContext, count: int = 1) -> dict[str, Any]:
    messages = webhooks.receive(webhooks.retry_queue_url, count)
    assert len(messages) == count
    return dict(retry_handler(sqs_event(messages), context))


def test_failed_delivery_is_retried_and_delivered_once(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given
    server = receiver()
    server.expect_ordered_request("/hook").respond_with_data("busy", status=500)
    server.expect_ordered_request("/hook").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    event = webhooks.put_event("t1")
    fan_out(webhooks, lambda_context, event)

    # When
    result = run_retries(webhooks, lambda_context)

    # Then
    assert result == {"batchItemFailures": []}
    assert len(server.log) == 2
    assert {request.headers["webhook-id"] for request, _ in server.log} == {event.event_id}
    for request, _ in server.log:
        svix.webhooks.Webhook(webhooks.secret_of(subscription)).verify(
            request.get_data(as_text=True), dict(request.headers)
        )
    delivery = webhooks.delivery(event, subscription)
    assert (delivery.state, [a.status_code for a in delivery.attempts]) == ("delivered", [500, 200])
    assert webhooks.event(event).status == "delivered"
    assert webhooks.subscription(subscription).failing_since is None
    assert webhooks.queued(webhooks.retry_queue_url) == 0


def test_duplicate_retry_message_sends_once(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_ordered_request("/hook").respond_with_data("busy", status=500)
    server.expect_ordered_request("/hook").respond_with_data("ok")
    webhooks.put_event("t1")
    webhooks.subscribe("t1", server.url_for("/hook"))
    fan_out(webhooks, lambda_context, webhooks.put_event("t1"))
    [message] = webhooks.receive(webhooks.retry_queue_url)
    duplicate = {**message, "MessageId": "duplicate-id"}

    result = dict(retry_handler(sqs_event([message]), lambda_context))
    again = dict(retry_handler(sqs_event([duplicate]), lambda_context))

    assert result == again == {"batchItemFailures": []}
    assert len(server.log) == 2


def test_exhausted_schedule_goes_to_dlq_with_full_context(
    webhooks: Webhooks,
    receiver: Receiver,
    lambda_context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given: one retry only, and an endpoint that always fails
    monkeypatch.setenv("RETRY_SCHEDULE", "1s")
    clear_webhook_caches()
    server = receiver()
    server.expect_request("/hook").respond_with_data("still down", status=503)
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    payload = '{ "order" : 42,  "note": "caf\\u00e9" }'
    event = webhooks.put_event("t1", payload=payload)
    fan_out(webhooks, lambda_context, event)

    # When
    result = run_retries(webhooks, lambda_context)

    # Then
    assert result == {"batchItemFailures": []}
    [letter] = webhooks.receive(webhooks.dlq_url)
    dead = body(letter)
    assert dead["reason"] == "retry schedule exhausted"
    assert (dead["tenant_id"], dead["event_id"], dead["subscription_id"], dead["target_url"]) == (
        "t1",
        event.event_id,
        subscription.subscription_id,
        server.url_for("/hook"),
    )
    assert [a["status_code"] for a in dead["attempts"]] == [503, 503]
    assert dead["attempts"][0]["error"] == "HTTP 503: still down"
    assert dead["envelope"]["id"] == event.event_id
    assert letter["Body"].endswith(',"data":' + payload + "}}")
    assert webhooks.delivery(event, subscription).state == "failed"
    assert webhooks.queued(webhooks.retry_queue_url) == 0


def test_retry_for_disabled_subscription_is_dead_lettered_unsent(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given a delivery waiting for its retry when its subscription gets disabled
    server = receiver()
    server.expect_request("/hook").respond_with_data("down", status=500)
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    event = webhooks.put_event("t1")
    fan_out(webhooks, lambda_context, event)
    disable(webhooks.dynamodb, SUBSCRIPTIONS, "t1", subscription.subscription_id, "by test")

    # When the retry comes due
    result = run_retries(webhooks, lambda_context)

    # Then nothing is sent, and the delivery is failed and dead-lettered (redrivable), not lost
    assert result == {"batchItemFailures": []}
    assert len(server.log) == 1
    delivery = webhooks.delivery(event, subscription)
    assert delivery.state == "failed"
    assert delivery.attempts[-1].error == "not sent: subscription disabled: by test"
    [letter] = webhooks.receive(webhooks.dlq_url)
    assert body(letter)["reason"] == "subscription disabled: by test"
    assert body(letter)["event_id"] == event.event_id


def test_retry_for_a_subscription_disabled_by_hand_is_dead_lettered_as_after_an_automatic_disable(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given a delivery waiting for its retry when its subscription is disabled through the API
    server = receiver()
    server.expect_request("/hook").respond_with_data("down", status=500)
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    event = webhooks.put_event("t1")
    fan_out(webhooks, lambda_context, event)
    webhooks.disable_by_hand(subscription, "receiver maintenance")

    # When the retry comes due
    result = run_retries(webhooks, lambda_context)

    # Then, as for an automatic disable, nothing is sent and the delivery is dead-lettered unsent
    assert result == {"batchItemFailures": []}
    assert len(server.log) == 1
    delivery = webhooks.delivery(event, subscription)
    assert delivery.state == "failed"
    assert delivery.attempts[-1].error == "not sent: subscription disabled: receiver maintenance"
    [letter] = webhooks.receive(webhooks.dlq_url)
    assert body(letter)["reason"] == "subscription disabled: receiver maintenance"
    assert body(letter)["event_id"] == event.event_id


def test_retry_for_deleted_subscription_is_skipped(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("down", status=500)
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    fan_out(webhooks, lambda_context, webhooks.put_event("t1"))
    delete_subscription(webhooks.dynamodb, SUBSCRIPTIONS, "t1", subscription.subscription_id)

    result = run_retries(webhooks, lambda_context)

    assert result == {"batchItemFailures": []}
    assert len(server.log) == 1


def test_message_not_yet_due_is_re_enqueued_without_sending(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given: a message for an attempt due in 2 hours (beyond SQS's 15-minute delay)
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    event = webhooks.put_event("t1")
    message = RetryMessage(
        tenant_id="t1",
        event_id=event.event_id,
        subscription_id=subscription.subscription_id,
        attempt=2,
        due_at=datetime.now(UTC) + timedelta(hours=2),
    )
    webhooks.sqs.send_message(QueueUrl=webhooks.retry_queue_url, MessageBody=message.model_dump_json())

    # When
    result = run_retries(webhooks, lambda_context)

    # Then: it is back on the queue, delayed, and nothing was sent
    assert result == {"batchItemFailures": []}
    assert server.log == []
    assert webhooks.queued(webhooks.retry_queue_url) == 1
    assert webhooks.receive(webhooks.retry_queue_url, timeout=2) == []


def test_malformed_retry_message_fails_alone(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_ordered_request("/hook").respond_with_data("busy", status=500)
    server.expect_ordered_request("/hook").respond_with_data("ok")
    webhooks.subscribe("t1", server.url_for("/hook"))
    fan_out(webhooks, lambda_context, webhooks.put_event("t1"))
    for garbage in ("not json", json.dumps({"attempt": 0}), "x" * 300_000):
        webhooks.sqs.send_message(QueueUrl=webhooks.retry_queue_url, MessageBody=garbage[:200_000])

    messages = webhooks.receive(webhooks.retry_queue_url, 4)
    result = dict(retry_handler(sqs_event(messages), lambda_context))

    failed = {item["itemIdentifier"] for item in result["batchItemFailures"]}
    good = [m["MessageId"] for m in messages if m["Body"].startswith('{"tenant_id"')]
    assert len(failed) == 3 and good[0] not in failed
    assert len(server.log) == 2


def test_retry_arriving_before_previous_attempt_is_recorded_fails_for_redelivery(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("down", status=500)
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    event = webhooks.put_event("t1")
    fan_out(webhooks, lambda_context, event)
    [message] = webhooks.receive(webhooks.retry_queue_url)
    ahead = {**message, "Body": json.dumps({**body(message), "attempt": 3})}

    with pytest.raises(BatchProcessingError, match="not recorded yet"):
        retry_handler(sqs_event([ahead]), lambda_context)

    assert len(server.log) == 1
    assert webhooks.delivery(event, subscription).attempt_count == 1


def test_endpoint_failing_for_too_long_is_disabled_and_dead_lettered(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given: a failure streak that started six days ago (the default limit is five)
    server = receiver()
    server.expect_request("/hook").respond_with_data("down", status=500)
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    record_failure(
        webhooks.dynamodb,
        SUBSCRIPTIONS,
        "t1",
        subscription.subscription_id,
        datetime.now(UTC) - timedelta(days=6),
    )
    event = webhooks.put_event("t1")

    # When
    fan_out(webhooks, lambda_context, event)

    # Then
    stored = webhooks.subscription(subscription)
    assert stored.status == "disabled"
    assert stored.disabled_reason is not None and "failing continuously" in stored.disabled_reason
    assert webhooks.delivery(event, subscription).state == "failed"
    [letter] = webhooks.receive(webhooks.dlq_url)
    assert body(letter)["reason"].startswith("subscription disabled")
    assert webhooks.queued(webhooks.retry_queue_url) == 0


def test_success_resets_the_failure_clock(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    record_failure(
        webhooks.dynamodb,
        SUBSCRIPTIONS,
        "t1",
        subscription.subscription_id,
        datetime.now(UTC) - timedelta(days=1),
    )

    fan_out(webhooks, lambda_context, webhooks.put_event("t1"))

    assert webhooks.subscription(subscription).failing_since is None


def test_retry_after_is_honoured(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("", status=429, headers={"Retry-After": "600"})
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    event = webhooks.put_event("t1")
    before = datetime.now(UTC)

    fan_out(webhooks, lambda_context, event)

    next_attempt = datetime.fromisoformat(str(webhooks.delivery(event, subscription).next_attempt_at))
    assert next_attempt >= before + timedelta(seconds=600)


def test_retry_message_naming_another_tenant_is_skipped(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("down", status=500)
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    event = webhooks.put_event("t1")
    fan_out(webhooks, lambda_context, event)
    [message] = webhooks.receive(webhooks.retry_queue_url)
    forged = {**message, "Body": json.dumps({**body(message), "tenant_id": "t2"})}

    result = dict(retry_handler(sqs_event([forged]), lambda_context))

    assert result == {"batchItemFailures": []}
    assert len(server.log) == 1
    assert webhooks.delivery(event, subscription).attempt_count == 1


@pytest.mark.parametrize(
    "change",
    [{"due_at": "2026-01-01T00:00:00"}, {"attempt": 0}, {"event_id": ""}, {"due_at": "tomorrow"}],
)
def test_retry_message_with_invalid_fields_is_rejected(
    change: dict[str, Any], webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("down", status=500)
    webhooks.subscribe("t1", server.url_for("/hook"))
    fan_out(webhooks, lambda_context, webhooks.put_event("t1"))
    [message] = webhooks.receive(webhooks.retry_queue_url)
    invalid = {**message, "Body": json.dumps({**body(message), **change})}

    with pytest.raises(BatchProcessingError, match="malformed"):
        retry_handler(sqs_event([invalid]), lambda_context)

    assert len(server.log) == 1


def dead_letter_after_one_failing_retry(
    webhooks: Webhooks, server: HTTPServer, context: LocalLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, Any, dict[str, Any]]:
    monkeypatch.setenv("RETRY_SCHEDULE", "1s")
    clear_webhook_caches()
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    event = webhooks.put_event("t1")
    fan_out(webhooks, context, event)
    run_retries(webhooks, context)
    [letter] = webhooks.receive(webhooks.dlq_url)
    return event, subscription, letter


def test_a_dead_letter_sent_back_unchanged_is_redriven_once_and_delivered(
    webhooks: Webhooks,
    receiver: Receiver,
    lambda_context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given: a delivery in the DLQ after two failures, and an endpoint that recovered
    server = receiver()
    server.expect_ordered_request("/hook").respond_with_data("down", status=503)
    server.expect_ordered_request("/hook").respond_with_data("down", status=503)
    server.expect_ordered_request("/hook").respond_with_data("ok")
    event, subscription, letter = dead_letter_after_one_failing_retry(
        webhooks, server, lambda_context, monkeypatch
    )

    # When: the letter's body goes back to the retry queue as it is, twice (SQS redrive is at-least-once)
    first = dict(retry_handler(sqs_event([letter]), lambda_context))
    second = dict(retry_handler(sqs_event([{**letter, "MessageId": "copy"}]), lambda_context))
    # ... and the retry function takes the attempt each redrive queued
    queued = webhooks.receive(webhooks.retry_queue_url)
    third = dict(retry_handler(sqs_event(queued), lambda_context))

    # Then: one attempt queued and made
    assert first == second == third == {"batchItemFailures": []}
    assert len(queued) == 1
    assert len(server.log) == 3
    delivery = webhooks.delivery(event, subscription)
    assert (delivery.state, [a.status_code for a in delivery.attempts]) == ("delivered", [503, 503, 200])
    assert webhooks.queued(webhooks.dlq_url) == 0


def test_a_dead_letter_sent_back_to_the_retry_queue_is_audited_once(
    webhooks: Webhooks,
    receiver: Receiver,
    lambda_context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given: a delivery in the DLQ
    server = receiver()
    server.expect_request("/hook").respond_with_data("down", status=503)
    event, subscription, letter = dead_letter_after_one_failing_retry(
        webhooks, server, lambda_context, monkeypatch
    )

    # When: its letter is sent back to the retry queue twice (SQS redrive is at-least-once)
    retry_handler(sqs_event([letter]), lambda_context)
    retry_handler(sqs_event([{**letter, "MessageId": "copy"}]), lambda_context)

    # Then: the tenant's audit trail has the one redrive that reopened the delivery
    records = list_changes(webhooks.dynamodb, get_settings().audit_table, "t1", AuditQuery()).data
    assert [(r.action, r.actor, r.resource_id) for r in records] == [
        ("delivery.redrive", "system:retry-queue-redrive", f"{event.event_id}/{subscription.subscription_id}")
    ]
    assert records[0].before == {"state": "failed", "attempt_count": 2}


def test_a_redriven_dead_letter_that_fails_again_returns_to_the_dlq(
    webhooks: Webhooks,
    receiver: Receiver,
    lambda_context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("still down", status=503)
    event, subscription, letter = dead_letter_after_one_failing_retry(
        webhooks, server, lambda_context, monkeypatch
    )

    assert dict(retry_handler(sqs_event([letter]), lambda_context)) == {"batchItemFailures": []}
    queued = webhooks.receive(webhooks.retry_queue_url)
    assert dict(retry_handler(sqs_event(queued), lambda_context)) == {"batchItemFailures": []}

    [again] = webhooks.receive(webhooks.dlq_url)
    assert [a["status_code"] for a in body(again)["attempts"]] == [503, 503, 503]
    assert webhooks.delivery(event, subscription).state == "failed"


def test_two_copies_of_one_retry_message_in_one_batch_send_once(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given: a slow endpoint, so both copies are in flight together
    server = receiver()
    server.expect_ordered_request("/hook").respond_with_data("busy", status=500)
    server.expect_request("/hook").respond_with_handler(_slow_ok)
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    event = webhooks.put_event("t1")
    fan_out(webhooks, lambda_context, event)
    [message] = webhooks.receive(webhooks.retry_queue_url)

    # When: SQS hands both copies to one invocation
    result = dict(retry_handler(sqs_event([message, {**message, "MessageId": "copy"}]), lambda_context))

    # Then
    assert result == {"batchItemFailures": []}
    assert len(server.log) == 2
    assert webhooks.delivery(event, subscription).attempt_count == 2


def _slow_ok(request: Any) -> Any:
    import time

    from werkzeug import Response

    time.sleep(0.5)
    return Response("ok")


def test_a_failed_status_update_after_a_successful_retry_is_repaired_by_the_redelivery(
    webhooks: Webhooks,
    receiver: Receiver,
    lambda_context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given: the retry delivers, then the event's status update fails
    server = receiver()
    server.expect_ordered_request("/hook").respond_with_data("busy", status=500)
    server.expect_ordered_request("/hook").respond_with_data("ok")
    webhooks.subscribe("t1", server.url_for("/hook"))
    event = webhooks.put_event("t1")
    fan_out(webhooks, lambda_context, event)
    [message] = webhooks.receive(webhooks.retry_queue_url)
    real_mark = events_table.mark_delivered

    def unavailable(*args: Any, **kwargs: Any) -> None:
        raise StoreUnavailable("events table update failed: injected")

    monkeypatch.setattr(events_table, "mark_delivered", unavailable)
    with pytest.raises(BatchProcessingError):
        retry_handler(sqs_event([message]), lambda_context)
    assert webhooks.event(event).status == "pending"

    # When: SQS redelivers the message
    monkeypatch.setattr(events_table, "mark_delivered", real_mark)
    result = dict(retry_handler(sqs_event([message]), lambda_context))

    # Then: nothing is sent again and the event is delivered
    assert result == {"batchItemFailures": []}
    assert len(server.log) == 2
    assert webhooks.event(event).status == "delivered"


def test_a_dead_letter_naming_another_tenants_delivery_changes_nothing(
    webhooks: Webhooks,
    receiver: Receiver,
    lambda_context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("down", status=503)
    event, subscription, letter = dead_letter_after_one_failing_retry(
        webhooks, server, lambda_context, monkeypatch
    )
    forged = {**letter, "Body": json.dumps({**body(letter), "tenant_id": "t2"})}

    assert dict(retry_handler(sqs_event([forged]), lambda_context)) == {"batchItemFailures": []}

    assert webhooks.delivery(event, subscription).state == "failed"
    assert webhooks.queued(webhooks.retry_queue_url) == 0


@pytest.mark.parametrize("gone", ["event", "subscription"])
def test_a_delivery_whose_event_or_subscription_is_deleted_mid_retry_is_closed(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext, gone: str
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("busy", status=500)
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    event = webhooks.put_event("t1")
    fan_out(webhooks, lambda_context, event)
    if gone == "event":
        events_table.delete_event(webhooks.dynamodb, STAGE_TABLE.format("events"), "t1", event.event_id)
    else:
        delete_subscription(webhooks.dynamodb, SUBSCRIPTIONS, "t1", subscription.subscription_id)

    assert run_retries(webhooks, lambda_context) == {"batchItemFailures": []}

    delivery = webhooks.delivery(event, subscription)
    assert delivery.state == "failed"
    assert delivery.attempts[-1].error is not None and delivery.attempts[-1].error.startswith("not sent")
    assert len(server.log) == 1
