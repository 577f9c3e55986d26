"""The event-type catalog over real HTTP: CRUD, schema checks at create/update, payloads checked
at ingest (422 naming the failing path, nothing stored), subscriptions held to the catalog."""

import json
from collections.abc import Callable
from typing import Any

import pytest

from ingest.schemas import MAX_SCHEMA_BYTES
from tests.integration.conftest import ApiClient

ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["order_id"],
    "properties": {
        "order_id": {"type": "integer", "minimum": 1},
        "lines": {
            "type": "array",
            "items": {"type": "object", "required": ["qty"], "properties": {"qty": {"type": "integer"}}},
        },
    },
}


def problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    document: dict[str, Any] = response.json()
    assert document["type"] == f"https://triggers.dev/problems/{slug}", document
    return document


def stored_of_type(api: ApiClient, event_type: str) -> list[str]:
    response = api.get("/v1/events", params={"event_type": event_type})
    assert response.status_code == 200, response.text
    return [event["id"] for event in response.json()["data"]]


def test_event_types_are_created_read_listed_changed_and_deleted(api: ApiClient) -> None:
    # Given a type created with a description and a schema
    created = api.post(
        "/v1/event-types", json={"name": "order.created", "description": "Placed", "schema": ORDER_SCHEMA}
    )
    assert created.status_code == 201, created.text
    assert created.json()["schema"] == ORDER_SCHEMA
    assert created.json()["deprecated"] is False

    # Then it reads back, alone and in the list
    assert api.get("/v1/event-types/order.created").json() == created.json()
    assert [item["name"] for item in api.get("/v1/event-types").json()["data"]] == ["order.created"]

    # When it is deprecated and its schema removed
    changed = api.request("PATCH", "/v1/event-types/order.created", json={"deprecated": True, "schema": None})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["deprecated"], changed.json()["schema"], changed.json()["description"]) == (
        True,
        None,
        "Placed",
    )

    # When it is deleted, it is gone
    assert api.delete("/v1/event-types/order.created").status_code == 204
    problem(api.get("/v1/event-types/order.created"), 404, "not-found")
    problem(api.delete("/v1/event-types/order.created"), 404, "not-found")
    assert api.get("/v1/event-types").json()["data"] == []


def test_a_second_create_of_a_name_is_409_and_keeps_the_first(api: ApiClient) -> None:
    assert api.post("/v1/event-types", json={"name": "a.b", "description": "first"}).status_code == 201
    problem(
        api.post("/v1/event-types", json={"name": "a.b", "description": "second"}),
        409,
        "duplicate-event-type",
    )
    assert api.get("/v1/event-types/a.b").json()["description"] == "first"


