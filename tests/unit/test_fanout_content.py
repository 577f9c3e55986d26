"""Content filters and custom headers in the fanout and retry functions (moto, real receivers)."""

import json
from collections.abc import Callable
from typing import Any

import pytest
import svix.webhooks
from pytest_httpserver import HTTPServer

from devtools.runner.lambda_context import LocalLambdaContext
from ingest.core import subscriptions_table
from ingest.core.errors import DeliveryNotFound
from ingest.core.subscriptions_table import SubscriptionItem, create_subscription
from processors.fanout.handler import lambda_handler as fanout_handler
from processors.retry.handler import lambda_handler as retry_handler
from tests.unit.webhooks_support import STAGE_TABLE, Webhooks, sqs_event

Receiver = Callable[[], HTTPServer]
SUBSCRIPTIONS = STAGE_TABLE.format("subscriptions")
LARGE = {"payload": {"amount": [{"numeric": [">", 100]}]}}
TOKEN = "Bearer 0123456789abcdef0123"


def fan_out(webhooks: Webhooks, context: LocalLambdaContext, *events: Any) -> None:
    assert dict(fanout_handler(webhooks.stream_event(*events), context)) == {"batchItemFailures": []}


def subscribe(
    webhooks: Webhooks,
    url: str,
    *,
    filter_: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> SubscriptionItem:
    subscription, secret = create_subscription(
        webhooks.dynamodb,
        SUBSCRIPTIONS,
        "t1",
        url,
        ["*"],
        webhooks.key,
        fields={"filter": json.dumps(filter_)} if filter_ else None,
        headers=headers,
    )
    webhooks.secrets[subscription.subscription_id] = secret
    return subscription


def ok_server(receiver: Receiver) -> HTTPServer:
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    return server


def amounts(server: HTTPServer) -> list[Any]:
    return [json.loads(request.get_data())["data"]["amount"] for request, _ in server.log]


def test_a_filtered_subscription_receives_only_matching_events_and_has_no_record_of_the_others(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given one subscription filtering on amount > 100 and one without a filter
    filtered, everything = ok_server(receiver), ok_server(receiver)
    large = subscribe(webhooks, filtered.url_for("/hook"), filter_=LARGE)
    subscribe(webhooks, everything.url_for("/hook"))
    events = [
        webhooks.put_event("t1", payload=json.dumps({"amount": amount})) for amount in (50, 150, 100, 101.5)
    ]

    # When the batch is fanned out
    fan_out(webhooks, lambda_context, *events)

    # Then the filtered one received the matching events, in order, and nothing else
    assert amounts(filtered) == [150, 101.5]
    assert amounts(everything) == [50, 150, 100, 101.5]
    assert webhooks.delivery(events[1], large).state == "delivered"
    with pytest.raises(DeliveryNotFound):
        webhooks.delivery(events[0], large)


def test_a_filter_set_by_patch_applies_to_the_next_event_with_the_cache_warm(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given a subscriber that received an event (the cache holds it)
    server = ok_server(receiver)
    subscription = subscribe(webhooks, server.url_for("/hook"))
    fan_out(webhooks, lambda_context, webhooks.put_event("t1", payload='{"amount": 1}'))

    # When a filter is set, then events are accepted
    subscriptions_table.update_subscription(
        webhooks.dynamodb,
        SUBSCRIPTIONS,
        "t1",
        subscription.subscription_id,
        {"filter": json.dumps(LARGE)},
        webhooks.key,
    )
    fan_out(
        webhooks,
        lambda_context,
        webhooks.put_event("t1", payload='{"amount": 2}'),
        webhooks.put_event("t1", payload='{"amount": 200}'),
    )

    # Then only the matching one reached it
    assert amounts(server) == [1, 200]


def test_custom_headers_are_sent_with_every_attempt_and_a_patch_applies_to_the_next(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given a subscriber with an Authorization header whose endpoint fails once
    server = receiver()
    server.expect_ordered_request("/hook").respond_with_data("busy", status=500)
    server.expect_request("/hook").respond_with_data("ok")
    subscription = subscribe(
        webhooks, server.url_for("/hook"), headers={"Authorization": TOKEN, "X-Team": "a"}
    )
    fan_out(webhooks, lambda_context, webhooks.put_event("t1"))

    # When the retry runs
    [message] = webhooks.receive(webhooks.retry_queue_url)
    assert dict(retry_handler(sqs_event([message]), lambda_context)) == {"batchItemFailures": []}

    # Then both attempts carried the headers, and the signature still verifies
    assert [(r.headers["Authorization"], r.headers["X-Team"]) for r, _ in server.log] == [(TOKEN, "a")] * 2
    for request, _ in server.log:
        svix.webhooks.Webhook(webhooks.secret_of(subscription)).verify(
            request.get_data(as_text=True), dict(request.headers)
        )

    # And when the headers are patched (the cache is warm), the next event carries the new ones
    subscriptions_table.update_subscription(
        webhooks.dynamodb,
        SUBSCRIPTIONS,
        "t1",
        subscription.subscription_id,
        {"headers": {"authorization": "Basic dXNlcjpwYXNz", "X-Team": None}},
        webhooks.key,
    )
    fan_out(webhooks, lambda_context, webhooks.put_event("t1"))
    latest = server.log[-1][0]
    assert latest.headers["Authorization"] == "Basic dXNlcjpwYXNz"
    assert "X-Team" not in latest.headers


def test_an_unreadable_custom_header_fails_the_attempt_not_the_stream(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given a header whose ciphertext belongs to another subscription (KMS refuses its context)
    server = ok_server(receiver)
    donor = subscribe(webhooks, server.url_for("/other"), headers={"Authorization": TOKEN})
    subscription = subscribe(webhooks, server.url_for("/hook"))
    stolen = donor.model_dump()["custom_headers"]
    webhooks.dynamodb.update_item(
        TableName=SUBSCRIPTIONS,
        Key=subscriptions_table._key("t1", subscription.subscription_id),
        UpdateExpression="SET custom_headers = :h",
        ExpressionAttributeValues={":h": subscriptions_table._serializer.serialize(stolen)},
    )
    subscriptions_table.delete_subscription(webhooks.dynamodb, SUBSCRIPTIONS, "t1", donor.subscription_id)
    event = webhooks.put_event("t1")

    # When
    fan_out(webhooks, lambda_context, event)

    # Then nothing was sent, and the attempt is scheduled for retry
    assert server.log == []
    delivery = webhooks.delivery(event, subscription)
    assert delivery.state == "retrying"
    assert "CredentialUnreadable" in (delivery.attempts[0].error or "")
