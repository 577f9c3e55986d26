"""Subscription changes apply to the next event, with the fanout's cache warm and load on.

docs/guarantees.md, "Subscription changes": an event accepted after a subscription call returned
sees that call. These tests run with the deployed defaults (the subscription cache on), warm the
cache first, and keep a second tenant posting events throughout so the stream is never idle.
"""

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from standardwebhooks import Webhook

from devtools.receiver import Faults, Receiver
from tests.e2e.conftest import Configure, deliveries_of, post_events, subscribe, wait_until
from tests.integration.conftest import ApiClient

pytestmark = pytest.mark.e2e

LOAD_EVENTS_PER_SECOND = 10


class Load:
    """Another tenant posting events at a steady rate until stopped, to a subscriber of its own."""

    def __init__(self, client: ApiClient, receiver: Receiver) -> None:
        self.client = client
        self.receiver = receiver
        self.posted: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(1 / LOAD_EVENTS_PER_SECOND):
            self.posted += post_events(self.client, [{"event_type": "load.tick", "payload": {}}])

    def __enter__(self) -> "Load":
        subscribe(self.client, self.receiver.url, ["*"])
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@pytest.fixture
def load(new_tenant: Callable[[], ApiClient], configure: Configure) -> Iterator[Load]:
    with Receiver() as receiver:
        with Load(new_tenant(), receiver) as running:
            yield running
        # The other tenant lost nothing either.
        arrived = receiver.wait_for(len(running.posted), timeout=60)
        assert {delivery.webhook_id for delivery in arrived} == set(running.posted)


def one_event(api: ApiClient) -> str:
    [event_id] = post_events(api, [{"event_type": "order.created", "payload": {"n": 1}}])
    return event_id


def processed(api: ApiClient, event_id: str, subscription_ids: set[str]) -> dict[str, dict[str, Any]]:
    """Wait until the event's deliveries to `subscription_ids` are recorded; return all of its deliveries."""
    return wait_until(
        lambda: (found := deliveries_of(api, event_id)) and subscription_ids <= set(found) and found,
        f"deliveries of {event_id} to {sorted(subscription_ids)}",
        timeout=60,
    )


def test_a_subscription_created_just_before_an_event_receives_it(api: ApiClient, load: Load) -> None:
    with Receiver() as first:
        # Given a subscriber, and the fanout's cache holding this tenant's subscriptions
        subscribe(api, first.url, ["*"])
        warm = one_event(api)
        first.wait_for(1, timeout=60)
        for round_ in range(3):
            with Receiver() as newcomer:
                # When a subscription is created and an event posted the moment the call returned
                created = subscribe(api, newcomer.url, ["*"])
                event_id = one_event(api)

                # Then the new subscription receives that very event, and nothing older
                [delivery] = newcomer.wait_for(1, timeout=60)
                assert delivery.webhook_id == event_id, f"round {round_}"
                processed(api, event_id, {created["id"]})
                assert [d.webhook_id for d in newcomer.deliveries] == [event_id]
    assert warm in {d.webhook_id for d in first.deliveries}


