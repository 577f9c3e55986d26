"""Hostile input to the ingest handler (API Gateway events, moto in-process): what fuzzing found
stays fixed, on every documented route that could be affected."""

import json
from collections.abc import Callable
from typing import Any

import pytest

from devtools.commands.openapi import document
from devtools.runner.apiserver import http_api_event
from devtools.runner.lambda_context import LocalLambdaContext
from ingest.core.api_keys_table import create_api_key
from ingest.core.settings import get_settings
from ingest.handler import lambda_handler

SPEC = json.loads(document())
BODY_ROUTES = [
    (method.upper(), path)
    for path, item in SPEC["paths"].items()
    for method, operation in item.items()
    if "requestBody" in operation
]
STATIC_PATHS = {
    path: sorted(method.upper() for method in item) for path, item in SPEC["paths"].items() if "{" not in path
}

Call = Callable[..., dict[str, Any]]


@pytest.fixture
def key(dynamodb: Any) -> str:
    return create_api_key(dynamodb, get_settings().api_keys_table, "tenant-a")


@pytest.fixture
def call(aws: None, key: str) -> Call:
    def invoke(
        method: str, path: str, body: bytes = b"", content_type: str = "application/json", **headers: str
    ) -> dict[str, Any]:
        all_headers = {
            "host": "api.test",
            "content-type": content_type,
            "authorization": f"Bearer {key}",
            **headers,
        }
        response = lambda_handler(
            http_api_event(method, path, all_headers, body, "127.0.0.1"),
            LocalLambdaContext("triggers-test-ingest"),
        )
        return dict(response)

    return invoke


@pytest.fixture
def concrete(call: Call) -> Callable[[str], str]:
    """A documented path with its `{subscription_id}` (`{name}`) filled by a real subscription (event
    type) of the caller (another tenant's or a missing id is a 404 before the body is read)."""

    def fill(path: str) -> str:
        if "{name}" in path:
            created = call("POST", "/v1/event-types", b'{"name": "security.type"}')
            assert created["statusCode"] == 201, created
            path = path.replace("{name}", "security.type")
        if "{subscription_id}" not in path:
            return path
        body = json.dumps({"target_url": "https://93.184.215.14/hook", "event_types": ["*"]}).encode()
        created = call("POST", "/v1/subscriptions", body)
        assert created["statusCode"] == 201, created
        return path.replace("{subscription_id}", json.loads(created["body"])["id"])

    return fill


@pytest.fixture
def stored(dynamodb: Any) -> Callable[[], int]:
    def count() -> int:
        settings = get_settings()
        return sum(
            int(dynamodb.scan(TableName=table, Select="COUNT")["Count"])
            for table in (settings.events_table, settings.subscriptions_table, settings.idempotency_table)
        )

    return count


def problem(response: dict[str, Any]) -> dict[str, Any]:
    assert response["headers"]["Content-Type"] == "application/problem+json"
    return dict(json.loads(response["body"]))


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
@pytest.mark.parametrize("body", [b"\xff\xfe{}", b'{"event_type": "a\xc3", "payload": {}}', b"\x80"])
def test_body_that_is_not_utf8_is_400_and_stores_nothing(
    call: Call, stored: Callable[[], int], concrete: Callable[[str], str], method: str, path: str, body: bytes
) -> None:
    path = concrete(path)
    before = stored()

    response = call(method, path, body, content_type="application/octet-stream")

    assert response["statusCode"] == 400
    assert problem(response)["type"] == "https://triggers.dev/problems/malformed-request"
    assert stored() == before


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_base64_flagged_body_that_is_not_base64_is_400(
    key: str, concrete: Callable[[str], str], method: str, path: str
) -> None:
    path = concrete(path)
    headers = {"content-type": "application/json", "authorization": f"Bearer {key}"}
    event = http_api_event(method, path, headers, b"{}", "127.0.0.1")
    event["body"], event["isBase64Encoded"] = "%%% not base64 %%%", True

    response = lambda_handler(event, LocalLambdaContext("triggers-test-ingest"))

    assert response["statusCode"] == 400


@pytest.mark.parametrize("path", sorted(STATIC_PATHS))
@pytest.mark.parametrize("method", ["PUT", "PATCH", "TRACE", "QUERY", "DELETE"])
def test_undocumented_method_on_a_known_path_is_405_naming_the_allowed_ones(
    call: Call, stored: Callable[[], int], path: str, method: str
) -> None:
    if method in STATIC_PATHS[path]:
        pytest.skip(f"{method} {path} is a documented operation")
    before = stored()

    response = call(method, path, b'{"event_type": "a", "payload": {}}')

    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == ", ".join(STATIC_PATHS[path])
    assert problem(response)["type"] == "https://triggers.dev/problems/method-not-allowed"
    assert stored() == before


