"""One `request` log line and one set of request metrics per API request (issue 19, seed 002).

The real ingest handler against moto in-process; what it writes to stdout is what CloudWatch Logs
receives in Lambda (JSON log lines and EMF metric lines).
"""

# ruff: noqa: F811  # the fixtures of test_api_handler, imported by name, are parameters here

import json
from collections.abc import Callable
from typing import Any

import pytest

from ingest.api import endpoint_of, openapi_json, route_templates
from ingest.core.api_keys_table import key_id
from ingest.core.observability import UNMATCHED
from tests.unit.test_api_handler import (  # noqa: F401  # fixtures
    Call,
    count,
    event_body,
    events_table_missing,
    invoke,
    json_lines,
    key,
    new_key,
    output,
    post,
)

# Powertools leaves out keys whose value is None: `key_id`, `tenant_id` and `error_type` are absent
# when the request had no key of this API, no tenant or no problem.
REQUEST_FIELDS = {"request_id", "key_id", "tenant_id", "endpoint", "method", "status", "latency_ms"}


def request_lines(text: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(text) if line.get("message") == "request"]


def emf(text: str, metric: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(text) if "_aws" in line and metric in line]


def test_each_request_logs_one_line_with_its_fields_and_the_key_id_not_the_key(
    invoke: Call, key: str, output: Callable[[], str]
) -> None:
    # When an event is posted and read back
    created = post(invoke, key, event_body())
    invoke("GET", f"/v1/events/{created.json()['id']}", key=key)

    # Then each request has one line, naming the route template, the key's id and the tenant
    text = output()
    posted, read = request_lines(text)
    assert set(posted) >= REQUEST_FIELDS
    assert posted["endpoint"] == "/v1/events"
    assert posted["method"] == "POST"
    assert posted["status"] == 201
    assert posted["key_id"] == key_id(key)
    assert posted["tenant_id"] == "tenant-a"
    assert "error_type" not in posted
    assert isinstance(posted["latency_ms"], float)
    assert posted["request_id"] == posted["correlation_id"]
    assert read["endpoint"] == "/v1/events/{event_id}"
    assert read["status"] == 200
    assert key not in text


def test_an_unknown_key_is_logged_by_its_id_without_a_tenant(invoke: Call, output: Callable[[], str]) -> None:
    post(invoke, "trg_unknown-key", event_body())

    (line,) = request_lines(output())
    assert line["status"] == 401
    assert line["error_type"] == "unauthorized"
    assert line["key_id"] == key_id("trg_unknown-key")
    assert "tenant_id" not in line


@pytest.mark.parametrize(
    "header", ["Bearer some-other-secret", "Basic dXNlcjpwYXNz", "Basic trg_notbearer", ""]
)
def test_a_token_that_is_not_an_api_key_leaves_no_trace(
    invoke: Call, output: Callable[[], str], header: str
) -> None:
    invoke("GET", "/v1/events", headers={"authorization": header} if header else {})

    text = output()
    (line,) = request_lines(text)
    assert "key_id" not in line
    assert line["error_type"] == "unauthorized"
    assert "some-other-secret" not in text
    assert "dXNlcjpwYXNz" not in text


@pytest.mark.parametrize(
    ("method", "path", "status", "endpoint", "error_type"),
    [
        ("GET", "/v1/nowhere", 404, UNMATCHED, "not-found"),
        ("PUT", "/v1/events", 405, "/v1/events", "method-not-allowed"),
        ("GET", "/v1/events?limit=0", 422, "/v1/events", "validation-failed"),
        ("GET", "/v1/events/01J0000000000000000000000A", 404, "/v1/events/{event_id}", "not-found"),
    ],
)
def test_problems_are_logged_with_their_route_and_type(
    invoke: Call,
    key: str,
    output: Callable[[], str],
    method: str,
    path: str,
    status: int,
    endpoint: str,
    error_type: str,
) -> None:
    invoke(method, path, key=key)

    (line,) = request_lines(output())
    assert (line["status"], line["endpoint"], line["error_type"]) == (status, endpoint, error_type)


def test_requests_emit_request_and_error_metrics_by_endpoint_and_method(
    invoke: Call, key: str, output: Callable[[], str]
) -> None:
    post(invoke, key, event_body())
    post(invoke, key, '{"event_type": "bad type", "payload": {}}')

    text = output()
    requests = emf(text, "Requests")
    assert [(m["endpoint"], m["method"], m["Requests"], m["ServerErrors"]) for m in requests] == [
        ("/v1/events", "POST", [1.0], [0.0]),
        ("/v1/events", "POST", [1.0], [0.0]),
    ]
    (dimensions,) = requests[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    assert set(dimensions) == {"endpoint", "method", "service"}
    (error,) = emf(text, "Errors")
    assert (error["endpoint"], error["error_type"]) == ("/v1/events", "validation-failed")
    assert error["Errors"] == [1.0]
    assert error["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Triggers"


def test_a_server_error_counts_as_a_server_error(
    invoke: Call, key: str, output: Callable[[], str], events_table_missing: None
) -> None:
    post(invoke, key, event_body())

    text = output()
    (request,) = emf(text, "Requests")
    assert request["ServerErrors"] == [1.0]
    (error,) = emf(text, "Errors")
    assert error["error_type"] == "store-unavailable"


def test_public_routes_are_logged_too(invoke: Call, output: Callable[[], str]) -> None:
    invoke("GET", "/health")

    (line,) = request_lines(output())
    assert (line["endpoint"], line["status"]) == ("/health", 200)
    assert "key_id" not in line
    assert "tenant_id" not in line


def test_every_documented_route_is_its_own_endpoint() -> None:
    # The resolver's route table (read through Powertools internals) names each OpenAPI route.
    paths = json.loads(openapi_json())["paths"]
    documented = {(method.upper(), path) for path, item in paths.items() for method in item}
    assert {(method, template) for _, method, template in route_templates()} == documented
    for method, path in documented:
        concrete = path.replace("{event_id}", "01J0000000000000000000000A")
        concrete = concrete.replace("{subscription_id}", "sub_1")
        assert endpoint_of(method, concrete) == path
