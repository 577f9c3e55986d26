"""The OpenAPI document is exact, answer by answer, over real HTTP.

For every operation of docs/openapi.json and every status it documents, a request that gets that
answer is sent to the embedded stack and the answer is judged by schemathesis' four conformance
checks (no 5xx, a documented status, the documented media type, a body of the documented
schema; a 503 from an injected DynamoDB outage is, by definition, the one answer exempt from the
first); a 204 also has no body. A status the document lists but the API cannot give has no
recipe here and fails; one the API gives but the document does not list fails the checks (and the
fuzz test, test_fuzz_api.py, which also sends what nobody thought of). Methods the document does
not list for a path (HEAD and OPTIONS included) are a 405 problem naming the ones it does.
"""

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from botocore.exceptions import ClientError
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devtools.commands.openapi import DEFAULT_OUTPUT
from devtools.stack import EmbeddedStack
from ingest.core import subscriptions_table, tenants_table
from ingest.core.api_keys_table import create_api_key, hash_key
from ingest.core.clients import dynamodb_client
from ingest.core.settings import get_settings

CONFORMANCE_CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)
DOCUMENT: dict[str, Any] = json.loads(DEFAULT_OUTPUT.read_text())
SCHEMA = schemathesis.openapi.from_path(DEFAULT_OUTPUT)
DOCUMENTED = {
    (method.upper(), path, int(status))
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    for status in operation["responses"]
}
# Well-formed ids that no tenant has.
UNKNOWN = {
    "event_id": "01JDQ5V8X3K9T2W7M4N6P8R0SA",
    "subscription_id": "sub_01JDQ5W2B7C4D6E8F0G2H4J6KA",
    "name": "openapi.exact.unknown",
}
# Ids (and an event-type name) that cannot have been issued.
INVALID = {"event_id": "not-an-id", "subscription_id": "not-an-id", "name": "not!a!name"}
NEVER_SENT = "openapi.exact.never"  # the event type test subscriptions take: nothing is delivered


@dataclass
class Request:
    path_parameters: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    authenticated: bool = True
    store_fails: bool = False
    throttled: bool = False  # sent with a key whose tenant's rate limit is spent
    api_key: str | None = None  # sent with this key instead of the tenant's (admin) one


@dataclass
class Tenant:
    """A tenant of the embedded stack whose key the recipes use, and what they create with it."""

    stack: EmbeddedStack
    tenant_id: str
    api_key: str
    throttled_key: str = ""  # another tenant's, limited to one request per policy a day

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.api_key}", **kwargs.pop("headers", {})}
        return requests.request(method, self.stack.api_url + path, headers=headers, timeout=30, **kwargs)

    def key_without(self, scope: str) -> str:
        """A key of this tenant whose one scope is not `scope` (nor admin)."""
        other = "audit:read" if scope != "audit:read" else "events:read"
        table = self.stack.template.physical_name("ApiKeysTable")
        return create_api_key(dynamodb_client(), table, self.tenant_id, [other])

    def unused_key(self) -> str:
        """A new admin key of this tenant, not yet remembered by any API instance (whose lookup
        therefore reaches DynamoDB)."""
        table = self.stack.template.physical_name("ApiKeysTable")
        return create_api_key(dynamodb_client(), table, self.tenant_id)

    def event(self) -> str:
        created = self.call("POST", "/v1/events", json={"event_type": "openapi.exact", "payload": {"n": 1}})
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    def subscription(self) -> str:
        body = {"target_url": f"http://127.0.0.1:9/{uuid.uuid4().hex}", "event_types": [NEVER_SENT]}
        created = self.call("POST", "/v1/subscriptions", json=body)
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    def event_type(self) -> str:
        """A new catalog type; the first one also catalogs NEVER_SENT, which the test subscriptions
        take (a tenant with a catalog subscribes to catalog types only)."""
        self.call("POST", "/v1/event-types", json={"name": NEVER_SENT})
        name = f"openapi.exact.{uuid.uuid4().hex[:12]}"
        created = self.call("POST", "/v1/event-types", json={"name": name, "schema": {"type": "object"}})
        assert created.status_code == 201, created.text
        return name

    def disabled_subscription(self) -> str:
        subscription_id = self.subscription()
        subscriptions_table.disable(
            dynamodb_client(), get_settings().subscriptions_table, self.tenant_id, subscription_id, "test"
        )
        return subscription_id


