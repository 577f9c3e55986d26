"""`triggers tail` against the embedded stack: every function's CloudWatch Logs, merged and filtered."""

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from devtools.logs import LineFilter, LogReader, function_log_groups
from devtools.receiver import Receiver
from devtools.stack import EmbeddedStack
from tests.e2e.conftest import post_events, subscribe, wait_until
from tests.integration.cli_support import command_output, triggers
from tests.integration.conftest import ApiClient

Aws = Callable[[str], Any]


def tail_json(stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    assert triggers(stack, "tail", *argv, "--json") == 0
    lines: list[dict[str, Any]] = [json.loads(line) for line in command_output(capsys)[0].splitlines()]
    return lines


def functions_of(lines: list[dict[str, Any]]) -> set[str]:
    return {line["function"] for line in lines}


def logged_by(stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], event_id: str) -> set[str]:
    return functions_of(tail_json(stack, capsys, "--event-id", event_id))


@pytest.fixture
def two_events(api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """Two events posted separately, once ingest and indexer have logged both."""
    (first,) = post_events(api, [{"event_type": "order.created", "payload": {"n": 1}}])
    (second,) = post_events(api, [{"event_type": "order.created", "payload": {"n": 2}}])
    for event_id in (first, second):

        def logged(event_id: str = event_id) -> bool:
            return logged_by(stack, capsys, event_id) >= {"ingest", "indexer"}

        wait_until(logged, f"ingest and indexer logs of {event_id}", timeout=90, every=1.0)
    return first, second


def test_event_id_keeps_only_lines_about_that_event_from_every_function(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], two_events: tuple[str, str]
) -> None:
    first, second = two_events

    lines = tail_json(stack, capsys, "--event-id", first)

    assert {"ingest", "indexer"} <= functions_of(lines)
    assert all(first in line["message"] for line in lines)
    ingest_lines = [line for line in lines if line["function"] == "ingest"]
    assert ingest_lines and all(second not in line["message"] for line in ingest_lines)
    assert [line["timestamp"] for line in lines] == sorted(line["timestamp"] for line in lines)


def test_function_argument_limits_the_log_groups(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], two_events: tuple[str, str]
) -> None:
    first, _ = two_events

    lines = tail_json(stack, capsys, "indexer", "--event-id", first)

    assert functions_of(lines) == {"indexer"}
    assert all(line["fields"]["event_ids"] for line in lines if line["fields"])


def test_human_output_prefixes_each_line_with_its_function(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], two_events: tuple[str, str]
) -> None:
    first, _ = two_events

    assert triggers(stack, "tail", "--event-id", first, "--no-color") == 0

    output = command_output(capsys)[0].splitlines()
    assert output
    assert {line.split()[1] for line in output} >= {"ingest", "indexer"}
    assert any("events accepted" in line for line in output)


def test_level_drops_lines_below_it(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], two_events: tuple[str, str]
) -> None:
    first, _ = two_events

    assert tail_json(stack, capsys, "--event-id", first, "--level", "info")
    assert tail_json(stack, capsys, "--event-id", first, "--level", "error") == []


def test_following_returns_each_new_line_once(
    api: ApiClient, stack: EmbeddedStack, aws_client: Aws, two_events: tuple[str, str]
) -> None:
    # Given a reader that has shown everything about the tenant so far
    first, _ = two_events
    reader = LogReader(
        aws_client("logs"),
        function_log_groups(stack.template, ["ingest"]),
        start_ms=int((time.time() - 600) * 1000),
        line_filter=LineFilter((api.tenant_id,)),
    )
    shown = reader.poll()
    assert any(first in line.message for line in shown)

    # When another event is posted and the reader polls again
    (third,) = post_events(api, [{"event_type": "order.created", "payload": {"n": 3}}])
    new: list[Any] = []
    wait_until(
        lambda: new.extend(reader.poll()) or any(third in line.message for line in new),
        "the new ingest line",
        every=1.0,
    )

    # Then only the new request's lines come (its event's line and its request line), once each
    assert sum(third in line.message for line in new) == 1
    assert not any(first in line.message for line in new)
    assert not any(third in line.message for line in reader.poll())


@pytest.mark.parametrize("since", ["yesterday", "-5m", "10 minutes"])
def test_a_malformed_since_is_refused(stack: EmbeddedStack, since: str) -> None:
    assert triggers(stack, "tail", f"--since={since}") == 2


def test_tail_of_a_function_without_logs_says_so(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert triggers(stack, "tail", "no-such-function") == 0

    assert "no logs yet" in command_output(capsys)[1]


def test_webhook_attempts_made_by_fanout_workers_are_in_its_log_group(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a subscriber: fanout delivers from its worker threads
    with Receiver() as receiver:
        subscription = subscribe(api, receiver.url, ["*"])
        (event_id,) = post_events(api, [{"event_type": "order.created", "payload": {"n": 1}}])
        receiver.wait_for(1, timeout=90)

        # When following that event in fanout's logs
        def attempts() -> list[dict[str, Any]]:
            lines = tail_json(stack, capsys, "fanout", "--event-id", event_id)
            return [line for line in lines if "webhook attempt" in line["message"]]

        # Then the worker's line is there, with the invocation's correlation ids
        [attempt] = wait_until(attempts, "fanout's webhook attempt line", timeout=60, every=1.0)
    assert subscription["id"] in attempt["message"]
