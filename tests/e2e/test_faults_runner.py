"""The event source mapping runner killed mid-batch: restarted from its checkpoints, nothing lost."""

import signal
from collections.abc import Callable
from typing import Any

import pytest

from devtools.invariant import Outcomes
from devtools.receiver import Faults, Receiver
from devtools.stack import EmbeddedStack
from ingest.core.settings import get_settings
from tests.e2e.conftest import Configure, subscribe, wait_until
from tests.e2e.faults import Subscribed, accept, assert_no_loss, runner_in_child_process
from tests.integration.conftest import ApiClient

pytestmark = pytest.mark.e2e


def test_a_runner_killed_mid_batch_resumes_from_its_checkpoint_without_loss_or_resend(
    api: ApiClient, configure: Configure, stack: EmbeddedStack, aws_client: Callable[[str], Any]
) -> None:
    dynamodb = aws_client("dynamodb")
    # The killed attempt is answered 503 once its sender is gone: it never counts as a success.
    with Receiver() as fast, Receiver(faults=Faults(latency=4.0, status=503)) as stuck:
        subscribed = [
            Subscribed(api, subscribe(api, fast.url, ["*"]), fast),
            Subscribed(api, subscribe(api, stuck.url, ["*"]), stuck),
        ]
        with runner_in_child_process(stack) as runner:
            # Given a batch the runner is in the middle of: one subscriber done, the other's first
            # webhook still in flight
            events = accept(api, "order.created", 5)
            fast.wait_for(5, timeout=60)

            def fast_recorded_stuck_in_flight() -> bool:
                table = get_settings().deliveries_table
                keys = [
                    {"event_id": {"S": event.event_id}, "subscription_id": {"S": subscription.id}}
                    for event in events
                    for subscription in subscribed
                ]
                found = dynamodb.batch_get_item(RequestItems={table: {"Keys": keys, "ConsistentRead": True}})
                recorded = {item["subscription_id"]["S"] for item in found["Responses"][table]}
                # The fast subscriber's chain is done and written; the stuck one's is not
                return len(found["Responses"][table]) == len(events) and recorded == {subscribed[0].id}

            wait_until(fast_recorded_stuck_in_flight, "the fast subscriber recorded, the stuck one in flight")

            # When the runner is killed (SIGKILL: no cleanup, no checkpoint)
            runner.send_signal(signal.SIGKILL)
            runner.wait(timeout=30)
            stuck.wait_for(1, timeout=60)
            stuck.faults = Faults()
        # (and the stack's runner takes over from the checkpoint)

        # Then the batch is processed again: nothing lost, the finished subscriber not sent anything twice
        assert_no_loss(stack, aws_client, events, subscribed, expected=Outcomes(delivered=10))
    ids = [event.event_id for event in events]
    assert [d.webhook_id for d in fast.deliveries] == ids
    assert [(d.webhook_id, d.status) for d in stuck.deliveries] == [(ids[0], 503)] + [(i, 200) for i in ids]
