"""Per-tenant rate limits and the subscription quota over real HTTP, set with `triggers limits`.

Assertions are on counts of answers, never on latency (the quiet tenant's p95 under a flood is a
figure of `make bench`, scenario 1).
"""

import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import requests

from devtools.stack import EmbeddedStack
from tests.integration.cli_support import cli, command_json, command_output, run_json, triggers
from tests.integration.conftest import ApiClient

EVENT = {"event_type": "limits.flood", "payload": {"n": 1}}
TARGET = "http://127.0.0.1:9/quota"


@pytest.fixture
def limits(stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]) -> Callable[..., dict[str, Any]]:
    """`triggers limits set --tenant T <flags>`: the limits it reports."""

    def set_limits(tenant_id: str, *flags: str) -> dict[str, Any]:
        assert triggers(stack, "limits", "set", "--tenant", tenant_id, *flags, "--json") == 0
        shown: dict[str, Any] = command_json(capsys)
        return shown

    return set_limits


def politely(api: ApiClient, method: str, path: str, **kwargs: Any) -> requests.Response:
    """A client that waits as a 429's Retry-After says and asks again."""
    while True:
        response = api.request(method, path, **kwargs)
        if response.status_code != 429:
            return response
        time.sleep(int(response.headers["Retry-After"]))


def test_a_flooding_tenant_gets_429s_and_a_quiet_tenant_keeps_succeeding(
    new_tenant: Callable[[], ApiClient], limits: Callable[..., dict[str, Any]]
) -> None:
    # Given a tenant limited to 2 events requests a second in bursts of 10, and a quiet tenant
    flooder, quiet = new_tenant(), new_tenant()
    limits(flooder.tenant_id, "--ingest-rate", "2", "--ingest-burst", "10")

    # When the flooder sends 80 requests from 4 threads while the quiet tenant sends 20
    flood: list[requests.Response] = []
    lock = threading.Lock()

    def flood_worker() -> None:
        client = ApiClient(flooder.base_url, None, flooder.tenant_id)
        client.session.headers.update(flooder.session.headers)
        for _ in range(20):
            response = client.post("/v1/events", json=EVENT)
            with lock:
                flood.append(response)

    started = time.monotonic()
    workers = [threading.Thread(target=flood_worker) for _ in range(4)]
    for worker in workers:
        worker.start()
    served = [quiet.post("/v1/events", json=EVENT) for _ in range(20)]
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started

    # Then the quiet tenant got every request in; the flooder its burst, what refilled (chunks of
    # one: burst 10 // 10), and 429s for the rest, each with the rate-limit headers
    assert Counter(response.status_code for response in served) == {201: 20}
    outcomes = Counter(response.status_code for response in flood)
    assert set(outcomes) == {201, 429}
    assert 10 <= outcomes[201] <= 10 + 2 * elapsed + 1
    for response in flood:
        assert response.headers["RateLimit-Policy"] == '"ingest";q=10;w=5'
        if response.status_code == 429:
            retry_after = int(response.headers["Retry-After"])
            assert response.headers["RateLimit"] == f'"ingest";r=0;t={retry_after}'
            assert 1 <= retry_after <= 5
            assert response.headers["Content-Type"] == "application/problem+json"
            assert response.json()["type"] == "https://triggers.dev/problems/rate-limited"


def test_management_requests_have_their_own_budget(
    new_tenant: Callable[[], ApiClient], limits: Callable[..., dict[str, Any]]
) -> None:
    api = new_tenant()
    limits(api.tenant_id, "--ingest-rate", "0.01", "--ingest-burst", "1")
    assert api.post("/v1/events", json=EVENT).status_code == 201
    assert api.post("/v1/events", json=EVENT).status_code == 429

    listed = api.get("/v1/events", params={"event_type": EVENT["event_type"]})

    assert listed.status_code == 200
    assert len(listed.json()["data"]) == 1
    assert re.fullmatch(r'"management";q=\d+;w=\d+', listed.headers["RateLimit-Policy"])


def test_unknown_keys_spend_no_tenants_budget(
    new_tenant: Callable[[], ApiClient], limits: Callable[..., dict[str, Any]], stack: EmbeddedStack
) -> None:
    api = new_tenant()
    limits(api.tenant_id, "--management-rate", "0.01", "--management-burst", "1")
    stranger = ApiClient(stack.api_url, "trg_" + "s" * 43, api.tenant_id)

    refused = Counter(stranger.get("/v1/events").status_code for _ in range(10))

    assert refused == {401: 10}
    assert api.get("/v1/events").status_code == 200


