"""Subscriptions over real HTTP against the embedded stack."""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from devtools import cli
from devtools.receiver import Receiver, register_secret
from devtools.stack import EmbeddedStack
from ingest.core import deliveries_table
from ingest.core.deliveries_table import Attempt
from tests.integration.cli_support import command_output
from tests.integration.conftest import ApiClient

TARGET = "https://93.184.215.14/hooks/zap"


def subscribe(
    api: ApiClient, target_url: str = TARGET, event_types: list[str] | None = None
) -> requests.Response:
    return api.post("/v1/subscriptions", json={"target_url": target_url, "event_types": event_types or ["*"]})


def test_subscribe_list_get_unsubscribe(api: ApiClient) -> None:
    # Given
    created = subscribe(api, event_types=["order.created"])
    assert created.status_code == 201, created.text
    subscription_id = created.json()["id"]
    assert created.json()["secret"].startswith("whsec_")
    # When / Then
    listed = api.get("/v1/subscriptions")
    assert [item["id"] for item in listed.json()["data"]] == [subscription_id]
    assert "secret" not in listed.text
    assert api.get(f"/v1/subscriptions/{subscription_id}").json()["event_types"] == ["order.created"]
    assert api.delete(f"/v1/subscriptions/{subscription_id}").status_code == 204
    assert api.get(f"/v1/subscriptions/{subscription_id}").status_code == 404


def test_retried_subscribe_is_409_with_the_existing_id(api: ApiClient) -> None:
    first = subscribe(api)
    retry = subscribe(api)
    assert retry.status_code == 409
    assert retry.headers["content-type"] == "application/problem+json"
    assert retry.json()["subscription_id"] == first.json()["id"]


def test_other_tenant_cannot_see_or_delete_a_subscription(new_tenant: Callable[[], ApiClient]) -> None:
    owner, other = new_tenant(), new_tenant()
    subscription_id = subscribe(owner).json()["id"]
    assert other.get(f"/v1/subscriptions/{subscription_id}").status_code == 404
    assert other.delete(f"/v1/subscriptions/{subscription_id}").status_code == 404
    assert other.get("/v1/subscriptions").json() == {"data": []}
    assert owner.get(f"/v1/subscriptions/{subscription_id}").status_code == 200


def test_subscribe_without_key_is_401(stack: EmbeddedStack) -> None:
    response = requests.post(
        stack.api_url + "/v1/subscriptions", json={"target_url": TARGET, "event_types": ["*"]}, timeout=30
    )
    assert response.status_code == 401


