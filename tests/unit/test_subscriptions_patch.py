# ruff: noqa: F811  # the fixtures imported from test_subscriptions_api are parameters here
"""PATCH /v1/subscriptions/{id}, custom headers, content filters and GET /v1/me through the real
Lambda handler (API Gateway HTTP API v2 events, moto)."""

from collections.abc import Callable
from typing import Any

import pytest

from ingest.core import subscriptions_table
from ingest.core.errors import PreconditionFailed
from tests.unit.test_subscriptions_api import (  # noqa: F401  # fixtures
    URL,
    Call,
    assert_problem,
    call,
    created,
    tenant_call,
)

SUBSCRIPTIONS = "triggers-test-subscriptions"
TOKEN = "Bearer 9f8e7d6c5b4a39281706abcd"
LARGE = {"payload": {"amount": [{"numeric": [">", 100]}]}}


def patch(call: Call, subscription_id: str, body: Any) -> Any:
    return call("PATCH", f"/v1/subscriptions/{subscription_id}", body)


def stored(dynamodb: Any, tenant_id: str, subscription_id: str) -> dict[str, Any]:
    key = subscriptions_table._key(tenant_id, subscription_id)
    item: dict[str, Any] = dynamodb.get_item(TableName=SUBSCRIPTIONS, Key=key, ConsistentRead=True)["Item"]
    return item


def version(dynamodb: Any, tenant_id: str) -> int:
    return subscriptions_table.versions(dynamodb, SUBSCRIPTIONS, [tenant_id])[tenant_id]


# PATCH


def test_patch_changes_the_fields_sent_keeps_the_rest_and_the_secret(
    call: Call, created: dict[str, Any], dynamodb: Any
) -> None:
    # Given
    secret_before = stored(dynamodb, "tenant-a", created["id"])["secret_ciphertext"]
    before = version(dynamodb, "tenant-a")

    # When
    reply = patch(
        call,
        created["id"],
        {
            "target_url": URL + "/moved",
            "event_types": ["order.paid", "order.paid", "order.created"],
            "description": "Finance Zap",
            "metadata": {"team": "finance"},
        },
    )

    # Then
    assert reply.status == 200, reply.text
    body = reply.json()
    assert "secret" not in body
    assert (body["target_url"], body["event_types"]) == (URL + "/moved", ["order.paid", "order.created"])
    assert (body["description"], body["metadata"]) == ("Finance Zap", {"team": "finance"})
    assert (body["status"], body["created_at"]) == ("active", created["created_at"])
    assert call("GET", f"/v1/subscriptions/{created['id']}").json() == body
    assert stored(dynamodb, "tenant-a", created["id"])["secret_ciphertext"] == secret_before
    assert version(dynamodb, "tenant-a") == before + 1


def test_null_removes_an_optional_field_and_maps_merge_key_by_key(
    call: Call, created: dict[str, Any]
) -> None:
    first = patch(
        call, created["id"], {"description": "d", "metadata": {"a": "1", "b": "2"}, "filter": LARGE}
    )
    assert first.status == 200, first.text

    merged = patch(call, created["id"], {"metadata": {"b": None, "c": "3"}, "description": None}).json()
    assert (merged["metadata"], merged["description"], merged["filter"]) == (
        {"a": "1", "c": "3"},
        None,
        LARGE,
    )

    cleared = patch(call, created["id"], {"metadata": None, "filter": None}).json()
    assert (cleared["metadata"], cleared["filter"]) == ({}, None)


def test_rate_limit_and_ordering_are_patchable_and_ordering_cannot_be_removed(
    call: Call, created: dict[str, Any]
) -> None:
    changed = patch(call, created["id"], {"rate_limit": 5, "ordering": "strict"})
    assert changed.status == 200, changed.text
    assert (changed.json()["rate_limit"], changed.json()["ordering"]) == (5, "strict")

    cleared = patch(call, created["id"], {"rate_limit": None, "ordering": "none"}).json()
    assert (cleared["rate_limit"], cleared["ordering"]) == (None, "none")

    for body, field in (({"ordering": None}, "ordering"), ({"rate_limit": 0}, "rate_limit")):
        problem = assert_problem(patch(call, created["id"], body), 422, "validation-failed")
        assert [error["field"] for error in problem["errors"]] == [field]