def too_large() -> bytes:
    return json.dumps(
        {"event_type": "a", "payload": {"x": "a" * (get_settings().max_body_bytes + 1)}}
    ).encode()


def body(document: Any) -> bytes:
    return json.dumps(document).encode()


Recipe = Callable[[Tenant], Request]


def ids(tenant: Tenant, path: str) -> dict[str, str]:
    """Path parameters naming the tenant's own (new) event and subscription."""
    found: dict[str, str] = {}
    if "{event_id}" in path:
        found["event_id"] = tenant.event()
    if "{subscription_id}" in path:
        found["subscription_id"] = tenant.subscription()
    if "{name}" in path:
        found["name"] = tenant.event_type()
    return found


def unknown_ids(path: str) -> dict[str, str]:
    return {name: value for name, value in UNKNOWN.items() if "{" + name + "}" in path}


# What gets each success, by operation.
SUCCESS: dict[tuple[str, str], Recipe] = {
    ("GET", "/health"): lambda t: Request(authenticated=False),
    ("GET", "/v1/openapi.json"): lambda t: Request(authenticated=False),
    ("GET", "/v1/events"): lambda t: Request(query={"limit": "5"}),
    ("GET", "/v1/inbox"): lambda t: Request(query={"limit": "5"}),
    ("GET", "/v1/subscriptions"): lambda t: Request(),
    ("POST", "/v1/subscriptions"): lambda t: Request(
        body=body({"target_url": f"http://127.0.0.1:9/{uuid.uuid4().hex}", "event_types": [NEVER_SENT]})
    ),
    ("POST", "/v1/subscriptions/{subscription_id}/replay"): lambda t: Request(
        {"subscription_id": t.subscription()}, body=body({"event_ids": [t.event()]})
    ),
    ("PATCH", "/v1/subscriptions/{subscription_id}"): lambda t: Request(
        {"subscription_id": t.subscription()},
        body=body({"description": "patched", "headers": {"Authorization": "Bearer 0123456789abcdef"}}),
    ),
    ("POST", "/v1/subscriptions/{subscription_id}/recover"): lambda t: Request(
        {"subscription_id": t.subscription()},
        body=body({"since": "2026-03-01T00:00:00Z", "until": "2026-03-02T00:00:00Z"}),
    ),
    ("POST", "/v1/event-types"): lambda t: Request(
        body=body({"name": f"openapi.exact.{uuid.uuid4().hex[:12]}", "description": "x"})
    ),
    ("PATCH", "/v1/event-types/{name}"): lambda t: Request(
        {"name": t.event_type()}, body=body({"deprecated": True})
    ),
}


def success(tenant: Tenant, method: str, path: str) -> Request:
    recipe = SUCCESS.get((method, path))
    return recipe(tenant) if recipe else Request(ids(tenant, path))


def idempotent(tenant: Tenant, other_body: bool) -> Request:
    key = uuid.uuid4().hex
    first = {"event_type": "openapi.exact", "payload": {"n": 1}}
    assert tenant.call("POST", "/v1/events", json=first, headers={"Idempotency-Key": key}).status_code == 201
    again = {**first, "payload": {"n": 2}} if other_body else first
    return Request(headers={"Idempotency-Key": key}, body=body(again))


def duplicate_subscription(tenant: Tenant) -> Request:
    document = {"target_url": f"http://127.0.0.1:9/{uuid.uuid4().hex}", "event_types": [NEVER_SENT]}
    assert tenant.call("POST", "/v1/subscriptions", json=document).status_code == 201
    return Request(body=body(document))


