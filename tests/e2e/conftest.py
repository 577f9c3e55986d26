"""End-to-end tests: producer -> stream -> real processors -> webhook / OpenSearch / DLQ, all over HTTP."""

import os
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from tests.conftest import clear_client_caches
from tests.integration.conftest import ApiClient, api, aws_client, new_tenant, stack  # noqa: F401

T = TypeVar("T")
Configure = Callable[..., None]


def clear_processor_caches() -> None:
    """Settings, clients, the deliverer and the subscription cache are all read from os.environ once."""
    clear_client_caches()


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch, embedded_stack: Any) -> Iterator[Configure]:
    """Set environment variables the in-process handlers read, for this test only."""

    def set_env(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        clear_processor_caches()

    set_env(RETRY_JITTER_RATIO="0")
    yield set_env
    monkeypatch.undo()
    clear_processor_caches()


def wait_until(probe: Callable[[], T | None], what: str, timeout: float = 60.0, every: float = 0.2) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def post_events(client: ApiClient, events: list[dict[str, Any]]) -> list[str]:
    response = client.post("/v1/events", json=events)
    assert response.status_code == 201, response.text
    return [item["id"] for item in response.json()["data"]]


def subscribe(client: ApiClient, url: str, event_types: list[str]) -> dict[str, Any]:
    response = client.post("/v1/subscriptions", json={"target_url": url, "event_types": event_types})
    assert response.status_code == 201, response.text
    subscription: dict[str, Any] = response.json()
    return subscription


def recorded_delivery(
    client: ApiClient, event_id: str, subscription_id: str, state: str | None = None, timeout: float = 30.0
) -> dict[str, Any]:
    """The delivery record once it exists (and is in `state`): the fanout records a batch's
    deliveries after sending them, so a receiver can see a request before its record is written."""
    return wait_until(
        lambda: (
            (found := deliveries_of(client, event_id).get(subscription_id))
            and (state is None or found["state"] == state)
            and found
        ),
        f"delivery of {event_id} to {subscription_id}" + (f" {state}" if state else ""),
        timeout=timeout,
    )


def deliveries_of(client: ApiClient, event_id: str) -> dict[str, dict[str, Any]]:
    """The event's deliveries by subscription id."""
    response = client.get(f"/v1/events/{event_id}/deliveries")
    assert response.status_code == 200, response.text
    return {delivery["subscription_id"]: delivery for delivery in response.json()["data"]}


def aws_cli_environment(aws_port: int) -> dict[str, str]:
    from devtools.stack import LOCAL_CREDENTIALS, SCRIPT_PATH

    return {
        "PATH": SCRIPT_PATH,
        "HOME": os.environ.get("HOME", "/root"),
        "DISABLE_DEPRECATION_NOTICE": "1",
        "LOCALSTACK_HOST": f"127.0.0.1:{aws_port}",
        **LOCAL_CREDENTIALS,
    }
