"""DynamoDB and SQS failing under the handlers: partial batch failures, OnFailure records, redrive."""

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from devtools.dlq.letters import peek
from devtools.invariant import Outcomes
from devtools.receiver import Faults, Receiver
from devtools.stack import EmbeddedStack
from ingest.core.clients import dynamodb_client, sqs_client
from ingest.core.settings import get_settings
from tests.e2e.conftest import Configure, subscribe, wait_until
from tests.e2e.faults import (
    InjectedFailures,
    Subscribed,
    accept,
    assert_no_loss,
    failing_calls,
    losing_responses,
    poller_of,
    record_responses,
)
from tests.integration.cli_support import triggers
from tests.integration.conftest import ApiClient

pytestmark = pytest.mark.e2e

FANOUT = "processors.fanout.handler.lambda_handler"


def read_back_of(event_id: str) -> Callable[[dict[str, Any]], bool]:
    """The deliveries-table read with which the fanout learns what a batch already recorded."""

    def matches(params: dict[str, Any]) -> bool:
        keys = params.get("RequestItems", {}).get(get_settings().deliveries_table, {}).get("Keys", [])
        return any(key["event_id"]["S"] == event_id for key in keys)

    return matches


def records_of(event_id: str) -> Callable[[dict[str, Any]], bool]:
    """The deliveries-table batch write that records a batch's attempts, `event_id`'s among them."""

    def matches(params: dict[str, Any]) -> bool:
        requests = params.get("RequestItems", {}).get(get_settings().deliveries_table, [])
        return any(request["PutRequest"]["Item"]["event_id"]["S"] == event_id for request in requests)

    return matches


def status_update_of(event_id: str) -> Callable[[dict[str, Any]], bool]:
    """The events-table update that marks `event_id` delivered."""

    def matches(params: dict[str, Any]) -> bool:
        return (
            params.get("TableName") == get_settings().events_table
            and params["Key"]["event_id"]["S"] == event_id
            and ":delivered" in params.get("ExpressionAttributeValues", {})
        )

    return matches