def test_delete_disable_enable_and_rotate_apply_to_the_next_event(
    api: ApiClient, load: Load, configure: Configure
) -> None:
    with Receiver() as keep, Receiver() as deleted, Receiver() as gone, Receiver() as rotated:
        # Given four subscribers, all of which received an event (the cache is warm)
        subscriptions = {
            name: subscribe(api, receiver.url, ["*"])
            for name, receiver in (("keep", keep), ("deleted", deleted), ("gone", gone), ("rotated", rotated))
        }
        ids = {name: subscription["id"] for name, subscription in subscriptions.items()}
        gone.faults = Faults(gone=True)
        first = one_event(api)
        for receiver in (keep, deleted, gone, rotated):
            receiver.wait_for(1, timeout=60)
        wait_until(
            lambda: api.get(f"/v1/subscriptions/{ids['gone']}").json()["status"] == "disabled",
            "the 410 to disable its subscription",
            timeout=30,
        )

        # When one is deleted and one rotated, and an event is posted at once
        assert api.delete(f"/v1/subscriptions/{ids['deleted']}").status_code == 204
        rotation = api.post(f"/v1/subscriptions/{ids['rotated']}/rotate-secret")
        assert rotation.status_code == 200, rotation.text
        new_secret = rotation.json()["secret"]
        second = one_event(api)

        # Then only the active ones receive it, and the rotated one is signed with the new secret
        recorded = processed(api, second, {ids["keep"], ids["rotated"]})
        assert set(recorded) == {ids["keep"], ids["rotated"]}
        assert [d.webhook_id for d in deleted.deliveries] == [first]
        assert [d.webhook_id for d in gone.deliveries] == [first]
        [_, latest] = rotated.deliveries
        Webhook(new_secret).verify(latest.body, latest.headers)

        # And enabling the disabled one brings it the next event
        gone.faults = Faults()
        assert api.post(f"/v1/subscriptions/{ids['gone']}/enable").status_code == 200
        third = one_event(api)
        assert [d.webhook_id for d in gone.wait_for(2, timeout=60)] == [first, third]


def test_a_subscription_disabled_by_hand_gets_no_event_until_enabled(api: ApiClient, load: Load) -> None:
    with Receiver() as keep, Receiver() as paused:
        # Given two subscribers of a tenant that both received an event (the cache is warm)
        kept = subscribe(api, keep.url, ["*"])
        target = subscribe(api, paused.url, ["*"])
        first = one_event(api)
        keep.wait_for(1, timeout=60)
        paused.wait_for(1, timeout=60)

        # When one is disabled by hand and an event posted the moment the call returned
        disabled = api.post(f"/v1/subscriptions/{target['id']}/disable", json={"reason": "maintenance"})
        assert (disabled.status_code, disabled.json()["status"]) == (200, "disabled"), disabled.text
        second = one_event(api)

        # Then the other subscriber receives it and the disabled one gets no delivery of it
        recorded = processed(api, second, {kept["id"]})
        assert target["id"] not in recorded
        assert [d.webhook_id for d in keep.wait_for(2, timeout=60)] == [first, second]
        assert [d.webhook_id for d in paused.deliveries] == [first]

        # And once enabled it receives the next event (not the one accepted while it was disabled)
        assert api.post(f"/v1/subscriptions/{target['id']}/enable").status_code == 200
        third = one_event(api)
        assert [d.webhook_id for d in paused.wait_for(2, timeout=60)] == [first, third]
        processed(api, third, {kept["id"], target["id"]})
        assert target["id"] not in deliveries_of(api, second)


def test_a_patch_applies_to_the_next_event_with_the_cache_warm(api: ApiClient, load: Load) -> None:
    with Receiver() as before, Receiver() as after:
        # Given a subscriber with an Authorization header that received an event (the cache is warm)
        reply = api.post(
            "/v1/subscriptions",
            json={
                "target_url": before.url,
                "event_types": ["*"],
                "headers": {"Authorization": "Bearer first-0001"},
            },
        )
        assert reply.status_code == 201, reply.text
        created = reply.json()
        first = one_event(api)
        [delivery] = before.wait_for(1, timeout=60)
        assert delivery.headers["authorization"] == "Bearer first-0001"

        # When its URL and headers are patched and an event posted the moment the call returned
        patched = api.patch(
            f"/v1/subscriptions/{created['id']}",
            json={
                "target_url": after.url,
                "headers": {"Authorization": "Bearer second-0002", "X-Team": "ops"},
            },
        )
        assert patched.status_code == 200, patched.text
        second = one_event(api)

        # Then that very event goes to the new URL with the new headers, signed with the kept secret
        [moved] = after.wait_for(1, timeout=60)
        assert moved.webhook_id == second
        assert (moved.headers["authorization"], moved.headers["x-team"]) == ("Bearer second-0002", "ops")
        Webhook(created["secret"]).verify(moved.body, moved.headers)
        processed(api, second, {created["id"]})
        assert [d.webhook_id for d in before.deliveries] == [first]