def patched_onto_another(tenant: Tenant) -> Request:
    """A PATCH moving a subscription onto another one's target and types: a 409."""
    other = tenant.call("GET", f"/v1/subscriptions/{tenant.subscription()}").json()
    return Request({"subscription_id": tenant.subscription()}, body=body({"target_url": other["target_url"]}))


def duplicate_event_type(tenant: Tenant) -> Request:
    return Request(body=body({"name": tenant.event_type()}))


# What gets each other answer, by operation and status, where the generic rules below do not apply.
SPECIFIC: dict[tuple[str, str, int], Recipe] = {
    ("POST", "/v1/events", 200): lambda t: idempotent(t, other_body=False),
    ("POST", "/v1/events", 201): lambda t: Request(
        body=body([{"event_type": "openapi.exact", "payload": {"n": n}} for n in range(2)])
    ),
    ("POST", "/v1/events", 400): lambda t: Request(body=b'{"event_type": "a", "payload": {'),
    ("POST", "/v1/events", 409): lambda t: idempotent(t, other_body=True),
    ("POST", "/v1/events", 413): lambda t: Request(body=too_large()),
    ("POST", "/v1/events", 422): lambda t: Request(body=body({"event_type": "a"})),
    ("GET", "/v1/events", 400): lambda t: Request(query={"cursor": "not-a-cursor"}),
    ("GET", "/v1/events", 422): lambda t: Request(query={"limit": "0"}),
    ("GET", "/v1/inbox", 400): lambda t: Request(query={"cursor": "not-a-cursor"}),
    ("GET", "/v1/audit", 400): lambda t: Request(query={"cursor": "not-a-cursor"}),
    ("GET", "/v1/audit", 422): lambda t: Request(query={"limit": "0"}),
    ("GET", "/v1/inbox", 422): lambda t: Request(query={"limit": "0"}),
    ("POST", "/v1/subscriptions", 400): lambda t: Request(body=b"{"),
    ("POST", "/v1/subscriptions", 409): duplicate_subscription,
    ("POST", "/v1/subscriptions", 413): lambda t: Request(body=too_large()),
    ("POST", "/v1/subscriptions", 422): lambda t: Request(body=body({"target_url": "http://127.0.0.1:9/"})),
    ("GET", "/v1/subscriptions/{subscription_id}/deliveries", 400): lambda t: Request(
        {"subscription_id": t.subscription()}, query={"cursor": "not-a-cursor"}
    ),
    ("GET", "/v1/stats", 422): lambda t: Request(query={"window": "7d"}),
    ("POST", "/v1/subscriptions/{subscription_id}/replay", 400): lambda t: Request(
        {"subscription_id": t.subscription()}, body=b"{"
    ),
    ("POST", "/v1/subscriptions/{subscription_id}/replay", 409): lambda t: Request(
        {"subscription_id": t.disabled_subscription()}, body=body({"event_ids": [UNKNOWN["event_id"]]})
    ),
    ("POST", "/v1/subscriptions/{subscription_id}/replay", 413): lambda t: Request(
        {"subscription_id": t.subscription()}, body=too_large()
    ),
    ("PATCH", "/v1/subscriptions/{subscription_id}", 400): lambda t: Request(
        {"subscription_id": t.subscription()}, body=b"{"
    ),
    ("PATCH", "/v1/subscriptions/{subscription_id}", 409): patched_onto_another,
    ("PATCH", "/v1/subscriptions/{subscription_id}", 412): lambda t: Request(
        {"subscription_id": t.subscription()},
        headers={"If-Match": '"stale"'},
        body=body({"description": "x"}),
    ),
    ("PATCH", "/v1/subscriptions/{subscription_id}", 413): lambda t: Request(
        {"subscription_id": t.subscription()}, body=too_large()
    ),
    ("POST", "/v1/subscriptions/{subscription_id}/recover", 400): lambda t: Request(
        {"subscription_id": t.subscription()}, body=b"{"
    ),
    ("POST", "/v1/subscriptions/{subscription_id}/recover", 409): lambda t: Request(
        {"subscription_id": t.disabled_subscription()},
        body=body({"since": "2026-03-01T00:00:00Z", "until": "2026-03-02T00:00:00Z"}),
    ),
    ("POST", "/v1/subscriptions/{subscription_id}/recover", 413): lambda t: Request(
        {"subscription_id": t.subscription()}, body=too_large()
    ),
    ("POST", "/v1/subscriptions/{subscription_id}/disable", 400): lambda t: Request(
        {"subscription_id": t.subscription()}, body=b"{"
    ),
    ("POST", "/v1/subscriptions/{subscription_id}/disable", 413): lambda t: Request(
        {"subscription_id": t.subscription()}, body=too_large()
    ),
    ("POST", "/v1/event-types", 400): lambda t: Request(body=b"{"),
    ("POST", "/v1/event-types", 409): duplicate_event_type,
    ("POST", "/v1/event-types", 413): lambda t: Request(body=too_large()),
    ("POST", "/v1/event-types", 422): lambda t: Request(
        body=body({"name": "openapi.exact.bad", "schema": {"type": 12}})
    ),
    ("PATCH", "/v1/event-types/{name}", 400): lambda t: Request({"name": t.event_type()}, body=b"{"),
    ("PATCH", "/v1/event-types/{name}", 413): lambda t: Request({"name": t.event_type()}, body=too_large()),
}


