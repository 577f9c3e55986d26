"""Content filters end to end: producer -> stream -> fanout -> a real receiver (issue 18's done-when)."""

import pytest

from devtools.receiver import Receiver
from tests.e2e.conftest import deliveries_of, post_events, recorded_delivery, subscribe
from tests.integration.conftest import ApiClient

pytestmark = pytest.mark.e2e

LARGE = {"payload": {"amount": [{"numeric": [">", 100]}]}}


def test_a_subscription_filtering_on_amount_receives_only_matching_events(api: ApiClient) -> None:
    with Receiver() as filtered, Receiver() as everything:
        # Given a subscription filtering on amount > 100, and one without a filter
        reply = api.post(
            "/v1/subscriptions", json={"target_url": filtered.url, "event_types": ["*"], "filter": LARGE}
        )
        assert reply.status_code == 201, reply.text
        large = reply.json()["id"]
        unfiltered = subscribe(api, everything.url, ["*"])["id"]

        # When events with several amounts (and none) are posted
        amounts = [5, 150, 100, 100.5, "200", None]
        ids = post_events(
            api,
            [{"event_type": "order.paid", "payload": {} if a is None else {"amount": a}} for a in amounts],
        )

        # Then the unfiltered one receives all, the filtered one only the amounts above 100
        everything.wait_for(len(ids), timeout=60)
        for event_id in ids:
            recorded_delivery(api, event_id, unfiltered, timeout=60)
        expected = [ids[1], ids[3]]
        for event_id in expected:
            recorded_delivery(api, event_id, large, "delivered", timeout=60)
        assert sorted(d.webhook_id for d in filtered.deliveries) == sorted(expected)
        # and the events filtered out have no delivery record for it
        for event_id in set(ids) - set(expected):
            assert large not in deliveries_of(api, event_id)
