"""The real ingest Lambda handler, fed API Gateway HTTP API v2 events, against moto in-process."""

import base64
import hashlib
import io
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ulid import ULID

from devtools.runner.apiserver import http_api_event
from devtools.runner.lambda_context import LocalLambdaContext
from ingest.core.api_keys_table import create_api_key
from ingest.core.observability import logger
from ingest.core.runtime import runtime
from ingest.core.settings import get_settings
from ingest.handler import lambda_handler

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"
PROBLEMS = "https://triggers.dev/problems/"
PAYLOAD_MARKER = "payload-marker-7f3c"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


Call = Callable[..., Reply]


def event_body(event_type: str = "order.created", payload: str = '{"id": 1}', **fields: Any) -> str:
    extra = "".join(f", {json.dumps(name)}: {json.dumps(value)}" for name, value in fields.items())
    return f'{{"event_type": {json.dumps(event_type)}{extra}, "payload": {payload}}}'


def batch_body(*events: str) -> str:
    return "[" + ", ".join(events) + "]"


@pytest.fixture
def invoke(aws: None) -> Callable[..., Reply]:
    def call(
        method: str,
        path: str,
        body: str | bytes = b"",
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        all_headers = {"host": "api.test", "content-type": "application/json", **(headers or {})}
        if key is not None:
            all_headers["authorization"] = f"Bearer {key}"
        raw = body.encode() if isinstance(body, str) else body
        event = http_api_event(method, path, all_headers, raw, "127.0.0.1")
        response = lambda_handler(event, LocalLambdaContext("triggers-test-ingest"))
        text = response.get("body") or ""
        if response.get("isBase64Encoded"):
            text = base64.b64decode(text).decode()
        headers_out = {name.lower(): str(value) for name, value in (response.get("headers") or {}).items()}
        return Reply(int(response["statusCode"]), headers_out, text)

    return call


@pytest.fixture
def new_key(dynamodb: Any) -> Callable[[str], str]:
    def make(tenant_id: str) -> str:
        return create_api_key(dynamodb, get_settings().api_keys_table, tenant_id)

    return make


@pytest.fixture
def key(new_key: Callable[[str], str]) -> str:
    return new_key("tenant-a")


@pytest.fixture
def other_key(new_key: Callable[[str], str]) -> str:
    return new_key("tenant-b")


@pytest.fixture
def count(dynamodb: Any) -> Callable[[str], int]:
    """Items in a table (`events` or `idempotency`)."""

    def items(which: str = "events") -> int:
        settings = get_settings()
        table = {"events": settings.events_table, "idempotency": settings.idempotency_table}[which]
        return int(dynamodb.scan(TableName=table, Select="COUNT")["Count"])

    return items


@pytest.fixture
def output(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """Everything the handler writes: JSON logs and EMF metrics (both go to stdout in Lambda)."""
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    logs = io.StringIO()
    previous = handler.stream
    handler.stream = logs
    yield lambda: logs.getvalue() + capsys.readouterr().out
    handler.stream = previous


def post(invoke: Call, key: str, body: str | bytes, **headers: str) -> Reply:
    return invoke("POST", "/v1/events", body, key=key, headers=headers)


def assert_problem(reply: Reply, status: int, slug: str) -> dict[str, Any]:
    assert reply.status == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    problem = reply.json()
    assert problem["type"] == PROBLEMS + slug
    assert problem["status"] == status
    assert "Traceback" not in reply.text
    return problem


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


# --- public routes -----------------------------------------------------------------------------


def test_health_needs_no_key(invoke: Call) -> None:
    reply = invoke("GET", "/health")

    assert reply.status == 200
    assert reply.json() == {"status": "ok"}


def test_openapi_document_needs_no_key_and_lists_every_route(invoke: Call) -> None:
    reply = invoke("GET", "/v1/openapi.json")

    assert reply.status == 200
    paths = reply.json()["paths"]
    assert {"/v1/events", "/v1/events/{event_id}", "/v1/inbox", "/v1/events/{event_id}/ack"} <= set(paths)
    assert reply.json()["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


# --- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/events"),
        ("GET", "/v1/events"),
        ("GET", "/v1/events/01J0000000000000000000000A"),
        ("GET", "/v1/inbox"),
        ("POST", "/v1/events/01J0000000000000000000000A/ack"),
        ("DELETE", "/v1/events/01J0000000000000000000000A"),
    ],
)
def test_every_v1_route_without_key_is_401(invoke: Call, method: str, path: str) -> None:
    reply = invoke(method, path, event_body() if method == "POST" else b"")

    assert_problem(reply, 401, "unauthorized")


@pytest.mark.parametrize("path", ["/v1/events?limit=0", "/v1/events/short", "/v1/inbox?event_type=a%20b"])
def test_invalid_parameters_without_key_are_401_not_422(invoke: Call, path: str) -> None:
    assert_problem(invoke("GET", path), 401, "unauthorized")
    assert_problem(invoke("GET", path, key="trg_unknown"), 401, "unauthorized")


def test_unknown_key_is_401_and_writes_nothing(invoke: Call, count: Callable[[str], int]) -> None:
    reply = post(invoke, "trg_not-a-key", event_body())

    assert_problem(reply, 401, "unauthorized")
    assert count("events") == 0


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "trg_abc"])
def test_malformed_authorization_header_is_401(invoke: Call, header: str) -> None:
    reply = invoke("GET", "/v1/events", headers={"authorization": header})

    assert_problem(reply, 401, "unauthorized")


