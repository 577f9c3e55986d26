"""Producer -> stream -> real fan-out / retry (via the ESM runner) -> signed webhooks -> receivers / DLQ."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from svix.webhooks import Webhook as SvixWebhook

from devtools.cli import main
from devtools.dlq.letters import Mailbox, resolve_queue
from devtools.receiver import Delivery, Faults, Receiver
from devtools.stack import EmbeddedStack
from tests.e2e.conftest import (
    Configure,
    deliveries_of,
    post_events,
    recorded_delivery,
    subscribe,
    wait_until,
)
from tests.integration.conftest import ApiClient
from tests.secret_scan import leaks, scan_all

pytestmark = pytest.mark.e2e


def ids(deliveries: list[Delivery]) -> list[str]:
    return [str(delivery.webhook_id) for delivery in deliveries]


def test_ten_events_arrive_signed_with_the_exact_payload(api: ApiClient, configure: Configure) -> None:
    with Receiver() as receiver:
        # Given a receiver subscribed to order.created
        subscription = subscribe(api, receiver.url, ["order.created"])
        receiver.add_secret(subscription["secret"])
        payloads = [f'{{"n": {i},  "price": 1.50, "z": [ ], "a": "é"}}' for i in range(10)]

        # When 10 events are posted in one batch (payload spacing and number format unusual)
        body = "[" + ",".join(f'{{"event_type": "order.created", "payload": {p}}}' for p in payloads) + "]"
        response = api.post("/v1/events", data=body.encode(), headers={"content-type": "application/json"})
        assert response.status_code == 201, response.text
        event_ids = [item["id"] for item in response.json()["data"]]

        # Then all 10 arrive once, verified by standardwebhooks and by svix, with the payload byte for byte
        deliveries = receiver.wait_for(10, timeout=60)
    by_id = {delivery.webhook_id: delivery for delivery in deliveries}
    assert set(by_id) == set(event_ids)
    assert len(deliveries) == 10
    svix = SvixWebhook(subscription["secret"])
    for event_id, payload in zip(event_ids, payloads, strict=True):
        delivery = by_id[event_id]
        assert delivery.verified is True
        assert delivery.status == 200
        svix.verify(delivery.body, delivery.headers)
        assert delivery.json()["id"] == event_id
        assert delivery.json()["type"] == "order.created"
        assert delivery.body.endswith(b'"data":' + payload.encode() + b"}")


def test_subscribers_get_only_the_event_types_they_asked_for(api: ApiClient, configure: Configure) -> None:
    with Receiver() as only_ab, Receiver() as everything:
        # Given one subscriber for a.b and one for every type
        ab = subscribe(api, only_ab.url, ["a.b"])
        star = subscribe(api, everything.url, ["*"])

        # When events of two types are posted
        cd_id, ab_id = post_events(
            api, [{"event_type": "c.d", "payload": {}}, {"event_type": "a.b", "payload": {}}]
        )

        # Then "*" gets both, "a.b" only its own type
        assert sorted(ids(everything.wait_for(2, timeout=60))) == sorted([cd_id, ab_id])
        assert ids(only_ab.wait_for(1, timeout=60)) == [ab_id]
    # (the fanout records a batch's deliveries after sending them: wait for the records)
    for event_id, subscription_id in ((cd_id, star["id"]), (ab_id, ab["id"]), (ab_id, star["id"])):
        recorded_delivery(api, event_id, subscription_id)
    assert set(deliveries_of(api, cd_id)) == {star["id"]}
    assert set(deliveries_of(api, ab_id)) == {ab["id"], star["id"]}
    assert ids(only_ab.deliveries) == [ab_id]


def delivery_dlq_letters(stack: EmbeddedStack, sqs: Any, event_ids: set[str]) -> list[dict[str, Any]]:
    queue = resolve_queue(stack.template, "delivery")
    letters = [
        {**json.loads(letter.body), "message_id": letter.message_id} for letter in Mailbox(sqs).peek(queue)
    ]
    return [letter for letter in letters if letter["event_id"] in event_ids]


def test_failing_subscriber_ends_in_the_dlq_and_redrive_delivers_once_more(
    api: ApiClient, configure: Configure, aws_client: Callable[[str], Any], stack: EmbeddedStack
) -> None:
    configure(RETRY_SCHEDULE="1s,1s")
    sqs = aws_client("sqs")
    with Receiver(faults=Faults(fail_rate=1.0)) as receiver:
        # Given a subscriber that answers 500 to everything
        subscription = subscribe(api, receiver.url, ["order.created"])
        receiver.add_secret(subscription["secret"])
        payload = {"order": "o-1", "total": 12}

        # When an event is posted, every attempt of the short schedule fails
        (event_id,) = post_events(api, [{"event_type": "order.created", "payload": payload}])
        letters = wait_until(
            lambda: delivery_dlq_letters(stack, sqs, {event_id}), "the DLQ letter", timeout=90
        )

        # Then the DLQ letter has the full context
        (letter,) = letters
        assert letter["subscription_id"] == subscription["id"]
        assert letter["target_url"] == receiver.url
        assert letter["tenant_id"] == api.tenant_id
        assert letter["envelope"]["id"] == event_id
        assert letter["envelope"]["data"] == payload
        assert [attempt["status_code"] for attempt in letter["attempts"]] == [500, 500, 500]
        assert ids(receiver.deliveries) == [event_id] * 3
        delivery = recorded_delivery(api, event_id, subscription["id"], "failed")
        assert [attempt["status_code"] for attempt in delivery["attempts"]] == [500, 500, 500]

        # When the receiver is fixed and the DLQ redriven
        receiver.faults = Faults()
        redrive = [
            "dlq",
            "redrive",
            letter["message_id"],
            "--endpoint",
            stack.aws_url,
            "--stage",
            stack.stage,
        ]
        assert main(redrive) == 0
        assert delivery_dlq_letters(stack, sqs, {event_id}) == []

        # Then it is delivered exactly once more
        wait_until(
            lambda: deliveries_of(api, event_id).get(subscription["id"], {}).get("state") == "delivered",
            "the redriven delivery",
        )
    answered = [(d.webhook_id, d.status) for d in receiver.deliveries]
    assert answered == [(event_id, 500)] * 3 + [(event_id, 200)]
    attempts = deliveries_of(api, event_id)[subscription["id"]]["attempts"]
    assert [attempt["status_code"] for attempt in attempts] == [500, 500, 500, 200]


def test_a_failed_first_attempt_is_retried_and_delivered(api: ApiClient, configure: Configure) -> None:
    configure(RETRY_SCHEDULE="1s,1s")
    # (the receiver fails the first attempt by itself: reset by the test after it, the retry due
    # 1 s later could find it still failing on a loaded machine)
    with Receiver(faults=Faults(fail_rate=1.0, max_failures_per_id=1)) as receiver:
        # Given a subscriber whose first answer is 500 and then recovers
        subscription = subscribe(api, receiver.url, ["order.created"])
        (event_id,) = post_events(api, [{"event_type": "order.created", "payload": {}}])

        # Then the retry queue delivers it
        delivery = recorded_delivery(api, event_id, subscription["id"], "delivered", timeout=60)
    assert [attempt["status_code"] for attempt in delivery["attempts"]] == [500, 200]
    assert [(d.webhook_id, d.status) for d in receiver.deliveries] == [(event_id, 500), (event_id, 200)]


def test_gone_disables_the_subscription_until_it_is_enabled(api: ApiClient, configure: Configure) -> None:
    with Receiver(faults=Faults(gone=True)) as gone, Receiver() as control:
        # Given a subscriber answering 410 Gone, and a healthy one
        subscription = subscribe(api, gone.url, ["order.created"])
        healthy = subscribe(api, control.url, ["order.created"])
        (first,) = post_events(api, [{"event_type": "order.created", "payload": {}}])

        # Then the subscription is disabled with a reason
        path = f"/v1/subscriptions/{subscription['id']}"
        disabled = wait_until(
            lambda: (s := api.get(path).json())["status"] == "disabled" and s, "the subscription disabled"
        )
        assert disabled["disabled_reason"]
        assert recorded_delivery(api, first, subscription["id"])["state"] == "gone"

        # When the endpoint recovers, later events are still not sent to it
        gone.faults = Faults()
        (second,) = post_events(api, [{"event_type": "order.created", "payload": {}}])
        control.wait_for(2, timeout=60)
        wait_until(
            lambda: deliveries_of(api, second).get(healthy["id"], {}).get("state") == "delivered",
            "the healthy subscriber's delivery",
        )
        assert subscription["id"] not in deliveries_of(api, second)
        assert ids(gone.deliveries) == [first]

        # When it is enabled again, new events arrive
        assert api.post(f"/v1/subscriptions/{subscription['id']}/enable").status_code == 200
        assert api.get(f"/v1/subscriptions/{subscription['id']}").json()["status"] == "active"
        (third,) = post_events(api, [{"event_type": "order.created", "payload": {}}])
        assert ids(gone.wait_for(2, timeout=60)) == [first, third]


def test_a_hanging_subscriber_does_not_hold_up_the_others(api: ApiClient, configure: Configure) -> None:
    configure(WEBHOOK_READ_TIMEOUT_SECONDS="1", RETRY_SCHEDULE="10m")
    with Receiver(faults=Faults(latency=3.0)) as hanging, Receiver() as one, Receiver() as two:
        # Given one subscriber that answers after the read timeout and two healthy ones
        slow = subscribe(api, hanging.url, ["*"])
        subscribe(api, one.url, ["*"])
        subscribe(api, two.url, ["*"])

        # When events are posted
        event_ids = post_events(api, [{"event_type": "order.created", "payload": {"i": i}} for i in range(4)])

        # Then the healthy ones get every event and the hanging one's deliveries wait for a retry
        assert sorted(ids(one.wait_for(4, timeout=60))) == sorted(event_ids)
        assert sorted(ids(two.wait_for(4, timeout=60))) == sorted(event_ids)
        for event_id in event_ids:

            def attempted(event_id: str = event_id) -> dict[str, Any] | None:
                delivery = deliveries_of(api, event_id).get(slow["id"])
                return delivery if delivery and delivery["attempts"] else None

            delivery = wait_until(attempted, "the hanging subscriber's attempt")
            assert delivery["state"] == "retrying"
            assert delivery["next_attempt_at"]
            assert delivery["attempts"][0]["status_code"] is None


def test_deliveries_verify_end_to_end_while_a_table_scan_shows_no_secret(
    api: ApiClient, configure: Configure, aws_client: Callable[[str], Any], stack: EmbeddedStack
) -> None:
    with Receiver() as receiver, Receiver() as newcomer:
        # Given a subscriber whose receiver verifies with the secret the API returned
        subscription = subscribe(api, receiver.url, ["order.created"])
        receiver.add_secret(subscription["secret"])
        (first,) = post_events(api, [{"event_type": "order.created", "payload": {"n": 1}}])
        assert [delivery.verified for delivery in receiver.wait_for(1, timeout=60)] == [True]

        # When its secret is rotated, another subscriber joins, and an event follows
        rotated = api.post(f"/v1/subscriptions/{subscription['id']}/rotate-secret")
        assert rotated.status_code == 200, rotated.text
        new_secret = rotated.json()["secret"]
        other = subscribe(api, newcomer.url, ["order.created"])
        newcomer.add_secret(other["secret"])
        (second,) = post_events(api, [{"event_type": "order.created", "payload": {"n": 2}}])

        # Then the receiver still verifies with the old secret, and each secret of the rotation
        # verifies the second delivery on its own (two signatures); the newcomer verifies too
        deliveries = receiver.wait_for(2, timeout=60)
        assert [(delivery.webhook_id, delivery.verified) for delivery in deliveries] == [
            (first, True),
            (second, True),
        ]
        assert len(deliveries[1].headers["webhook-signature"].split(" ")) == 2
        for secret in (subscription["secret"], new_secret):
            SvixWebhook(secret).verify(deliveries[1].body, deliveries[1].headers)
        joined = newcomer.wait_for(1, timeout=60)
        assert [(delivery.webhook_id, delivery.verified) for delivery in joined] == [(second, True)]

    # And no attribute of any item of the subscriptions table holds any of the three secrets
    table = stack.template.physical_name("SubscriptionsTable")
    items = scan_all(aws_client("dynamodb"), table)
    mine = {item["subscription_id"]["S"] for item in items if item["tenant_id"]["S"] == api.tenant_id}
    assert {subscription["id"], other["id"]} <= mine
    assert leaks(items, [subscription["secret"], new_secret, other["secret"]]) == []
