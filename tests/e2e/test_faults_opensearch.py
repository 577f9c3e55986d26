"""OpenSearch throttling and outages: the index catches up, deliveries are untouched, nothing is lost."""

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from devtools.invariant import Outcomes
from devtools.receiver import Receiver
from devtools.stack import EmbeddedStack
from tests.e2e.conftest import Configure, subscribe, wait_until
from tests.e2e.faults import OpenSearchProxy, Subscribed, accept, assert_no_loss, poller_of, record_responses
from tests.integration.conftest import ApiClient

pytestmark = pytest.mark.e2e

INDEXER = "processors.indexer.handler.lambda_handler"


@pytest.fixture
def proxy(stack: EmbeddedStack, configure: Configure) -> Iterator[OpenSearchProxy]:
    """The indexer talks to OpenSearch through a proxy the test can break."""
    proxy = OpenSearchProxy(stack.ports.opensearch)
    configure(OPENSEARCH_ENDPOINT=proxy.url)
    yield proxy
    proxy.down()


def test_bulk_items_rejected_429_are_retried_until_indexed(
    api: ApiClient,
    proxy: OpenSearchProxy,
    stack: EmbeddedStack,
    aws_client: Callable[[str], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    responses = record_responses(poller_of(stack, INDEXER), monkeypatch)
    with Receiver() as receiver:
        # Given OpenSearch rejecting every bulk item with 429, and a subscriber
        subscribed = [Subscribed(api, subscribe(api, receiver.url, ["*"]), receiver)]
        proxy.throttle_bulk = True

        # When events are posted, the indexer's batches fail item by item
        events = accept(api, "order.created", 5)
        wait_until(lambda: responses.failed_invocations >= 2, "two throttled indexer batches")
        # (deliveries go on meanwhile)
        receiver.wait_for(5, timeout=60)

        # Then, once OpenSearch accepts writes again, every event is indexed at its latest rev
        proxy.throttle_bulk = False
        assert_no_loss(stack, aws_client, events, subscribed, expected=Outcomes(delivered=5))
    assert proxy.throttled >= 2


def test_an_opensearch_outage_delays_indexing_and_loses_nothing(
    api: ApiClient,
    proxy: OpenSearchProxy,
    stack: EmbeddedStack,
    aws_client: Callable[[str], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    responses = record_responses(poller_of(stack, INDEXER), monkeypatch)
    with Receiver() as receiver:
        # Given OpenSearch down (connections refused), and a subscriber
        subscribed = [Subscribed(api, subscribe(api, receiver.url, ["*"]), receiver)]
        proxy.down()

        # When events are posted during the outage, deliveries still happen and indexing fails
        events = accept(api, "order.created", 5)
        receiver.wait_for(5, timeout=60)
        wait_until(lambda: responses.failed_invocations >= 3, "three failed indexer batches", timeout=90)

        # Then, once it is back on the same address, every event is indexed at its latest rev
        proxy.up()
        assert_no_loss(stack, aws_client, events, subscribed, expected=Outcomes(delivered=5))


def test_an_outage_outlasting_the_retry_budget_loses_nothing(
    api: ApiClient,
    proxy: OpenSearchProxy,
    stack: EmbeddedStack,
    aws_client: Callable[[str], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The runner's backoff shortened so that an outage of seconds outlasts many stream retries.
    poller = poller_of(stack, INDEXER)
    monkeypatch.setattr(poller, "tuning", replace(poller.tuning, retry_base_delay=0.05, retry_max_delay=0.2))
    responses = record_responses(poller, monkeypatch)
    # Given OpenSearch down
    proxy.down()

    # When events are posted and the indexer fails more times than a bounded retry budget allows
    events = accept(api, "order.created", 3)
    wait_until(lambda: responses.failed_invocations >= 15, "fifteen failed indexer batches", timeout=90)

    # Then, once it is back, every event is indexed at its latest rev (none left in the stream DLQ)
    proxy.up()
    assert_no_loss(stack, aws_client, events, [], expected=Outcomes())
