"""Scoped and expiring API keys, key ids in the logs, and the audit trail, over HTTP and the CLI
against the embedded stack."""

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devtools.audit import cli_actor
from devtools.receiver import Faults
from devtools.stack import EmbeddedStack
from ingest.core.api_keys_table import create_api_key, key_id
from tests.e2e.conftest import Configure, configure, wait_until  # noqa: F401 - fixtures
from tests.integration.cli_support import command_json, key_of, triggers
from tests.integration.conftest import ApiClient
from tests.integration.test_cli_dlq import dead_delivery, letter_of, redrive  # noqa: F401 - fixtures
from tests.integration.test_ingest_logs import _wait_for_line

SUBSCRIPTION = {"target_url": "http://127.0.0.1:9/never", "event_types": ["audit.never"]}
EVENT = {"event_type": "audit.checked", "payload": {"n": 1}}

Aws = Callable[[str], Any]


@pytest.fixture
def scoped(stack: EmbeddedStack, aws_client: Aws) -> Callable[..., ApiClient]:
    """Factory: a client of a fresh tenant (or `tenant_id`) whose key has these scopes."""

    def make(*scopes: str, tenant_id: str | None = None, expires_at: datetime | None = None) -> ApiClient:
        tenant = tenant_id or f"t-scope-{uuid.uuid4().hex[:10]}"
        table = stack.template.physical_name("ApiKeysTable")
        api_key = create_api_key(aws_client("dynamodb"), table, tenant, scopes, expires_at)
        return ApiClient(stack.api_url, api_key, tenant)

    return make


def assert_insufficient(response: Any, needed: str) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "https://triggers.dev/problems/insufficient-scope"
    assert problem["required_scope"] == needed


def test_a_read_only_key_cannot_subscribe_nor_post_events(scoped: Callable[..., ApiClient]) -> None:
    reader = scoped("events:read")

    assert_insufficient(reader.post("/v1/subscriptions", json=SUBSCRIPTION), "subscriptions:manage")
    assert_insufficient(reader.post("/v1/events", json=EVENT), "events:write")

    # nothing was stored, and reading works
    assert reader.get("/v1/events").json()["data"] == []
    admin = scoped("admin", tenant_id=reader.tenant_id)
    assert admin.get("/v1/subscriptions").json()["data"] == []


def test_an_events_write_key_posts_events_but_cannot_list_subscriptions(
    scoped: Callable[..., ApiClient],
) -> None:
    writer = scoped("events:write")

    assert writer.post("/v1/events", json=EVENT).status_code == 201
    assert_insufficient(writer.get("/v1/subscriptions"), "subscriptions:manage")
    assert_insufficient(writer.get("/v1/audit"), "audit:read")


def test_an_expired_key_is_401_saying_expired(scoped: Callable[..., ApiClient]) -> None:
    expired = scoped("admin", expires_at=datetime.now(UTC) - timedelta(minutes=1))

    response = expired.post("/v1/events", json=EVENT)

    assert response.status_code == 401
    assert response.json()["detail"] == "API key expired"