def test_the_101st_subscription_is_refused(new_tenant: Callable[[], ApiClient]) -> None:
    # Given a tenant with the default quota (100) and 100 subscriptions
    api = new_tenant()
    created = [
        politely(api, "POST", "/v1/subscriptions", json={"target_url": f"{TARGET}/{n}", "event_types": ["*"]})
        for n in range(100)
    ]
    assert Counter(response.status_code for response in created) == {201: 100}

    # When it subscribes once more
    refused = politely(
        api, "POST", "/v1/subscriptions", json={"target_url": f"{TARGET}/100", "event_types": ["*"]}
    )

    # Then it is a 409 naming the quota, and nothing more was stored
    assert refused.status_code == 409
    assert refused.headers["Content-Type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "https://triggers.dev/problems/subscription-quota-exceeded"
    assert problem["limit"] == 100
    assert len(politely(api, "GET", "/v1/subscriptions").json()["data"]) == 100
    for response in created:
        assert politely(api, "DELETE", f"/v1/subscriptions/{response.json()['id']}").status_code == 204


def test_a_raised_quota_lets_the_tenant_subscribe_again(
    new_tenant: Callable[[], ApiClient], limits: Callable[..., dict[str, Any]]
) -> None:
    api = new_tenant()
    limits(api.tenant_id, "--max-subscriptions", "1")
    first = api.post("/v1/subscriptions", json={"target_url": f"{TARGET}/a", "event_types": ["*"]})
    assert first.status_code == 201
    assert (
        api.post("/v1/subscriptions", json={"target_url": f"{TARGET}/b", "event_types": ["*"]}).status_code
        == 409
    )

    limits(api.tenant_id, "--max-subscriptions", "2")

    second = api.post("/v1/subscriptions", json={"target_url": f"{TARGET}/b", "event_types": ["*"]})
    assert second.status_code == 201
    for created in (first, second):
        api.delete(f"/v1/subscriptions/{created.json()['id']}")


# --- triggers limits ---------------------------------------------------------------------------


@pytest.fixture
def tenant_id() -> str:
    return f"t-limits-{uuid.uuid4().hex[:10]}"


def test_show_gives_the_defaults_of_a_tenant_without_overrides(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], tenant_id: str
) -> None:
    assert triggers(stack, "limits", "show", "--tenant", tenant_id, "--json") == 0

    shown = command_json(capsys)
    assert shown["tenant_id"] == tenant_id
    assert shown["subscriptions"] == 0
    assert shown["limits"] == {
        "ingest_per_second": {"value": 100.0, "source": "default"},
        "ingest_burst": {"value": 200, "source": "default"},
        "management_per_second": {"value": 100.0, "source": "default"},
        "management_burst": {"value": 200, "source": "default"},
        "max_subscriptions": {"value": 100, "source": "default"},
    }


def test_set_changes_only_the_limits_named_and_reset_returns_them_to_the_defaults(
    limits: Callable[..., dict[str, Any]],
    stack: EmbeddedStack,
    capsys: pytest.CaptureFixture[str],
    tenant_id: str,
) -> None:
    limits(tenant_id, "--ingest-rate", "5", "--ingest-burst", "20")
    shown = limits(tenant_id, "--max-subscriptions", "7")

    assert shown["limits"]["ingest_per_second"] == {"value": 5.0, "source": "tenant"}
    assert shown["limits"]["ingest_burst"] == {"value": 20, "source": "tenant"}
    assert shown["limits"]["max_subscriptions"] == {"value": 7, "source": "tenant"}
    assert shown["limits"]["management_burst"]["source"] == "default"

    assert triggers(stack, "limits", "reset", "--tenant", tenant_id, "ingest_burst", "--json") == 0
    after_one = command_json(capsys)
    assert after_one["limits"]["ingest_burst"] == {"value": 200, "source": "default"}
    assert after_one["limits"]["ingest_per_second"]["source"] == "tenant"

    assert triggers(stack, "limits", "reset", "--tenant", tenant_id, "--json") == 0
    assert {limit["source"] for limit in command_json(capsys)["limits"].values()} == {"default"}