def test_revoked_key_is_401(invoke: Call, key: str, dynamodb: Any) -> None:
    dynamodb.update_item(
        TableName=get_settings().api_keys_table,
        Key={"key_hash": {"S": hashlib.sha256(key.encode()).hexdigest()}},
        UpdateExpression="SET revoked_at = :now",
        ExpressionAttributeValues={":now": {"S": "2026-01-01T00:00:00Z"}},
    )

    assert_problem(invoke("GET", "/v1/events", key=key), 401, "unauthorized")


def test_api_keys_table_holds_only_the_sha256_of_the_key(key: str, dynamodb: Any) -> None:
    items = dynamodb.scan(TableName=get_settings().api_keys_table)["Items"]

    assert [item["key_hash"]["S"] for item in items] == [hashlib.sha256(key.encode()).hexdigest()]
    assert key not in json.dumps(items)


# --- POST /v1/events ---------------------------------------------------------------------------


def test_post_one_event_returns_201_with_a_ulid(invoke: Call, key: str, count: Callable[[str], int]) -> None:
    reply = post(invoke, key, event_body("order.created", source="shop"))

    assert reply.status == 201, reply.text
    assert reply.headers["content-type"] == "application/json"
    accepted = reply.json()
    assert str(ULID.from_str(accepted["id"])) == accepted["id"]
    assert accepted["event_type"] == "order.created"
    assert accepted["status"] == "pending"
    assert count("events") == 1


def test_post_keeps_payload_bytes_exactly(invoke: Call, key: str) -> None:
    # Given a payload whose spacing, number forms and escapes json.dumps would change
    payload = (EVENTS_DIR / "payload_exotic.json").read_text().strip()

    # When it is posted and read back
    created = post(invoke, key, event_body(payload=payload))
    fetched = invoke("GET", f"/v1/events/{created.json()['id']}", key=key)

    # Then the stored payload is the exact text sent
    assert created.status == 201, created.text
    assert fetched.text.endswith('"payload":' + payload + "}")


def test_post_with_form_content_type_as_curl_sends_is_accepted(invoke: Call, key: str) -> None:
    reply = post(invoke, key, event_body(), **{"content-type": "application/x-www-form-urlencoded"})

    assert reply.status == 201, reply.text


def test_post_base64_encoded_body_is_decoded(invoke: Call, key: str) -> None:
    reply = post(invoke, key, event_body(payload='{"n": 1}'), **{"content-type": "application/octet-stream"})
    fetched = invoke("GET", f"/v1/events/{reply.json()['id']}", key=key)

    assert reply.status == 201, reply.text
    assert fetched.json()["payload"] == {"n": 1}