def test_a_patch_that_changes_nothing_writes_nothing(
    call: Call, created: dict[str, Any], dynamodb: Any
) -> None:
    before = version(dynamodb, "tenant-a")

    for body in (
        {},
        {"target_url": created["target_url"]},
        {"event_types": ["order.created"]},
        {"filter": None},
    ):
        reply = patch(call, created["id"], body)
        assert reply.status == 200, reply.text
        assert reply.json()["updated_at"] == created["updated_at"]

    assert version(dynamodb, "tenant-a") == before


def test_the_same_patch_twice_gives_the_same_subscription(call: Call, created: dict[str, Any]) -> None:
    body = {"description": "again", "event_types": ["order.paid"]}
    first, second = patch(call, created["id"], body), patch(call, created["id"], body)
    assert (first.status, second.status) == (200, 200)
    assert first.json() == second.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"secret": "whsec_mine"}, "secret"),
        ({"status": "disabled"}, "status"),
        ({"target_url": None}, "target_url"),
        ({"event_types": None}, "event_types"),
        ({"event_types": []}, "event_types"),
        ({"event_types": ["*", "order.created"]}, "event_types"),
        ({"target_url": "ftp://93.184.215.14/x"}, "target_url"),
        ({"target_url": "http://10.1.2.3/hook"}, "target_url"),
        ({"target_url": "http://169.254.169.254/latest/meta-data"}, "target_url"),
        ({"description": "x" * 257}, "description"),
        ({"description": ""}, "description"),
        ({"metadata": {f"k{i}": "v" for i in range(21)}}, "metadata"),
        ({"metadata": {"k": 1}}, "metadata.k"),
        ({"filter": {"payload": {"amount": 100}}}, "filter.payload.amount"),
        ({"filter": {"payload": {"amount": [{"numeric": [">", "x"]}]}}}, "filter.payload.amount.0.numeric.1"),
        ({"filter": {"detail": {"a": ["b"]}}}, "filter.detail"),
        ({"filter": "amount > 100"}, "filter"),
        ([], "body"),
    ],
)
def test_invalid_patch_is_422_naming_the_field_and_changes_nothing(
    call: Call, created: dict[str, Any], body: Any, field: str
) -> None:
    problem = assert_problem(patch(call, created["id"], body), 422, "validation-failed")
    assert field in [error["field"] for error in problem["errors"]], problem
    assert call("GET", f"/v1/subscriptions/{created['id']}").json() == {
        key: value for key, value in created.items() if key not in ("secret", "previous_secret_expires_at")
    }


def test_malformed_and_oversized_patches_are_400_and_413(call: Call, created: dict[str, Any]) -> None:
    assert_problem(call("PATCH", f"/v1/subscriptions/{created['id']}", raw="{"), 400, "malformed-request")
    assert_problem(
        call("PATCH", f"/v1/subscriptions/{created['id']}", {"description": "x" * 2_000_000}),
        413,
        "payload-too-large",
    )
    assert call("GET", f"/v1/subscriptions/{created['id']}").json()["description"] is None


def test_another_tenants_subscription_cannot_be_patched(
    tenant_call: Callable[[str], Call], created: dict[str, Any]
) -> None:
    other = tenant_call("tenant-b")
    assert_problem(patch(other, created["id"], {"description": "mine"}), 404, "not-found")
    assert_problem(patch(other, "sub_01JCCCCCCCCCCCCCCCCCCCCCCC", {"description": "x"}), 404, "not-found")


def test_patch_without_a_key_is_401(call: Call, created: dict[str, Any]) -> None:
    reply = call(
        "PATCH", f"/v1/subscriptions/{created['id']}", {"description": "x"}, auth="Bearer trg_unknown"
    )
    assert_problem(reply, 401, "unauthorized")
    assert call("GET", f"/v1/subscriptions/{created['id']}").json()["description"] is None


def test_patch_onto_another_subscriptions_target_and_types_is_409_and_the_guard_moves(
    call: Call, created: dict[str, Any]
) -> None:
    # Given a second subscription
    other = call(
        "POST", "/v1/subscriptions", {"target_url": URL + "/2", "event_types": ["order.created"]}
    ).json()

    # When the first is patched onto the second's target and types
    problem = assert_problem(
        patch(call, created["id"], {"target_url": URL + "/2"}), 409, "duplicate-subscription"
    )

    # Then the 409 names it; and once moved elsewhere, the first's old pair is free again
    assert problem["subscription_id"] == other["id"]
    assert patch(call, created["id"], {"target_url": URL + "/3"}).status == 200
    again = call("POST", "/v1/subscriptions", {"target_url": URL, "event_types": ["order.created"]})
    assert again.status == 201, again.text
    moved = call("POST", "/v1/subscriptions", {"target_url": URL + "/3", "event_types": ["order.created"]})
    assert_problem(moved, 409, "duplicate-subscription")