@pytest.mark.parametrize(
    ("schema", "says"),
    [
        ({"type": 12}, "not a valid draft 2020-12 schema"),
        ({"$ref": "https://example.com/schema.json"}, "cannot be compiled"),
        ({"$ref": "#/$defs/missing"}, "cannot be compiled"),
        ({"type": "string", "pattern": "(("}, 'is not a "regex"'),
        ({"$schema": "http://json-schema.org/draft-07/schema#"}, "draft 2020-12"),
        ({"description": "x" * MAX_SCHEMA_BYTES}, f"exceeds {MAX_SCHEMA_BYTES} bytes"),
    ],
    ids=["bad-keyword", "remote-ref", "missing-ref", "bad-pattern", "other-draft", "oversized"],
)
def test_an_invalid_schema_is_422_naming_the_problem_and_stores_nothing(
    api: ApiClient, schema: dict[str, Any], says: str
) -> None:
    refused = problem(
        api.post("/v1/event-types", json={"name": "x.y", "schema": schema}), 422, "validation-failed"
    )
    assert refused["errors"][0]["field"] == "schema"
    assert says in refused["detail"]
    assert api.get("/v1/event-types").json()["data"] == []
    # nor replaces a good schema
    assert api.post("/v1/event-types", json={"name": "x.z", "schema": ORDER_SCHEMA}).status_code == 201
    problem(api.request("PATCH", "/v1/event-types/x.z", json={"schema": schema}), 422, "validation-failed")
    assert api.get("/v1/event-types/x.z").json()["schema"] == ORDER_SCHEMA


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "slug"),
    [
        ("POST", "/v1/event-types", b"{", 400, "malformed-request"),
        ("POST", "/v1/event-types", b'{"name": "a", "name": "b"}', 400, "malformed-request"),
        ("POST", "/v1/event-types", b'{"name": "-a"}', 422, "validation-failed"),
        ("POST", "/v1/event-types", b'{"name": "a", "extra": 1}', 422, "validation-failed"),
        ("POST", "/v1/event-types", b'{"name": "delivery.exhausted"}', 422, "validation-failed"),
        (
            "POST",
            "/v1/event-types",
            b'{"name": "a", "description": "' + b"d" * 1025 + b'"}',
            422,
            "validation-failed",
        ),
        ("PATCH", "/v1/event-types/known", b"{}", 422, "validation-failed"),
        ("PATCH", "/v1/event-types/known", b'{"deprecated": null}', 422, "validation-failed"),
        ("PATCH", "/v1/event-types/known", b"[", 400, "malformed-request"),
    ],
)
def test_malformed_event_type_bodies_are_refused(
    api: ApiClient, method: str, path: str, body: bytes, status: int, slug: str
) -> None:
    assert api.post("/v1/event-types", json={"name": "known", "description": "kept"}).status_code == 201
    problem(api.request(method, path, data=body, headers={"content-type": "application/json"}), status, slug)
    assert [item["name"] for item in api.get("/v1/event-types").json()["data"]] == ["known"]
    assert api.get("/v1/event-types/known").json()["description"] == "kept"


def test_a_body_over_the_limit_is_413(api: ApiClient) -> None:
    huge = json.dumps({"name": "big", "description": "x" * (1024 * 1024)})
    problem(
        api.post("/v1/event-types", data=huge, headers={"content-type": "application/json"}),
        413,
        "payload-too-large",
    )


def test_another_tenants_catalog_is_invisible_and_untouched(
    api: ApiClient, new_tenant: Callable[[], ApiClient]
) -> None:
    # Given a tenant's type with a schema
    assert (
        api.post("/v1/event-types", json={"name": "order.created", "schema": ORDER_SCHEMA}).status_code == 201
    )
    other = new_tenant()

    # Then another tenant neither sees nor changes it, and its schema does not apply there
    assert other.get("/v1/event-types").json()["data"] == []
    problem(other.get("/v1/event-types/order.created"), 404, "not-found")
    problem(
        other.request("PATCH", "/v1/event-types/order.created", json={"deprecated": True}), 404, "not-found"
    )
    problem(other.delete("/v1/event-types/order.created"), 404, "not-found")
    assert other.post("/v1/events", json={"event_type": "order.created", "payload": {}}).status_code == 201
    assert api.get("/v1/event-types/order.created").json()["deprecated"] is False
    # and without a key nothing is answered
    anonymous = ApiClient(api.base_url, None, "nobody")
    problem(anonymous.get("/v1/event-types"), 401, "unauthorized")
    problem(anonymous.post("/v1/event-types", json={"name": "z"}), 401, "unauthorized")


