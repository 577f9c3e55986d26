"""Time windows the API promises: event retention, the idempotency window, delivery records
living as long as their event."""

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from devtools.runner.apiserver import http_api_event
from devtools.runner.lambda_context import LocalLambdaContext
from ingest.core.api_keys_table import create_api_key
from ingest.core.models import EventIn
from ingest.core.settings import Settings, get_settings
from ingest.handler import lambda_handler
from ingest.ingestion import build_items
from processors.fanout.handler import lambda_handler as fanout_handler
from tests.conftest import clear_client_caches
from tests.unit.webhooks_support import Webhooks

BODY = b'{"event_type": "window.checked", "payload": {"n": 1}}'


@given(
    st.integers(min_value=1, max_value=3650),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
)
def test_events_expire_exactly_their_retention_after_receipt(days: int, now: datetime) -> None:
    items = build_items(
        "t", [(EventIn(event_type="a", payload={}), "{}")], Settings.local(event_retention_days=days), now
    )

    assert items[0].expires_at == int((now + timedelta(days=days)).timestamp())


@pytest.fixture
def post(aws: None, dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], dict[str, Any]]:
    monkeypatch.setenv("IDEMPOTENCY_TTL_SECONDS", "3600")
    clear_client_caches()
    api_key = create_api_key(dynamodb, get_settings().api_keys_table, "tenant-window")

    def send(idempotency_key: str) -> dict[str, Any]:
        headers = {"content-type": "application/json", "authorization": f"Bearer {api_key}"}
        headers["idempotency-key"] = idempotency_key
        response = lambda_handler(
            http_api_event("POST", "/v1/events", headers, BODY, "127.0.0.1"), LocalLambdaContext("ingest")
        )
        return {**json.loads(response["body"]), "http_status": response["statusCode"]}

    return send


def _idempotency_records(dynamodb: Any) -> list[dict[str, Any]]:
    return list(dynamodb.scan(TableName=get_settings().idempotency_table)["Items"])


def test_idempotency_record_lasts_the_configured_window(
    post: Callable[..., dict[str, Any]], dynamodb: Any
) -> None:
    before = int(time.time())

    post("order-1")

    [record] = _idempotency_records(dynamodb)
    assert before + 3600 <= int(record["expiration"]["N"]) <= int(time.time()) + 3600


def test_retry_after_the_idempotency_window_is_a_new_request(
    post: Callable[..., dict[str, Any]], dynamodb: Any
) -> None:
    # Given a request whose idempotency record has outlived its window
    first = post("order-2")
    [record] = _idempotency_records(dynamodb)
    dynamodb.update_item(
        TableName=get_settings().idempotency_table,
        Key={"id": record["id"]},
        UpdateExpression="SET expiration = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )

    # When it is retried with the same key and body
    retry = post("order-2")

    # Then it is stored again as a new event (the window, not the TTL sweep, decides)
    assert (first["http_status"], retry["http_status"]) == (201, 201)
    assert retry["id"] != first["id"]


def test_retry_within_the_idempotency_window_is_a_replay(post: Callable[..., dict[str, Any]]) -> None:
    first, retry = post("order-3"), post("order-3")

    assert (first["http_status"], retry["http_status"], retry["id"]) == (201, 200, first["id"])


def test_delivery_records_expire_with_their_event(
    webhooks: Webhooks, receiver: Callable[[], HTTPServer], lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    event = webhooks.put_event("t1")

    fanout_handler(webhooks.stream_event(event), lambda_context)

    assert webhooks.delivery(event, subscription).expires_at == event.expires_at
