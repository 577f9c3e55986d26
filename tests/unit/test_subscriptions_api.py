"""The subscription routes through the real Lambda handler with API Gateway HTTP API v2 events."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks import Webhook

from devtools.runner.apiserver import http_api_event
from devtools.runner.lambda_context import LocalLambdaContext
from ingest.core import deliveries_table, events_table, subscriptions_table
from ingest.core.api_keys_table import create_api_key
from ingest.core.deliveries_table import Attempt
from ingest.core.events_table import EventQuery
from ingest.core.runtime import runtime
from ingest.handler import lambda_handler

API_KEYS_TABLE = "triggers-test-api-keys"
DELIVERIES_TABLE = "triggers-test-deliveries"
URL = "https://93.184.215.14/hooks/zap-1"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


Call = Callable[..., Reply]


@pytest.fixture
def tenant_call(dynamodb: Any, lambda_context: LocalLambdaContext) -> Callable[[str], Call]:
    """Factory: a caller authenticated as a fresh API key of `tenant_id`."""

    def for_tenant(tenant_id: str) -> Call:
        api_key = create_api_key(dynamodb, API_KEYS_TABLE, tenant_id)

        def call(
            method: str,
            path: str,
            body: Any = None,
            *,
            raw: str | None = None,
            auth: str | None = None,
            headers: dict[str, str] | None = None,
        ) -> Reply:
            text = raw if raw is not None else ("" if body is None else json.dumps(body))
            headers = {**(headers or {}), "authorization": auth if auth is not None else f"Bearer {api_key}"}
            if text:
                headers["content-type"] = "application/json"
            event = http_api_event(method, path, headers, text.encode(), "127.0.0.1")
            response = lambda_handler(event, lambda_context)
            return Reply(response["statusCode"], response.get("headers", {}), response.get("body", ""))

        return call

    return for_tenant


@pytest.fixture
def call(tenant_call: Callable[[str], Call]) -> Call:
    return tenant_call("tenant-a")


@pytest.fixture
def created(call: Call) -> dict[str, Any]:
    reply = call("POST", "/v1/subscriptions", {"target_url": URL, "event_types": ["order.created"]})
    assert reply.status == 201, reply.text
    return dict(reply.json())


def assert_problem(reply: Reply, status: int, slug: str) -> dict[str, Any]:
    assert reply.status == status, reply.text
    assert reply.headers["Content-Type"] == "application/problem+json"
    problem = dict(reply.json())
    assert problem["type"].endswith("/" + slug)
    return problem


# create


def test_create_returns_id_and_signing_secret(created: dict[str, Any]) -> None:
    assert created["id"].startswith("sub_")
    assert created["secret"].startswith("whsec_")
    assert (created["target_url"], created["event_types"], created["status"]) == (
        URL,
        ["order.created"],
        "active",
    )


def test_created_secret_signs_standard_webhooks(created: dict[str, Any]) -> None:
    webhook = Webhook(created["secret"])
    now = datetime.now(UTC)
    signature = webhook.sign("msg_1", now, '{"a":1}')
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    assert webhook.verify('{"a":1}', headers) == {"a": 1}


def test_create_deduplicates_event_types_keeping_order(call: Call) -> None:
    reply = call("POST", "/v1/subscriptions", {"target_url": URL, "event_types": ["b.x", "a.y", "b.x"]})
    assert reply.json()["event_types"] == ["b.x", "a.y"]


def test_create_accepts_star_for_every_type(call: Call) -> None:
    reply = call("POST", "/v1/subscriptions", {"target_url": URL, "event_types": ["*"]})
    assert (reply.status, reply.json()["event_types"]) == (201, ["*"])


def test_duplicate_create_is_409_naming_the_existing_subscription(
    call: Call, created: dict[str, Any]
) -> None:
    reply = call("POST", "/v1/subscriptions", {"target_url": URL, "event_types": ["order.created"]})
    problem = assert_problem(reply, 409, "duplicate-subscription")
    assert problem["subscription_id"] == created["id"]
    assert created["secret"] not in reply.text
    assert len(call("GET", "/v1/subscriptions").json()["data"]) == 1


def test_create_without_key_is_401(call: Call) -> None:
    reply = call("POST", "/v1/subscriptions", {"target_url": URL, "event_types": ["*"]}, auth="")
    assert_problem(reply, 401, "unauthorized")


def test_create_with_unknown_key_is_401(call: Call) -> None:
    reply = call(
        "POST", "/v1/subscriptions", {"target_url": URL, "event_types": ["*"]}, auth="Bearer trg_nope"
    )
    assert_problem(reply, 401, "unauthorized")


def test_unauthorised_create_stores_nothing(call: Call) -> None:
    call("POST", "/v1/subscriptions", {"target_url": URL, "event_types": ["*"]}, auth="Bearer trg_nope")
    assert call("GET", "/v1/subscriptions").json() == {"data": []}


def test_malformed_json_is_400(call: Call) -> None:
    assert_problem(call("POST", "/v1/subscriptions", raw='{"target_url": '), 400, "malformed-request")


def test_oversized_body_is_413(call: Call) -> None:
    body = json.dumps({"target_url": URL, "event_types": ["*"], "pad": "x" * 2_000_000})
    assert_problem(call("POST", "/v1/subscriptions", raw=body), 413, "payload-too-large")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({"event_types": ["*"]}, "target_url"),
        ({"target_url": URL}, "event_types"),
        ({"target_url": URL, "event_types": []}, "event_types"),
        ({"target_url": URL, "event_types": "order.created"}, "event_types"),
        ({"target_url": URL, "event_types": ["bad type!"]}, "event_types.0"),
        ({"target_url": URL, "event_types": ["a." + "x" * 200]}, "event_types.0"),
        ({"target_url": URL, "event_types": ["*", "order.created"]}, "event_types"),
        ({"target_url": URL, "event_types": [f"t{i}" for i in range(51)]}, "event_types"),
        ({"target_url": URL, "event_types": ["*"], "secret": "whsec_mine"}, "secret"),
        ({"target_url": "/relative/path", "event_types": ["*"]}, "target_url"),
        ({"target_url": "https://93.184.215.14/a b", "event_types": ["*"]}, "target_url"),
        ({"target_url": "https://93.184.215.14/a\r\nX-Injected: 1", "event_types": ["*"]}, "target_url"),
        ({"target_url": "https://[::1", "event_types": ["*"]}, "target_url"),
        ({"target_url": 42, "event_types": ["*"]}, "target_url"),
        ({"target_url": "ftp://93.184.215.14/x", "event_types": ["*"]}, "target_url"),
        ({"target_url": "https://user:pw@93.184.215.14/x", "event_types": ["*"]}, "target_url"),
        ({"target_url": "https://93.184.215.14/" + "x" * 2048, "event_types": ["*"]}, "target_url"),
        ({"target_url": "http://127.0.0.1:8787/hook", "event_types": ["*"]}, "target_url"),
        ({"target_url": "http://10.1.2.3/hook", "event_types": ["*"]}, "target_url"),
        ({"target_url": "http://169.254.169.254/latest/meta-data", "event_types": ["*"]}, "target_url"),
        ({"target_url": "http://100.64.0.1/hook", "event_types": ["*"]}, "target_url"),
        ({"target_url": "http://[::ffff:127.0.0.1]/hook", "event_types": ["*"]}, "target_url"),
        ({"target_url": URL, "event_types": ["*"], "rate_limit": 0}, "rate_limit"),
        ({"target_url": URL, "event_types": ["*"], "rate_limit": -5}, "rate_limit"),
        ({"target_url": URL, "event_types": ["*"], "rate_limit": 1001}, "rate_limit"),
        ({"target_url": URL, "event_types": ["*"], "rate_limit": 10**30}, "rate_limit"),
        ({"target_url": URL, "event_types": ["*"], "rate_limit": 2.5}, "rate_limit"),
        ({"target_url": URL, "event_types": ["*"], "rate_limit": "2"}, "rate_limit"),
        ({"target_url": URL, "event_types": ["*"], "rate_limit": True}, "rate_limit"),
        ({"target_url": URL, "event_types": ["*"], "ordering": "fifo"}, "ordering"),
        ({"target_url": URL, "event_types": ["*"], "ordering": "STRICT"}, "ordering"),
        ({"target_url": URL, "event_types": ["*"], "ordering": None}, "ordering"),
        ({"target_url": URL, "event_types": ["*"], "ordering": ["strict"]}, "ordering"),
        ({"target_url": URL, "event_types": ["*"], "ordering": "s" * 5000}, "ordering"),
    ],
)
def test_invalid_create_is_422_naming_the_field(call: Call, body: Any, field: str) -> None:
    problem = assert_problem(call("POST", "/v1/subscriptions", body), 422, "validation-failed")
    assert field in [error["field"] for error in problem["errors"]]
    assert call("GET", "/v1/subscriptions").json() == {"data": []}


@pytest.fixture
def set_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """Change a setting for the rest of the test (the `aws` fixture forgets cached settings after it)."""

    def set_(name: str, value: str) -> None:
        monkeypatch.setenv(name, value)
        runtime.reset()

    return set_


def test_loopback_target_is_accepted_when_the_stage_allows_it(
    call: Call, set_env: Callable[[str, str], None]
) -> None:
    set_env("ALLOW_LOOPBACK_WEBHOOKS", "true")
    reply = call(
        "POST", "/v1/subscriptions", {"target_url": "http://127.0.0.1:8787/hook", "event_types": ["*"]}
    )
    assert reply.status == 201, reply.text


def test_http_target_is_refused_outside_local_stages(call: Call, set_env: Callable[[str, str], None]) -> None:
    set_env("STAGE", "prod")
    reply = call(
        "POST", "/v1/subscriptions", {"target_url": "http://93.184.215.14/hook", "event_types": ["*"]}
    )
    problem = assert_problem(reply, 422, "validation-failed")
    assert "https" in problem["detail"]


def test_https_target_is_accepted_outside_local_stages(
    call: Call, set_env: Callable[[str, str], None]
) -> None:
    set_env("STAGE", "prod")
    reply = call("POST", "/v1/subscriptions", {"target_url": URL, "event_types": ["*"]})
    assert reply.status == 201, reply.text


def test_secrets_never_reach_the_logs(call: Call, caplog: pytest.LogCaptureFixture) -> None:
    # Given
    created = call("POST", "/v1/subscriptions", {"target_url": URL, "event_types": ["*"]}).json()
    # When
    rotated = call("POST", f"/v1/subscriptions/{created['id']}/rotate-secret").json()
    # Then
    logs = " ".join(str(record.__dict__) for record in caplog.records)
    assert created["id"] in logs
    assert created["secret"] not in logs and rotated["secret"] not in logs


# read


def test_list_returns_subscriptions_without_secrets(call: Call, created: dict[str, Any]) -> None:
    reply = call("GET", "/v1/subscriptions")
    assert reply.status == 200
    assert [item["id"] for item in reply.json()["data"]] == [created["id"]]
    assert "secret" not in reply.text


def test_rate_limit_and_ordering_default_to_none(created: dict[str, Any]) -> None:
    assert (created["rate_limit"], created["ordering"]) == (None, "none")


@pytest.mark.parametrize(("rate_limit", "ordering"), [(1, "strict"), (1000, "none"), (None, "strict")])
def test_rate_limit_and_ordering_are_stored_and_returned(
    call: Call, rate_limit: int | None, ordering: str
) -> None:
    body = {"target_url": URL, "event_types": ["*"], "rate_limit": rate_limit, "ordering": ordering}
    reply = call("POST", "/v1/subscriptions", body)
    assert reply.status == 201, reply.text
    assert (reply.json()["rate_limit"], reply.json()["ordering"]) == (rate_limit, ordering)
    fetched = call("GET", f"/v1/subscriptions/{reply.json()['id']}").json()
    assert (fetched["rate_limit"], fetched["ordering"]) == (rate_limit, ordering)
    listed = call("GET", "/v1/subscriptions").json()["data"]
    assert [(item["rate_limit"], item["ordering"]) for item in listed] == [(rate_limit, ordering)]


def test_get_returns_subscription_without_secret(call: Call, created: dict[str, Any]) -> None:
    reply = call("GET", f"/v1/subscriptions/{created['id']}")
    assert reply.status == 200
    assert reply.json()["id"] == created["id"]
    assert "secret" not in reply.text


def test_list_shows_only_the_callers_subscriptions(
    tenant_call: Callable[[str], Call], created: dict[str, Any]
) -> None:
    assert tenant_call("tenant-b")("GET", "/v1/subscriptions").json() == {"data": []}


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("DELETE", ""),
        ("POST", "/enable"),
        ("POST", "/disable"),
        ("POST", "/rotate-secret"),
        ("GET", "/deliveries"),
    ],
)
def test_other_tenants_subscription_is_404(
    tenant_call: Callable[[str], Call], created: dict[str, Any], method: str, suffix: str
) -> None:
    reply = tenant_call("tenant-b")(method, f"/v1/subscriptions/{created['id']}{suffix}")
    assert_problem(reply, 404, "not-found")


def test_other_tenants_delete_leaves_the_subscription(
    tenant_call: Callable[[str], Call], call: Call, created: dict[str, Any]
) -> None:
    tenant_call("tenant-b")("DELETE", f"/v1/subscriptions/{created['id']}")
    assert call("GET", f"/v1/subscriptions/{created['id']}").status == 200


def test_unknown_subscription_is_404(call: Call) -> None:
    assert_problem(call("GET", "/v1/subscriptions/sub_01JAAAAAAAAAAAAAAAAAAAAAAA"), 404, "not-found")


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("DELETE", ""),
        ("POST", "/enable"),
        ("POST", "/disable"),
        ("POST", "/rotate-secret"),
        ("GET", "/deliveries"),
    ],
)
def test_every_subscription_route_needs_a_known_key(
    call: Call, created: dict[str, Any], method: str, suffix: str
) -> None:
    reply = call(method, f"/v1/subscriptions/{created['id']}{suffix}", auth="Bearer trg_unknown")
    assert_problem(reply, 401, "unauthorized")
    assert call("GET", f"/v1/subscriptions/{created['id']}").json()["status"] == "active"


def test_list_without_key_is_401(call: Call) -> None:
    assert_problem(call("GET", "/v1/subscriptions", auth=""), 401, "unauthorized")


# delete, enable, rotate


def test_delete_is_204_and_removes_the_subscription(call: Call, created: dict[str, Any]) -> None:
    reply = call("DELETE", f"/v1/subscriptions/{created['id']}")
    assert (reply.status, reply.text) == (204, "")
    assert_problem(call("GET", f"/v1/subscriptions/{created['id']}"), 404, "not-found")


def test_second_delete_is_404(call: Call, created: dict[str, Any]) -> None:
    call("DELETE", f"/v1/subscriptions/{created['id']}")
    assert_problem(call("DELETE", f"/v1/subscriptions/{created['id']}"), 404, "not-found")


def test_subscribe_after_unsubscribe_creates_a_new_subscription(call: Call, created: dict[str, Any]) -> None:
    call("DELETE", f"/v1/subscriptions/{created['id']}")
    reply = call("POST", "/v1/subscriptions", {"target_url": URL, "event_types": ["order.created"]})
    assert reply.status == 201
    assert reply.json()["id"] != created["id"]


def test_enable_reactivates_a_disabled_subscription(
    dynamodb: Any, call: Call, created: dict[str, Any]
) -> None:
    # Given
    table = "triggers-test-subscriptions"
    subscriptions_table.record_failure(dynamodb, table, "tenant-a", created["id"], datetime.now(UTC))
    subscriptions_table.disable(dynamodb, table, "tenant-a", created["id"], "endpoint answered 410 Gone")
    assert call("GET", f"/v1/subscriptions/{created['id']}").json()["status"] == "disabled"
    # When
    reply = call("POST", f"/v1/subscriptions/{created['id']}/enable")
    # Then
    assert reply.status == 200
    body = reply.json()
    assert (body["status"], body["disabled_reason"], body["failing_since"]) == ("active", None, None)
    assert "secret" not in reply.text


# disable by hand

SUBSCRIPTIONS_TABLE = "triggers-test-subscriptions"
EVENTS_TABLE = "triggers-test-events"


def _version(dynamodb: Any) -> int:
    return subscriptions_table.versions(dynamodb, SUBSCRIPTIONS_TABLE, ["tenant-a"])["tenant-a"]


def _notices(dynamodb: Any, event_type: str) -> list[dict[str, Any]]:
    page = events_table.list_events(dynamodb, EVENTS_TABLE, "tenant-a", EventQuery(event_type=event_type))
    return [{"source": item.source, **json.loads(item.payload)} for item in page.items]


def _audit(call: Call, action: str) -> list[dict[str, Any]]:
    reply = call("GET", f"/v1/audit?action={action}")
    assert reply.status == 200, reply.text
    return list(reply.json()["data"])


def test_disable_stops_the_subscription_with_the_reason_given(
    dynamodb: Any, call: Call, created: dict[str, Any]
) -> None:
    # Given an active subscription and the tenant's subscriptions version
    version = _version(dynamodb)
    # When it is disabled by hand with a reason
    reply = call("POST", f"/v1/subscriptions/{created['id']}/disable", {"reason": "receiver maintenance"})
    # Then it is disabled with that reason, and the fanout's cache sees the change (version bumped)
    assert reply.status == 200, reply.text
    body = reply.json()
    assert (body["id"], body["status"], body["disabled_reason"]) == (
        created["id"],
        "disabled",
        "receiver maintenance",
    )
    assert "secret" not in reply.text
    stored = call("GET", f"/v1/subscriptions/{created['id']}").json()
    assert (stored["status"], stored["disabled_reason"]) == ("disabled", "receiver maintenance")
    assert _version(dynamodb) == version + 1


def test_disable_without_a_body_names_the_key_that_disabled_it(call: Call, created: dict[str, Any]) -> None:
    reply = call("POST", f"/v1/subscriptions/{created['id']}/disable")

    assert reply.status == 200, reply.text
    (record,) = _audit(call, "subscription.disable")
    assert reply.json()["disabled_reason"] == f"disabled by key {record['actor']}"
    # An empty JSON object is the same as no body
    other = call("POST", "/v1/subscriptions", {"target_url": URL + "/2", "event_types": ["order.created"]})
    second = call("POST", f"/v1/subscriptions/{other.json()['id']}/disable", {})
    assert second.json()["disabled_reason"] == f"disabled by key {record['actor']}"


def test_disable_twice_keeps_the_first_reason_and_writes_nothing(
    dynamodb: Any, call: Call, created: dict[str, Any]
) -> None:
    # Given a subscription disabled by hand
    first = call("POST", f"/v1/subscriptions/{created['id']}/disable", {"reason": "first"}).json()
    version = _version(dynamodb)
    # When it is disabled again, with another reason
    reply = call("POST", f"/v1/subscriptions/{created['id']}/disable", {"reason": "second"})
    # Then it is a 200 showing it as it was: first reason, same updated_at, no write, one record
    assert reply.status == 200, reply.text
    assert reply.json() == first
    assert _version(dynamodb) == version
    assert len(_audit(call, "subscription.disable")) == 1
    assert len(_notices(dynamodb, "subscription.disabled")) == 1


def test_disable_keeps_the_reason_of_an_automatic_disable(
    dynamodb: Any, call: Call, created: dict[str, Any]
) -> None:
    subscriptions_table.disable(
        dynamodb, SUBSCRIPTIONS_TABLE, "tenant-a", created["id"], "endpoint answered 410 Gone"
    )

    reply = call("POST", f"/v1/subscriptions/{created['id']}/disable", {"reason": "by hand"})

    assert (reply.status, reply.json()["disabled_reason"]) == (200, "endpoint answered 410 Gone")
    assert _audit(call, "subscription.disable") == []


def test_disable_is_audited_with_before_and_after(call: Call, created: dict[str, Any]) -> None:
    call("POST", f"/v1/subscriptions/{created['id']}/disable", {"reason": "paused for a migration"})

    (record,) = _audit(call, "subscription.disable")
    assert (record["resource_type"], record["resource_id"]) == ("subscription", created["id"])
    assert (record["before"]["status"], record["before"]["disabled_reason"]) == ("active", None)
    assert record["after"]["status"] == "disabled"
    assert record["after"]["disabled_reason"] == "paused for a migration"


def test_disable_emits_subscription_disabled_triggered_manually(
    dynamodb: Any, call: Call, created: dict[str, Any]
) -> None:
    call("POST", f"/v1/subscriptions/{created['id']}/disable", {"reason": "paused"})

    (notice,) = _notices(dynamodb, "subscription.disabled")
    assert (notice["source"], notice["subscription_id"]) == ("triggers", created["id"])
    assert (notice["trigger"], notice["reason"]) == ("manual", "paused")


def test_enable_after_a_disable_by_hand_reactivates_it(
    dynamodb: Any, call: Call, created: dict[str, Any]
) -> None:
    call("POST", f"/v1/subscriptions/{created['id']}/disable", {"reason": "paused"})

    reply = call("POST", f"/v1/subscriptions/{created['id']}/enable")

    assert (reply.status, reply.json()["status"], reply.json()["disabled_reason"]) == (200, "active", None)
    assert len(_notices(dynamodb, "subscription.enabled")) == 1


def test_disable_moves_the_etag_not_the_revision(dynamodb: Any, call: Call, created: dict[str, Any]) -> None:
    # Given the ETag of the subscription read before a disable
    before = call("GET", f"/v1/subscriptions/{created['id']}").headers["ETag"]
    call("POST", f"/v1/subscriptions/{created['id']}/disable", {"reason": "paused"})
    # Then a PATCH with that ETag is refused (the subscription shown changed), as after an enable
    reply = call(
        "PATCH", f"/v1/subscriptions/{created['id']}", {"description": "x"}, headers={"if-match": before}
    )
    assert_problem(reply, 412, "precondition-failed")
    # and one with the current ETag goes through; the revision (PATCH's counter) did not move
    current = call("GET", f"/v1/subscriptions/{created['id']}").headers["ETag"]
    assert current != before
    patched = call(
        "PATCH", f"/v1/subscriptions/{created['id']}", {"description": "x"}, headers={"if-match": current}
    )
    assert (patched.status, patched.json()["status"]) == (200, "disabled")
    stored = subscriptions_table.get_subscription(dynamodb, SUBSCRIPTIONS_TABLE, "tenant-a", created["id"])
    assert stored.revision == 1


@pytest.mark.parametrize(
    ("raw", "status", "slug", "named"),
    [
        ('{"reason": "x"', 400, "malformed-request", ""),
        (" \n", 400, "malformed-request", ""),
        ("[1, 2]", 422, "validation-failed", ""),
        ('{"reason": ""}', 422, "validation-failed", "reason"),
        ('{"reason": "   "}', 422, "validation-failed", "reason"),
        ('{"reason": "line\\nbreak"}', 422, "validation-failed", "reason"),
        ('{"reason": 5}', 422, "validation-failed", "reason"),
        ('{"reason": "x", "until": "tomorrow"}', 422, "validation-failed", "until"),
        (json.dumps({"reason": "x" * 201}), 422, "validation-failed", "reason"),
        (json.dumps({"reason": "x" * (1024 * 1024)}), 413, "payload-too-large", ""),
    ],
)
def test_a_bad_disable_body_is_refused_and_changes_nothing(
    call: Call, created: dict[str, Any], raw: str, status: int, slug: str, named: str
) -> None:
    reply = call("POST", f"/v1/subscriptions/{created['id']}/disable", raw=raw)

    problem = assert_problem(reply, status, slug)
    assert named in problem["detail"]
    assert call("GET", f"/v1/subscriptions/{created['id']}").json()["status"] == "active"
    assert _audit(call, "subscription.disable") == []


def test_a_reason_of_200_characters_is_accepted(call: Call, created: dict[str, Any]) -> None:
    reply = call("POST", f"/v1/subscriptions/{created['id']}/disable", {"reason": "é" * 200})

    assert (reply.status, reply.json()["disabled_reason"]) == (200, "é" * 200)


def test_disable_needs_the_subscriptions_scope(dynamodb: Any, call: Call, created: dict[str, Any]) -> None:
    key = create_api_key(dynamodb, API_KEYS_TABLE, "tenant-a", ["events:write", "events:read"])

    reply = call("POST", f"/v1/subscriptions/{created['id']}/disable", {"reason": "x"}, auth=f"Bearer {key}")

    assert assert_problem(reply, 403, "insufficient-scope")["required_scope"] == "subscriptions:manage"
    assert call("GET", f"/v1/subscriptions/{created['id']}").json()["status"] == "active"


def test_rotate_returns_a_new_secret_once_and_keeps_the_old_one_24h(
    call: Call, created: dict[str, Any]
) -> None:
    reply = call("POST", f"/v1/subscriptions/{created['id']}/rotate-secret")
    assert reply.status == 200
    body = reply.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != created["secret"]
    expires = datetime.fromisoformat(body["previous_secret_expires_at"])
    assert 23 * 3600 < (expires - datetime.now(UTC)).total_seconds() <= 24 * 3600
    assert body["secret"] not in call("GET", f"/v1/subscriptions/{created['id']}").text


# deliveries


def _post_event(call: Call) -> str:
    reply = call("POST", "/v1/events", {"event_type": "order.created", "payload": {"n": 1}})
    assert reply.status == 201, reply.text
    return str(reply.json()["id"])


def _deliver(dynamodb: Any, tenant_id: str, event_id: str, subscription_id: str, status_code: int) -> None:
    now = datetime.now(UTC)
    item = deliveries_table.DeliveryItem.new(
        tenant_id=tenant_id,
        event_id=event_id,
        subscription_id=subscription_id,
        target_url=URL,
        now=now,
        expires_at=int(now.timestamp()) + 3600,
    )
    deliveries_table.put_many(dynamodb, DELIVERIES_TABLE, [item])
    deliveries_table.record_attempt(
        dynamodb,
        DELIVERIES_TABLE,
        event_id=event_id,
        subscription_id=subscription_id,
        attempt=Attempt(at=now.isoformat(), status_code=status_code, latency_ms=12),
        expected_count=0,
        state="delivered" if status_code < 300 else "retrying",
        next_attempt_at=None,
        now=now,
    )


def test_subscription_deliveries_list_attempts(dynamodb: Any, call: Call, created: dict[str, Any]) -> None:
    # Given
    event_id = _post_event(call)
    _deliver(dynamodb, "tenant-a", event_id, created["id"], 503)
    # When
    reply = call("GET", f"/v1/subscriptions/{created['id']}/deliveries")
    # Then
    assert reply.status == 200
    [delivery] = reply.json()["data"]
    assert (delivery["event_id"], delivery["state"], delivery["attempt_count"]) == (event_id, "retrying", 1)
    assert delivery["attempts"][0]["status_code"] == 503
    assert delivery["attempts"][0]["latency_ms"] == 12
    assert "tenant_id" not in delivery


def test_event_deliveries_list_one_per_subscription(
    dynamodb: Any, call: Call, created: dict[str, Any]
) -> None:
    event_id = _post_event(call)
    _deliver(dynamodb, "tenant-a", event_id, created["id"], 200)
    reply = call("GET", f"/v1/events/{event_id}/deliveries")
    assert reply.status == 200
    assert [(d["subscription_id"], d["state"]) for d in reply.json()["data"]] == [
        (created["id"], "delivered")
    ]


def test_other_tenants_event_deliveries_is_404(
    tenant_call: Callable[[str], Call], call: Call, dynamodb: Any, created: dict[str, Any]
) -> None:
    event_id = _post_event(call)
    _deliver(dynamodb, "tenant-a", event_id, created["id"], 200)
    assert_problem(tenant_call("tenant-b")("GET", f"/v1/events/{event_id}/deliveries"), 404, "not-found")


def test_subscription_deliveries_reject_a_garbage_cursor(call: Call, created: dict[str, Any]) -> None:
    reply = call("GET", f"/v1/subscriptions/{created['id']}/deliveries?cursor=not-a-cursor")
    assert_problem(reply, 400, "malformed-request")


def test_subscription_deliveries_reject_a_limit_out_of_range(call: Call, created: dict[str, Any]) -> None:
    reply = call("GET", f"/v1/subscriptions/{created['id']}/deliveries?limit=0")
    assert_problem(reply, 422, "validation-failed")


def test_openapi_documents_the_subscription_routes(call: Call) -> None:
    spec = call("GET", "/v1/openapi.json").json()
    paths = spec["paths"]
    assert {"/v1/subscriptions", "/v1/subscriptions/{subscription_id}/rotate-secret"} <= set(paths)
    body_schema = paths["/v1/subscriptions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema == {"$ref": "#/components/schemas/SubscriptionIn"}
    assert set(spec["components"]["schemas"]["SubscriptionIn"]["required"]) == {"target_url", "event_types"}


# signing secrets at rest


@pytest.mark.parametrize("action", ["create", "rotate"])
def test_kms_unavailable_is_a_503_and_changes_nothing(
    call: Call, created: dict[str, Any], dynamodb: Any, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    # Given the function's key unreachable (here: misnamed)
    before = dynamodb.scan(TableName="triggers-test-subscriptions", ConsistentRead=True)["Items"]
    monkeypatch.setenv("SECRETS_KEY_ID", "alias/not-there")
    runtime.reset()

    # When
    if action == "create":
        reply = call("POST", "/v1/subscriptions", {"target_url": URL + "/2", "event_types": ["*"]})
    else:
        reply = call("POST", f"/v1/subscriptions/{created['id']}/rotate-secret")

    # Then a retryable problem, no secret in it, and the table as it was
    problem = assert_problem(reply, 503, "credentials-unavailable")
    assert "whsec_" not in reply.text and problem["detail"] == "KMS encrypt failed: NotFoundException"
    assert dynamodb.scan(TableName="triggers-test-subscriptions", ConsistentRead=True)["Items"] == before


def test_no_route_returns_a_stored_secret(call: Call, created: dict[str, Any], dynamodb: Any) -> None:
    # The API encrypts only: what it stores it cannot read back, and no route tries to.
    for path in ("/v1/subscriptions", f"/v1/subscriptions/{created['id']}"):
        reply = call("GET", path)
        assert reply.status == 200
        assert "secret" not in reply.text
    item = dynamodb.get_item(
        TableName="triggers-test-subscriptions",
        Key={"tenant_id": {"S": "tenant-a"}, "subscription_id": {"S": created["id"]}},
    )["Item"]
    assert item["secret_ciphertext"]["S"] not in call("GET", f"/v1/subscriptions/{created['id']}").text
