"""The per-(tenant, host) circuit breaker over the embedded stack, with real receivers.

Every receiver listens on 127.0.0.1, so all of them are one destination host: a tenant's two
failing receivers share its breaker, and another tenant's healthy receiver on the same host has
a breaker of its own.
"""

from collections.abc import Callable
from typing import Any

import pytest

from devtools.invariant import Outcomes
from devtools.receiver import Faults, Receiver
from devtools.stack import EmbeddedStack
from tests.e2e.conftest import Configure, subscribe, wait_until
from tests.e2e.faults import Subscribed, accept, assert_no_loss
from tests.integration.cli_support import cli, run_json
from tests.integration.conftest import ApiClient

pytestmark = pytest.mark.e2e

THRESHOLD = 3
HOST = "127.0.0.1"


def destination(api: ApiClient) -> dict[str, Any] | None:
    """The tenant's breaker for the receivers' host, as `GET /v1/destinations` shows it."""
    response = api.get("/v1/destinations")
    assert response.status_code == 200, response.text
    found = [item for item in response.json()["data"] if item["host"] == HOST]
    return found[0] if found else None


def requests_to(*receivers: Receiver) -> int:
    return sum(len(receiver.deliveries) for receiver in receivers)


def test_a_failing_host_pauses_the_tenants_deliveries_to_it_not_another_tenants_and_each_is_delivered_once(
    api: ApiClient,
    new_tenant: Callable[[], ApiClient],
    configure: Configure,
    stack: EmbeddedStack,
    aws_client: Callable[[str], Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure(
        BREAKER_FAILURE_THRESHOLD=str(THRESHOLD),
        BREAKER_OPEN_SECONDS="1",
        BREAKER_MAX_OPEN_SECONDS="4",
        RETRY_SCHEDULE=",".join(["1s"] * 12),
        WEBHOOK_CONNECT_TIMEOUT_SECONDS="1",
        WEBHOOK_READ_TIMEOUT_SECONDS="2",
    )
    other = new_tenant()
    with (
        Receiver(faults=Faults(status=503)) as first,
        Receiver(faults=Faults(status=503)) as second,
        Receiver() as theirs,
    ):
        # Given: one tenant with two subscriptions to a failing host, another tenant on the same host
        subscribed = [
            Subscribed(api, subscribe(api, first.url, ["order.created"]), first),
            Subscribed(api, subscribe(api, second.url, ["order.created"]), second),
            Subscribed(other, subscribe(other, theirs.url, ["order.created"]), theirs),
        ]

        # When: both post five events
        events = accept(api, "order.created", 5)
        their_events = accept(other, "order.created", 5)

        # Then: the other tenant's deliveries to the host go through, while this tenant's breaker is open
        theirs.wait_for(5, timeout=60)
        assert destination(other) is None
        opened = wait_until(
            lambda: (found := destination(api)) and found["state"] == "open" and found,
            "the tenant's breaker open",
        )
        assert opened["consecutive_failures"] >= THRESHOLD

        # And: the host sees one probe per pause and nothing else (10 deliveries are waiting, each
        # would otherwise be retried every second): snapshots taken while open, when no probe is in flight
        def settled_after(failures: int) -> tuple[int, int] | None:
            before = destination(api)
            if before is None or before["state"] != "open" or before["consecutive_failures"] < failures:
                return None
            seen = requests_to(first, second)
            after = destination(api)
            if after != before:
                return None
            return before["consecutive_failures"], seen

        failures, seen = wait_until(lambda: settled_after(THRESHOLD + 1), "a failed probe", timeout=60)
        later_failures, later_seen = wait_until(
            lambda: settled_after(failures + 2), "two more failed probes", timeout=60
        )
        assert later_seen - seen == later_failures - failures
        assert later_seen - seen < 10

        # And: `triggers status` lists the tripped breaker for the key's tenant (`half_open` once
        # the 4 s pause has passed and the probe is due, which a slow machine may reach by now)
        code, report = run_json(capsys, cli(api, stack, "status", "--no-deliveries"))
        assert code == 0
        assert [b["host"] for b in report["breakers"]] == [HOST]
        assert report["breakers"][0]["state"] in ("open", "half_open")
        assert report["breakers"][0]["open_until"]

        # When: the host heals
        first.faults = second.faults = Faults()

        # Then: every paused delivery is delivered exactly once, and the breaker is closed again
        assert_no_loss(
            stack, aws_client, [*events, *their_events], subscribed, expected=Outcomes(delivered=15)
        )
    closed = destination(api)
    assert closed is not None
    assert (closed["state"], closed["consecutive_failures"], closed["open_until"]) == ("closed", 0, None)
    # The failures were the host's, not the subscriptions': neither was disabled.
    for subscription in subscribed[:2]:
        assert api.get(f"/v1/subscriptions/{subscription.id}").json()["status"] == "active"


def test_destinations_need_a_key_and_show_only_the_callers_tenant(
    api: ApiClient, new_tenant: Callable[[], ApiClient], stack: EmbeddedStack
) -> None:
    import httpx

    unauthorised = httpx.get(f"{stack.api_url}/v1/destinations", timeout=10)
    assert unauthorised.status_code == 401
    assert unauthorised.headers["content-type"].startswith("application/problem+json")
    wrong_key = httpx.get(
        f"{stack.api_url}/v1/destinations", headers={"Authorization": "Bearer trg_nope"}, timeout=10
    )
    assert wrong_key.status_code == 401
    assert new_tenant().get("/v1/destinations").json() == {"data": []}