def test_cli_creates_scoped_expiring_keys_and_lists_them(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant_id = f"t-cli-{uuid.uuid4().hex[:10]}"

    assert (
        triggers(
            stack,
            "keys",
            "create",
            "--tenant",
            tenant_id,
            "--scope",
            "events:read",
            "--scope",
            "audit:read",
            "--expires-in",
            "30d",
            "--json",
        )
        == 0
    )
    created = command_json(capsys)
    assert triggers(stack, "keys", "ls", "--tenant", tenant_id, "--json") == 0
    (listed,) = command_json(capsys)

    assert created["scopes"] == listed["scopes"] == ["events:read", "audit:read"]
    expires = datetime.fromisoformat(listed["expires_at"])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
    assert listed["key_id"] == created["key_id"] and listed["revoked_at"] is None
    reader = ApiClient(stack.api_url, created["api_key"], tenant_id)
    assert reader.get("/v1/events").status_code == 200
    assert_insufficient(reader.post("/v1/events", json=EVENT), "events:write")


@pytest.mark.parametrize(
    "argv", [["--scope", "events:delete"], ["--expires-in", "soon"], ["--expires-at", "2020-01-01T00:00:00Z"]]
)
def test_cli_refuses_unknown_scopes_and_bad_or_past_expiries(stack: EmbeddedStack, argv: list[str]) -> None:
    tenant_id = f"t-cli-{uuid.uuid4().hex[:10]}"
    try:
        code = triggers(stack, "keys", "create", "--tenant", tenant_id, *argv)
    except SystemExit as exc:  # argparse's refusal
        code = int(exc.code or 0)

    assert code == 2


def test_request_log_lines_name_the_key_id(stack: EmbeddedStack, api: ApiClient, aws_client: Aws) -> None:
    # Given a request with a key
    created = api.post("/v1/events", json=EVENT)
    event_id = created.json()["id"]

    # When the ingest function's JSON log lines of that request are read
    group = f"/aws/lambda/{stack.template.physical_name('IngestFunction')}"
    messages = _wait_for_line(aws_client("logs"), group, event_id)
    request_id = next(json.loads(m) for m in messages if event_id in m and m.startswith("{"))[
        "function_request_id"
    ]
    lines = [json.loads(m) for m in messages if m.startswith("{") and request_id in m]

    # Then each names the key by its id, and none holds the key
    assert lines and all(line["key_id"] == key_id(key_of(api)) for line in lines)
    assert not any(key_of(api) in m for m in messages)


def test_another_tenants_audit_is_never_visible(api: ApiClient, new_tenant: Callable[[], ApiClient]) -> None:
    assert api.post("/v1/subscriptions", json=SUBSCRIPTION).status_code == 201
    other = new_tenant()

    mine, theirs = api.get("/v1/audit"), other.get("/v1/audit")

    assert [record["action"] for record in mine.json()["data"]] == ["subscription.create"]
    assert theirs.status_code == 200 and theirs.json() == {"data": [], "next_cursor": None}
    cursor_of_mine = api.get("/v1/audit", params={"limit": 1}).json()["next_cursor"]
    assert (
        cursor_of_mine is None or other.get("/v1/audit", params={"cursor": cursor_of_mine}).status_code == 400
    )


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("limit=5&limit=6", 400),
        ("since=2026-01-01T00:00:00Z&since=2026-01-02T00:00:00Z", 400),
        ("cursor=eyJ0ZW5hbnRfaWQiOiJ4In0=", 400),
        ("since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z", 400),
        ("limit=abc", 422),
        ("action=" + "x" * 65, 422),
        ("cursor=" + "c" * 2049, 422),
    ],
)
def test_malformed_oversized_or_repeated_audit_parameters_are_refused(
    api: ApiClient, query: str, status: int
) -> None:
    response = api.get(f"/v1/audit?{query}")

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_every_change_appears_in_the_audit_trail(
    api: ApiClient,
    stack: EmbeddedStack,
    capsys: pytest.CaptureFixture[str],
    dead_delivery: Any,  # noqa: F811
) -> None:
    # Given a tenant with a dead-lettered delivery (its subscription created through the API)
    receiver, subscription, event_id, letter = dead_delivery
    subscription_id = subscription["id"]
    receiver.faults = Faults()

    # When an operator redrives it and manages keys with the CLI...
    code, result = redrive(stack, capsys, letter["id"])
    assert code == 0, result
    assert (
        triggers(stack, "keys", "create", "--tenant", api.tenant_id, "--scope", "audit:read", "--json") == 0
    )
    new_key = command_json(capsys)
    assert triggers(stack, "keys", "revoke", new_key["key_id"], "--json") == 0
    command_json(capsys)
    # ... and the tenant replays, recovers, rotates, re-enables and unsubscribes through the API
    replayed = api.post(f"/v1/subscriptions/{subscription_id}/replay", json={"event_ids": [event_id]})
    assert replayed.status_code == 202, replayed.text
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    recovered = api.post(f"/v1/subscriptions/{subscription_id}/recover", json={"since": since})
    assert recovered.status_code == 202, recovered.text
    assert api.post(f"/v1/subscriptions/{subscription_id}/rotate-secret").status_code == 200
    assert api.post(f"/v1/subscriptions/{subscription_id}/enable").status_code == 200
    assert api.delete(f"/v1/subscriptions/{subscription_id}").status_code == 204
    # ... and changes its event-type catalog
    created = api.post("/v1/event-types", json={"name": "audit.probe", "description": "probe"})
    assert created.status_code == 201, created.text
    assert api.patch("/v1/event-types/audit.probe", json={"deprecated": True}).status_code == 200
    assert api.delete("/v1/event-types/audit.probe").status_code == 204

    # Then GET /v1/audit lists every change, newest first, each with who made it
    records = api.get("/v1/audit", params={"limit": 100}).json()["data"]
    by_action = {record["action"]: record for record in records}
    assert [record["action"] for record in records] == [
        "event_type.delete",
        "event_type.update",
        "event_type.create",
        "subscription.delete",
        "subscription.enable",
        "subscription.rotate_secret",
        "subscription.recover",
        "subscription.replay",
        "api_key.revoke",
        "api_key.create",
        "delivery.redrive",
        "subscription.create",
    ]
    me, operator = key_id(key_of(api)), cli_actor()
    by_api = ("subscription.", "event_type.")
    assert {record["actor"] for record in records if record["action"].startswith(by_api)} == {me}
    assert {record["actor"] for record in records if not record["action"].startswith(by_api)} == {operator}
    assert by_action["event_type.update"]["before"] == {"has_schema": False, "deprecated": False}
    assert by_action["event_type.update"]["after"] == {"has_schema": False, "deprecated": True}
    assert by_action["delivery.redrive"]["resource_id"] == f"{event_id}/{subscription_id}"
    assert by_action["delivery.redrive"]["before"]["state"] == "failed"
    assert by_action["api_key.revoke"]["resource_id"] == new_key["key_id"]
    assert by_action["api_key.revoke"]["after"]["revoked_at"] is not None
    assert by_action["subscription.delete"]["before"]["status"] == "active"
    text = json.dumps(records)
    assert subscription["secret"] not in text and new_key["api_key"] not in text
    # and the filters and the operator's view agree
    only = api.get("/v1/audit", params={"action": "api_key.create"}).json()["data"]
    assert [record["resource_id"] for record in only] == [new_key["key_id"]]
    assert triggers(stack, "audit", "--tenant", api.tenant_id, "--json") == 0
    assert [record["id"] for record in command_json(capsys)] == [record["id"] for record in records]
    assert triggers(stack, "audit", "--action", "api_key.revoke", "--limit", "10000", "--json") == 0
    every_tenant = command_json(capsys)
    assert {"tenant_id": api.tenant_id, **by_action["api_key.revoke"]} in every_tenant
    assert {record["action"] for record in every_tenant} == {"api_key.revoke"}
