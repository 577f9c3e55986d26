"""The fanout handler against moto and real local HTTP receivers."""

import io
import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import standardwebhooks
import svix.webhooks
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError, ConnectionClosedError
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from devtools.runner.lambda_context import LocalLambdaContext
from ingest.core import deliveries_table, subscriptions_table
from ingest.core.clients import dynamodb_client, sqs_client
from ingest.core.observability import logger
from processors.fanout.handler import lambda_handler
from processors.fanout.logic import SubscriptionCache
from tests.unit.webhooks_support import STAGE_TABLE, Webhooks, body, clear_webhook_caches, set_read_timeout

SUBSCRIPTIONS = STAGE_TABLE.format("subscriptions")

Receiver = Callable[[], HTTPServer]


def invoke(webhooks: Webhooks, context: LocalLambdaContext, *events: Any) -> dict[str, Any]:
    return dict(lambda_handler(webhooks.stream_event(*events), context))


def test_delivery_is_signed_and_verifies_with_standardwebhooks_and_svix(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given
    server = receiver()
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    event = webhooks.put_event("t1", payload='{ "amount" : 1.50,  "tags": ["a"] }')

    # When
    result = invoke(webhooks, lambda_context, event)

    # Then
    assert result == {"batchItemFailures": []}
    request, _ = server.log[0]
    raw = request.get_data(as_text=True)
    headers = dict(request.headers)
    secret = webhooks.secret_of(subscription)
    assert standardwebhooks.Webhook(secret).verify(raw, headers)["data"] == {
        "amount": 1.5,
        "tags": ["a"],
    }
    svix.webhooks.Webhook(secret).verify(raw, headers)
    assert request.headers["webhook-id"] == event.event_id
    assert raw.endswith(',"data":{ "amount" : 1.50,  "tags": ["a"] }}')
    assert json.loads(raw)["type"] == "order.created"


def test_successful_delivery_is_recorded_and_event_marked_delivered(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    event = webhooks.put_event("t1")

    invoke(webhooks, lambda_context, event)

    delivery = webhooks.delivery(event, subscription)
    assert (delivery.state, delivery.attempt_count, delivery.attempts[0].status_code) == ("delivered", 1, 200)
    assert webhooks.event(event).status == "delivered"
    assert webhooks.queued(webhooks.retry_queue_url) == 0


def test_event_goes_to_every_matching_subscriber(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    servers = [receiver() for _ in range(8)]
    for server in servers:
        server.expect_request("/hook").respond_with_data("ok")
        webhooks.subscribe("t1", server.url_for("/hook"))
    event = webhooks.put_event("t1")

    invoke(webhooks, lambda_context, event)

    assert [len(server.log) for server in servers] == [1] * 8
    for server in servers:
        assert server.log[0][0].headers["webhook-id"] == event.event_id


def test_only_subscribed_event_types_are_delivered(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    orders, users = receiver(), receiver()
    for server in (orders, users):
        server.expect_request("/hook").respond_with_data("ok")
    webhooks.subscribe("t1", orders.url_for("/hook"), ["order.created"])
    webhooks.subscribe("t1", users.url_for("/hook"), ["user.created"])

    invoke(
        webhooks, lambda_context, webhooks.put_event("t1", "order.created"), webhooks.put_event("t1", "other")
    )

    assert [json.loads(r.get_data())["type"] for r, _ in orders.log] == ["order.created"]
    assert users.log == []


def test_other_tenants_subscriptions_get_nothing(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    webhooks.subscribe("t2", server.url_for("/hook"))

    result = invoke(webhooks, lambda_context, webhooks.put_event("t1"))

    assert result == {"batchItemFailures": []}
    assert server.log == []


def test_events_reach_one_subscriber_in_stream_order(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    webhooks.subscribe("t1", server.url_for("/hook"))
    events = [webhooks.put_event("t1", payload=f'{{"n": {n}}}') for n in range(6)]

    invoke(webhooks, lambda_context, *events)

    assert [r.headers["webhook-id"] for r, _ in server.log] == [e.event_id for e in events]


def test_failed_delivery_is_scheduled_for_retry_without_failing_the_record(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given
    server = receiver()
    server.expect_request("/hook").respond_with_data("boom", status=500)
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    event = webhooks.put_event("t1")

    # When
    result = invoke(webhooks, lambda_context, event)

    # Then
    assert result == {"batchItemFailures": []}
    delivery = webhooks.delivery(event, subscription)
    assert (delivery.state, delivery.attempt_count) == ("retrying", 1)
    assert delivery.attempts[0].status_code == 500
    assert delivery.attempts[0].error == "HTTP 500: boom"
    assert delivery.next_attempt_at is not None
    [message] = webhooks.receive(webhooks.retry_queue_url)
    assert body(message) | {"due_at": None} == {
        "tenant_id": "t1",
        "event_id": event.event_id,
        "subscription_id": subscription.subscription_id,
        "attempt": 2,
        "due_at": None,
    }
    assert webhooks.subscription(subscription).failing_since is not None


@pytest.mark.parametrize("status", [301, 302, 400, 404, 429, 503])
def test_non_2xx_status_is_a_failed_attempt(
    status: int, webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("", status=status, headers={"Location": "/other"})
    server.expect_request("/other").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    event = webhooks.put_event("t1")

    invoke(webhooks, lambda_context, event)

    assert webhooks.delivery(event, subscription).state == "retrying"
    assert [r.path for r, _ in server.log] == ["/hook"]


def test_gone_disables_subscription_and_stops_deliveries(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given
    server = receiver()
    server.expect_request("/hook").respond_with_data("", status=410)
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    first, second = webhooks.put_event("t1"), webhooks.put_event("t1")

    # When
    invoke(webhooks, lambda_context, first, second)
    invoke(webhooks, lambda_context, webhooks.put_event("t1"))

    # Then
    assert len(server.log) == 1
    assert webhooks.delivery(first, subscription).state == "gone"
    stored = webhooks.subscription(subscription)
    assert stored.status == "disabled"
    assert stored.disabled_reason is not None and "410" in stored.disabled_reason
    assert webhooks.queued(webhooks.retry_queue_url) == 0


def test_blocked_destination_is_a_failed_attempt_not_a_pipeline_failure(
    webhooks: Webhooks, lambda_context: LocalLambdaContext
) -> None:
    subscription = webhooks.subscribe("t1", "http://169.254.169.254/latest/meta-data")
    event = webhooks.put_event("t1")

    result = invoke(webhooks, lambda_context, event)

    assert result == {"batchItemFailures": []}
    delivery = webhooks.delivery(event, subscription)
    assert delivery.state == "retrying"
    assert delivery.attempts[0].error is not None and "metadata" in delivery.attempts[0].error


def test_stream_retry_of_half_delivered_batch_does_not_resend(
    webhooks: Webhooks,
    receiver: Receiver,
    lambda_context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given: the first invocation delivers the first event, then SQS fails for the second one
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    failing = receiver()
    failing.expect_request("/hook").respond_with_data("no", status=500)
    ok_subscription = webhooks.subscribe("t1", server.url_for("/hook"), ["order.created"])
    failing_subscription = webhooks.subscribe("t1", failing.url_for("/hook"), ["order.failed"])
    delivered, retried = webhooks.put_event("t1"), webhooks.put_event("t1", "order.failed")
    batch = webhooks.stream_event(delivered, retried)
    real_send = webhooks.sqs.send_message
    sqs = sqs_client()
    monkeypatch.setattr(sqs, "send_message", _raise_client_error)
    first = dict(lambda_handler(batch, lambda_context))
    assert first == {
        "batchItemFailures": [{"itemIdentifier": batch["Records"][1]["dynamodb"]["SequenceNumber"]}]
    }
    monkeypatch.setattr(sqs, "send_message", real_send)

    # When: the stream retries the same batch
    second = dict(lambda_handler(batch, lambda_context))

    # Then
    assert second == {"batchItemFailures": []}
    assert len(server.log) == 1
    assert len(failing.log) == 2
    assert webhooks.delivery(delivered, ok_subscription).attempt_count == 1
    assert webhooks.delivery(retried, failing_subscription).attempt_count == 1
    assert len(webhooks.receive(webhooks.retry_queue_url)) == 1


def test_replayed_batch_after_success_sends_nothing(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    webhooks.subscribe("t1", server.url_for("/hook"))
    batch = webhooks.stream_event(webhooks.put_event("t1"), webhooks.put_event("t1"))

    lambda_handler(batch, lambda_context)
    lambda_handler(batch, lambda_context)

    assert len(server.log) == 2


def test_subscriber_that_hangs_does_not_hold_back_the_others(
    webhooks: Webhooks,
    receiver: Receiver,
    lambda_context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given: the slow receiver answers only once the fast one has been served (or after 10 s),
    # well within the functions' read timeout
    set_read_timeout(monkeypatch, 30)
    slow, fast = receiver(), receiver()
    fast_served = threading.Event()
    seen_while_waiting: list[bool] = []

    def wait_for_fast(request: Request) -> Response:
        seen_while_waiting.append(fast_served.wait(10))
        return Response("ok")

    def serve_fast(request: Request) -> Response:
        fast_served.set()
        return Response("ok")

    slow.expect_request("/hook").respond_with_handler(wait_for_fast)
    fast.expect_request("/hook").respond_with_handler(serve_fast)
    slow_subscription = webhooks.subscribe("t1", slow.url_for("/hook"))
    fast_subscription = webhooks.subscribe("t1", fast.url_for("/hook"))
    event = webhooks.put_event("t1")

    # When
    invoke(webhooks, lambda_context, event)

    # Then: the fast one was served while the slow one was still waiting
    assert seen_while_waiting == [True]
    assert webhooks.delivery(event, fast_subscription).state == "delivered"
    assert webhooks.delivery(event, slow_subscription).state == "delivered"


def test_subscriber_past_its_timeout_is_retried_and_others_delivered(
    webhooks: Webhooks,
    receiver: Receiver,
    lambda_context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given
    set_read_timeout(monkeypatch, 2)
    hanging, healthy = receiver(), receiver()
    release = threading.Event()

    def hang(request: Request) -> Response:
        release.wait(30)
        return Response("late")

    hanging.expect_request("/hook").respond_with_handler(hang)
    healthy.expect_request("/hook").respond_with_data("ok")
    hanging_subscription = webhooks.subscribe("t1", hanging.url_for("/hook"))
    healthy_subscription = webhooks.subscribe("t1", healthy.url_for("/hook"))
    event = webhooks.put_event("t1")

    # When
    result = invoke(webhooks, lambda_context, event)
    release.set()

    # Then
    assert result == {"batchItemFailures": []}
    assert webhooks.delivery(event, healthy_subscription).state == "delivered"
    stuck = webhooks.delivery(event, hanging_subscription)
    assert stuck.state == "retrying"
    assert stuck.attempts[0].status_code is None
    assert stuck.attempts[0].error is not None and "Timeout" in stuck.attempts[0].error


def test_dynamodb_failure_fails_the_batch_for_the_stream_to_retry(
    webhooks: Webhooks,
    receiver: Receiver,
    lambda_context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    webhooks.subscribe("t1", server.url_for("/hook"))
    monkeypatch.setenv("DELIVERIES_TABLE", "missing-table")
    clear_webhook_caches()
    batch = webhooks.stream_event(webhooks.put_event("t1"))

    with pytest.raises(BatchProcessingError):
        lambda_handler(batch, lambda_context)

    assert server.log == []


def test_malformed_stream_record_is_skipped(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    webhooks.subscribe("t1", server.url_for("/hook"))
    batch = webhooks.stream_event(webhooks.put_event("t1"))
    batch["Records"].insert(
        0, {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "1", "NewImage": {"x": {"S": "y"}}}}
    )

    result = dict(lambda_handler(batch, lambda_context))

    assert result == {"batchItemFailures": []}
    assert len(server.log) == 1


def _raise_client_error(**kwargs: Any) -> None:
    raise ClientError({"Error": {"Code": "InternalError", "Message": "down"}}, "SendMessage")


def test_unresponsive_endpoint_costs_one_timeout_per_batch(
    webhooks: Webhooks,
    receiver: Receiver,
    lambda_context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given
    set_read_timeout(monkeypatch, 2)
    server = receiver()
    release = threading.Event()

    def hang(request: Request) -> Response:
        release.wait(30)
        return Response("late")

    server.expect_request("/hook").respond_with_handler(hang)
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    events = [webhooks.put_event("t1") for _ in range(3)]

    # When
    result = invoke(webhooks, lambda_context, *events)
    release.set()

    # Then
    assert result == {"batchItemFailures": []}
    assert len(server.log) <= 1
    deliveries = [webhooks.delivery(event, subscription) for event in events]
    assert [d.state for d in deliveries] == ["retrying"] * 3
    assert all(str(d.attempts[0].error).startswith("not sent") for d in deliveries[1:])
    assert len(webhooks.receive(webhooks.retry_queue_url, 3)) == 3


def test_plain_http_is_refused_outside_local_stages(
    webhooks: Webhooks,
    receiver: Receiver,
    lambda_context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    # A deployed stage cannot allow loopback (the settings refuse it); the scheme is checked first.
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("ALLOW_LOOPBACK_WEBHOOKS", "false")
    clear_webhook_caches()
    event = webhooks.put_event("t1")

    invoke(webhooks, lambda_context, event)

    assert server.log == []
    assert "https" in str(webhooks.delivery(event, subscription).attempts[0].error)


def test_loopback_is_refused_unless_allowed(
    webhooks: Webhooks,
    receiver: Receiver,
    lambda_context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    monkeypatch.setenv("ALLOW_LOOPBACK_WEBHOOKS", "false")
    clear_webhook_caches()
    event = webhooks.put_event("t1")

    invoke(webhooks, lambda_context, event)

    assert server.log == []
    assert "loopback" in str(webhooks.delivery(event, subscription).attempts[0].error)


def test_both_secrets_sign_while_a_secret_is_rotated(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    old = webhooks.secret_of(subscription)
    new = webhooks.secret_of(webhooks.rotate(subscription))

    invoke(webhooks, lambda_context, webhooks.put_event("t1"))

    request, _ = server.log[0]
    raw, headers = request.get_data(as_text=True), dict(request.headers)
    assert len(headers["Webhook-Signature"].split(" ")) == 2
    svix.webhooks.Webhook(old).verify(raw, headers)
    standardwebhooks.Webhook(new).verify(raw, headers)


def test_logs_carry_ids_but_no_secret_or_bodies(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext, log_lines: io.StringIO
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("receiver-body-secret-ish", status=500)
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    event = webhooks.put_event("t1", payload='{"card": "4111-payload-marker"}')

    invoke(webhooks, lambda_context, event)

    logs = log_lines.getvalue()
    assert event.event_id in logs and subscription.subscription_id in logs
    for secret in (webhooks.secret_of(subscription), "4111-payload-marker", "receiver-body-secret-ish"):
        assert secret not in logs


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything the Powertools logger writes during a test, formatted as in Lambda."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    yield buffer
    logger.removeHandler(handler)


def test_large_payload_is_delivered_byte_for_byte(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    webhooks.subscribe("t1", server.url_for("/hook"))
    payload = '{"blob": "' + "é\\n" * 20_000 + '",  "n": 1.000}'

    invoke(webhooks, lambda_context, webhooks.put_event("t1", payload=payload))

    assert server.log[0][0].get_data(as_text=True).endswith(',"data":' + payload + "}")


def test_subscription_cache_reuses_a_tenants_list_while_its_version_is_unchanged(
    webhooks: Webhooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[str] = []
    real_list_active = subscriptions_table.list_active

    def counting(client: Any, table: str, tenant_id: str) -> Any:
        loads.append(tenant_id)
        return real_list_active(client, table, tenant_id)

    monkeypatch.setattr(subscriptions_table, "list_active", counting)
    webhooks.subscribe("t1", "https://one.example/hook")
    cache = SubscriptionCache()

    cache.active(webhooks.dynamodb, SUBSCRIPTIONS, ["t1", "t2"])
    cache.active(webhooks.dynamodb, SUBSCRIPTIONS, ["t1", "t2"])
    webhooks.subscribe("t2", "https://two.example/hook")
    second = cache.active(webhooks.dynamodb, SUBSCRIPTIONS, ["t1", "t2"])

    assert loads == ["t1", "t2", "t2"]
    assert [item.target_url for item in second["t2"]] == ["https://two.example/hook"]


def test_subscription_cache_keeps_at_most_max_tenants(webhooks: Webhooks) -> None:
    cache = SubscriptionCache(max_tenants=2)

    for tenant in ("t1", "t2", "t3"):
        cache.active(webhooks.dynamodb, SUBSCRIPTIONS, [tenant])

    assert len(cache._entries) == 2


def test_new_subscription_receives_the_next_event_with_the_cache_warm(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given: the cache holds t1's list (one subscriber)
    first, second = receiver(), receiver()
    for server in (first, second):
        server.expect_request("/hook").respond_with_data("ok")
    webhooks.subscribe("t1", first.url_for("/hook"))
    invoke(webhooks, lambda_context, webhooks.put_event("t1"))

    # When: a second subscription is created, then an event is accepted
    webhooks.subscribe("t1", second.url_for("/hook"))
    invoke(webhooks, lambda_context, webhooks.put_event("t1"))

    # Then
    assert (len(first.log), len(second.log)) == (2, 1)


def test_deleted_disabled_and_rotated_subscriptions_apply_to_the_next_event(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given: three subscribers, the cache warm
    servers = [receiver() for _ in range(3)]
    for server in servers:
        server.expect_request("/hook").respond_with_data("ok")
    deleted, disabled, rotated = (webhooks.subscribe("t1", server.url_for("/hook")) for server in servers)
    invoke(webhooks, lambda_context, webhooks.put_event("t1"))

    # When
    subscriptions_table.delete_subscription(webhooks.dynamodb, SUBSCRIPTIONS, "t1", deleted.subscription_id)
    subscriptions_table.disable(webhooks.dynamodb, SUBSCRIPTIONS, "t1", disabled.subscription_id, "test")
    new = webhooks.secret_of(webhooks.rotate(rotated))
    invoke(webhooks, lambda_context, webhooks.put_event("t1"))

    # Then
    assert [len(server.log) for server in servers] == [1, 1, 2]
    request = servers[2].log[1][0]
    standardwebhooks.Webhook(new).verify(request.get_data(as_text=True), dict(request.headers))

    # And enabling brings deliveries back for the next event
    subscriptions_table.enable(webhooks.dynamodb, SUBSCRIPTIONS, "t1", disabled.subscription_id)
    invoke(webhooks, lambda_context, webhooks.put_event("t1"))
    assert len(servers[1].log) == 2


def _count_writes(client: Any) -> list[str]:
    writes: list[str] = []
    operations = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")

    def record(model: Any, **_: Any) -> None:
        if model.name in operations:
            writes.append(model.name)

    client.meta.events.register("before-call.dynamodb", record)
    return writes


def test_a_delivered_batch_writes_its_records_together_and_one_status_update_per_event(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given: one subscriber, a batch of ten events, the cache warm
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    invoke(webhooks, lambda_context, webhooks.put_event("t1"))
    events = [webhooks.put_event("t1") for _ in range(10)]
    writes = _count_writes(dynamodb_client())

    # When
    result = invoke(webhooks, lambda_context, *events)

    # Then: the ten records in one BatchWriteItem, then one status update per event, nothing else
    assert result == {"batchItemFailures": []}
    assert sorted(writes) == ["BatchWriteItem"] + ["UpdateItem"] * 10
    assert all(webhooks.delivery(event, subscription).state == "delivered" for event in events)
    assert all(webhooks.event(event).status == "delivered" for event in events)


def test_a_lost_write_response_is_retried_without_resending(
    webhooks: Webhooks,
    receiver: Receiver,
    lambda_context: LocalLambdaContext,
) -> None:
    # Given: BatchWriteItem commits but its response is lost (the client sees an error)
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    webhooks.subscribe("t1", server.url_for("/hook"))
    batch = webhooks.stream_event(webhooks.put_event("t1"), webhooks.put_event("t1"))
    client = dynamodb_client()
    lost = {"BatchWriteItem": 1}

    def lose_response(http_response: Any, parsed: Any, model: Any, **_: Any) -> None:
        if lost.get(model.name):
            lost[model.name] -= 1
            raise ConnectionClosedError(endpoint_url="response lost after the write committed")

    client.meta.events.register("after-call.dynamodb", lose_response)
    try:
        with pytest.raises(BatchProcessingError):  # every record failed: the whole batch is retried
            invoke_batch(batch, lambda_context)
        # When: the stream retries the batch
        second = invoke_batch(batch, lambda_context)
    finally:
        client.meta.events.unregister("after-call.dynamodb", lose_response)

    # Then: the retry read the records back and sent nothing more
    assert second == {"batchItemFailures": []}
    assert len(server.log) == 2
    assert all(webhooks.event(event).status == "delivered" for event in _events_of(webhooks, batch))


def invoke_batch(batch: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
    return dict(lambda_handler(batch, context))


def _events_of(webhooks: Webhooks, batch: dict[str, Any]) -> list[Any]:
    from ingest.core.events_table import EventItem

    return [EventItem.from_ddb(record["dynamodb"]["NewImage"]) for record in batch["Records"]]


def test_a_finished_subscribers_records_are_written_while_a_slow_one_is_still_sending(
    webhooks: Webhooks,
    receiver: Receiver,
    lambda_context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a fast subscriber and a slow one, which answers only once a first write was made
    # (or after 10 s, well within the functions' read timeout)
    set_read_timeout(monkeypatch, 30)
    fast, slow = receiver(), receiver()
    written = threading.Event()

    def slow_ok(request: Request) -> Response:
        written.wait(10)
        return Response("ok")

    fast.expect_request("/hook").respond_with_data("ok")
    slow.expect_request("/hook").respond_with_handler(slow_ok)
    fast_subscription = webhooks.subscribe("t1", fast.url_for("/hook"))
    webhooks.subscribe("t1", slow.url_for("/hook"))
    writes: list[tuple[set[str], int]] = []
    real_put_many = deliveries_table.put_many

    def recording(client: Any, table: str, items: Any) -> None:
        writes.append(({item.subscription_id for item in items}, len(slow.log)))
        real_put_many(client, table, items)
        written.set()

    monkeypatch.setattr(deliveries_table, "put_many", recording)

    # When a batch of two events fans out
    invoke(webhooks, lambda_context, webhooks.put_event("t1"), webhooks.put_event("t1"))

    # Then the fast subscriber's records were written before the slow one had its answers
    assert writes[0] == ({fast_subscription.subscription_id}, 0)
    assert len(writes) == 2