def test_payloads_are_checked_against_their_types_schema(api: ApiClient) -> None:
    # Given a type with a schema
    assert (
        api.post("/v1/event-types", json={"name": "order.created", "schema": ORDER_SCHEMA}).status_code == 201
    )

    # When a payload that does not match is posted, alone or in a batch
    alone = api.post("/v1/events", json={"event_type": "order.created", "payload": {"order_id": "7"}})
    batch = api.post(
        "/v1/events",
        json=[
            {"event_type": "order.created", "payload": {"order_id": 1}},
            {"event_type": "order.created", "payload": {"order_id": 2, "lines": [{"qty": 1}, {"qty": "x"}]}},
            {"event_type": "other.type", "payload": {"anything": True}},
        ],
    )

    # Then each is a 422 naming the failing paths, and nothing is stored
    refused = problem(alone, 422, "schema-violation")
    assert refused["errors"] == [{"field": "payload.order_id", "message": '"7" is not of type "integer"'}]
    refused = problem(batch, 422, "schema-violation")
    assert [error["field"] for error in refused["errors"]] == ["1.payload.lines.1.qty"]
    assert stored_of_type(api, "order.created") == [] and stored_of_type(api, "other.type") == []

    # When it matches, or the type has no schema, it is stored
    assert (
        api.post("/v1/events", json={"event_type": "order.created", "payload": {"order_id": 3}}).status_code
        == 201
    )
    assert api.post("/v1/events", json={"event_type": "other.type", "payload": {"x": 1}}).status_code == 201

    # When the schema is removed, the same bad payload is accepted (on the instance that served it, at once)
    assert api.request("PATCH", "/v1/event-types/order.created", json={"schema": None}).status_code == 200
    assert (
        api.post("/v1/events", json={"event_type": "order.created", "payload": {"order_id": "7"}}).status_code
        == 201
    )


def test_a_missing_required_member_names_the_payload(api: ApiClient) -> None:
    assert (
        api.post("/v1/event-types", json={"name": "order.created", "schema": ORDER_SCHEMA}).status_code == 201
    )
    refused = problem(
        api.post("/v1/events", json={"event_type": "order.created", "payload": {}}), 422, "schema-violation"
    )
    assert refused["errors"] == [{"field": "payload", "message": '"order_id" is a required property'}]


def test_producers_cannot_post_operational_types(api: ApiClient) -> None:
    refused = problem(
        api.post("/v1/events", json={"event_type": "subscription.disabled", "payload": {}}),
        422,
        "validation-failed",
    )
    assert refused["errors"][0]["field"] == "event_type"
    assert stored_of_type(api, "subscription.disabled") == []


def test_a_tenant_with_a_catalog_subscribes_to_catalog_types_only(
    api: ApiClient, new_tenant: Callable[[], ApiClient]
) -> None:
    # Given a tenant without a catalog: any type, as before
    subscribe = {"target_url": "http://127.0.0.1:9/a", "event_types": ["not.cataloged"]}
    assert api.post("/v1/subscriptions", json=subscribe).status_code == 201

    # When it has a catalog
    assert api.post("/v1/event-types", json={"name": "order.created"}).status_code == 201

    # Then a type outside it is a 422 naming it; catalog types, `*` and operational types are fine
    refused = problem(
        api.post(
            "/v1/subscriptions",
            json={"target_url": "http://127.0.0.1:9/b", "event_types": ["order.created", "typo.created"]},
        ),
        422,
        "validation-failed",
    )
    assert "typo.created" in refused["detail"]
    for types in (["order.created"], ["*"], ["delivery.exhausted", "subscription.disabled"]):
        created = api.post(
            "/v1/subscriptions", json={"target_url": f"http://127.0.0.1:9/{len(types)}", "event_types": types}
        )
        assert created.status_code == 201, created.text
    # and another tenant's catalog does not bind this one
    assert new_tenant().post("/v1/subscriptions", json=subscribe).status_code == 201


def test_a_name_may_be_percent_encoded_in_the_path(api: ApiClient) -> None:
    assert api.post("/v1/event-types", json={"name": "shop:order.created"}).status_code == 201

    assert api.get("/v1/event-types/shop:order.created").json()["name"] == "shop:order.created"
    assert api.get("/v1/event-types/shop%3Aorder.created").json()["name"] == "shop:order.created"
    assert (
        api.request("PATCH", "/v1/event-types/shop%3aorder.created", json={"deprecated": True}).status_code
        == 200
    )
    # a segment that decodes to no possible name is a 404, like an unknown one
    problem(api.get("/v1/event-types/%2Fetc"), 404, "not-found")
    assert api.delete("/v1/event-types/shop%3Aorder.created").status_code == 204