def test_post_batch_returns_ids_in_ascending_order(
    invoke: Call, key: str, count: Callable[[str], int]
) -> None:
    body = batch_body(*(event_body(payload=f'{{"n": {n}}}') for n in range(25)))

    reply = post(invoke, key, body)

    assert reply.status == 201, reply.text
    ids = [event["id"] for event in reply.json()["data"]]
    assert len(ids) == 25
    assert ids == sorted(ids)
    assert count("events") == 25


def test_batch_payloads_are_stored_in_request_order(invoke: Call, key: str) -> None:
    body = batch_body(*(event_body(payload=f'{{"n": {n}}}') for n in range(5)))

    ids = [event["id"] for event in post(invoke, key, body).json()["data"]]

    payloads = [invoke("GET", f"/v1/events/{event_id}", key=key).json()["payload"] for event_id in ids]
    assert payloads == [{"n": n} for n in range(5)]


def test_post_stores_occurred_at_and_source(invoke: Call, key: str) -> None:
    created = post(invoke, key, event_body(source="billing", occurred_at="2026-01-02T03:04:05+01:00"))

    event = invoke("GET", f"/v1/events/{created.json()['id']}", key=key).json()

    assert event["source"] == "billing"
    assert event["occurred_at"] == "2026-01-02T02:04:05.000Z"


@pytest.mark.parametrize(
    "body",
    [
        '{"event_type": "a", "payload": {}',
        "not json",
        "",
        '{"event_type": "a", "payload": {}} trailing',
        '{"event_type": "a", "payload": {"x": NaN}}',
        "[{}, ]",
    ],
    ids=["unclosed", "text", "empty", "trailing", "nan", "trailing-comma"],
)
def test_malformed_json_is_400_and_writes_nothing(
    invoke: Call, key: str, count: Callable[[str], int], body: str
) -> None:
    reply = post(invoke, key, body)

    assert_problem(reply, 400, "malformed-request")
    assert count("events") == 0


def test_deeply_nested_payload_is_400_not_500(invoke: Call, key: str, count: Callable[[str], int]) -> None:
    deep = "[" * 100_000 + "]" * 100_000

    assert_problem(post(invoke, key, event_body(payload='{"a": ' + deep + "}")), 400, "malformed-request")
    assert count("events") == 0


def test_body_that_is_not_utf8_is_400(invoke: Call, key: str) -> None:
    reply = post(
        invoke, key, b'{"event_type": "a", "payload": {"x": "\xff"}}', **{"content-type": "image/png"}
    )

    assert_problem(reply, 400, "malformed-request")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"payload": {}}', "event_type"),
        ('{"event_type": "a"}', "payload"),
        ('{"event_type": "a", "payload": [1]}', "payload"),
        ('{"event_type": "a b", "payload": {}}', "event_type"),
        ('{"event_type": "a", "source": "", "payload": {}}', "source"),
        ('{"event_type": "a", "occurred_at": "yesterday", "payload": {}}', "occurred_at"),
        ('{"event_type": "a", "occurred_at": "2026-01-01T00:00:00", "payload": {}}', "occurred_at"),
        ('{"event_type": "a", "payload": {}, "extra": 1}', "extra"),
        ('[{"event_type": "a", "payload": {}}, {"event_type": "a"}]', "1.payload"),
        ('[{"event_type": "a", "payload": {}}, 7]', "1"),
        ('"just a string"', "body"),
        ("[]", "body"),
    ],
)
def test_schema_violation_is_422_naming_the_field(
    invoke: Call, key: str, count: Callable[[str], int], body: str, field: str
) -> None:
    reply = post(invoke, key, body)

    problem = assert_problem(reply, 422, "validation-failed")
    assert field in problem["detail"] or field in json.dumps(problem.get("errors"))
    assert count("events") == 0


def test_source_with_lone_surrogate_is_400(invoke: Call, key: str, count: Callable[[str], int]) -> None:
    reply = post(invoke, key, '{"event_type": "a", "source": "\\ud800", "payload": {}}')

    assert_problem(reply, 400, "malformed-request")
    assert count("events") == 0


def test_batch_of_26_is_422_batch_too_large(invoke: Call, key: str, count: Callable[[str], int]) -> None:
    reply = post(invoke, key, batch_body(*[event_body()] * 26))

    assert_problem(reply, 422, "batch-too-large")
    assert count("events") == 0


