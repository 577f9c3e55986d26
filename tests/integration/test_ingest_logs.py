"""The API server hosts the ingest function like the runner hosts processors: Lambda-style logs."""

import json
import time
from collections.abc import Callable
from typing import Any

from devtools.stack import EmbeddedStack
from ingest.core.api_keys_table import key_id
from tests.integration.conftest import ApiClient


def _messages(logs: Any, group: str) -> list[str]:
    paginator = logs.get_paginator("filter_log_events")
    return [event["message"] for page in paginator.paginate(logGroupName=group) for event in page["events"]]


def _wait_for_line(
    logs: Any, group: str, needle: str, timeout: float = 30, done: Callable[[list[str]], bool] | None = None
) -> list[str]:
    """The group's messages once one holds `needle` (and `done` accepts them, when given)."""
    deadline = time.monotonic() + timeout
    while True:
        messages = (
            _messages(logs, group) if logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] else []
        )
        if any(needle in message for message in messages) and (done is None or done(messages)):
            return messages
        if time.monotonic() > deadline:
            raise AssertionError(f"{needle!r} not logged to {group} within {timeout} s")
        time.sleep(0.2)


def test_ingest_requests_are_logged_to_the_functions_log_group(
    stack: EmbeddedStack, api: ApiClient, aws_client: Callable[[str], Any]
) -> None:
    # Given a producer that posts an event
    created = api.post("/v1/events", json={"event_type": "log.checked", "payload": {"secret_marker": 1}})
    event_id = created.json()["id"]

    # When the ingest function's log group is read
    group = f"/aws/lambda/{stack.template.physical_name('IngestFunction')}"

    def accepted_line(messages: list[str]) -> dict[str, Any]:
        return next(json.loads(m) for m in messages if event_id in m and m.startswith("{"))

    # (lines are shipped in batches: the invocation's REPORT line can follow its JSON line a batch later)
    messages = _wait_for_line(
        aws_client("logs"),
        group,
        event_id,
        done=lambda messages: any(
            m.startswith(f"REPORT RequestId: {accepted_line(messages)['function_request_id']}\t")
            for m in messages
        ),
    )

    # Then it holds the Lambda runtime lines and the handler's JSON line for that request
    accepted = accepted_line(messages)
    assert accepted["service"] == "ingest"
    assert accepted["event_ids"] == [event_id]
    assert accepted["correlation_id"]
    request_id = accepted["function_request_id"]
    assert f"START RequestId: {request_id} Version: $LATEST" in messages
    assert any(m.startswith(f"REPORT RequestId: {request_id}\t") for m in messages)
    # and neither the API key nor the payload
    api_key = api.session.headers["Authorization"].split()[1]
    assert not any(api_key in m or "secret_marker" in m for m in messages)


def test_each_request_leaves_a_request_line_with_the_key_id(
    stack: EmbeddedStack, api: ApiClient, aws_client: Callable[[str], Any]
) -> None:
    # Given a producer that posts an event, asks for an event that does not exist and for a route
    # that does not exist (problem answers name their request: `instance`)
    created = api.post("/v1/events", json={"event_type": "log.request", "payload": {"n": 1}})
    missing = api.get("/v1/events/01J0000000000000000000000A").json()["instance"].removeprefix("urn:request:")
    unmatched = api.get("/v1/no-such-route").json()["instance"].removeprefix("urn:request:")

    # When the ingest function's log group is read
    group = f"/aws/lambda/{stack.template.physical_name('IngestFunction')}"
    messages = _wait_for_line(aws_client("logs"), group, f'"request_id":"{unmatched}"')

    # Then each of those requests has one line: route template, method, status, latency, tenant, key id
    lines = [json.loads(m) for m in messages if m.startswith("{")]
    accepted = next(line for line in lines if line.get("event_ids") == [created.json()["id"]])
    requests = {line["request_id"]: line for line in lines if line.get("message") == "request"}
    api_key = api.session.headers["Authorization"].split()[1]
    posted = requests[accepted["correlation_id"]]
    assert (posted["endpoint"], posted["method"], posted["status"]) == ("/v1/events", "POST", 201)
    assert (posted["key_id"], posted["tenant_id"]) == (key_id(api_key), api.tenant_id)
    assert posted["latency_ms"] >= 0
    assert (requests[missing]["endpoint"], requests[missing]["status"]) == ("/v1/events/{event_id}", 404)
    assert requests[missing]["error_type"] == "not-found"
    assert (requests[unmatched]["endpoint"], requests[unmatched]["status"]) == ("unmatched", 404)
    assert not any(api_key in m for m in messages)
