"""Payload bytes round-trip exactly: HTTP body -> ingest handler -> DynamoDB -> stream record ->
fanout -> webhook body, whose signature verifies with standardwebhooks.

Real functions throughout: the ingest Lambda handler fed API Gateway events, moto's DynamoDB and
its stream (read with the DynamoDB Streams API), the fanout Lambda handler, and a real HTTP
receiver on 127.0.0.1. Generated payloads vary what a re-serialisation would lose: whitespace,
key order, duplicate keys, number spellings (1.50, -0, 1E-7, huge integers), escapes (\\u00e9,
surrogate pairs, a backslash before `u` that is not an escape, \\/) and raw non-ASCII text.
Lone surrogates are refused (tests/unit/test_properties_bodies.py).
"""

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
import standardwebhooks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from devtools.runner.apiserver import http_api_event
from devtools.runner.lambda_context import LocalLambdaContext
from ingest.core.api_keys_table import create_api_key
from ingest.core.settings import get_settings
from ingest.core.subscriptions_table import SubscriptionItem
from ingest.handler import lambda_handler as ingest_handler
from processors.fanout.handler import lambda_handler as fanout_handler
from tests.unit.webhooks_support import STREAM_ARN, Webhooks

TENANT = "tenant-roundtrip"

whitespace = st.text(alphabet=" \t\n\r", max_size=2)
plain_strings = st.builds(
    lambda text, ascii_only: json.dumps(text, ensure_ascii=ascii_only),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12),
    st.booleans(),
)
escaped_strings = st.sampled_from(
    ['"\\u00e9t\\u00E9"', '"\\ud83d\\ude00"', '"\\\\ud800"', '"\\/\\b\\f"', '"a\\"b\\\\c"', '"😀é\u2028"']
)
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["0", "-0", "1.50", "1e3", "1E-7", "-12.5e+2", "0.000", "1.0"]),
)
scalars = st.one_of(st.sampled_from(["true", "false", "null"]), numbers, plain_strings, escaped_strings)


def _array(items: list[str], pads: list[str]) -> str:
    return "[" + ",".join(f"{pad}{item}{pad}" for item, pad in zip(items, pads, strict=False)) + "]"


def _object(members: list[tuple[str, str]], pad: str) -> str:
    return "{" + pad + f",{pad}".join(f"{key}{pad}:{pad}{value}" for key, value in members) + pad + "}"


values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.builds(_array, st.lists(children, max_size=4), st.lists(whitespace, min_size=4, max_size=4)),
        st.builds(_object, st.lists(st.tuples(plain_strings, children), max_size=4), whitespace),
    ),
    max_leaves=12,
)
# `payload` must be an object; its keys may repeat (the last one wins when parsed).
payloads = st.builds(
    _object, st.lists(st.tuples(plain_strings | escaped_strings, values), max_size=6), whitespace
)


@pytest.fixture
def api_key(webhooks: Webhooks) -> str:
    return create_api_key(webhooks.dynamodb, get_settings().api_keys_table, TENANT)


@pytest.fixture
def subscriber(webhooks: Webhooks, receiver: Callable[[], HTTPServer]) -> tuple[HTTPServer, SubscriptionItem]:
    """One receiver and subscription shared by every example of a test."""
    server = receiver()
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    return server, webhooks.subscribe(TENANT, server.url_for("/hook"))


def ingest(api_key: str, body: bytes) -> dict[str, Any]:
    headers = {"host": "api.test", "content-type": "application/json", "authorization": f"Bearer {api_key}"}
    response = ingest_handler(
        http_api_event("POST", "/v1/events", headers, body, "127.0.0.1"),
        LocalLambdaContext("triggers-test-ingest"),
    )
    assert response["statusCode"] == 201, response["body"]
    return dict(json.loads(response["body"]))


def stream_record(event_id: str) -> dict[str, Any]:
    """The events table's real stream record for `event_id`, as the ESM runner hands it over."""
    table = boto3.client("dynamodb").describe_table(TableName=get_settings().events_table)["Table"]
    # botocore's account-based streams endpoint is not routed by moto in-process; the regional one is.
    region = boto3.client("dynamodb").meta.region_name
    streams = boto3.client("dynamodbstreams", endpoint_url=f"https://streams.dynamodb.{region}.amazonaws.com")
    shards = streams.describe_stream(StreamArn=table["LatestStreamArn"])["StreamDescription"]["Shards"]
    for shard in shards:
        iterator = streams.get_shard_iterator(
            StreamArn=table["LatestStreamArn"], ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for record in streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]:
            if record["eventName"] == "INSERT" and record["dynamodb"]["Keys"]["event_id"]["S"] == event_id:
                # moto's records carry no eventSourceARN; Lambda's (and the runner's) do.
                return {**record, "eventSourceARN": STREAM_ARN}
    raise AssertionError(f"no stream record for {event_id}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=payloads, padding=whitespace)
def test_payload_bytes_survive_ingest_store_stream_and_signed_delivery(
    webhooks: Webhooks,
    subscriber: tuple[HTTPServer, SubscriptionItem],
    api_key: str,
    lambda_context: LocalLambdaContext,
    payload: str,
    padding: str,
) -> None:
    # Given a subscriber and a request body carrying the payload
    server, subscription = subscriber
    body = f'{{{padding}"event_type":"roundtrip.checked",{padding}"payload":{padding}{payload}{padding}}}'

    # When the event is ingested over the API and its stream record fanned out
    event_id = ingest(api_key, body.encode())["id"]
    stored = webhooks.dynamodb.get_item(
        TableName=get_settings().events_table,
        Key={"tenant_id": {"S": TENANT}, "event_id": {"S": event_id}},
        ConsistentRead=True,
    )["Item"]
    record = stream_record(event_id)
    result = fanout_handler({"Records": [record]}, lambda_context)

    # Then the stored item, the stream image and the delivered body all hold the exact bytes
    assert result == {"batchItemFailures": []}
    assert stored["payload"]["S"] == payload
    assert record["dynamodb"]["NewImage"]["payload"]["S"] == payload
    request = next(request for request, _ in server.log if request.headers["webhook-id"] == event_id)
    raw = request.get_data()
    assert raw.endswith(b',"data":' + payload.encode() + b"}")
    secret = webhooks.secret_of(subscription)
    delivered = standardwebhooks.Webhook(secret).verify(raw.decode(), dict(request.headers))
    assert delivered["id"] == event_id
    assert delivered["data"] == json.loads(payload)
