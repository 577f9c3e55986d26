"""Schemathesis fuzzing of the API from the OpenAPI document it serves, over real HTTP.

Every generated request (valid and invalid) goes to the embedded stack with a real API key:
no 5xx, every response matches the document (its status, its media type and its body schema:
the four checks of `CONFORMANCE_CHECKS`, on every operation of the document, error answers
included), and a rejected request (4xx) writes nothing. test_openapi_exact.py reaches every
documented answer on purpose (schemathesis' examples may miss a 409 or a 503) with the same checks.
`make test` runs a fixed seed and a few examples per operation; `make fuzz` raises both
through FUZZ_EXAMPLES and FUZZ_SEED. Host names in generated target URLs are not resolved (see
`hermetic_destinations`), and a subscription the fuzzer manages to create is deleted at once.
"""

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, seed, settings
from schemathesis import Case
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
    use_after_free,
)

from devtools.commands.openapi import DEFAULT_OUTPUT
from devtools.stack import EmbeddedStack
from ingest import search_query
from ingest.core import ssrf
from ingest.core.api_keys_table import create_api_key
from ingest.core.errors import InvalidQuery
from ingest.core.ssrf import BlockedDestination

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
FUZZ_SEED = int(os.environ.get("FUZZ_SEED", "20261125"))

# The document is exact: no 5xx, only documented statuses, the documented media type (none for a
# 204), a body that matches the documented schema. Named here rather than "all default checks" so
# a schemathesis upgrade cannot quietly drop one.
CONFORMANCE_CHECKS: tuple[CheckFunction, ...] = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)
# The rest of schemathesis' built-in checks, which also hold (the stateful ones have nothing to
# judge in a single call): invalid input is rejected, valid input accepted, and so on.
ALSO_CHECKED: tuple[CheckFunction, ...] = (
    response_headers_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    missing_required_header,
    unsupported_method,
    allow_header_conformance,
    ignored_auth,
    use_after_free,
    ensure_resource_availability,
)


@dataclass(frozen=True)
class FuzzTenant:
    tenant_id: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@dataclass(frozen=True)
class StoredItems:
    """What the fuzzing tenant owns: compared before and after every rejected request."""

    dynamodb: Any
    events_table: str
    subscriptions_table: str
    idempotency_table: str
    tenant_id: str

    def _count(self, table: str) -> int:
        response = self.dynamodb.query(
            TableName=table,
            KeyConditionExpression="tenant_id = :t",
            ExpressionAttributeValues={":t": {"S": self.tenant_id}},
            Select="COUNT",
            ConsistentRead=True,
        )
        return int(response["Count"])

    def counts(self) -> dict[str, int]:
        idempotency = self.dynamodb.scan(TableName=self.idempotency_table, Select="COUNT")
        return {
            "events": self._count(self.events_table),
            "subscriptions": self._count(self.subscriptions_table),
            "idempotency records": int(idempotency["Count"]),
        }


@pytest.fixture(scope="session")
def fuzz_tenant(stack: EmbeddedStack, aws_client: Callable[[str], Any]) -> FuzzTenant:
    tenant_id = f"fuzz-{uuid.uuid4().hex[:12]}"
    table = stack.template.physical_name("ApiKeysTable")
    return FuzzTenant(tenant_id, create_api_key(aws_client("dynamodb"), table, tenant_id))


@pytest.fixture(scope="session")
def stored_items(
    stack: EmbeddedStack, aws_client: Callable[[str], Any], fuzz_tenant: FuzzTenant
) -> StoredItems:
    template = stack.template
    return StoredItems(
        aws_client("dynamodb"),
        template.physical_name("EventsTable"),
        template.physical_name("SubscriptionsTable"),
        template.physical_name("IdempotencyTable"),
        fuzz_tenant.tenant_id,
    )


# The committed document, which the first test proves is byte for byte what the API serves
# (schemathesis' lazy fixture loader does not support pytest 9 yet).
schema = schemathesis.openapi.from_path(DEFAULT_OUTPUT)
# Unknown query parameters are ignored, as most HTTP APIs do (bodies, by contrast, forbid extra
# fields); do not count them as invalid input.
schema.config.generation.update(allow_extra_parameters=False)
# The tenant's key is added to every call: a generated "missing Authorization" is not what is sent.
schema.config.generation.update(with_security_parameters=False)


def rules_beyond_the_schema(case: Case) -> list[CheckFunction]:
    """Checks to skip for a case a schema cannot judge: valid-looking input the API must refuse.

    A `cursor` is opaque and valid only as issued to this tenant for this query (else 400);
    `since` after `until` is a cross-field rule (400); a subscription's target_url is also
    resolved and refused when private or unresolvable (422); a search `q` has a grammar
    (ingest/search_query.py) a pattern cannot state (400 `invalid-query` when the parser refuses
    it; a `q` it accepts must still be accepted). Never one of CONFORMANCE_CHECKS.
    """
    query = case.query or {}
    if (
        (case.method, case.path) == ("POST", "/v1/subscriptions")
        or "cursor" in query
        or ("since" in query and "until" in query)
        or (isinstance(query.get("q"), str) and not _parses(query["q"]))
    ):
        return [positive_data_acceptance]
    return []


def _parses(q: str) -> bool:
    try:
        search_query.parse(q)
    except InvalidQuery:
        return False
    return True


@pytest.fixture
def hermetic_destinations(monkeypatch: pytest.MonkeyPatch) -> None:
    """No DNS while fuzzing: a generated host name is refused like an unresolvable one, so results
    do not depend on the machine's resolver and no fuzz subscription can point at a real host."""

    def refuse(host: str, port: int) -> list[str]:
        raise BlockedDestination(f"cannot resolve host {host!r} (no DNS while fuzzing)")

    monkeypatch.setattr(ssrf, "resolve_host", refuse)


def test_served_document_is_the_committed_one(stack: EmbeddedStack) -> None:
    served = requests.get(f"{stack.api_url}/v1/openapi.json", timeout=30)

    assert served.status_code == 200
    assert served.text + "\n" == DEFAULT_OUTPUT.read_text()


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@seed(FUZZ_SEED)
def test_api_conforms_to_its_document_and_writes_nothing_on_rejection(
    case: Case,
    stack: EmbeddedStack,
    fuzz_tenant: FuzzTenant,
    stored_items: StoredItems,
    hermetic_destinations: None,
) -> None:
    # Given what the tenant owns before the request
    before = stored_items.counts()

    # When the generated request is sent with the tenant's key
    response = case.call(base_url=stack.api_url, headers=fuzz_tenant.headers, timeout=30)

    # Then no 5xx, the response matches the document, and a rejection left no trace
    case.validate_response(
        response,
        headers=fuzz_tenant.headers,
        checks=[*CONFORMANCE_CHECKS, *ALSO_CHECKED],
        excluded_checks=rules_beyond_the_schema(case),
    )
    if 400 <= response.status_code < 500:
        assert stored_items.counts() == before, f"{case.method} {case.path} -> {response.status_code}"
    if (case.method, case.path, response.status_code) == ("POST", "/v1/subscriptions", 201):
        # Generated events must not be delivered anywhere (an IP literal may be public).
        requests.delete(
            f"{stack.api_url}/v1/subscriptions/{response.json()['id']}",
            headers=fuzz_tenant.headers,
            timeout=30,
        )
