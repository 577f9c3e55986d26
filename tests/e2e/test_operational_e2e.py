"""Operational webhooks and recover, end to end: a dead letter, an auto-disable and an enable each
reach the subscriptions that asked for them, signed; recover sends a window's failures once more."""

from datetime import UTC, datetime, timedelta

import pytest

from devtools.receiver import Delivery, Faults, Receiver
from devtools.stack import EmbeddedStack
from ingest.core.ids import isoformat
from tests.e2e.conftest import Configure, deliveries_of, post_events, recorded_delivery, subscribe, wait_until
from tests.integration.cli_support import cli, run_json
from tests.integration.conftest import ApiClient

pytestmark = pytest.mark.e2e


def of_type(deliveries: list[Delivery], event_type: str) -> list[Delivery]:
    return [delivery for delivery in deliveries if delivery.json()["type"] == event_type]


def test_a_dead_letter_sends_one_signed_delivery_exhausted(api: ApiClient, configure: Configure) -> None:
    configure(RETRY_SCHEDULE="1s", BREAKER_FAILURE_THRESHOLD="0")
    with (
        Receiver(faults=Faults(fail_rate=1.0)) as failing,
        Receiver() as operations,
        Receiver() as everything,
    ):
        # Given a failing subscriber, one for delivery.exhausted, and one for every type
        failed = subscribe(api, failing.url, ["order.created"])
        ops = subscribe(api, operations.url, ["delivery.exhausted"])
        operations.add_secret(ops["secret"])
        star = subscribe(api, everything.url, ["*"])

        # When an event's delivery to the failing subscriber is dead-lettered
        (event_id,) = post_events(api, [{"event_type": "order.created", "payload": {"n": 1}}])
        recorded_delivery(api, event_id, failed["id"], "failed", timeout=90)

        # Then the operations receiver gets one delivery.exhausted, signed, naming the delivery
        (notice,) = operations.wait_for(1, timeout=60)
        assert notice.verified is True
        body = notice.json()
        assert body["type"] == "delivery.exhausted"
        assert body["data"]["event_id"] == event_id
        assert body["data"]["subscription_id"] == failed["id"]
        assert body["data"]["event_type"] == "order.created"
        assert body["data"]["attempt_count"] == 2
        assert body["data"]["last_attempt"]["status_code"] == 500
        operational_id = str(notice.webhook_id)
        recorded_delivery(api, operational_id, ops["id"], "delivered")
        # and the `*` subscriber got the order, never the operational event
        everything.wait_for(1, timeout=60)
        assert set(deliveries_of(api, operational_id)) == {ops["id"]}
        assert star["id"] in deliveries_of(api, event_id)
    assert [str(d.webhook_id) for d in everything.deliveries] == [event_id]
    assert len(operations.deliveries) == 1


def test_a_dead_lettered_operational_event_notifies_nobody(api: ApiClient, configure: Configure) -> None:
    configure(RETRY_SCHEDULE="1s", BREAKER_FAILURE_THRESHOLD="0")
    with (
        Receiver(faults=Faults(fail_rate=1.0)) as failing_ops,
        Receiver(faults=Faults(fail_rate=1.0)) as failing,
    ):
        # Given a failing subscriber, and a failing one for delivery.exhausted
        failed = subscribe(api, failing.url, ["order.created"])
        ops = subscribe(api, failing_ops.url, ["delivery.exhausted"])

        # When the order's delivery is dead-lettered, and then the notice's own delivery too
        (event_id,) = post_events(api, [{"event_type": "order.created", "payload": {}}])
        recorded_delivery(api, event_id, failed["id"], "failed", timeout=90)
        first = wait_until(lambda: failing_ops.deliveries, "the notice", timeout=60)[0]
        notice_id = str(first.webhook_id)
        recorded_delivery(api, notice_id, ops["id"], "failed", timeout=90)

        # Then no notice of the notice's failure exists: exactly one delivery.exhausted event
        exhausted = api.get("/v1/events", params={"event_type": "delivery.exhausted"}).json()["data"]
    assert [event["id"] for event in exhausted] == [notice_id]
    assert {str(d.webhook_id) for d in failing_ops.deliveries} == {notice_id}


def test_auto_disable_and_enable_are_sent_to_their_subscribers(api: ApiClient, configure: Configure) -> None:
    with Receiver(faults=Faults(gone=True)) as gone, Receiver() as operations:
        # Given a subscriber answering 410 Gone, and one for subscription.disabled / .enabled
        subscription = subscribe(api, gone.url, ["order.created"])
        ops = subscribe(api, operations.url, ["subscription.disabled", "subscription.enabled"])
        operations.add_secret(ops["secret"])

        # When an event makes the endpoint answer 410
        post_events(api, [{"event_type": "order.created", "payload": {}}])

        # Then subscription.disabled arrives, signed, with the reason
        (disabled,) = operations.wait_for(1, timeout=60)
        assert disabled.verified is True
        assert disabled.json()["type"] == "subscription.disabled"
        assert disabled.json()["data"]["subscription_id"] == subscription["id"]
        assert "410" in disabled.json()["data"]["reason"]

        # When it is enabled again, subscription.enabled arrives
        assert api.post(f"/v1/subscriptions/{subscription['id']}/enable").status_code == 200
        notices = operations.wait_for(2, timeout=60)
    assert [notice.json()["type"] for notice in notices] == ["subscription.disabled", "subscription.enabled"]
    assert notices[1].json()["data"]["subscription_id"] == subscription["id"]
    assert notices[1].verified is True


def test_recover_sends_a_days_failures_once_each(
    api: ApiClient, configure: Configure, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(RETRY_SCHEDULE="1s", BREAKER_FAILURE_THRESHOLD="0")
    with Receiver(faults=Faults(fail_rate=1.0)) as receiver:
        # Given a day with three events whose deliveries failed for good
        subscription = subscribe(api, receiver.url, ["order.created"])
        receiver.add_secret(subscription["secret"])
        event_ids = post_events(api, [{"event_type": "order.created", "payload": {"n": n}} for n in range(3)])
        for event_id in event_ids:
            recorded_delivery(api, event_id, subscription["id"], "failed", timeout=90)
        assert len(receiver.deliveries) == 6

        # When the endpoint is fixed and the day is recovered (`triggers recover`), then again at once
        receiver.faults = Faults()
        code, summary = run_json(
            capsys, cli(api, stack, "recover", "--subscription", subscription["id"], "--since", "24h")
        )
        since = isoformat(datetime.now(UTC) - timedelta(days=1))
        again = api.post(f"/v1/subscriptions/{subscription['id']}/recover", json={"since": since})

        # Then the first queues the three, the second nothing (they are being retried or done)
        assert code == 0
        assert (summary["queued"], summary["in_progress"], summary["calls"]) == (3, 0, 1)
        assert again.status_code == 202, again.text
        assert again.json() == {"queued": 0, "in_progress": 0, "truncated": False, "next_since": None}
        # and each is delivered once more, with its own webhook-id, signed
        for event_id in event_ids:
            delivery = recorded_delivery(api, event_id, subscription["id"], "delivered", timeout=60)
            assert [attempt["status_code"] for attempt in delivery["attempts"]] == [500, 500, 200]
    succeeded = [delivery for delivery in receiver.deliveries if delivery.status == 200]
    assert sorted(str(delivery.webhook_id) for delivery in succeeded) == sorted(event_ids)
    assert all(delivery.verified for delivery in succeeded)
    assert len(receiver.deliveries) == 9