def test_undocumented_method_on_an_id_path_is_405(call: Call) -> None:
    response = call("PUT", "/v1/events/01JAAAAAAAAAAAAAAAAAAAAAAA")

    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "DELETE, GET"


def test_unknown_path_is_still_404(call: Call) -> None:
    assert call("PUT", "/v1/nothing")["statusCode"] == 404


@pytest.mark.parametrize(
    "path",
    [
        "/v1/events/01jaaaaaaaaaaaaaaaaaaaaaaa",
        "/v1/events/81JAAAAAAAAAAAAAAAAAAAAAAA",
        "/v1/events/01JAAAAAAAAAAAAAAAAAAAAAAU",
        "/v1/events/%30%31JAAAAAAAAAAAAAAAAAAAAAAA",
        "/v1/subscriptions/dedup%23whatever",
        "/v1/subscriptions/sub_01jaaaaaaaaaaaaaaaaaaaaaaa",
        "/v1/subscriptions/01JAAAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_ids_that_cannot_have_been_issued_are_422(call: Call, path: str) -> None:
    response = call("GET", path)

    assert response["statusCode"] == 422
    assert problem(response)["type"] == "https://triggers.dev/problems/validation-failed"


@pytest.mark.parametrize("occurred_at", [0, 1700000000, 1.5, True, "1700000000", "-5", "0.5"])
def test_occurred_at_as_a_number_is_422_not_a_1970_date(
    call: Call, stored: Callable[[], int], occurred_at: Any
) -> None:
    body = json.dumps({"event_type": "a", "occurred_at": occurred_at, "payload": {}}).encode()

    response = call("POST", "/v1/events", body)

    assert response["statusCode"] == 422
    assert problem(response)["errors"][0]["field"] == "occurred_at"
    assert stored() == 0


@pytest.mark.parametrize("since", ["0", "1700000000", "-1"])
def test_time_filters_as_numbers_are_422(call: Call, since: str) -> None:
    response = call("GET", f"/v1/events?since={since}")

    assert response["statusCode"] == 422
    assert problem(response)["errors"][0]["field"] == "since"


def test_iso_time_filters_are_still_accepted(call: Call) -> None:
    response = call("GET", "/v1/events?since=2026-01-01T00:00:00Z&until=2026-01-02T00:00:00%2B01:00")

    assert response["statusCode"] == 200


@pytest.mark.parametrize("idempotency_key", ["caf\u00e9", "a\x7fb", " leading", "trailing ", "x" * 256, ""])
def test_idempotency_key_outside_the_documented_pattern_is_400(
    call: Call, stored: Callable[[], int], idempotency_key: str
) -> None:
    body = b'{"event_type": "a", "payload": {}}'

    response = call("POST", "/v1/events", body, **{"idempotency-key": idempotency_key})

    assert response["statusCode"] == 400
    assert stored() == 0


def test_idempotency_key_of_printable_ascii_with_inner_spaces_is_accepted(call: Call) -> None:
    key = "order 42/retry:#1 ~!"

    first = call("POST", "/v1/events", b'{"event_type": "a", "payload": {}}', **{"idempotency-key": key})
    second = call("POST", "/v1/events", b'{"event_type": "a", "payload": {}}', **{"idempotency-key": key})

    assert (first["statusCode"], second["statusCode"]) == (201, 200)
    assert json.loads(first["body"])["id"] == json.loads(second["body"])["id"]


def test_document_declares_the_idempotency_key_header_with_its_pattern() -> None:
    parameters = SPEC["paths"]["/v1/events"]["post"]["parameters"]

    assert [(p["name"], p["in"], p["schema"]["maxLength"]) for p in parameters] == [
        ("Idempotency-Key", "header", 255)
    ]


def test_every_operation_documents_the_errors_any_of_its_requests_can_meet() -> None:
    # Authentication reads DynamoDB: any authenticated request can be a 401 or a 503; any request
    # with parameters or a body can be a 422.
    def expected(operation: dict[str, Any]) -> set[str]:
        codes = set() if operation.get("security") == [{}] else {"401", "503"}
        if operation.get("parameters") or "requestBody" in operation:
            codes.add("422")
        return codes

    undocumented = {
        f"{method.upper()} {path}": sorted(expected(operation) - set(operation["responses"]))
        for path, item in SPEC["paths"].items()
        for method, operation in item.items()
    }

    assert {label: codes for label, codes in undocumented.items() if codes} == {}


@pytest.mark.parametrize("path", ["/v1/events", "/v1/inbox"])
def test_empty_cursor_is_422_not_the_first_page(call: Call, path: str) -> None:
    response = call("GET", f"{path}?cursor=")

    assert response["statusCode"] == 422
    assert problem(response)["errors"][0]["field"] == "cursor"
