"""Per-tenant rate limits, refused-key memory and the subscription quota through the real handler.

Limits here are far slower than the tests (a token per 100 s), so no outcome depends on timing.
"""

import hashlib
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devtools.runner.apiserver import http_api_event
from devtools.runner.lambda_context import LocalLambdaContext
from ingest.core import tenants_table
from ingest.core.api_keys_table import create_api_key
from ingest.core.clients import dynamodb_client
from ingest.core.runtime import runtime
from ingest.core.settings import get_settings
from ingest.handler import lambda_handler
from ingest.keycache import ExpiringMemory, RefusedKeys, accepted_keys
from tests.unit.test_api_handler import Call, Reply, assert_problem, event_body, post

SLOW = 0.01  # requests per second: one token per 100 s
URL = "https://93.184.215.14/hooks/quota"


@pytest.fixture
def invoke(aws: None) -> Call:
    """One request through the real handler, as API Gateway (HTTP API v2) sends it."""

    def call(
        method: str, path: str, body: str | bytes = b"", *, key: str | None = None, headers: Any = None
    ) -> Reply:
        all_headers = {"host": "api.test", "content-type": "application/json", **(headers or {})}
        if key is not None:
            all_headers["authorization"] = f"Bearer {key}"
        raw = body.encode() if isinstance(body, str) else body
        event = http_api_event(method, path, all_headers, raw, "127.0.0.1")
        response = lambda_handler(event, LocalLambdaContext("triggers-test-ingest"))
        headers_out = {name.lower(): str(value) for name, value in (response.get("headers") or {}).items()}
        return Reply(int(response["statusCode"]), headers_out, response.get("body") or "")

    return call


@pytest.fixture
def new_key(dynamodb: Any) -> Callable[[str], str]:
    return lambda tenant_id: create_api_key(dynamodb, get_settings().api_keys_table, tenant_id)


@pytest.fixture
def count(dynamodb: Any) -> Callable[[str], int]:
    def items(which: str) -> int:
        settings = get_settings()
        table = {"events": settings.events_table, "idempotency": settings.idempotency_table}[which]
        return int(dynamodb.scan(TableName=table, Select="COUNT")["Count"])

    return items


@pytest.fixture
def limits(dynamodb: Any) -> Callable[..., None]:
    """Set a tenant's own limits (before its first request: instances cache them for 30 s)."""

    def set_limits(tenant_id: str, **values: float) -> None:
        tenants_table.update_limits(dynamodb, get_settings().tenants_table, tenant_id, values)

    return set_limits


@pytest.fixture
def key_reads(invoke: Call) -> Iterator[list[str]]:
    """Every GetItem the ingest function sends to the api-keys table."""
    table = get_settings().api_keys_table
    reads: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == table:
            reads.append(params["Key"]["key_hash"]["S"])

    client = dynamodb_client()
    client.meta.events.register("provide-client-params.dynamodb.GetItem", record)
    yield reads
    client.meta.events.unregister("provide-client-params.dynamodb.GetItem", record)


def statuses(replies: list[Reply]) -> dict[int, int]:
    counted: dict[int, int] = {}
    for reply in replies:
        counted[reply.status] = counted.get(reply.status, 0) + 1
    return counted


# --- rate limits -------------------------------------------------------------------------------


def test_a_flooding_tenant_gets_429s_while_another_tenant_is_served(
    invoke: Call, new_key: Callable[[str], str], limits: Callable[..., None]
) -> None:
    # Given a tenant allowed 5 events requests at once, and another tenant with the defaults
    limits("flooder", ingest_per_second=SLOW, ingest_burst=5)
    flooder, quiet = new_key("flooder"), new_key("quiet")

    # When the first floods and the second keeps posting in between
    flood, served = [], []
    for _ in range(20):
        flood += [post(invoke, flooder, event_body()) for _ in range(3)]
        served.append(post(invoke, quiet, event_body()))

    # Then the flooder got its 5 and then 429s; the quiet tenant got every request in
    assert statuses(flood) == {201: 5, 429: 55}
    assert statuses(served) == {201: 20}


