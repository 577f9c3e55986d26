"""Delivery statistics over real HTTP: a receiver that fails each event once, then the numbers."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from devtools.receiver import Faults, Receiver
from tests.e2e.conftest import Configure, post_events, recorded_delivery, subscribe
from tests.integration.conftest import ApiClient


@pytest.fixture
def flaky_receiver() -> Iterator[Receiver]:
    """Answers 500 to the first attempt of each event, then 200."""
    with Receiver(faults=Faults(fail_rate=1.0, max_failures_per_id=1)) as server:
        yield server


@pytest.fixture
def delivered_after_a_failure(
    configure: Configure, api: ApiClient, flaky_receiver: Receiver
) -> dict[str, Any]:
    configure(RETRY_SCHEDULE="1s")
    subscription = subscribe(api, flaky_receiver.url, ["stats.tested"])
    flaky_receiver.add_secret(subscription["secret"])
    event_ids = post_events(api, [{"event_type": "stats.tested", "payload": {"n": n}} for n in range(2)])
    for event_id in event_ids:
        recorded_delivery(api, event_id, subscription["id"], state="delivered")
    return subscription


def test_subscription_stats_count_the_failed_and_the_succeeded_attempts(
    api: ApiClient, delivered_after_a_failure: dict[str, Any]
) -> None:
    reply = api.get(f"/v1/subscriptions/{delivered_after_a_failure['id']}/stats", params={"window": "1h"})

    assert reply.status_code == 200, reply.text
    stats = reply.json()
    assert stats["subscription_id"] == delivered_after_a_failure["id"]
    assert stats["outcomes"] == {"succeeded": 2, "failed": 2, "no_response": 0, "not_sent": 0}
    assert (stats["attempts"], stats["success_rate"]) == (4, 0.5)
    assert stats["deliveries"] == {"delivered": 2}
    assert stats["latency_ms"]["p50"] is not None
    assert (stats["records_read"], stats["truncated"]) == (2, False)
    assert len(stats["series"]) == 60 and stats["bucket_seconds"] == 60
    assert sum(bucket["attempts"]["failed"] for bucket in stats["series"]) == 2


def test_tenant_stats_add_up_the_subscriptions(
    api: ApiClient, delivered_after_a_failure: dict[str, Any]
) -> None:
    reply = api.get("/v1/stats", params={"window": "24h"})

    assert reply.status_code == 200, reply.text
    stats = reply.json()
    assert stats["outcomes"]["succeeded"] == 2 and stats["outcomes"]["failed"] == 2
    assert stats["bucket_seconds"] == 900 and len(stats["series"]) == 96
    assert [entry["subscription_id"] for entry in stats["data"]] == [delivered_after_a_failure["id"]]
    assert stats["data"][0]["success_rate"] == 0.5


def test_another_tenant_gets_404_and_sees_none_of_the_numbers(
    api: ApiClient, new_tenant: Callable[[], ApiClient], delivered_after_a_failure: dict[str, Any]
) -> None:
    intruder = new_tenant()

    reply = intruder.get(f"/v1/subscriptions/{delivered_after_a_failure['id']}/stats")
    overall = intruder.get("/v1/stats").json()

    assert reply.status_code == 404 and reply.json()["type"] == "https://triggers.dev/problems/not-found"
    assert overall["attempts"] == 0 and overall["data"] == []


@pytest.mark.parametrize("window", ["7d", "", "1H", "24h;1h", "x" * 300])
def test_a_malformed_window_is_422(api: ApiClient, window: str) -> None:
    reply = api.get("/v1/stats", params={"window": window})

    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["errors"][0]["field"] == "window"


def test_stats_need_a_key(api: ApiClient) -> None:
    for path in ("/v1/stats", "/v1/subscriptions/sub_01JDQ5W2B7C4D6E8F0G2H4J6KA/stats"):
        reply = requests.get(api.base_url + path, params={"window": "nope"}, timeout=30)
        assert reply.status_code == 401, f"{path}: {reply.text}"
