"""The audit trail: its table module (moto in-process) and GET /v1/audit through the real handler."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ingest.core.api_keys_table import create_api_key, key_id
from ingest.core.audit_table import AuditLog, AuditQuery, list_changes, record_change
from ingest.core.errors import MalformedRequest
from ingest.core.settings import get_settings
from tests.unit.test_api_handler import Call, assert_problem, invoke, output  # noqa: F401 - fixtures

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SUBSCRIPTION = json.dumps({"target_url": "https://93.184.215.14/hooks/audit/cap-token", "event_types": ["*"]})


@pytest.fixture
def audit(dynamodb: Any) -> AuditLog:
    return AuditLog(dynamodb, get_settings().audit_table, 365)


def change(audit: AuditLog, tenant_id: str, action: str, at: datetime, resource_id: str = "sub_1") -> str:
    return record_change(
        audit,
        tenant_id=tenant_id,
        actor="0123456789abcdef",
        action=action,
        resource_type="subscription",
        resource_id=resource_id,
        after={"status": "active"},
        now=at,
    ).id


def test_records_list_newest_first_per_tenant(audit: AuditLog, dynamodb: Any) -> None:
    first = change(audit, "tenant-a", "subscription.create", T0)
    second = change(audit, "tenant-a", "subscription.delete", T0 + timedelta(minutes=1))
    change(audit, "tenant-b", "subscription.create", T0)

    page = list_changes(dynamodb, audit.table, "tenant-a", AuditQuery())

    assert [record.id for record in page.data] == [second, first]
    assert page.data[1].after == {"status": "active"} and page.data[1].before is None
    assert page.next_cursor is None


def test_action_and_time_filters(audit: AuditLog, dynamodb: Any) -> None:
    change(audit, "tenant-a", "subscription.create", T0)
    enabled = change(audit, "tenant-a", "subscription.enable", T0 + timedelta(hours=1))
    change(audit, "tenant-a", "subscription.create", T0 + timedelta(hours=2))

    by_action = list_changes(dynamodb, audit.table, "tenant-a", AuditQuery(action="subscription.enable"))
    in_range = list_changes(
        dynamodb,
        audit.table,
        "tenant-a",
        AuditQuery(since=T0 + timedelta(minutes=30), until=T0 + timedelta(minutes=90)),
    )

    assert [record.id for record in by_action.data] == [enabled]
    assert [record.id for record in in_range.data] == [enabled]


def test_cursor_pages_through_everything_once(audit: AuditLog, dynamodb: Any) -> None:
    ids = [change(audit, "tenant-a", "subscription.create", T0 + timedelta(seconds=n)) for n in range(5)]
    seen: list[str] = []
    cursor = None

    while True:
        page = list_changes(dynamodb, audit.table, "tenant-a", AuditQuery(limit=2, cursor=cursor))
        seen.extend(record.id for record in page.data)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert seen == list(reversed(ids))


def test_a_cursor_of_another_tenant_is_refused(audit: AuditLog, dynamodb: Any) -> None:
    for n in range(2):
        change(audit, "tenant-a", "subscription.create", T0 + timedelta(seconds=n))
    cursor = list_changes(dynamodb, audit.table, "tenant-a", AuditQuery(limit=1)).next_cursor
    assert cursor is not None

    with pytest.raises(MalformedRequest, match="cursor"):
        list_changes(dynamodb, audit.table, "tenant-b", AuditQuery(cursor=cursor))
    with pytest.raises(MalformedRequest, match="cursor"):
        list_changes(dynamodb, audit.table, "tenant-a", AuditQuery(cursor="not-a-cursor"))


@pytest.mark.parametrize("field", ["secret", "previous_secret_ciphertext", "key_hash", "api_key", "token"])
def test_a_field_that_may_hold_a_secret_is_refused(audit: AuditLog, dynamodb: Any, field: str) -> None:
    with pytest.raises(ValueError, match="never hold secrets"):
        record_change(
            audit,
            tenant_id="tenant-a",
            actor="cli:op",
            action="subscription.rotate_secret",
            resource_type="subscription",
            resource_id="sub_1",
            after={field: "whsec_x"},
        )

    assert dynamodb.scan(TableName=audit.table)["Count"] == 0


def test_records_expire_after_the_retention(audit: AuditLog, dynamodb: Any) -> None:
    change(audit, "tenant-a", "subscription.create", T0)

    (item,) = dynamodb.scan(TableName=audit.table)["Items"]

    assert int(item["expires_at"]["N"]) == int((T0 + timedelta(days=365)).timestamp())


def test_a_failed_write_is_logged_whole_and_counted_never_raised(
    output: Callable[[], str],  # noqa: F811
) -> None:
    class Failing:
        def put_item(self, **_: Any) -> None:
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "down"}}, "PutItem")

    record = record_change(
        AuditLog(Failing(), "audit", 365),  # type: ignore[arg-type]
        tenant_id="tenant-a",
        actor="0123456789abcdef",
        action="subscription.delete",
        resource_type="subscription",
        resource_id="sub_lost",
        before={"status": "active"},
    )

    text = output()
    (line,) = [json.loads(x) for x in text.splitlines() if "audit record lost" in x]
    assert line["level"] == "ERROR"
    assert line["audit"]["resource_id"] == "sub_lost" and line["audit"]["id"] == record.id
    assert '"AuditWriteFailed"' in text


# --- GET /v1/audit and what the routes record -----------------------------------------------


@pytest.fixture
def admin_key(dynamodb: Any) -> Callable[[str], str]:
    return lambda tenant_id: create_api_key(dynamodb, get_settings().api_keys_table, tenant_id)


def test_subscription_changes_are_recorded_with_the_key_id_and_no_secret(
    invoke: Call,  # noqa: F811
    admin_key: Callable[[str], str],
) -> None:
    # Given a tenant that subscribes, rotates, disables... through the API
    api_key = admin_key("tenant-a")
    created = invoke("POST", "/v1/subscriptions", SUBSCRIPTION, key=api_key).json()
    subscription_id = created["id"]
    rotated = invoke("POST", f"/v1/subscriptions/{subscription_id}/rotate-secret", key=api_key).json()
    assert invoke("POST", f"/v1/subscriptions/{subscription_id}/enable", key=api_key).status == 200
    assert invoke("DELETE", f"/v1/subscriptions/{subscription_id}", key=api_key).status == 204

    # When its audit trail is read
    reply = invoke("GET", "/v1/audit", key=api_key)

    # Then each change is there, newest first, by this key, without any secret or the URL's path
    assert reply.status == 200, reply.text
    records = reply.json()["data"]
    assert [record["action"] for record in records] == [
        "subscription.delete",
        "subscription.enable",
        "subscription.rotate_secret",
        "subscription.create",
    ]
    assert {record["actor"] for record in records} == {key_id(api_key)}
    assert {record["resource_id"] for record in records} == {subscription_id}
    assert records[-1]["after"]["target_host"] == "93.184.215.14"
    assert records[0]["before"]["status"] == "active" and records[0]["after"] is None
    for secret in (created["secret"], rotated["secret"], "cap-token", api_key):
        assert secret not in reply.text


def test_another_tenants_audit_is_never_visible(
    invoke: Call,  # noqa: F811
    admin_key: Callable[[str], str],
) -> None:
    assert invoke("POST", "/v1/subscriptions", SUBSCRIPTION, key=admin_key("tenant-a")).status == 201

    reply = invoke("GET", "/v1/audit", key=admin_key("tenant-b"))

    assert reply.status == 200 and reply.json() == {"data": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("query", "status", "slug"),
    [
        ("limit=1&limit=2", 400, "malformed-request"),
        ("action=subscription.create&action=subscription.delete", 400, "malformed-request"),
        ("cursor=abc&cursor=abc", 400, "malformed-request"),
        ("cursor=not-a-cursor", 400, "malformed-request"),
        ("since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z", 400, "malformed-request"),
        ("limit=0", 422, "validation-failed"),
        ("limit=101", 422, "validation-failed"),
        ("since=yesterday", 422, "validation-failed"),
        ("action=DROP%20TABLE", 422, "validation-failed"),
        ("action=" + "a" * 40 + "." + "b" * 40, 422, "validation-failed"),
        ("cursor=" + "c" * 2049, 422, "validation-failed"),
    ],
)
def test_bad_audit_queries_are_refused_clearly(
    invoke: Call,  # noqa: F811
    admin_key: Callable[[str], str],
    query: str,
    status: int,
    slug: str,
) -> None:
    assert_problem(invoke("GET", f"/v1/audit?{query}", key=admin_key("tenant-a")), status, slug)


def test_repeated_parameters_without_a_key_are_still_401(invoke: Call) -> None:  # noqa: F811
    assert_problem(invoke("GET", "/v1/audit?limit=1&limit=2"), 401, "unauthorized")
