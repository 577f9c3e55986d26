"""The ingest API over real HTTP against the embedded stack (moto server + local API server)."""

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from ulid import ULID

from devtools.cli import main
from devtools.stack import EmbeddedStack
from ingest.core.api_keys_table import hash_key
from tests.integration.cli_support import command_output
from tests.integration.conftest import ApiClient

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"
PROBLEMS = "https://triggers.dev/problems/"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def event_body(
    event_type: str = "order.created", payload: str = '{"id": 1}', source: str | None = None
) -> str:
    extra = f', "source": {json.dumps(source)}' if source else ""
    return f'{{"event_type": {json.dumps(event_type)}{extra}, "payload": {payload}}}'


def batch(*events: str) -> str:
    return "[" + ",".join(events) + "]"


@pytest.fixture
def events_table(stack: EmbeddedStack) -> str:
    return stack.template.physical_name("EventsTable")


@pytest.fixture
def stored(aws_client: Callable[[str], Any], events_table: str) -> Callable[[ApiClient], int]:
    """How many events a tenant has in the table (read straight from DynamoDB)."""

    def count(api: ApiClient) -> int:
        response = aws_client("dynamodb").query(
            TableName=events_table,
            KeyConditionExpression="tenant_id = :t",
            ExpressionAttributeValues={":t": {"S": api.tenant_id}},
            Select="COUNT",
            ConsistentRead=True,
        )
        return int(response["Count"])

    return count


def assert_problem(response: requests.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["type"], problem["status"]) == (PROBLEMS + slug, status)
    return problem