def test_batch_with_one_invalid_event_writes_nothing(
    invoke: Call, key: str, count: Callable[[str], int]
) -> None:
    events = [event_body()] * 24 + ['{"event_type": "", "payload": {}}']

    reply = post(invoke, key, batch_body(*events))

    problem = assert_problem(reply, 422, "validation-failed")
    assert problem["errors"][0]["field"] == "24.event_type"
    assert count("events") == 0


def test_payload_over_limit_is_413(invoke: Call, key: str, count: Callable[[str], int]) -> None:
    limit = get_settings().max_payload_bytes
    payload = '{"x": "' + "a" * limit + '"}'

    reply = post(invoke, key, event_body(payload=payload))

    problem = assert_problem(reply, 413, "payload-too-large")
    assert problem["limit_bytes"] == limit
    assert count("events") == 0


def test_payload_exactly_at_limit_is_accepted(invoke: Call, key: str) -> None:
    limit = get_settings().max_payload_bytes
    payload = '{"x": "' + "a" * (limit - len('{"x": ""}')) + '"}'

    assert post(invoke, key, event_body(payload=payload)).status == 201


def test_payload_limit_follows_max_payload_bytes_setting(
    invoke: Call, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_PAYLOAD_BYTES", "16")
    runtime.reset()

    small = post(invoke, key, event_body(payload='{"a": 1}'))
    large = post(invoke, key, event_body(payload='{"a": "0123456789"}'))

    assert small.status == 201
    assert_problem(large, 413, "payload-too-large")


def test_batch_with_one_oversized_payload_writes_nothing(
    invoke: Call, key: str, count: Callable[[str], int]
) -> None:
    big = '{"x": "' + "a" * get_settings().max_payload_bytes + '"}'
    events = [event_body()] * 12 + [event_body(payload=big)] + [event_body()] * 12

    reply = post(invoke, key, batch_body(*events))

    problem = assert_problem(reply, 413, "payload-too-large")
    assert "12.payload" in problem["detail"]
    assert count("events") == 0


def test_body_over_max_body_bytes_is_413(invoke: Call, key: str, count: Callable[[str], int]) -> None:
    filler = '{"x": "' + "a" * 50_000 + '"}'
    body = batch_body(*[event_body(payload=filler)] * 25)
    assert len(body) > get_settings().max_body_bytes

    assert_problem(post(invoke, key, body), 413, "payload-too-large")
    assert count("events") == 0


# --- Idempotency-Key ---------------------------------------------------------------------------


def test_idempotent_retry_returns_200_with_original_ids_and_writes_once(
    invoke: Call, key: str, count: Callable[[str], int]
) -> None:
    # Given a batch accepted with an Idempotency-Key
    body = batch_body(event_body(), event_body())
    first = post(invoke, key, body, **{"idempotency-key": "order-42"})

    # When the same request is retried
    retry = post(invoke, key, body, **{"idempotency-key": "order-42"})

    # Then the original ids come back with 200 and nothing new is stored
    assert first.status == 201, first.text
    assert retry.status == 200, retry.text
    assert retry.json() == first.json()
    assert count("events") == 2


def test_idempotent_retry_of_single_event_returns_the_event_shape(invoke: Call, key: str) -> None:
    first = post(invoke, key, event_body(), **{"idempotency-key": "k1"})
    retry = post(invoke, key, event_body(), **{"idempotency-key": "k1"})

    assert retry.status == 200
    assert retry.json()["id"] == first.json()["id"]


def test_same_idempotency_key_with_other_body_is_409(
    invoke: Call, key: str, count: Callable[[str], int]
) -> None:
    post(invoke, key, event_body(payload='{"n": 1}'), **{"idempotency-key": "k1"})

    reply = post(invoke, key, event_body(payload='{"n": 2}'), **{"idempotency-key": "k1"})

    assert_problem(reply, 409, "idempotency-conflict")
    assert count("events") == 1


def test_same_idempotency_key_in_two_tenants_is_independent(
    invoke: Call, key: str, other_key: str, count: Callable[[str], int]
) -> None:
    first = post(invoke, key, event_body(), **{"idempotency-key": "shared"})
    second = post(invoke, other_key, event_body(), **{"idempotency-key": "shared"})

    assert (first.status, second.status) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert count("events") == 2


@pytest.mark.parametrize("value", ["", "x" * 256, "bad\x01key"])
def test_invalid_idempotency_key_is_400_and_writes_nothing(
    invoke: Call, key: str, count: Callable[[str], int], value: str
) -> None:
    reply = post(invoke, key, event_body(), **{"idempotency-key": value})

    assert_problem(reply, 400, "malformed-request")
    assert count("events") == 0
    assert count("idempotency") == 0


def test_invalid_body_with_idempotency_key_records_nothing(
    invoke: Call, key: str, count: Callable[[str], int]
) -> None:
    reply = post(invoke, key, '{"event_type": "a"}', **{"idempotency-key": "k1"})
    retry = post(invoke, key, event_body(), **{"idempotency-key": "k1"})

    assert reply.status == 422
    assert retry.status == 201
    assert count("events") == 1


# --- GET /v1/events/{id}, ack, delete ----------------------------------------------------------


def test_get_event_returns_it(invoke: Call, key: str) -> None:
    created = post(invoke, key, event_body("user.signup", payload='{"u": "x"}')).json()

    event = invoke("GET", f"/v1/events/{created['id']}", key=key).json()

    assert event["id"] == created["id"]
    assert event["event_type"] == "user.signup"
    assert event["status"] == "pending"
    assert event["received_at"] == created["received_at"]
    assert event["payload"] == {"u": "x"}


def test_unknown_event_id_is_404(invoke: Call, key: str) -> None:
    unknown = str(ULID())

    assert_problem(invoke("GET", f"/v1/events/{unknown}", key=key), 404, "not-found")
    assert_problem(invoke("POST", f"/v1/events/{unknown}/ack", key=key), 404, "not-found")
    assert_problem(invoke("DELETE", f"/v1/events/{unknown}", key=key), 404, "not-found")


def test_malformed_event_id_is_422(invoke: Call, key: str) -> None:
    assert_problem(invoke("GET", "/v1/events/short", key=key), 422, "validation-failed")


def test_unknown_route_is_404_problem(invoke: Call, key: str) -> None:
    assert_problem(invoke("GET", "/v1/nothing-here", key=key), 404, "not-found")


def test_ack_sets_status_and_removes_from_inbox(invoke: Call, key: str) -> None:
    event_id = post(invoke, key, event_body()).json()["id"]

    acked = invoke("POST", f"/v1/events/{event_id}/ack", key=key)

    assert acked.status == 200
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["rev"] == 2
    assert invoke("GET", "/v1/inbox", key=key).json()["data"] == []


def test_acknowledging_twice_bumps_rev_again(invoke: Call, key: str) -> None:
    event_id = post(invoke, key, event_body()).json()["id"]

    invoke("POST", f"/v1/events/{event_id}/ack", key=key)
    again = invoke("POST", f"/v1/events/{event_id}/ack", key=key)

    assert (again.status, again.json()["status"], again.json()["rev"]) == (200, "acknowledged", 3)


def test_deleting_twice_is_404_the_second_time(invoke: Call, key: str) -> None:
    event_id = post(invoke, key, event_body()).json()["id"]

    first = invoke("DELETE", f"/v1/events/{event_id}", key=key)
    second = invoke("DELETE", f"/v1/events/{event_id}", key=key)

    assert first.status == 204
    assert_problem(second, 404, "not-found")


def test_delete_returns_204_and_event_is_gone(invoke: Call, key: str, count: Callable[[str], int]) -> None:
    event_id = post(invoke, key, event_body()).json()["id"]

    deleted = invoke("DELETE", f"/v1/events/{event_id}", key=key)

    assert deleted.status == 204
    assert deleted.text == ""
    assert_problem(invoke("GET", f"/v1/events/{event_id}", key=key), 404, "not-found")
    assert count("events") == 0


# --- lists -------------------------------------------------------------------------------------


def _ids(reply: Reply) -> list[str]:
    assert reply.status == 200, reply.text
    return [event["id"] for event in reply.json()["data"]]


def test_list_events_newest_first_with_filters(invoke: Call, key: str) -> None:
    # Given events of two types from two sources
    a = post(invoke, key, event_body("order.created", source="shop")).json()["id"]
    b = post(invoke, key, event_body("order.paid", source="shop")).json()["id"]
    c = post(invoke, key, event_body("order.created", source="pos")).json()["id"]

    # Then each filter returns exactly its events, newest first
    assert _ids(invoke("GET", "/v1/events", key=key)) == [c, b, a]
    assert _ids(invoke("GET", "/v1/events?event_type=order.created", key=key)) == [c, a]
    assert _ids(invoke("GET", "/v1/events?source=shop", key=key)) == [b, a]
    assert _ids(invoke("GET", "/v1/events?event_type=order.created&source=pos", key=key)) == [c]


def test_list_events_by_time_range(invoke: Call, key: str, dynamodb: Any) -> None:
    event_id = post(invoke, key, event_body()).json()["id"]
    received = invoke("GET", f"/v1/events/{event_id}", key=key).json()["received_at"]

    assert _ids(invoke("GET", f"/v1/events?since={received}&until={received}", key=key)) == [event_id]
    assert _ids(invoke("GET", "/v1/events?until=2020-01-01T00:00:00Z", key=key)) == []
    assert _ids(invoke("GET", "/v1/events?since=2999-01-01T00:00:00Z", key=key)) == []
    assert _ids(invoke("GET", f"/v1/events?event_type=order.created&since={received}", key=key)) == [event_id]


def test_time_range_before_the_epoch_is_empty_not_an_error(invoke: Call, key: str) -> None:
    event_id = post(invoke, key, event_body()).json()["id"]

    assert _ids(invoke("GET", "/v1/events?until=1960-01-01T00:00:00Z", key=key)) == []
    assert _ids(invoke("GET", "/v1/events?since=1960-01-01T00:00:00Z", key=key)) == [event_id]


def test_since_after_until_is_400(invoke: Call, key: str) -> None:
    reply = invoke("GET", "/v1/events?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", key=key)

    assert_problem(reply, 400, "malformed-request")


def test_time_range_without_timezone_is_422(invoke: Call, key: str) -> None:
    reply = invoke("GET", "/v1/events?since=2026-01-01T00:00:00&until=2026-01-02T00:00:00Z", key=key)

    assert_problem(reply, 422, "validation-failed")


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "limit=x", "event_type=a%20b", "since=yesterday", "source="]
)
def test_invalid_list_query_is_422(invoke: Call, key: str, query: str) -> None:
    assert_problem(invoke("GET", f"/v1/events?{query}", key=key), 422, "validation-failed")