def recipe_for(method: str, path: str, status: int) -> Recipe | None:
    """How to get `status` from `method path`; None when nobody knows (then it is not an answer)."""
    if (method, path, status) in SPECIFIC:
        return SPECIFIC[(method, path, status)]
    if 200 <= status < 300:
        return lambda t: success(t, method, path)
    if status == 401:  # no key, whatever else is wrong
        return lambda t: Request(unknown_ids(path), authenticated=False)
    if status == 403:  # a valid key without the scope the route needs
        needed = DOCUMENT["paths"][path][method.lower()]["x-required-scope"]
        return lambda t: Request(unknown_ids(path), api_key=t.key_without(needed))
    if status == 429:  # the tenant's budget for this kind of request is spent
        return lambda t: Request(unknown_ids(path), throttled=True)
    if status == 503:  # the key lookup fails
        return lambda t: Request(unknown_ids(path), store_fails=True)
    if "{" in path and status == 404:  # an id no tenant has (another tenant's: test_security_http.py)
        return lambda t: Request(unknown_ids(path))
    if "{" in path and status == 422:  # an id that cannot have been issued
        return lambda t: Request({name: INVALID[name] for name in unknown_ids(path)})
    return None


@pytest.fixture(scope="module")
def tenant(stack: EmbeddedStack, aws_client: Callable[[str], Any]) -> Tenant:
    tenant_id = f"exact-{uuid.uuid4().hex[:12]}"
    dynamodb = aws_client("dynamodb")
    table = stack.template.physical_name("ApiKeysTable")
    throttled_tenant = f"{tenant_id}-throttled"
    one_a_day = {"burst": 1, "per_second": 1 / 86_400}
    tenants_table.update_limits(
        dynamodb,
        stack.template.physical_name("TenantsTable"),
        throttled_tenant,
        {
            f"{policy}_{name}": value
            for policy in ("ingest", "management")
            for name, value in one_a_day.items()
        },
    )
    return Tenant(
        stack,
        tenant_id,
        create_api_key(dynamodb, table, tenant_id),
        throttled_key=create_api_key(dynamodb, table, throttled_tenant),
    )