def test_malformed_subscribe_is_400(api: ApiClient) -> None:
    response = api.post("/v1/subscriptions", data="{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400


def test_oversized_subscribe_is_413(api: ApiClient) -> None:
    body = json.dumps({"target_url": TARGET, "event_types": ["*"], "pad": "x" * 2_000_000})
    response = api.post("/v1/subscriptions", data=body, headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_private_target_is_422_naming_target_url(api: ApiClient) -> None:
    response = subscribe(api, target_url="http://192.168.1.10/hook")
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["target_url"]


def test_rotate_secret_returns_a_new_secret(api: ApiClient) -> None:
    created = subscribe(api).json()
    rotated = api.post(f"/v1/subscriptions/{created['id']}/rotate-secret")
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != created["secret"]


def test_disable_and_enable_over_http(new_tenant: Callable[[], ApiClient]) -> None:
    # Given a tenant's subscription, and another tenant
    owner, other = new_tenant(), new_tenant()
    subscription_id = subscribe(owner).json()["id"]
    path = f"/v1/subscriptions/{subscription_id}"

    # Then another tenant, a missing key and a bad body change nothing
    assert other.post(f"{path}/disable").status_code == 404
    assert requests.post(owner.base_url + f"{path}/disable", timeout=30).status_code == 401
    oversized = owner.post(f"{path}/disable", json={"reason": "x" * 201})
    assert (oversized.status_code, oversized.headers["content-type"]) == (422, "application/problem+json")
    assert (
        owner.post(f"{path}/disable", data="{", headers={"content-type": "application/json"}).status_code
        == 400
    )
    assert owner.get(path).json()["status"] == "active"

    # When the owner disables it, twice, then enables it
    disabled = owner.post(f"{path}/disable", json={"reason": "receiver maintenance"})
    again = owner.post(f"{path}/disable", json={"reason": "other"})
    shown = owner.get(path).json()
    enabled = owner.post(f"{path}/enable")

    # Then it was disabled with the first reason, and is active again
    assert (disabled.status_code, again.status_code) == (200, 200)
    assert (shown["status"], shown["disabled_reason"]) == ("disabled", "receiver maintenance")
    assert again.json() == disabled.json()
    assert (enabled.json()["status"], enabled.json()["disabled_reason"]) == ("active", None)
    actions = [record["action"] for record in owner.get("/v1/audit").json()["data"]]
    assert actions[:3] == ["subscription.enable", "subscription.disable", "subscription.create"]


def test_delivery_history_is_listed_by_event_and_by_subscription(
    api: ApiClient, stack: EmbeddedStack, aws_client: Callable[[str], Any]
) -> None:
    # Given a subscription, an event, and one recorded attempt for them
    subscription_id = subscribe(api).json()["id"]
    event_id = api.post("/v1/events", json={"event_type": "order.created", "payload": {"n": 1}}).json()["id"]
    record_attempt(aws_client("dynamodb"), stack, api.tenant_id, event_id, subscription_id, status_code=502)
    # When
    by_event = api.get(f"/v1/events/{event_id}/deliveries")
    by_subscription = api.get(f"/v1/subscriptions/{subscription_id}/deliveries")
    # Then
    assert by_event.status_code == by_subscription.status_code == 200
    assert by_event.json()["data"] == by_subscription.json()["data"]
    [delivery] = by_event.json()["data"]
    assert (delivery["event_id"], delivery["subscription_id"], delivery["state"]) == (
        event_id,
        subscription_id,
        "retrying",
    )
    assert [attempt["status_code"] for attempt in delivery["attempts"]] == [502]


def test_other_tenant_cannot_read_delivery_history(
    new_tenant: Callable[[], ApiClient], stack: EmbeddedStack, aws_client: Callable[[str], Any]
) -> None:
    owner, other = new_tenant(), new_tenant()
    subscription_id = subscribe(owner).json()["id"]
    event_id = owner.post("/v1/events", json={"event_type": "order.created", "payload": {}}).json()["id"]
    record_attempt(aws_client("dynamodb"), stack, owner.tenant_id, event_id, subscription_id, status_code=200)
    assert other.get(f"/v1/events/{event_id}/deliveries").status_code == 404
    assert other.get(f"/v1/subscriptions/{subscription_id}/deliveries").status_code == 404


def record_attempt(
    dynamodb: Any, stack: EmbeddedStack, tenant_id: str, event_id: str, subscription_id: str, status_code: int
) -> None:
    table = stack.template.physical_name("DeliveriesTable")
    now = datetime.now(UTC)
    claimed = deliveries_table.DeliveryItem.new(
        tenant_id=tenant_id,
        event_id=event_id,
        subscription_id=subscription_id,
        target_url=TARGET,
        now=now,
        expires_at=int(now.timestamp()) + 3600,
    )
    deliveries_table.put_many(dynamodb, table, [claimed])
    deliveries_table.record_attempt(
        dynamodb,
        table,
        event_id=event_id,
        subscription_id=subscription_id,
        attempt=Attempt(at=now.isoformat(), status_code=status_code, latency_ms=5),
        expected_count=0,
        state="delivered" if status_code < 300 else "retrying",
        next_attempt_at=None,
        now=now,
    )


def test_subscribe_command_prints_id_and_secret_of_a_loopback_receiver(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a local receiver (the local stage allows loopback targets)
    api_key = str(api.session.headers["Authorization"]).removeprefix("Bearer ")
    with Receiver() as receiver:
        # When
        args = ["subscribe", receiver.url, "--types", "order.created,order.paid"]
        code = cli.main([*args, "--api-url", stack.api_url, "--api-key", api_key])
    # Then
    out = command_output(capsys)[0]
    [subscription] = api.get("/v1/subscriptions").json()["data"]
    assert code == 0
    assert subscription["id"] in out and "whsec_" in out
    assert (subscription["target_url"], subscription["event_types"]) == (
        receiver.url,
        ["order.created", "order.paid"],
    )
    assert "now verifies deliveries with this secret" in out


def test_a_receiver_subscribed_by_the_command_verifies_what_it_gets(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a receiver started without a secret, subscribed by the command
    api_key = str(api.session.headers["Authorization"]).removeprefix("Bearer ")
    with Receiver() as receiver:
        code = cli.main(
            ["subscribe", receiver.url, "--api-url", stack.api_url, "--api-key", api_key, "--json"]
        )
        assert code == 0
        assert json.loads(command_output(capsys)[0])["receiver_verifies"] is True

        # When an event is posted
        assert api.post("/v1/events", json={"event_type": "a.b", "payload": {}}).status_code == 201

        # Then the receiver verified its signature
        [delivery] = receiver.wait_for(1, timeout=60)
    assert delivery.verified is True


def test_a_target_that_is_not_a_local_receiver_is_left_alone() -> None:
    assert register_secret("https://example.com/hook", "whsec_x") is False
    assert register_secret("http://127.0.0.1:9/hook", "whsec_x", timeout=0.5) is False


def test_subscribe_command_reports_a_refused_subscription(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(
        ["subscribe", "http://10.0.0.1/x", "--api-url", stack.api_url, "--api-key", "trg_unknown"]
    )
    assert code == 1
    assert "HTTP 401" in capsys.readouterr().err
