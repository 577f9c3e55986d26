"""Misbehaving receivers (5xx bursts, hangs, 410, slowness): every delivery accounted for once."""

from collections.abc import Callable
from typing import Any

import pytest

from devtools.invariant import Outcomes
from devtools.receiver import Faults, Receiver
from devtools.stack import EmbeddedStack
from tests.e2e.conftest import Configure, subscribe, wait_until
from tests.e2e.faults import Subscribed, accept, assert_no_loss
from tests.integration.conftest import ApiClient

pytestmark = pytest.mark.e2e


def test_a_5xx_burst_is_retried_to_one_delivery_and_a_dead_endpoint_to_one_dlq_letter(
    api: ApiClient, configure: Configure, stack: EmbeddedStack, aws_client: Callable[[str], Any]
) -> None:
    configure(RETRY_SCHEDULE="1s,1s,1s")
    with Receiver(faults=Faults(status=503)) as bursty, Receiver(faults=Faults(fail_rate=1.0)) as dead:
        # Given one subscriber in a burst of 503s and one that answers 500 to everything
        subscribed = [
            Subscribed(api, subscribe(api, bursty.url, ["order.created"]), bursty),
            Subscribed(api, subscribe(api, dead.url, ["order.created"]), dead),
        ]

        # When five events are posted and the burst ends after the first five answers
        events = accept(api, "order.created", 5)
        bursty.wait_for(5, timeout=60)
        bursty.faults = Faults()

        # Then each event reaches the bursty one exactly once and the dead one's DLQ exactly once
        assert_no_loss(stack, aws_client, events, subscribed, expected=Outcomes(delivered=5, dead_lettered=5))
    assert [d.status for d in dead.deliveries].count(500) == 5 * 4


def test_attempts_that_time_out_are_retried_to_one_delivery(
    api: ApiClient, configure: Configure, stack: EmbeddedStack, aws_client: Callable[[str], Any]
) -> None:
    configure(WEBHOOK_READ_TIMEOUT_SECONDS="1", RETRY_SCHEDULE="1s,1s,1s,1s")
    # A hung request is answered 503 once the sender gave up, so it never counts as a success.
    with Receiver(faults=Faults(latency=2.0, status=503)) as hanging, Receiver() as healthy:
        # Given a subscriber that hangs past the read timeout, and a healthy one
        subscribed = [
            Subscribed(api, subscribe(api, hanging.url, ["*"]), hanging),
            Subscribed(api, subscribe(api, healthy.url, ["*"]), healthy),
        ]

        # When events are posted and the endpoint recovers after two hung requests
        events = accept(api, "order.created", 4)
        hanging.wait_for(2, timeout=60)
        hanging.faults = Faults()

        # Then every event reaches both exactly once
        assert_no_loss(stack, aws_client, events, subscribed, expected=Outcomes(delivered=8))


def test_gone_disables_and_every_event_is_still_accounted_for(
    api: ApiClient, configure: Configure, stack: EmbeddedStack, aws_client: Callable[[str], Any]
) -> None:
    with Receiver(faults=Faults(gone=True)) as gone, Receiver() as healthy:
        # Given a subscriber answering 410 Gone, and a healthy one
        gone_subscription = subscribe(api, gone.url, ["order.created"])
        healthy_subscription = subscribe(api, healthy.url, ["order.created"])
        (first,) = accept(api, "order.created", 1)
        wait_until(
            lambda: api.get(f"/v1/subscriptions/{gone_subscription['id']}").json()["status"] == "disabled",
            "the gone subscription disabled",
        )

        # When more events follow once it is disabled
        later = accept(api, "order.created", 3)

        # Then the first is recorded gone, the later ones never go to it, the healthy one gets all
        assert_no_loss(
            stack,
            aws_client,
            [first, *later],
            [
                Subscribed(api, gone_subscription, gone, expected=frozenset({first.event_id})),
                Subscribed(api, healthy_subscription, healthy),
            ],
            expected=Outcomes(gone=1, delivered=4),
        )
    assert [d.webhook_id for d in gone.deliveries] == [first.event_id]


def test_a_slow_subscriber_does_not_hold_up_the_fast_ones_and_each_gets_stream_order(
    api: ApiClient, configure: Configure, stack: EmbeddedStack, aws_client: Callable[[str], Any]
) -> None:
    with Receiver(faults=Faults(latency=0.5)) as slow, Receiver() as fast_one, Receiver() as fast_two:
        # Given a slow subscriber (answers within the timeout) among two fast ones
        subscribed = [
            Subscribed(api, subscribe(api, receiver.url, ["*"]), receiver)
            for receiver in (slow, fast_one, fast_two)
        ]

        # When ten events are posted in one batch
        events = accept(api, "order.created", 10)

        # Then both fast ones have all ten before the slow one has its last
        assert_no_loss(stack, aws_client, events, subscribed, expected=Outcomes(delivered=30))
    slow_done = slow.deliveries[-1].received_at
    for fast in (fast_one, fast_two):
        assert fast.deliveries[-1].received_at < slow_done
    # And every subscriber got them in stream (posting) order
    for receiver in (slow, fast_one, fast_two):
        assert [d.webhook_id for d in receiver.deliveries] == [event.event_id for event in events]