def test_every_change_of_limits_is_in_the_tenants_audit_trail_and_a_repeat_is_not(
    limits: Callable[..., dict[str, Any]],
    stack: EmbeddedStack,
    capsys: pytest.CaptureFixture[str],
    tenant_id: str,
) -> None:
    # Given an operator who sets a limit, sets it again to the same value, then resets everything
    limits(tenant_id, "--ingest-rate", "5", "--max-subscriptions", "7")
    limits(tenant_id, "--ingest-rate", "5")
    assert triggers(stack, "limits", "reset", "--tenant", tenant_id, "--json") == 0
    command_json(capsys)

    # Then the tenant's audit trail holds the two changes, newest first, with who and what
    assert triggers(stack, "audit", "--tenant", tenant_id, "--action", "limits.update", "--json") == 0
    reset, first = command_json(capsys)
    assert first["actor"].startswith("cli:") and first["resource_id"] == tenant_id
    assert first["before"]["ingest_per_second"] is None and first["after"]["ingest_per_second"] == "5"
    assert first["after"]["max_subscriptions"] == "7" and first["after"]["ingest_burst"] is None
    assert reset["before"] == first["after"]
    assert set(reset["after"].values()) == {None}


def test_setting_the_same_limit_twice_is_the_same_as_once(
    limits: Callable[..., dict[str, Any]], tenant_id: str
) -> None:
    first = limits(tenant_id, "--management-rate", "3")
    again = limits(tenant_id, "--management-rate", "3")

    assert first["limits"] == again["limits"]


def test_show_counts_the_tenants_subscriptions(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    created = api.post("/v1/subscriptions", json={"target_url": f"{TARGET}/count", "event_types": ["*"]})
    assert created.status_code == 201

    assert triggers(stack, "limits", "show", "--tenant", api.tenant_id) == 0

    out, _ = command_output(capsys)
    assert "subscriptions: 1 of 100" in out
    api.delete(f"/v1/subscriptions/{created.json()['id']}")


@pytest.mark.parametrize(
    "flags",
    [
        ("--ingest-rate", "0"),
        ("--ingest-rate", "-1"),
        ("--ingest-rate", "fast"),
        ("--ingest-rate", "inf"),
        ("--ingest-rate", "nan"),
        ("--ingest-burst", "0"),
        ("--ingest-burst", "1.5"),
        ("--management-burst", "-3"),
        ("--max-subscriptions", "-1"),
    ],
)
def test_set_refuses_malformed_values_and_changes_nothing(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], tenant_id: str, flags: tuple[str, str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        triggers(stack, "limits", "set", "--tenant", tenant_id, *flags)

    assert exited.value.code == 2
    capsys.readouterr()
    assert triggers(stack, "limits", "show", "--tenant", tenant_id, "--json") == 0
    assert {limit["source"] for limit in command_json(capsys)["limits"].values()} == {"default"}


@pytest.mark.parametrize(
    "flags",
    [
        ("--ingest-rate", "100001"),  # beyond what a setting may hold
        ("--ingest-burst", "1000001"),
        ("--max-subscriptions", "100001"),
    ],
)
def test_set_refuses_values_out_of_range_and_changes_nothing(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], tenant_id: str, flags: tuple[str, str]
) -> None:
    assert triggers(stack, "limits", "set", "--tenant", tenant_id, *flags, "--json") == 2

    out, err = command_output(capsys)
    assert out == "" and "error" in err
    assert triggers(stack, "limits", "show", "--tenant", tenant_id, "--json") == 0
    assert {limit["source"] for limit in command_json(capsys)["limits"].values()} == {"default"}


@pytest.mark.parametrize(
    "argv",
    [
        ("set", "--tenant", "t-x"),  # nothing to set
        ("reset", "--tenant", "t-x", "no_such_limit"),
        ("show", "--tenant", "has space"),
        ("show", "--tenant", ""),
        ("show",),
    ],
)
def test_malformed_commands_exit_2(stack: EmbeddedStack, argv: tuple[str, ...]) -> None:
    try:
        code = triggers(stack, "limits", *argv)
    except SystemExit as exited:
        code = int(exited.code or 0)

    assert code == 2


def test_send_waits_as_a_429_asks_and_gets_every_event_in(
    api: ApiClient,
    stack: EmbeddedStack,
    capsys: pytest.CaptureFixture[str],
    limits: Callable[..., dict[str, Any]],
) -> None:
    # Given a tenant allowed a request every 2 s after a burst of 2
    limits(api.tenant_id, "--ingest-rate", "0.5", "--ingest-burst", "2")

    # When `triggers send` posts 4 events, 2 at a time
    code, summary = run_json(capsys, cli(api, stack, "send", "--count", "4", "--concurrency", "2"))

    # Then all 4 are in; the requests refused with 429 were sent again after their Retry-After
    assert code == 0
    assert summary["accepted"] == 4
    assert summary["throttled"] >= 1
    assert summary["requests"] == 4 + summary["throttled"]
    assert summary["rejected"] == 0