@contextmanager
def key_lookup_failing(api_key: str) -> Iterator[None]:
    """The API's DynamoDB client (the API runs in this process) fails this key's lookup, as a
    DynamoDB outage would; nobody else's calls are touched."""
    client = dynamodb_client()
    event = "before-parameter-build.dynamodb.GetItem"

    def fail(params: dict[str, Any], model: Any, **_: Any) -> None:
        if params.get("Key", {}).get("key_hash", {}).get("S") == hash_key(api_key):
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, model.name)

    client.meta.events.register(event, fail)
    try:
        yield
    finally:
        client.meta.events.unregister(event, fail)


def send(tenant: Tenant, method: str, path: str, request: Request) -> requests.Response:
    headers = dict(request.headers)
    if request.body is not None:
        headers.setdefault("Content-Type", "application/json")
    if request.authenticated:
        api_key = request.api_key or (tenant.throttled_key if request.throttled else tenant.api_key)
        headers["Authorization"] = f"Bearer {api_key}"
    url = tenant.stack.api_url + path.format(**request.path_parameters)
    if request.throttled:  # spend the one request of the day (of this kind), if still there
        requests.request(method, url, params=request.query, headers=headers, data=request.body, timeout=30)
    if not request.store_fails:
        return requests.request(
            method, url, params=request.query, headers=headers, data=request.body, timeout=30
        )
    # A key an instance remembers is not read again for a few seconds (ingest/keycache.py): the
    # failing lookup needs one no instance has seen.
    headers["Authorization"] = f"Bearer {(unused := tenant.unused_key())}"
    with key_lookup_failing(unused):
        return requests.request(
            method, url, params=request.query, headers=headers, data=request.body, timeout=30
        )


# Every documented answer, and every answer a recipe below gets (one the document has stopped
# listing then fails `status_code_conformance` instead of going untested).
ANSWERS = sorted(DOCUMENTED | set(SPECIFIC))


@pytest.mark.parametrize(("method", "path", "status"), ANSWERS, ids=[f"{m} {p} {s}" for m, p, s in ANSWERS])
def test_every_documented_answer_is_given_and_conforms(
    tenant: Tenant, method: str, path: str, status: int
) -> None:
    # Given a request meant to get this answer
    recipe = recipe_for(method, path, status)
    assert recipe is not None, (
        f"{method} {path} documents {status}, but no request here gets it: "
        "teach this test how, or remove the answer from the route's `responses`"
    )
    request = recipe(tenant)

    # When it is sent
    response = send(tenant, method, path, request)

    # Then it gets that answer, exactly as documented
    assert response.status_code == status, f"{response.status_code} {response.text[:500]}"
    case = SCHEMA[path][method].Case(
        path_parameters=request.path_parameters, query=request.query, headers=request.headers
    )
    # (a 503 is a server error by definition: the outage behind it was injected on purpose, so
    # `not_a_server_error` is the one check that does not apply to it)
    checks = [
        check for check in CONFORMANCE_CHECKS if not (request.store_fails and check is not_a_server_error)
    ]
    case.validate_response(response, checks=checks)
    documented = DOCUMENT["paths"][path][method.lower()]["responses"][str(status)]
    if "content" not in documented:
        assert response.content == b""
        assert "content-type" not in response.headers


ALL_METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")


@pytest.mark.parametrize("path", sorted(DOCUMENT["paths"]))
def test_methods_the_document_does_not_list_are_405_naming_the_ones_it_does(
    tenant: Tenant, path: str
) -> None:
    documented = sorted(method.upper() for method in DOCUMENT["paths"][path])
    url = tenant.stack.api_url + path.format(**UNKNOWN)

    for method in sorted(set(ALL_METHODS) - set(documented)):
        response = requests.request(
            method, url, headers={"Authorization": f"Bearer {tenant.api_key}"}, timeout=30
        )

        assert response.status_code == 405, f"{method} {path}: {response.status_code}"
        assert response.headers["Allow"] == ", ".join(documented), f"{method} {path}"
        assert response.headers["content-type"] == "application/problem+json", f"{method} {path}"
        if method != "HEAD":
            assert response.json()["type"] == "https://triggers.dev/problems/method-not-allowed"
