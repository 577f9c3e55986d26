"""Bodies the JSON reader refuses or cannot represent, case by case, on every route that takes a
body, over real HTTP against the embedded stack: a 4xx problem+json (never a 500) and nothing
stored. tests/unit/test_properties_bodies.py generates such bodies at random; this file names
each case once.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from devtools.stack import EmbeddedStack
from ingest.core.rawjson import MAX_DEPTH
from tests.integration.conftest import ApiClient

PROBLEMS = "https://triggers.dev/problems/"
SOME_EVENT_ID = "01JDQ5V8X3K9T2W7M4N6P8R0SA"


@dataclass(frozen=True)
class Route:
    """A body route, as a body template whose `@@` is one value of the document (the payload's
    member for events, an event type for subscriptions, an event id for replay), a valid value for
    that slot, and a body that repeats a member the route reads."""

    path: str
    template: str
    valid: str
    repeated: str

    def body(self, value: str) -> bytes:
        return self.template.replace("@@", value).encode()


ROUTES = {
    "events": Route(
        "/v1/events",
        '{"event_type": "bodies.http", "payload": {"n": @@}}',
        "1",
        '{"event_type": "bodies.http", "event_type": "bodies.other", "payload": {}}',
    ),
    "subscriptions": Route(
        "/v1/subscriptions",
        '{"target_url": "http://127.0.0.1:9/bodies", "event_types": [@@]}',
        '"bodies.never"',
        '{"target_url": "http://127.0.0.1:9/a", "target_url": "http://127.0.0.1:9/b", "event_types": ["*"]}',
    ),
    "replay": Route(
        "/v1/subscriptions/{subscription_id}/replay",
        '{"event_ids": [@@]}',
        f'"{SOME_EVENT_ID}"',
        f'{{"event_ids": ["{SOME_EVENT_ID}"], "event_ids": ["{SOME_EVENT_ID}"]}}',
    ),
}


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


# Values put in each route's slot: JSON the reader refuses or cannot represent.
VALUES = {
    "exponent beyond a float (1e999999)": "1e999999",
    "negative exponent overflow (-1e400)": "-1e400",
    "integer of 100,000 digits": "9" * 100_000,
    "integer of 400 digits (beyond a float)": "1" + "0" * 399,
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "1,000 nested arrays": deep(1_000),
    "100,000 nested arrays": deep(100_000),
    f"{MAX_DEPTH} nested arrays (one too many with the body's own)": deep(MAX_DEPTH),
    "lone high surrogate": '"\\ud800"',
    "lone low surrogate": '"x\\uDC00"',
    "surrogates in the wrong order": '"\\ude00\\ud83d"',
}
# Whole bodies, the same for every route.
BODIES: dict[str, tuple[bytes, int, str]] = {
    "empty body": (b"", 400, "malformed-request"),
    "whitespace only": (b" \r\n\t ", 400, "malformed-request"),
    "top-level string": (b'"text"', 422, "validation-failed"),
    "top-level number": (b"42", 422, "validation-failed"),
    "top-level null": (b"null", 422, "validation-failed"),
    "top-level array of scalars": (b"[1, 2]", 422, "validation-failed"),
}


@pytest.fixture
def post(api: ApiClient) -> Callable[..., Any]:
    """POST to a route as the tenant; the replay route names a subscription of the tenant."""
    subscription = api.post(
        "/v1/subscriptions",
        json={"target_url": "http://127.0.0.1:9/bodies-replay", "event_types": ["bodies.never"]},
    )
    assert subscription.status_code == 201, subscription.text
    subscription_id = subscription.json()["id"]

    def send(
        route: Route, body: bytes, headers: dict[str, str] | None = None, authenticated: bool = True
    ) -> Any:
        url = api.base_url + route.path.replace("{subscription_id}", subscription_id)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if not authenticated:
            return api.session.__class__().post(url, data=body, headers=all_headers, timeout=30)
        return api.session.post(url, data=body, headers=all_headers, timeout=30)

    return send


@pytest.fixture
def stored(
    api: ApiClient, stack: EmbeddedStack, aws_client: Callable[[str], Any]
) -> Callable[[], dict[str, int]]:
    """What the tenant owns (events, subscriptions) and the idempotency records there are."""
    dynamodb = aws_client("dynamodb")
    template = stack.template

    def count(table: str) -> int:
        return int(
            dynamodb.query(
                TableName=template.physical_name(table),
                KeyConditionExpression="tenant_id = :t",
                ExpressionAttributeValues={":t": {"S": api.tenant_id}},
                Select="COUNT",
                ConsistentRead=True,
            )["Count"]
        )

    def counts() -> dict[str, int]:
        idempotency = dynamodb.scan(TableName=template.physical_name("IdempotencyTable"), Select="COUNT")
        return {
            "events": count("EventsTable"),
            "subscriptions": count("SubscriptionsTable"),
            "idempotency records": int(idempotency["Count"]),
        }

    return counts


def assert_problem(reply: Any, status: int, slug: str) -> dict[str, Any]:
    assert (reply.status_code, reply.headers["Content-Type"]) == (status, "application/problem+json"), (
        reply.text
    )
    problem: dict[str, Any] = reply.json()
    assert (problem["status"], problem["type"]) == (status, PROBLEMS + slug)
    return problem


@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_each_route_accepts_its_template_with_a_valid_value(post: Callable[..., Any], route: Route) -> None:
    reply = post(route, route.body(route.valid))

    assert 200 <= reply.status_code < 300, reply.text


@pytest.mark.parametrize("value", VALUES.values(), ids=VALUES.keys())
@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_a_value_the_reader_refuses_is_400_and_stores_nothing(
    post: Callable[..., Any], stored: Callable[[], dict[str, int]], route: Route, value: str
) -> None:
    before = stored()

    reply = post(route, route.body(value))

    assert_problem(reply, 400, "malformed-request")
    assert stored() == before


@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_a_repeated_member_is_400_and_stores_nothing(
    post: Callable[..., Any], stored: Callable[[], dict[str, int]], route: Route
) -> None:
    before = stored()

    reply = post(route, route.repeated.encode())

    assert "repeats member" in assert_problem(reply, 400, "malformed-request")["detail"]
    assert stored() == before


def test_repeated_members_inside_a_payload_are_stored_as_sent(api: ApiClient) -> None:
    payload = '{"a": 1, "a": 2}'

    created = api.post(
        "/v1/events",
        data='{"event_type": "bodies.http", "payload": ' + payload + "}",
        headers={"Content-Type": "application/json"},
    )

    assert created.status_code == 201, created.text
    assert api.get(f"/v1/events/{created.json()['id']}").text.endswith(f',"payload":{payload}}}')


@pytest.mark.parametrize(
    "encoding",
    [
        pytest.param(lambda body: body.replace(b'"', b'"\xff', 1), id="invalid UTF-8 byte"),
        pytest.param(lambda body: body.replace(b'"', b'"\xed\xa0\x80', 1), id="UTF-8-encoded surrogate"),
        pytest.param(lambda body: body.replace(b'"', b'"\xc0\xaf', 1), id="overlong UTF-8"),
        pytest.param(lambda body: b"\xef\xbb\xbf" + body, id="byte order mark"),
    ],
)
@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_a_body_that_is_not_plain_utf8_json_is_400_and_stores_nothing(
    post: Callable[..., Any],
    stored: Callable[[], dict[str, int]],
    route: Route,
    encoding: Callable[[bytes], bytes],
) -> None:
    body = encoding(route.body(route.valid))
    before = stored()

    reply = post(route, body)

    assert_problem(reply, 400, "malformed-request")
    assert stored() == before


@pytest.mark.parametrize("case", BODIES.values(), ids=BODIES.keys())
@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_an_empty_or_non_object_body_is_a_4xx_and_stores_nothing(
    post: Callable[..., Any], stored: Callable[[], dict[str, int]], route: Route, case: tuple[bytes, int, str]
) -> None:
    body, status, slug = case
    before = stored()

    reply = post(route, body)

    assert_problem(reply, status, slug)
    assert stored() == before


def test_a_refused_body_with_an_idempotency_key_leaves_no_record(
    post: Callable[..., Any], stored: Callable[[], dict[str, int]]
) -> None:
    before = stored()

    reply = post(
        ROUTES["events"], ROUTES["events"].body("1e999999"), headers={"Idempotency-Key": "bodies-http-1"}
    )

    assert_problem(reply, 400, "malformed-request")
    assert stored() == before


@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_an_unauthenticated_refused_body_is_401_first(
    post: Callable[..., Any], stored: Callable[[], dict[str, int]], route: Route
) -> None:
    before = stored()

    reply = post(route, route.body("NaN"), authenticated=False)

    assert_problem(reply, 401, "unauthorized")
    assert stored() == before
