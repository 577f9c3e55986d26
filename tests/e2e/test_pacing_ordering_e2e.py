"""Per-subscription rate limit and strict ordering, producer -> stream -> fanout/retry -> receiver."""

import threading
from typing import Any

import pytest

from devtools.receiver import Faults, Receiver
from tests.e2e.conftest import Configure, deliveries_of, post_events, recorded_delivery, wait_until
from tests.integration.conftest import ApiClient

pytestmark = pytest.mark.e2e


class FirstEventFails(Receiver):
    """Answers 500 to the first `times` requests of the first webhook-id it sees, 200 otherwise."""

    def __init__(self, times: int) -> None:
        super().__init__()
        self.times = times
        self.first: str | None = None
        self._script_lock = threading.Lock()

    def answer(
        self, verified: bool | None, faults: Faults | None = None, webhook_id: str | None = None
    ) -> int:
        with self._script_lock:
            if self.first is None:
                self.first = webhook_id
            if webhook_id == self.first and self.times > 0:
                self.times -= 1
                return 500
        return super().answer(verified, faults, webhook_id)


def create(api: ApiClient, url: str, **options: Any) -> dict[str, Any]:
    response = api.post("/v1/subscriptions", json={"target_url": url, "event_types": ["*"], **options})
    assert response.status_code == 201, response.text
    subscription: dict[str, Any] = response.json()
    assert {name: subscription[name] for name in options} == options
    return subscription


def post_one_by_one(api: ApiClient, count: int) -> list[str]:
    """Each event in its own request, so their order in the stream is the order posted."""
    return [post_events(api, [{"event_type": "ledger.entry", "payload": {"n": n}}])[0] for n in range(count)]


def test_a_strict_subscription_gets_a_failing_events_successors_only_after_it(
    api: ApiClient, configure: Configure
) -> None:
    configure(RETRY_SCHEDULE="1s,1s")
    with FirstEventFails(times=2) as receiver:
        # Given a strict subscription whose endpoint fails event 1 twice, then accepts it
        subscription = create(api, receiver.url, ordering="strict")

        # When five events are accepted
        event_ids = post_one_by_one(api, 5)

        # Then event 1 arrives three times (500, 500, 200) and only then 2..5, in order, once each
        deliveries = receiver.wait_for(7, timeout=90)
    assert [(d.webhook_id, d.status) for d in deliveries] == [
        (event_ids[0], 500),
        (event_ids[0], 500),
        (event_ids[0], 200),
        *((event_id, 200) for event_id in event_ids[1:]),
    ]
    # (a delivery is recorded after it is sent: wait until the last one is recorded)
    records = [recorded_delivery(api, event_id, subscription["id"], "delivered") for event_id in event_ids]
    assert [(r["state"], r["attempt_count"]) for r in records] == [("delivered", 3)] + [("delivered", 1)] * 4


def test_without_strict_ordering_a_failing_event_does_not_hold_back_the_others(
    api: ApiClient, configure: Configure
) -> None:
    # (a retry far enough off that events 2..5 beat it on a loaded machine, in another batch too)
    configure(RETRY_SCHEDULE="8s")
    with FirstEventFails(times=1) as receiver:
        # Given a subscription with the default ordering whose endpoint fails event 1 once
        create(api, receiver.url, ordering="none")

        # When five events are accepted
        event_ids = post_one_by_one(api, 5)

        # Then events 2..5 do not wait for event 1's retry (as before strict ordering existed)
        deliveries = receiver.wait_for(6, timeout=90)
    arrived = [(d.webhook_id, d.status) for d in deliveries]
    assert arrived[0] == (event_ids[0], 500)
    assert arrived[-1] == (event_ids[0], 200)
    assert sorted(arrived[1:-1]) == sorted((event_id, 200) for event_id in event_ids[1:])


def test_a_subscription_limited_to_two_a_second_gets_all_ten_events_spread_out(
    api: ApiClient, configure: Configure
) -> None:
    configure()
    with Receiver() as receiver:
        # Given a subscription limited to 2 deliveries a second
        subscription = create(api, receiver.url, rate_limit=2)

        # When 10 events are accepted at once
        event_ids = post_events(api, [{"event_type": "ledger.entry", "payload": {"n": n}} for n in range(10)])

        # Then all 10 arrive, once each
        deliveries = receiver.wait_for(10, timeout=90)
        records = wait_until(
            lambda: (
                (found := [deliveries_of(api, event_id).get(subscription["id"]) for event_id in event_ids])
                and all(r and r["state"] == "delivered" for r in found)
                and found
            ),
            "every delivery recorded as delivered",
        )
    assert sorted(str(d.webhook_id) for d in deliveries) == sorted(event_ids)
    assert {d.status for d in deliveries} == {200}
    # spread out rather than in one burst (loosely: not all within the first second)
    times = sorted(d.received_at for d in deliveries)
    assert (times[-1] - times[0]).total_seconds() > 1
    # deferrals are neither attempts nor failures
    assert [r["attempt_count"] for r in records] == [1] * 10
    assert api.get(f"/v1/subscriptions/{subscription['id']}").json()["failing_since"] is None


def test_patching_strict_ordering_off_releases_the_held_events_at_once(
    api: ApiClient, configure: Configure
) -> None:
    configure(RETRY_SCHEDULE="20s")
    with FirstEventFails(times=1) as receiver:
        # Given a strict subscription whose event 1 failed and waits 20 s for its retry, 2..4 held
        subscription = create(api, receiver.url, ordering="strict")
        event_ids = post_one_by_one(api, 4)
        receiver.wait_for(1, timeout=60)
        wait_until(
            lambda: deliveries_of(api, event_ids[-1]).get(subscription["id"], {}).get("state") == "held",
            "the last event held behind the failing one",
        )

        # When its ordering is PATCHed back to the default
        patched = api.patch(f"/v1/subscriptions/{subscription['id']}", json={"ordering": "none"})
        assert patched.status_code == 200, patched.text

        # Then the held events go out without waiting for event 1's retry, then event 1 once more
        deliveries = receiver.wait_for(5, timeout=90)
    arrived = [(d.webhook_id, d.status) for d in deliveries]
    assert arrived[0] == (event_ids[0], 500)
    assert sorted(arrived[1:4]) == sorted((event_id, 200) for event_id in event_ids[1:])
    assert arrived[4] == (event_ids[0], 200)
    # and the change is in the audit trail with the ordering it ended
    [change] = api.get("/v1/audit", params={"action": "subscription.update"}).json()["data"]
    assert change["resource_id"] == subscription["id"]
