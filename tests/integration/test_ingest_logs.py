"""The API server hosts the ingest function like the runner hosts processors: Lambda-style logs."""

import json
import time
from collections.abc import Callable
from typing import Any

from devtools.stack import EmbeddedStack
from tests.integration.conftest import ApiClient


def _messages(logs: Any, group: str) -> list[str]:
    paginator = logs.get_paginator("filter_log_events")
    return [event["message"] for page in paginator.paginate(logGroupName=group) for event in page["events"]]


def _wait_for_line(logs: Any, group: str, needle: str, timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        messages = (
            _messages(logs, group) if logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] else []
        )
        if any(needle in message for message in messages):
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
    messages = _wait_for_line(aws_client("logs"), group, event_id)

    # Then it holds the Lambda runtime lines and the handler's JSON line for that request
    accepted = next(json.loads(m) for m in messages if event_id in m and m.startswith("{"))
    assert accepted["service"] == "ingest"
    assert accepted["event_ids"] == [event_id]
    assert accepted["correlation_id"]
    request_id = accepted["function_request_id"]
    assert f"START RequestId: {request_id} Version: $LATEST" in messages
    assert any(m.startswith(f"REPORT RequestId: {request_id}\t") for m in messages)
    # and neither the API key nor the payload
    api_key = api.session.headers["Authorization"].split()[1]
    assert not any(api_key in m or "secret_marker" in m for m in messages)