def test_a_concurrent_change_is_merged_not_lost(
    call: Call, created: dict[str, Any], dynamodb: Any, secrets_key: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given another writer that changes the subscription between this patch's read and its write
    read = subscriptions_table.get_subscription
    raced: list[bool] = []

    def read_then_race(*args: Any) -> Any:
        item = read(*args)
        if not raced:
            raced.append(True)
            subscriptions_table.update_subscription(
                dynamodb, SUBSCRIPTIONS, "tenant-a", created["id"], {"metadata": {"first": "1"}}, secrets_key
            )
        return item

    monkeypatch.setattr(subscriptions_table, "get_subscription", read_then_race)

    # When
    item = subscriptions_table.update_subscription(
        dynamodb, SUBSCRIPTIONS, "tenant-a", created["id"], {"metadata": {"second": "2"}}, secrets_key
    )

    # Then both changes are there
    assert item.metadata == {"first": "1", "second": "2"}
    assert item.revision == 2


def test_if_match_changes_only_the_version_read(call: Call, created: dict[str, Any]) -> None:
    # Given the ETag of the subscription as read
    path = f"/v1/subscriptions/{created['id']}"
    read = call("GET", path)
    tag = read.headers["ETag"]

    # When it is changed with that ETag, then again with the same (now stale) one
    first = call("PATCH", path, {"description": "first"}, headers={"If-Match": tag})
    stale = call("PATCH", path, {"description": "second"}, headers={"If-Match": tag})

    # Then the first applies and answers the new ETag, the second is a 412 and changes nothing
    assert first.status == 200, first.text
    assert first.headers["ETag"] != tag and first.headers["ETag"] == call("GET", path).headers["ETag"]
    assert_problem(stale, 412, "precondition-failed")
    weak = call("PATCH", path, {"description": "weak"}, headers={"If-Match": "W/" + first.headers["ETag"]})
    assert_problem(weak, 412, "precondition-failed")
    assert call("GET", path).json()["description"] == "first"
    listed = f'"nope", {first.headers["ETag"]}'
    assert call("PATCH", path, {"description": "listed"}, headers={"If-Match": listed}).status == 200
    assert call("PATCH", path, {"description": "any"}, headers={"If-Match": "*"}).status == 200


def test_an_expected_revision_that_moved_is_a_precondition_failure(
    created: dict[str, Any], dynamodb: Any, secrets_key: Any
) -> None:
    subscriptions_table.update_subscription(
        dynamodb, SUBSCRIPTIONS, "tenant-a", created["id"], {"description": "meanwhile"}, secrets_key
    )
    with pytest.raises(PreconditionFailed):
        subscriptions_table.update_subscription(
            dynamodb,
            SUBSCRIPTIONS,
            "tenant-a",
            created["id"],
            {"description": "mine"},
            secrets_key,
            expected_revision=0,
        )


# custom headers


def test_headers_are_returned_masked_and_stored_encrypted(call: Call, dynamodb: Any) -> None:
    reply = call(
        "POST",
        "/v1/subscriptions",
        {"target_url": URL, "event_types": ["*"], "headers": {"Authorization": TOKEN, "X-Short": "abc"}},
    )
    assert reply.status == 201, reply.text
    body = reply.json()
    assert body["headers"] == {"Authorization": "Bearer ****abcd", "X-Short": "****"}
    assert call("GET", f"/v1/subscriptions/{body['id']}").json()["headers"] == body["headers"]
    assert TOKEN not in reply.text and TOKEN not in call("GET", "/v1/subscriptions").text
    item = stored(dynamodb, "tenant-a", body["id"])
    assert item["custom_headers"]["M"]["Authorization"]["M"]["ciphertext"]["S"].startswith("kms1:")


def test_patched_headers_merge_by_name_case_insensitively(call: Call, created: dict[str, Any]) -> None:
    patch(call, created["id"], {"headers": {"Authorization": TOKEN, "X-A": "1"}})

    merged = patch(
        call, created["id"], {"headers": {"authorization": "Basic dXNlcjpwYXNzd29yZA==", "X-A": None}}
    )

    assert merged.json()["headers"] == {"authorization": "Basic ****ZA=="}
    assert patch(call, created["id"], {"headers": None}).json()["headers"] == {}


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({"Host": "evil.example"}, "headers.Host"),
        ({"Connection": "close"}, "headers.Connection"),
        ({"Transfer-Encoding": "chunked"}, "headers.Transfer-Encoding"),
        ({"Proxy-Authorization": "Basic x"}, "headers.Proxy-Authorization"),
        ({"Content-Type": "text/plain"}, "headers.Content-Type"),
        ({"content-length": "0"}, "headers.content-length"),
        ({"Webhook-Signature": "v1,forged"}, "headers.Webhook-Signature"),
        ({"User-Agent": "me"}, "headers.User-Agent"),
        ({"TE": "trailers"}, "headers.TE"),
        ({"Bad Name": "x"}, "headers.Bad Name"),
        ({"X-A": "line\r\nX-Injected: 1"}, "headers.X-A"),
        ({"X-A": "tab\tis fine but not trailing "}, "headers.X-A"),
        ({"X-A": ""}, "headers.X-A"),
        ({"X-A": "é"}, "headers.X-A"),
        ({"X-A": "x" * 1025}, "headers.X-A"),
        ({f"X-{i}": "v" for i in range(11)}, "headers"),
        ({f"X-{i}": "v" * 1000 for i in range(5)}, "headers"),
        ({"X-A": "1", "x-a": "2"}, "headers"),
    ],
)
def test_refused_headers_are_422_and_nothing_is_stored(
    call: Call, headers: dict[str, str], field: str
) -> None:
    reply = call("POST", "/v1/subscriptions", {"target_url": URL, "event_types": ["*"], "headers": headers})
    problem = assert_problem(reply, 422, "validation-failed")
    assert field in [error["field"] for error in problem["errors"]], problem
    assert call("GET", "/v1/subscriptions").json() == {"data": []}


