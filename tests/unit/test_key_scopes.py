"""API key scopes, expiry and key ids in the logs, through the real ingest handler (moto in-process)."""

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingest.api import app, is_public, openapi_json
from ingest.core.api_keys_table import SCOPES, allows, create_api_key, get_key, normalise_scopes
from ingest.core.settings import get_settings
from ingest.scopes import ANY_VALID_KEY, ROUTE_SCOPES
from tests.unit.test_api_handler import (  # noqa: F401 - fixtures
    Call,
    assert_problem,
    count,
    event_body,
    invoke,
    json_lines,
    output,
)

SUBSCRIPTION = json.dumps({"target_url": "https://93.184.215.14/hooks/scopes", "event_types": ["*"]})
NEVER_ISSUED = "sub_01JDQ5W2B7C4D6E8F0G2H4J6KA"


@pytest.fixture
def key_with(dynamodb: Any) -> Callable[..., str]:
    """Factory: a key of tenant-a with these scopes (and expiry)."""

    def make(*scopes: str, expires_at: datetime | None = None, tenant_id: str = "tenant-a") -> str:
        return create_api_key(dynamodb, get_settings().api_keys_table, tenant_id, scopes, expires_at)

    return make


def test_every_route_of_the_resolver_declares_its_scope() -> None:
    routes = {(route.method, route.openapi_path) for route in app._static_routes + app._dynamic_routes}
    authenticated = {(method, path) for method, path in routes if not is_public(path)}

    unclassified = sorted(authenticated - set(ROUTE_SCOPES) - ANY_VALID_KEY)

    assert authenticated, "the resolver has routes"
    assert unclassified == [], f"routes without a scope in ingest/scopes.py: {unclassified}"
    assert set(ROUTE_SCOPES.values()) <= set(SCOPES)


def test_every_authenticated_route_documents_403_and_its_scope() -> None:
    document = json.loads(openapi_json())

    for path, item in document["paths"].items():
        for method, operation in item.items():
            if is_public(path) or (method.upper(), path) in ANY_VALID_KEY:
                assert "403" not in operation["responses"], path
                continue
            assert "403" in operation["responses"], f"{method} {path}"
            assert operation["x-required-scope"] == ROUTE_SCOPES[(method.upper(), path)]


def test_admin_implies_every_scope_and_scopes_are_normalised() -> None:
    assert all(allows(["admin"], scope) for scope in SCOPES)
    assert not allows(["events:read"], "events:write")
    assert normalise_scopes(["events:write", "events:read", "events:write"]) == (
        "events:write",
        "events:read",
    )
    with pytest.raises(ValueError, match="unknown scope 'events:delete'"):
        normalise_scopes(["events:delete"])
    with pytest.raises(ValueError, match="at least one scope"):
        normalise_scopes([])


@pytest.mark.parametrize(
    ("scope", "method", "path", "body", "needed"),
    [
        ("events:read", "POST", "/v1/events", event_body(), "events:write"),
        ("events:read", "POST", "/v1/subscriptions", SUBSCRIPTION, "subscriptions:manage"),
        ("events:write", "GET", "/v1/subscriptions", "", "subscriptions:manage"),
        ("events:write", "GET", "/v1/events", "", "events:read"),
        ("subscriptions:manage", "GET", "/v1/audit", "", "audit:read"),
        ("audit:read", "DELETE", f"/v1/subscriptions/{NEVER_ISSUED}", "", "subscriptions:manage"),
        ("events:write", "POST", f"/v1/subscriptions/{NEVER_ISSUED}/disable", "", "subscriptions:manage"),
    ],
)
def test_a_key_without_the_routes_scope_gets_403_naming_it(
    invoke: Call,  # noqa: F811
    key_with: Callable[..., str],
    count: Callable[[str], int],  # noqa: F811
    scope: str,
    method: str,
    path: str,
    body: str,
    needed: str,
) -> None:
    reply = invoke(method, path, body, key=key_with(scope))

    problem = assert_problem(reply, 403, "insufficient-scope")
    assert problem["required_scope"] == needed
    assert needed in problem["detail"]
    assert count("events") == 0


def test_scope_is_checked_before_the_schema(invoke: Call, key_with: Callable[..., str]) -> None:  # noqa: F811
    # A read-only key learns nothing about the body a write route wants.
    reply = invoke("POST", "/v1/events", '{"event_type": 5}', key=key_with("events:read"))

    assert_problem(reply, 403, "insufficient-scope")