def test_a_failing_read_back_fails_the_batch_before_anything_is_sent_and_the_retry_delivers_once(
    api: ApiClient,
    configure: Configure,
    stack: EmbeddedStack,
    aws_client: Callable[[str], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    responses = record_responses(poller_of(stack, FANOUT), monkeypatch)
    with Receiver() as receiver:
        subscribed = [Subscribed(api, subscribe(api, receiver.url, ["*"]), receiver)]
        # Given DynamoDB failing twice to read back the deliveries of a batch of five
        events: list[Any] = []
        failures = InjectedFailures(
            when=lambda params: bool(events) and read_back_of(events[2].event_id)(params), times=2
        )
        with failing_calls(dynamodb_client(), "BatchGetItem", failures):
            # When the five are posted in one batch
            events += accept(api, "order.created", 5)

            # Then the stream retries the batch, and all five arrive once, in order
            assert_no_loss(stack, aws_client, events, subscribed, expected=Outcomes(delivered=5))
    assert failures.injected == 2
    assert responses.failed_invocations >= 1
    assert [d.webhook_id for d in receiver.deliveries] == [event.event_id for event in events]


def test_a_failing_retry_queue_send_is_retried_by_the_stream_without_losing_the_delivery(
    api: ApiClient, configure: Configure, stack: EmbeddedStack, aws_client: Callable[[str], Any]
) -> None:
    configure(RETRY_SCHEDULE="1s,1s")
    retry_queue = get_settings().retry_queue_url
    # (the receiver recovers by itself: a reset by the test could come after the 1 s retry)
    with Receiver(faults=Faults(fail_rate=1.0, max_failures_per_id=2)) as receiver:
        subscribed = [Subscribed(api, subscribe(api, receiver.url, ["*"]), receiver)]
        # Given a receiver answering 500 twice and SQS refusing this event's first retry message
        # (only this event's: earlier tests' retries may still go through the same client)
        events: list[Any] = []
        failures = InjectedFailures(
            when=lambda params: (
                params.get("QueueUrl") == retry_queue
                and bool(events)
                and json.loads(params["MessageBody"])["event_id"] == events[0].event_id
            ),
            times=1,
        )
        with failing_calls(sqs_client(), "SendMessage", failures):
            # When an event is posted (the endpoint recovers after its second 500)
            events += accept(api, "order.created", 1)

            # Then the delivery is retried and recorded once
            assert_no_loss(stack, aws_client, events, subscribed, expected=Outcomes(delivered=1))
    assert failures.injected == 1
    assert [d.status for d in receiver.deliveries] == [500, 500, 200]


def test_a_crash_after_sending_resends_with_the_same_webhook_id_and_records_one_delivery(
    api: ApiClient, configure: Configure, stack: EmbeddedStack, aws_client: Callable[[str], Any]
) -> None:
    with Receiver() as receiver:
        subscribed = [Subscribed(api, subscribe(api, receiver.url, ["*"]), receiver)]
        # Given DynamoDB failing once to record a successful attempt (sent, but not written down)
        events: list[Any] = []
        failures = InjectedFailures(
            when=lambda params: bool(events) and records_of(events[0].event_id)(params), times=1
        )
        with failing_calls(dynamodb_client(), "BatchWriteItem", failures):
            events += accept(api, "order.created", 1)

            # Then it is sent again (at-least-once) with the same webhook-id, and recorded delivered once
            assert_no_loss(
                stack,
                aws_client,
                events,
                subscribed,
                expected=Outcomes(delivered=1),
                receiver_duplicates_allowed=1,
            )
    assert failures.injected == 1
    assert [(d.webhook_id, d.status) for d in receiver.deliveries] == [(events[0].event_id, 200)] * 2


def test_a_write_that_commits_but_whose_response_is_lost_is_not_resent(
    api: ApiClient, configure: Configure, stack: EmbeddedStack, aws_client: Callable[[str], Any]
) -> None:
    with Receiver() as receiver:
        subscribed = [Subscribed(api, subscribe(api, receiver.url, ["*"]), receiver)]
        # Given the delivery records written, but the answer to the write lost on the way back
        events: list[Any] = []
        failures = InjectedFailures(
            when=lambda params: bool(events) and records_of(events[0].event_id)(params), times=1
        )
        with losing_responses(dynamodb_client(), "BatchWriteItem", failures):
            events += accept(api, "order.created", 3)

            # Then the stream retries the batch, reads the records back, and sends nothing twice
            assert_no_loss(stack, aws_client, events, subscribed, expected=Outcomes(delivered=3))
    assert failures.injected == 1
    assert [d.webhook_id for d in receiver.deliveries] == [event.event_id for event in events]


def stream_letters(sqs: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(message, its parsed body) of each OnFailure record in the stream DLQ; other tests of the
    session's stack may leave malformed letters there, which are skipped."""
    letters = []
    for message in peek(sqs, stream_dlq_url(sqs), 1000):
        try:
            letter = json.loads(message["Body"])
        except ValueError:
            continue
        if isinstance(letter, dict) and isinstance(letter.get("DDBStreamBatchInfo"), dict):
            letters.append((message, letter))
    return letters


def stream_failures(sqs: Any, function_name: str) -> list[dict[str, Any]]:
    """The function's OnFailure records in the stream DLQ."""
    return [
        letter
        for _, letter in stream_letters(sqs)
        if str(letter.get("requestContext", {}).get("functionArn", "")).endswith(f":{function_name}")
    ]


def stream_dlq_url(sqs: Any) -> str:
    return str(sqs.get_queue_url(QueueName=f"triggers-{get_settings().stage}-stream-dlq")["QueueUrl"])


def test_a_batch_failing_past_its_retries_goes_to_the_stream_dlq_and_redrives_cleanly(
    api: ApiClient,
    configure: Configure,
    stack: EmbeddedStack,
    aws_client: Callable[[str], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    poller = poller_of(stack, FANOUT)
    # The runner's backoff shortened so that its ten retries take a second or two.
    monkeypatch.setattr(poller, "tuning", replace(poller.tuning, retry_base_delay=0.05, retry_max_delay=0.2))
    responses = record_responses(poller, monkeypatch)
    sqs = aws_client("sqs")
    with Receiver() as receiver:
        subscribed = [Subscribed(api, subscribe(api, receiver.url, ["*"]), receiver)]
        # Given DynamoDB refusing every status update of the second of three events
        events: list[Any] = []
        failures = InjectedFailures(
            when=lambda params: bool(events) and status_update_of(events[1].event_id)(params)
        )
        with failing_calls(dynamodb_client(), "UpdateItem", failures):
            events += accept(api, "order.created", 3)

            # When the stream's retries run out (the batch bisected down to the failing record)
            def failure_record() -> dict[str, Any] | None:
                for failure in stream_failures(sqs, poller.spec.function_name):
                    info = failure["DDBStreamBatchInfo"]
                    if info["batchSize"] == 1:
                        return failure
                return None

            failure = wait_until(failure_record, "the OnFailure record", timeout=90)
            assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
            assert responses.failed_invocations >= 1

        # Then, with DynamoDB healthy again, the redrive marks the event delivered and sends nothing twice
        target = failure["DDBStreamBatchInfo"]["startSequenceNumber"]
        [letter] = [
            message
            for message, body in stream_letters(sqs)
            if body["DDBStreamBatchInfo"].get("startSequenceNumber") == target
        ]
        assert triggers(stack, "dlq", "redrive", letter["MessageId"], "--invoke", "local") == 0
        assert_no_loss(stack, aws_client, events, subscribed, expected=Outcomes(delivered=3))
    # Every delivery was recorded before the status update failed: each was sent once, in order
    assert [d.webhook_id for d in receiver.deliveries] == [event.event_id for event in events]
    assert api.get(f"/v1/events/{events[1].event_id}").json()["status"] == "delivered"
    assert not [
        f
        for f in stream_failures(sqs, poller.spec.function_name)
        if f["DDBStreamBatchInfo"]["startSequenceNumber"] == target
    ]


def test_a_failed_status_update_is_retried_until_the_event_reads_delivered(
    api: ApiClient, configure: Configure, stack: EmbeddedStack, aws_client: Callable[[str], Any]
) -> None:
    with Receiver() as receiver:
        subscribed = [Subscribed(api, subscribe(api, receiver.url, ["*"]), receiver)]
        # Given DynamoDB failing once to mark this delivered event `delivered` (only this one:
        # earlier tests' work may still update the events table through the same client)
        events: list[Any] = []
        failures = InjectedFailures(
            when=lambda params: bool(events) and status_update_of(events[0].event_id)(params), times=1
        )
        with failing_calls(dynamodb_client(), "UpdateItem", failures):
            events += accept(api, "order.created", 1)

            # Then the stream retry marks it, and it is delivered once
            assert_no_loss(stack, aws_client, events, subscribed, expected=Outcomes(delivered=1))
            wait_until(
                lambda: api.get(f"/v1/events/{events[0].event_id}").json()["status"] == "delivered",
                "the event's status delivered",
                timeout=30,
            )
    assert failures.injected == 1
    assert len(receiver.deliveries) == 1