def test_list_pages_with_cursor(invoke: Call, key: str) -> None:
    created = [event["id"] for event in post(invoke, key, batch_body(*[event_body()] * 5)).json()["data"]]

    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        page = invoke("GET", f"/v1/events?limit=2{cursor}", key=key).json()
        seen += [event["id"] for event in page["data"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"

    assert seen == created[::-1]


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", "W10"], ids=["not-base64", "not-json", "list"])
def test_garbage_cursor_is_400(invoke: Call, key: str, cursor: str) -> None:
    assert_problem(invoke("GET", f"/v1/events?cursor={cursor}", key=key), 400, "malformed-request")


def test_cursor_for_another_index_is_400(invoke: Call, key: str) -> None:
    post(invoke, key, batch_body(*[event_body()] * 3))
    cursor = invoke("GET", "/v1/events?event_type=order.created&limit=1", key=key).json()["next_cursor"]

    reply = invoke("GET", f"/v1/events?cursor={cursor}", key=key)

    assert_problem(reply, 400, "malformed-request")


def test_inbox_lists_pending_oldest_first_with_filters(invoke: Call, key: str) -> None:
    a = post(invoke, key, event_body("order.created", source="shop")).json()["id"]
    b = post(invoke, key, event_body("order.paid", source="pos")).json()["id"]
    c = post(invoke, key, event_body("order.created", source="pos")).json()["id"]
    invoke("POST", f"/v1/events/{a}/ack", key=key)

    assert _ids(invoke("GET", "/v1/inbox", key=key)) == [b, c]
    assert _ids(invoke("GET", "/v1/inbox?event_type=order.created", key=key)) == [c]
    assert _ids(invoke("GET", "/v1/inbox?source=pos&event_type=order.paid", key=key)) == [b]


def test_inbox_pages_with_cursor(invoke: Call, key: str) -> None:
    created = [event["id"] for event in post(invoke, key, batch_body(*[event_body()] * 3)).json()["data"]]

    first = invoke("GET", "/v1/inbox?limit=2", key=key).json()
    second = invoke("GET", f"/v1/inbox?limit=2&cursor={first['next_cursor']}", key=key).json()

    assert [event["id"] for event in first["data"] + second["data"]] == created


# --- tenant isolation --------------------------------------------------------------------------


def test_other_tenants_event_is_404_for_get_ack_and_delete(
    invoke: Call, key: str, other_key: str, count: Callable[[str], int]
) -> None:
    # Given an event of tenant A
    event_id = post(invoke, key, event_body()).json()["id"]

    # Then tenant B can neither read, acknowledge nor delete it
    assert_problem(invoke("GET", f"/v1/events/{event_id}", key=other_key), 404, "not-found")
    assert_problem(invoke("POST", f"/v1/events/{event_id}/ack", key=other_key), 404, "not-found")
    assert_problem(invoke("DELETE", f"/v1/events/{event_id}", key=other_key), 404, "not-found")
    event = invoke("GET", f"/v1/events/{event_id}", key=key).json()
    assert (event["status"], event["rev"]) == ("pending", 1)
    assert count("events") == 1


def test_lists_never_show_other_tenants_events(invoke: Call, key: str, other_key: str) -> None:
    post(invoke, key, event_body("order.created", source="shop"))

    for path in ["/v1/events", "/v1/events?event_type=order.created", "/v1/events?source=shop", "/v1/inbox"]:
        assert _ids(invoke("GET", path, key=other_key)) == []


def test_cursor_from_another_tenant_is_rejected(invoke: Call, key: str, other_key: str) -> None:
    post(invoke, key, batch_body(*[event_body()] * 3))
    cursor = invoke("GET", "/v1/events?limit=1", key=key).json()["next_cursor"]

    reply = invoke("GET", f"/v1/events?cursor={cursor}", key=other_key)

    assert_problem(reply, 400, "malformed-request")


# --- logs and metrics --------------------------------------------------------------------------


def test_accepted_events_are_logged_with_request_id_and_event_ids(
    invoke: Call, key: str, output: Callable[[], str]
) -> None:
    reply = post(invoke, key, batch_body(event_body(), event_body()))

    logs = json_lines(output())
    accepted = [line for line in logs if line.get("message") == "events accepted"]
    assert len(accepted) == 1
    assert accepted[0]["event_ids"] == [event["id"] for event in reply.json()["data"]]
    assert accepted[0]["correlation_id"]
    assert accepted[0]["tenant_id"] == "tenant-a"


def test_accepted_events_emit_emf_metric(invoke: Call, key: str, output: Callable[[], str]) -> None:
    post(invoke, key, batch_body(event_body(), event_body(), event_body()))

    metrics = [line for line in json_lines(output()) if "_aws" in line]
    assert [line["EventsAccepted"] for line in metrics if "EventsAccepted" in line] == [[3.0]]
    namespaces = {d["Namespace"] for line in metrics for d in line["_aws"]["CloudWatchMetrics"]}
    assert namespaces == {"Triggers"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("nope", "malformed-request"),
        ('{"event_type": "a"}', "validation-failed"),
        (batch_body(*[event_body()] * 26), "batch-too-large"),
        (event_body(payload='{"x": "' + "a" * 70_000 + '"}'), "payload-too-large"),
    ],
    ids=["malformed", "invalid", "batch", "oversized"],
)
def test_rejections_emit_emf_metric_by_reason(
    invoke: Call, key: str, output: Callable[[], str], body: str, reason: str
) -> None:
    post(invoke, key, body)

    rejected = [line for line in json_lines(output()) if "EventsRejected" in line]
    assert [line["reason"] for line in rejected] == [reason]


def test_idempotency_conflict_emits_rejection_metric(
    invoke: Call, key: str, output: Callable[[], str]
) -> None:
    post(invoke, key, event_body(payload='{"n": 1}'), **{"idempotency-key": "k"})
    post(invoke, key, event_body(payload='{"n": 2}'), **{"idempotency-key": "k"})

    rejected = [line for line in json_lines(output()) if "EventsRejected" in line]
    assert [line["reason"] for line in rejected] == ["idempotency-conflict"]


def test_unauthorized_request_emits_rejection_metric(invoke: Call, output: Callable[[], str]) -> None:
    post(invoke, "trg_unknown", event_body())

    rejected = [line for line in json_lines(output()) if "EventsRejected" in line]
    assert [line["reason"] for line in rejected] == ["unauthorized"]


def test_logs_never_contain_the_api_key_or_payload(invoke: Call, key: str, output: Callable[[], str]) -> None:
    # Given requests that succeed and fail, each carrying the key and a payload marker
    payload = f'{{"secret": "{PAYLOAD_MARKER}"}}'
    created = post(invoke, key, event_body(payload=payload), **{"idempotency-key": "k"})
    post(invoke, key, event_body(payload=payload), **{"idempotency-key": "k"})
    post(invoke, key, '{"event_type": "bad type", "payload": ' + payload + "}")
    post(invoke, key, "{" + PAYLOAD_MARKER)
    invoke("GET", f"/v1/events/{created.json()['id']}", key=key)
    post(invoke, key + "x", event_body(payload=payload))

    # Then the captured logs and metrics hold neither
    text = output()
    assert json_lines(text)
    assert key not in text
    assert PAYLOAD_MARKER not in text


# --- storage failures --------------------------------------------------------------------------


@pytest.fixture
def events_table_missing(monkeypatch: pytest.MonkeyPatch, dynamodb: Any) -> Iterator[None]:
    """The events table is unreachable (here: does not exist) until the fixture's test ends."""
    monkeypatch.setenv("EVENTS_TABLE", "triggers-test-missing")
    runtime.reset()
    yield
    runtime.reset()


def test_store_failure_is_503_problem_without_internals(
    invoke: Call, key: str, events_table_missing: None
) -> None:
    reply = post(invoke, key, event_body())

    problem = assert_problem(reply, 503, "store-unavailable")
    assert "triggers-test-missing" not in reply.text
    assert problem["detail"]


def test_store_failure_releases_the_idempotency_key(
    invoke: Call, key: str, count: Callable[[str], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a first attempt that fails to store
    events_table = get_settings().events_table
    monkeypatch.setenv("EVENTS_TABLE", "triggers-test-missing")
    runtime.reset()
    failed = post(invoke, key, event_body(), **{"idempotency-key": "k"})

    # When the store is back and the client retries with the same key
    monkeypatch.setenv("EVENTS_TABLE", events_table)
    runtime.reset()
    retry = post(invoke, key, event_body(), **{"idempotency-key": "k"})

    # Then the retry is processed, not replayed or rejected as in progress
    assert failed.status == 503
    assert retry.status == 201, retry.text
    assert count("events") == 1


def function_url_event(method: str, path: str, body: str, headers: dict[str, str]) -> dict[str, Any]:
    """A Lambda function URL request as AWS documents it (what LocalStack's 04-functions.sh exposes)."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "abc123.lambda-url.us-east-1.on.aws", **headers},
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abc123",
            "domainName": "abc123.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "curl/8",
            },
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "routeKey": "$default",
            "stage": "$default",
            "time": "25/Nov/2026:08:00:00 +0000",
            "timeEpoch": 1795680000000,
        },
        "body": body,
        "isBase64Encoded": False,
    }


def test_the_handler_serves_function_url_requests_as_localstack_sends_them(
    aws: None, key: str, count: Callable[[str], int]
) -> None:
    event = function_url_event(
        "POST",
        "/v1/events",
        event_body(),
        {"authorization": f"Bearer {key}", "content-type": "application/json"},
    )

    response = lambda_handler(event, LocalLambdaContext("triggers-test-ingest"))

    assert response["statusCode"] == 201, response
    assert len(json.loads(response["body"])["id"]) == 26
    assert count("events") == 1