@pytest.mark.parametrize(
    ("scopes", "method", "path", "body", "status"),
    [
        (("events:write",), "POST", "/v1/events", event_body(), 201),
        (("events:read",), "GET", "/v1/events", "", 200),
        (("subscriptions:manage",), "POST", "/v1/subscriptions", SUBSCRIPTION, 201),
        (("audit:read",), "GET", "/v1/audit", "", 200),
        (("admin",), "GET", "/v1/audit", "", 200),
        (("events:read", "subscriptions:manage"), "GET", "/v1/subscriptions", "", 200),
        # who the key is: any valid key, whatever its scopes (a connection test)
        (("events:write",), "GET", "/v1/me", "", 200),
        (("audit:read",), "GET", "/v1/me", "", 200),
    ],
)
def test_a_key_with_the_scope_or_admin_is_let_through(
    invoke: Call,  # noqa: F811
    key_with: Callable[..., str],
    scopes: tuple[str, ...],
    method: str,
    path: str,
    body: str,
    status: int,
) -> None:
    reply = invoke(method, path, body, key=key_with(*scopes))

    assert reply.status == status, reply.text


def test_a_key_stored_before_scopes_existed_is_admin(
    invoke: Call,  # noqa: F811
    dynamodb: Any,
) -> None:
    # Given a key item as keys were written before scopes (no `scopes` attribute)
    api_key = "trg_legacy-key-without-scopes"
    dynamodb.put_item(
        TableName=get_settings().api_keys_table,
        Item={
            "key_hash": {"S": hashlib.sha256(api_key.encode()).hexdigest()},
            "tenant_id": {"S": "tenant-a"},
            "created_at": {"S": "2026-01-01T00:00:00+00:00"},
        },
    )

    # Then it may do anything, as it could then
    assert invoke("GET", "/v1/audit", key=api_key).status == 200
    assert invoke("POST", "/v1/subscriptions", SUBSCRIPTION, key=api_key).status == 201
    info = get_key(dynamodb, get_settings().api_keys_table, api_key)
    assert info is not None and info.scopes == ("admin",)


def test_an_expired_key_is_401_saying_so_and_stays_refused(
    invoke: Call,  # noqa: F811
    key_with: Callable[..., str],
    count: Callable[[str], int],  # noqa: F811
) -> None:
    api_key = key_with("admin", expires_at=datetime.now(UTC) - timedelta(seconds=1))

    first = assert_problem(invoke("POST", "/v1/events", event_body(), key=api_key), 401, "unauthorized")
    again = invoke("POST", "/v1/events", event_body(), key=api_key)

    assert "expired" in first["detail"]
    assert_problem(again, 401, "unauthorized")
    assert count("events") == 0


def test_a_key_before_its_expiry_works(invoke: Call, key_with: Callable[..., str]) -> None:  # noqa: F811
    api_key = key_with("events:write", expires_at=datetime.now(UTC) + timedelta(days=30))

    assert invoke("POST", "/v1/events", event_body(), key=api_key).status == 201


def test_every_log_line_after_authentication_names_the_key_id_never_the_key(
    invoke: Call,  # noqa: F811
    key_with: Callable[..., str],
    output: Callable[[], str],  # noqa: F811
) -> None:
    api_key = key_with("events:write")
    key_hash = hashlib.sha256(api_key.encode()).hexdigest()

    reply = invoke("POST", "/v1/events", event_body(), key=api_key)

    text = output()
    lines = [line for line in json_lines(text) if "level" in line]
    accepted = [line for line in lines if line.get("message") == "events accepted"]
    assert reply.status == 201 and accepted
    assert all(line["key_id"] == key_hash[:16] for line in lines if "tenant_id" in line)
    assert api_key not in text and key_hash not in text


def test_the_key_id_of_one_request_does_not_leak_into_the_next(
    invoke: Call,  # noqa: F811
    key_with: Callable[..., str],
    output: Callable[[], str],  # noqa: F811
) -> None:
    invoke("POST", "/v1/events", event_body(), key=key_with("events:write"))

    invoke("POST", "/v1/events", event_body(), key="trg_unknown")

    rejected = [line for line in json_lines(output()) if line.get("problem") == "unauthorized"]
    assert rejected and all("key_id" not in line for line in rejected)