def test_a_429_is_a_problem_with_retry_after_and_ratelimit_headers(
    invoke: Call, new_key: Callable[[str], str], limits: Callable[..., None]
) -> None:
    limits("flooder", ingest_per_second=SLOW, ingest_burst=1)
    flooder = new_key("flooder")
    assert post(invoke, flooder, event_body()).status == 201

    reply = post(invoke, flooder, event_body())

    problem = assert_problem(reply, 429, "rate-limited")
    assert problem["violated-policies"] == ["ingest"]
    retry_after = int(reply.headers["retry-after"])
    assert problem["detail"] == (
        f"this tenant's ingest requests are limited to 0.01/s (bursts of 1); retry in {retry_after} s"
    )
    assert 90 <= retry_after <= 100
    assert reply.headers["ratelimit-policy"] == '"ingest";q=1;w=100'
    assert reply.headers["ratelimit"] == f'"ingest";r=0;t={retry_after}'


def test_a_refused_request_stores_nothing(
    invoke: Call, new_key: Callable[[str], str], limits: Callable[..., None], count: Callable[[str], int]
) -> None:
    limits("flooder", ingest_per_second=SLOW, ingest_burst=1)
    flooder = new_key("flooder")
    assert post(invoke, flooder, event_body()).status == 201

    replies = [
        post(invoke, flooder, f"[{event_body()}, {event_body()}]"),
        post(invoke, flooder, event_body(), **{"idempotency-key": "retry-1"}),
    ]

    assert statuses(replies) == {429: 2}
    assert count("events") == 1
    assert count("idempotency") == 0


def test_spent_ingest_budget_leaves_the_other_routes_open_and_the_reverse(
    invoke: Call, new_key: Callable[[str], str], limits: Callable[..., None]
) -> None:
    limits("tenant-a", ingest_per_second=SLOW, ingest_burst=1, management_per_second=SLOW, management_burst=2)
    key = new_key("tenant-a")
    assert post(invoke, key, event_body()).status == 201
    assert post(invoke, key, event_body()).status == 429

    management = [invoke("GET", "/v1/events", key=key) for _ in range(3)]

    assert [reply.status for reply in management] == [200, 200, 429]
    assert management[2].headers["ratelimit-policy"] == '"management";q=2;w=200'


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/events", 200),
        ("GET", "/v1/events/01J0000000000000000000000A", 404),
        ("GET", "/v1/events?limit=0", 422),
        ("GET", "/v1/nowhere", 404),
        ("POST", "/v1/events", 201),
    ],
)
def test_every_authenticated_response_tells_the_budget(
    invoke: Call, new_key: Callable[[str], str], method: str, path: str, status: int
) -> None:
    reply = invoke(method, path, event_body() if method == "POST" else b"", key=new_key("tenant-a"))

    assert reply.status == status
    policy = "ingest" if method == "POST" else "management"
    assert reply.headers["ratelimit-policy"].startswith(f'"{policy}";q=')
    assert re.fullmatch(rf'"{policy}";r=\d+;t=\d+', reply.headers["ratelimit"])
    assert "retry-after" not in reply.headers


def test_requests_that_are_not_authenticated_spend_no_budget_and_carry_no_budget(
    invoke: Call, new_key: Callable[[str], str], limits: Callable[..., None]
) -> None:
    limits("tenant-a", management_per_second=SLOW, management_burst=1)
    key = new_key("tenant-a")

    refused = [invoke("GET", "/v1/events", headers={"authorization": "Bearer trg_guess"}) for _ in range(5)]
    public = invoke("GET", "/health")

    assert statuses(refused) == {401: 5}
    assert all("ratelimit" not in reply.headers for reply in [*refused, public])
    assert invoke("GET", "/v1/events", key=key).status == 200


def test_validation_errors_spend_the_budget_too(
    invoke: Call, new_key: Callable[[str], str], limits: Callable[..., None]
) -> None:
    limits("tenant-a", management_per_second=SLOW, management_burst=2)
    key = new_key("tenant-a")

    replies = [invoke("GET", "/v1/events?limit=0", key=key) for _ in range(3)]

    assert [reply.status for reply in replies] == [422, 422, 429]