def ids(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [event["id"] for event in response.json()["data"]]


# --- done when: curl-style POST, byte-faithful GET, visible in a table scan --------------------


def test_curl_style_post_is_stored_byte_for_byte_and_visible_in_a_scan(
    api: ApiClient, aws_client: Callable[[str], Any], events_table: str
) -> None:
    # Given a payload whose formatting json.dumps would change, sent as `curl -d` sends it
    payload = (EVENTS_DIR / "payload_exotic.json").read_text().strip()

    # When it is posted and read back
    created = api.post("/v1/events", data=event_body(payload=payload).encode(), headers=FORM)
    event_id = created.json()["id"]
    fetched = api.get(f"/v1/events/{event_id}")

    # Then the id is a ULID, the payload bytes are unchanged, and a table scan shows the event
    assert created.status_code == 201, created.text
    assert str(ULID.from_str(event_id)) == event_id
    assert fetched.text.endswith('"payload":' + payload + "}")
    items = aws_client("dynamodb").scan(
        TableName=events_table,
        FilterExpression="event_id = :id",
        ExpressionAttributeValues={":id": {"S": event_id}},
    )["Items"]
    assert [(item["tenant_id"]["S"], item["payload"]["S"]) for item in items] == [(api.tenant_id, payload)]


def test_key_created_with_the_cli_authenticates_its_tenant(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a key printed by `triggers keys create`
    tenant_id = f"t-cli-{ULID()}".lower()
    assert (
        main(["--stage", stack.stage, "keys", "create", "--tenant", tenant_id, "--endpoint", stack.aws_url])
        == 0
    )
    # (the stack's in-process functions may log to the same stdout meanwhile)
    api = ApiClient(stack.api_url, command_output(capsys)[0].strip(), tenant_id)

    # When it is used to post and read an event
    event_id = api.post("/v1/events", data=event_body()).json()["id"]

    # Then the event belongs to that tenant
    assert ids(api.get("/v1/events")) == [event_id]


def test_health_and_openapi_need_no_key(stack: EmbeddedStack) -> None:
    health = requests.get(stack.api_url + "/health", timeout=30)
    spec = requests.get(stack.api_url + "/v1/openapi.json", timeout=30)

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert spec.status_code == 200
    assert "/v1/events" in spec.json()["paths"]


def test_new_key_is_stored_only_as_its_hash(
    api: ApiClient, aws_client: Callable[[str], Any], stack: EmbeddedStack
) -> None:
    key = api.session.headers["Authorization"].removeprefix("Bearer ")
    table = stack.template.physical_name("ApiKeysTable")

    items = aws_client("dynamodb").scan(TableName=table)["Items"]

    mine = [item for item in items if item["tenant_id"]["S"] == api.tenant_id]
    assert [item["key_hash"]["S"] for item in mine] == [hash_key(str(key))]
    assert str(key) not in json.dumps(items)


# --- the happy path ----------------------------------------------------------------------------


def test_post_list_get_ack_delete(api: ApiClient, stored: Callable[[ApiClient], int]) -> None:
    # Given a batch of two events
    created = api.post("/v1/events", data=batch(event_body("a.one"), event_body("a.two", source="s")))
    first, second = (event["id"] for event in created.json()["data"])

    # Then they list newest first and filter
    assert created.status_code == 201
    assert first < second
    assert ids(api.get("/v1/events")) == [second, first]
    assert ids(api.get("/v1/events", params={"event_type": "a.one"})) == [first]
    assert ids(api.get("/v1/events", params={"source": "s"})) == [second]
    assert ids(api.get("/v1/inbox")) == [first, second]

    # When the first is acknowledged and the second deleted
    acked = api.post(f"/v1/events/{first}/ack")
    deleted = api.delete(f"/v1/events/{second}")

    # Then the inbox is empty and only the acknowledged event remains
    assert (acked.status_code, acked.json()["status"], acked.json()["rev"]) == (200, "acknowledged", 2)
    assert deleted.status_code == 204
    assert ids(api.get("/v1/inbox")) == []
    assert api.get(f"/v1/events/{first}").json()["status"] == "acknowledged"
    assert_problem(api.get(f"/v1/events/{second}"), 404, "not-found")
    assert stored(api) == 1


def test_list_by_time_range(api: ApiClient) -> None:
    event_id = api.post("/v1/events", data=event_body()).json()["id"]
    received = api.get(f"/v1/events/{event_id}").json()["received_at"]

    assert ids(api.get("/v1/events", params={"since": received, "until": received})) == [event_id]
    assert ids(api.get("/v1/events", params={"until": "2020-01-01T00:00:00Z"})) == []


def test_cursor_pagination(api: ApiClient) -> None:
    created = [
        event["id"] for event in api.post("/v1/events", data=batch(*[event_body()] * 5)).json()["data"]
    ]

    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    for _ in range(5):
        page = api.get("/v1/events", params=params).json()
        seen += [event["id"] for event in page["data"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]

    assert seen == created[::-1]


# --- idempotency -------------------------------------------------------------------------------


def test_idempotent_retry_returns_original_ids_without_a_second_write(
    api: ApiClient, stored: Callable[[ApiClient], int]
) -> None:
    body = batch(event_body(), event_body())
    first = api.post("/v1/events", data=body, headers={"Idempotency-Key": "retry-1"})

    retry = api.post("/v1/events", data=body, headers={"Idempotency-Key": "retry-1"})

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json() == first.json()
    assert stored(api) == 2


def test_idempotency_key_with_other_body_is_409(api: ApiClient, stored: Callable[[ApiClient], int]) -> None:
    api.post("/v1/events", data=event_body(payload='{"n": 1}'), headers={"Idempotency-Key": "k"})

    reply = api.post("/v1/events", data=event_body(payload='{"n": 2}'), headers={"Idempotency-Key": "k"})

    assert_problem(reply, 409, "idempotency-conflict")
    assert stored(api) == 1


def test_same_idempotency_key_in_two_tenants_is_independent(
    new_tenant: Callable[[], ApiClient], stored: Callable[[ApiClient], int]
) -> None:
    alice, bob = new_tenant(), new_tenant()

    a = alice.post("/v1/events", data=event_body(), headers={"Idempotency-Key": "same"})
    b = bob.post("/v1/events", data=event_body(), headers={"Idempotency-Key": "same"})

    assert (a.status_code, b.status_code) == (201, 201)
    assert (stored(alice), stored(bob)) == (1, 1)


# --- errors: right status and type, nothing written -------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        ('{"event_type": "a", "payload": ', 400, "malformed-request"),
        ('{"event_type": "a", "payload": {}} extra', 400, "malformed-request"),
        ('{"payload": {}}', 422, "validation-failed"),
        ('{"event_type": "a", "payload": "text"}', 422, "validation-failed"),
        (batch(*[event_body()] * 26), 422, "batch-too-large"),
        (batch(*[event_body()] * 24, '{"event_type": "a"}'), 422, "validation-failed"),
        (event_body(payload='{"x": "' + "a" * 65536 + '"}'), 413, "payload-too-large"),
        (
            batch(*[event_body()] * 24, event_body(payload='{"x": "' + "a" * 65536 + '"}')),
            413,
            "payload-too-large",
        ),
        (batch(*[event_body(payload='{"x": "' + "a" * 45000 + '"}')] * 24), 413, "payload-too-large"),
    ],
    ids=[
        "truncated",
        "trailing-data",
        "missing-event-type",
        "payload-not-object",
        "batch-of-26",
        "batch-one-invalid",
        "payload-over-64k",
        "batch-one-oversized",
        "body-over-1mib",
    ],
)
def test_rejected_post_writes_nothing(
    api: ApiClient, stored: Callable[[ApiClient], int], body: str, status: int, slug: str
) -> None:
    reply = api.post("/v1/events", data=body.encode())

    assert_problem(reply, status, slug)
    assert stored(api) == 0


def test_schema_error_names_the_field(api: ApiClient) -> None:
    reply = api.post("/v1/events", data=batch(event_body(), '{"event_type": "bad type", "payload": {}}'))

    problem = assert_problem(reply, 422, "validation-failed")
    assert [error["field"] for error in problem["errors"]] == ["1.event_type"]


@pytest.mark.parametrize("authorization", [None, "Bearer trg_unknown", "Basic abc"])
def test_missing_or_unknown_key_is_401(stack: EmbeddedStack, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    reply = requests.post(stack.api_url + "/v1/events", data=event_body(), headers=headers, timeout=30)

    assert_problem(reply, 401, "unauthorized")
    assert_problem(
        requests.get(stack.api_url + "/v1/inbox", headers=headers, timeout=30), 401, "unauthorized"
    )


def test_unknown_id_is_404(api: ApiClient) -> None:
    unknown = str(ULID())

    assert_problem(api.get(f"/v1/events/{unknown}"), 404, "not-found")
    assert_problem(api.post(f"/v1/events/{unknown}/ack"), 404, "not-found")
    assert_problem(api.delete(f"/v1/events/{unknown}"), 404, "not-found")


# --- tenant isolation --------------------------------------------------------------------------


def test_other_tenant_cannot_see_ack_or_delete_an_event(
    new_tenant: Callable[[], ApiClient], stored: Callable[[ApiClient], int]
) -> None:
    # Given an event of Alice
    alice, mallory = new_tenant(), new_tenant()
    event_id = alice.post("/v1/events", data=event_body(source="shop")).json()["id"]

    # Then Mallory gets 404 for it and never sees it listed
    assert_problem(mallory.get(f"/v1/events/{event_id}"), 404, "not-found")
    assert_problem(mallory.post(f"/v1/events/{event_id}/ack"), 404, "not-found")
    assert_problem(mallory.delete(f"/v1/events/{event_id}"), 404, "not-found")
    assert ids(mallory.get("/v1/events")) == []
    assert ids(mallory.get("/v1/events", params={"event_type": "order.created"})) == []
    assert ids(mallory.get("/v1/events", params={"source": "shop"})) == []
    assert ids(mallory.get("/v1/inbox")) == []

    # And Alice's event is untouched
    event = alice.get(f"/v1/events/{event_id}").json()
    assert (event["status"], event["rev"]) == ("pending", 1)
    assert stored(alice) == 1


def test_cursor_from_another_tenant_is_rejected(new_tenant: Callable[[], ApiClient]) -> None:
    alice, mallory = new_tenant(), new_tenant()
    alice.post("/v1/events", data=batch(*[event_body()] * 3))
    cursor = alice.get("/v1/events", params={"limit": 1}).json()["next_cursor"]

    reply = mallory.get("/v1/events", params={"cursor": cursor})

    assert_problem(reply, 400, "malformed-request")


def test_concurrent_requests_of_two_tenants_stay_separate(
    new_tenant: Callable[[], ApiClient], stored: Callable[[ApiClient], int]
) -> None:
    # Given two tenants posting at the same time through the threaded local API server
    tenants = [new_tenant(), new_tenant()]

    def post_all(api: ApiClient) -> list[str]:
        return [api.post("/v1/events", data=event_body()).json()["id"] for _ in range(15)]

    with ThreadPoolExecutor(max_workers=2) as pool:
        posted = list(pool.map(post_all, tenants))

    # Then each tenant owns exactly its own events
    for api, event_ids in zip(tenants, posted, strict=True):
        assert sorted(ids(api.get("/v1/events", params={"limit": 100}))) == sorted(event_ids)
        assert stored(api) == 15