def test_headers_beyond_the_bounds_after_a_merge_are_422(call: Call, created: dict[str, Any]) -> None:
    assert patch(call, created["id"], {"headers": {f"X-{i}": "v" for i in range(10)}}).status == 200
    problem = assert_problem(patch(call, created["id"], {"headers": {"X-10": "v"}}), 422, "validation-failed")
    assert [error["field"] for error in problem["errors"]] == ["headers"]
    assert len(call("GET", f"/v1/subscriptions/{created['id']}").json()["headers"]) == 10


def test_header_values_never_reach_the_logs(
    call: Call, created: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    patch(call, created["id"], {"headers": {"Authorization": TOKEN}})
    call(
        "POST",
        "/v1/subscriptions",
        {"target_url": URL + "/h", "event_types": ["*"], "headers": {"X-Key": TOKEN}},
    )
    call(
        "POST",
        "/v1/subscriptions",
        {"target_url": URL + "/h", "event_types": ["*"], "headers": {"Host": TOKEN}},
    )

    logs = " ".join(str(record.__dict__) for record in caplog.records)
    assert created["id"] in logs
    assert "9f8e7d6c5b4a" not in logs


# content filter at create


def test_a_filter_is_validated_and_returned_at_create(call: Call) -> None:
    body = {
        "target_url": URL,
        "event_types": ["*"],
        "filter": LARGE,
        "description": "big",
        "metadata": {"k": "v"},
    }
    reply = call("POST", "/v1/subscriptions", body)
    assert reply.status == 201, reply.text
    assert (reply.json()["filter"], reply.json()["description"], reply.json()["metadata"]) == (
        LARGE,
        "big",
        {"k": "v"},
    )

    bad = call(
        "POST",
        "/v1/subscriptions",
        {**body, "target_url": URL + "/2", "filter": {"payload": {"a": [{"regex": "x"}]}}},
    )
    problem = assert_problem(bad, 422, "validation-failed")
    assert problem["errors"][0]["field"] == "filter.payload.a.0.regex"
    assert "unknown operator" in problem["detail"]


# GET /v1/me


def test_me_names_the_tenant_and_the_key(tenant_call: Callable[[str], Call]) -> None:
    reply = tenant_call("tenant-m")("GET", "/v1/me")
    assert reply.status == 200, reply.text
    me = reply.json()
    assert me["tenant_id"] == "tenant-m"
    assert len(me["key_id"]) == 16 and me["key_hint"].startswith("trg_") and me["created_at"]


def test_me_without_a_key_is_401(call: Call) -> None:
    assert_problem(call("GET", "/v1/me", auth=""), 401, "unauthorized")