def test_an_idempotent_replay_is_a_request_like_any_other(
    invoke: Call, new_key: Callable[[str], str], limits: Callable[..., None]
) -> None:
    limits("tenant-a", ingest_per_second=SLOW, ingest_burst=2)
    key = new_key("tenant-a")
    body = event_body()

    replies = [post(invoke, key, body, **{"idempotency-key": "same"}) for _ in range(3)]

    assert [reply.status for reply in replies] == [201, 200, 429]


# --- refused keys ------------------------------------------------------------------------------


def test_an_unknown_key_is_read_once_then_refused_from_memory(invoke: Call, key_reads: list[str]) -> None:
    unknown = "trg_" + "u" * 43

    replies = [invoke("GET", "/v1/events", key=unknown) for _ in range(10)]

    assert statuses(replies) == {401: 10}
    assert key_reads == [hashlib.sha256(unknown.encode()).hexdigest()]


def test_a_valid_key_is_read_once_per_cache_period(
    invoke: Call, new_key: Callable[[str], str], key_reads: list[str]
) -> None:
    clock = Ticks()
    accepted_keys().clock = clock
    key = new_key("tenant-a")

    for _ in range(3):
        assert invoke("GET", "/v1/events", key=key).status == 200
    clock.now = get_settings().api_key_cache_seconds - 0.1
    assert invoke("GET", "/v1/events", key=key).status == 200
    assert len(key_reads) == 1

    clock.now = get_settings().api_key_cache_seconds
    assert invoke("GET", "/v1/events", key=key).status == 200
    assert len(key_reads) == 2


def revoke(dynamodb: Any, key: str) -> None:
    dynamodb.update_item(
        TableName=get_settings().api_keys_table,
        Key={"key_hash": {"S": hashlib.sha256(key.encode()).hexdigest()}},
        UpdateExpression="SET revoked_at = :now",
        ExpressionAttributeValues={":now": {"S": "2026-01-01T00:00:00Z"}},
    )


def test_a_revoked_key_is_refused_once_its_cache_period_ends_with_its_tenant_warm(
    invoke: Call, new_key: Callable[[str], str], dynamodb: Any
) -> None:
    # Given a key in use (its tenant's limits, buckets, its own record and other refused keys all
    # in memory)
    clock = Ticks()
    accepted_keys().clock = clock
    key = new_key("tenant-a")
    assert invoke("GET", "/v1/events", key="trg_" + "u" * 43).status == 401
    assert post(invoke, key, event_body()).status == 201

    # When it is revoked
    revoke(dynamodb, key)

    # Then it is refused from the end of the stated bound on (the read that remembered it is
    # where the bound starts), and from then on without a read
    clock.now = get_settings().api_key_cache_seconds
    assert_problem(post(invoke, key, event_body()), 401, "unauthorized")
    assert_problem(post(invoke, key, event_body()), 401, "unauthorized")


def test_with_no_cache_period_a_revoked_key_is_refused_on_the_next_request(
    invoke: Call, new_key: Callable[[str], str], dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_KEY_CACHE_SECONDS", "0")
    runtime.reset()
    key = new_key("tenant-a")
    assert post(invoke, key, event_body()).status == 201

    revoke(dynamodb, key)

    assert_problem(post(invoke, key, event_body()), 401, "unauthorized")


def test_a_remembered_key_is_refused_the_moment_it_expires(
    invoke: Call, new_key: Callable[[str], str], key_reads: list[str]
) -> None:
    # Given a key remembered while it was valid, which has expired since
    key = new_key("tenant-a")
    assert invoke("GET", "/v1/events", key=key).status == 200
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    remembered = accepted_keys().get(key_hash)
    assert remembered is not None
    expired = remembered.model_copy(
        update={"expires_at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat()}
    )
    accepted_keys().put(key_hash, expired)

    # Then the next request is refused as expired, with no read, and the key is forgotten
    reply = invoke("GET", "/v1/events", key=key)

    assert_problem(reply, 401, "unauthorized")
    assert "expired" in reply.json()["detail"]
    assert len(key_reads) == 1
    assert accepted_keys().get(key_hash) is None


def test_an_oversized_key_is_refused_and_remembered_by_its_hash(invoke: Call, key_reads: list[str]) -> None:
    huge = "trg_" + "x" * 20_000

    replies = [invoke("GET", "/v1/events", key=huge) for _ in range(3)]

    assert statuses(replies) == {401: 3}
    assert len(key_reads) == 1


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_refused_keys_are_forgotten_after_their_ttl() -> None:
    clock = Ticks()
    refused = RefusedKeys(ttl_seconds=60, max_keys=10, clock=clock)
    refused.add("a" * 64)

    clock.now = 59.9
    assert "a" * 64 in refused
    clock.now = 60.0
    assert "a" * 64 not in refused
    assert len(refused) == 0


def test_refused_keys_keep_at_most_their_size_oldest_out() -> None:
    refused = RefusedKeys(ttl_seconds=60, max_keys=3, clock=Ticks())

    for name in "abcde":
        refused.add(name)

    assert len(refused) == 3
    assert "a" not in refused and "b" not in refused
    assert all(name in refused for name in "cde")


def test_a_memory_with_no_period_remembers_nothing() -> None:
    memory: ExpiringMemory[str] = ExpiringMemory(ttl_seconds=0, max_keys=10, clock=Ticks())

    memory.put("a", "value")

    assert memory.get("a") is None


def test_a_zero_sized_memory_remembers_nothing() -> None:
    refused = RefusedKeys(ttl_seconds=60, max_keys=0, clock=Ticks())

    refused.add("a")

    assert "a" not in refused


# --- subscription quota ------------------------------------------------------------------------


def subscribe(invoke: Call, key: str, number: int) -> Reply:
    body = f'{{"target_url": "{URL}/{number}", "event_types": ["order.created"]}}'
    return invoke("POST", "/v1/subscriptions", body, key=key)


def test_a_subscription_over_the_tenants_quota_is_409_and_stores_nothing(
    invoke: Call, new_key: Callable[[str], str], limits: Callable[..., None], dynamodb: Any
) -> None:
    limits("tenant-a", max_subscriptions=3)
    key = new_key("tenant-a")
    assert [subscribe(invoke, key, number).status for number in range(3)] == [201, 201, 201]

    reply = subscribe(invoke, key, 3)

    problem = assert_problem(reply, 409, "subscription-quota-exceeded")
    assert problem["limit"] == 3
    assert len(invoke("GET", "/v1/subscriptions", key=key).json()["data"]) == 3


def test_deleting_a_subscription_frees_its_place(
    invoke: Call, new_key: Callable[[str], str], limits: Callable[..., None]
) -> None:
    limits("tenant-a", max_subscriptions=1)
    key = new_key("tenant-a")
    first = subscribe(invoke, key, 1).json()
    assert subscribe(invoke, key, 2).status == 409

    assert invoke("DELETE", f"/v1/subscriptions/{first['id']}", key=key).status == 204

    assert subscribe(invoke, key, 2).status == 201


def test_a_duplicate_at_the_quota_is_reported_as_the_duplicate(
    invoke: Call, new_key: Callable[[str], str], limits: Callable[..., None]
) -> None:
    limits("tenant-a", max_subscriptions=1)
    key = new_key("tenant-a")
    first = subscribe(invoke, key, 1).json()

    problem = assert_problem(subscribe(invoke, key, 1), 409, "duplicate-subscription")

    assert problem["subscription_id"] == first["id"]


def test_the_quota_is_per_tenant(
    invoke: Call, new_key: Callable[[str], str], limits: Callable[..., None]
) -> None:
    limits("tenant-a", max_subscriptions=0)

    assert subscribe(invoke, new_key("tenant-a"), 1).status == 409
    assert subscribe(invoke, new_key("tenant-b"), 1).status == 201


def test_the_default_quota_refuses_the_101st_subscription(
    invoke: Call, new_key: Callable[[str], str]
) -> None:
    key = new_key("tenant-a")

    created = [subscribe(invoke, key, number).status for number in range(100)]
    refused = subscribe(invoke, key, 100)

    assert created == [201] * 100
    assert assert_problem(refused, 409, "subscription-quota-exceeded")["limit"] == 100
