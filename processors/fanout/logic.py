"""Fan a batch of stream records out to the tenants' matching subscriptions.

Per batch: one consistent read of the tenants' subscription versions (the cache is used only
while a tenant's version is unchanged), one read of the delivery records a retried batch may
already have written, then the deliveries (concurrent across subscriptions, in stream order
within one). Bookkeeping is batched: the records of the chains that have finished are
written together (BatchWriteItem, 25 per request) as they finish, so a subscriber that finished
is never sent its events again because another one hung; then the events that became delivered
are marked and any failure streak the batch ended is cleared. A record fails only
when the pipeline fails (DynamoDB, SQS); subscriber failures go to the retry queue.
"""

import contextvars
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ingest.core import deliveries_table, events_table, patterns, subscriptions_table
from ingest.core.deliveries_table import DeliveryItem
from ingest.core.errors import TriggersError
from ingest.core.events_table import EventItem
from ingest.core.observability import logger
from ingest.core.subscriptions_table import SubscriptionItem
from processors.batch import ItemFailures
from processors.webhooks import ordering, pacing
from processors.webhooks.breaker import Breakers, breakers_for, host_of
from processors.webhooks.delivery import Deliverer, count

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_CACHED_TENANTS = 10_000


class SubscriptionCache:
    """Each tenant's active subscriptions, tagged with the tenant's subscriptions version.

    Freshness rule: an entry is used only when the version read for the current batch (after
    its records were read from the stream, so after their events were accepted) equals the
    entry's, so every subscription change that returned before an event was accepted is seen
    by it, whatever instance made the change. The version is read before the list is loaded, so
    a change racing the load makes the entry look older than it is (a reload), never newer.
    """

    def __init__(self, max_tenants: int = MAX_CACHED_TENANTS) -> None:
        self.max_tenants = max_tenants
        self._entries: OrderedDict[tuple[str, str], tuple[int, list[SubscriptionItem]]] = OrderedDict()
        self._lock = threading.Lock()

    def active(
        self, client: "DynamoDBClient", table: str, tenant_ids: Iterable[str]
    ) -> dict[str, list[SubscriptionItem]]:
        current = subscriptions_table.versions(client, table, tenant_ids)
        result: dict[str, list[SubscriptionItem]] = {}
        for tenant_id, version in current.items():
            key = (table, tenant_id)
            with self._lock:
                entry = self._entries.get(key)
            if entry is not None and entry[0] == version:
                result[tenant_id] = entry[1]
                continue
            subscriptions = subscriptions_table.list_active(client, table, tenant_id)
            with self._lock:
                self._entries[key] = (version, subscriptions)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_tenants:
                    self._entries.popitem(last=False)
            result[tenant_id] = subscriptions
        return result

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass(frozen=True)
class StreamEvent:
    sequence_number: str
    event: EventItem


def parse_records(records: Iterable[Mapping[str, Any]]) -> list[StreamEvent]:
    """The events of INSERT records, in stream order; malformed records are logged and skipped."""
    events: list[StreamEvent] = []
    for record in records:
        stream = record.get("dynamodb") or {}
        sequence_number = str(stream.get("SequenceNumber", ""))
        try:
            event = EventItem.from_ddb(stream["NewImage"])
        except (KeyError, TypeError, ValidationError) as exc:
            count("MalformedStreamRecord")
            logger.error(
                "stream record is not an event; skipped",
                extra={"sequence_number": sequence_number, "error": type(exc).__name__},
            )
            continue
        events.append(StreamEvent(sequence_number, event))
    return events


@dataclass
class Chain:
    """One subscription's events of this batch, in stream order, and what became of them."""

    subscription: SubscriptionItem
    items: list[StreamEvent]
    recorded: list[DeliveryItem] = field(default_factory=list)
    delivered: list[StreamEvent] = field(default_factory=list)
    # Items not attempted because the pipeline failed: the stream retries them.
    failed: list[StreamEvent] = field(default_factory=list)
    error: TriggersError | None = None


def _deliver_in_order(deliverer: Deliverer, breakers: Breakers, chain: Chain) -> Chain:
    """Deliver one subscription's events in stream order; stop at a pipeline error or a 410.

    Once the endpoint gives no response (timeout, connection error), the rest of its events in
    this batch go straight to the retry queue, so one dead endpoint costs one timeout per batch.
    While the breaker of the tenant's destination host is open, each event is paused instead:
    queued for when it closes, no attempt made or counted. A rate-limited subscription reserves
    slots for the rest of the chain at its first delivery (one write); an event whose slot is still
    ahead is deferred to it through the retry queue, also without an attempt.
    """
    subscription = chain.subscription
    breaker = (subscription.tenant_id, host_of(subscription.target_url))
    unresponsive: str | None = None
    slots: deque[datetime] | None = None
    for index, item in enumerate(chain.items):
        event = item.event
        delivery = DeliveryItem.new(
            tenant_id=event.tenant_id,
            event_id=event.event_id,
            subscription_id=subscription.subscription_id,
            target_url=subscription.target_url,
            now=deliverer.clock(),
            expires_at=event.expires_at,
        )
        try:
            admission = breakers.admit(breaker, deliverer.clock())
            if admission.paused and admission.until is not None:
                chain.recorded.append(deliverer.pause(event, subscription, delivery, admission.until))
                continue
            if subscription.rate_limit is not None:
                if slots is None:
                    slots = deque(pacing.reserve(deliverer, subscription, len(chain.items) - index))
                slot = slots.popleft()
                if slot > deliverer.clock():
                    chain.recorded.append(deliverer.defer(event, subscription, delivery, slot))
                    continue
            result = deliverer.attempt(event, subscription, delivery, not_sent_because=unresponsive)
            breakers.observe(breaker, result.response, deliverer.clock())
        except TriggersError as exc:
            logger.error(
                "delivery pipeline failed; the stream will retry",
                extra={
                    "event_id": event.event_id,
                    "subscription_id": subscription.subscription_id,
                    "error": exc.detail,
                },
            )
            chain.failed, chain.error = chain.items[index:], exc
            break
        chain.recorded.append(result.updated)
        if result.outcome == "delivered":
            chain.delivered.append(item)
        if result.outcome == "gone":
            break
        if result.response.status_code is None and unresponsive is None:
            kind = result.response.failure_kind
            unresponsive = f"no response to event {event.event_id} earlier in this batch ({kind})"
    return chain


def _record(deliverer: Deliverer, chains: list[Chain]) -> None:
    """Write the delivery records of finished chains together (also those a pipeline error cut short).

    If the write fails, every event of those chains fails: the stream retries them and, finding
    no record, delivers them again (at-least-once; receivers deduplicate on webhook-id).
    """
    records = [record for chain in chains for record in chain.recorded]
    try:
        deliveries_table.put_many(deliverer.dynamodb, deliverer.settings.deliveries_table, records)
    except TriggersError as exc:
        logger.error("delivery records not written; the stream will retry", extra={"error": exc.detail})
        for chain in chains:
            chain.failed, chain.error, chain.delivered = chain.items, exc, []


def _run_chains(deliverer: Deliverer, breakers: Breakers, chains: list[Chain]) -> list[Chain]:
    """Run the chains concurrently; write each wave of finished chains' records at once."""
    workers = min(deliverer.settings.fanout_max_workers, len(chains))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # Each task in a copy of this (the invoking) context: log keys and local log capture follow.
        running = {
            pool.submit(contextvars.copy_context().run, _deliver_in_order, deliverer, breakers, chain)
            for chain in chains
        }
        while running:
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            _record(deliverer, [future.result() for future in finished])
    return chains


def _passes_filter(subscription: SubscriptionItem, event: EventItem, documents: dict[str, Any]) -> bool:
    """Whether the event matches the subscription's content filter (none: it does). The event's
    filter document (its payload parsed) is made once per batch, only if some filter needs it."""
    pattern = subscription.content_filter
    if pattern is None:
        return True
    if event.event_id not in documents:
        documents[event.event_id] = patterns.event_document(event.event_type, event.source, event.payload)
    return patterns.matches(pattern, documents[event.event_id])


def _chains(
    events: list[StreamEvent], subscriptions: Mapping[str, list[SubscriptionItem]]
) -> dict[tuple[str, str], Chain]:
    """Each subscription's events of the batch: its types, then its content filter, must match (an
    event filtered out gets no delivery and no record)."""
    chains: dict[tuple[str, str], Chain] = {}
    documents: dict[str, Any] = {}
    for item in events:
        for subscription in subscriptions.get(item.event.tenant_id, []):
            if subscription.matches(item.event.event_type) and _passes_filter(
                subscription, item.event, documents
            ):
                key = (item.event.tenant_id, subscription.subscription_id)
                chains.setdefault(key, Chain(subscription, [])).items.append(item)
    return chains


def fan_out(
    records: Iterable[Mapping[str, Any]], deliverer: Deliverer, cache: SubscriptionCache
) -> ItemFailures:
    settings = deliverer.settings
    outcome = ItemFailures()
    breakers = breakers_for(deliverer.dynamodb, settings)
    events = parse_records(records)
    if not events:
        return outcome
    try:
        subscriptions = cache.active(
            deliverer.dynamodb, settings.subscriptions_table, (item.event.tenant_id for item in events)
        )
        chains = _chains(events, subscriptions)
        # A retried batch: what an earlier invocation recorded is not sent again.
        recorded = deliveries_table.get_many(
            deliverer.dynamodb,
            settings.deliveries_table,
            (
                (item.event.event_id, chain.subscription.subscription_id)
                for chain in chains.values()
                for item in chain.items
            ),
        )
        # The breakers of the batch's (tenant, host) pairs: one BatchGetItem (none when turned off).
        breakers.load(
            (chain.subscription.tenant_id, host_of(chain.subscription.target_url))
            for chain in chains.values()
            if not chain.subscription.strict
        )
    except TriggersError as exc:
        logger.error("fanout could not read its state; the stream will retry", extra={"error": exc.detail})
        outcome.fail_all((item.sequence_number for item in events), exc)
        return outcome
    delivered: dict[str, StreamEvent] = {}
    for chain in chains.values():
        earlier = [
            recorded.get((item.event.event_id, chain.subscription.subscription_id)) for item in chain.items
        ]
        delivered.update(
            (item.event.event_id, item)
            for item, record in zip(chain.items, earlier, strict=True)
            if record is not None and record.state == "delivered"
        )
        # A strict subscription's held events go through its lane again (idempotent) on a retry.
        chain.items = [
            item
            for item, record in zip(chain.items, earlier, strict=True)
            if record is None or (chain.subscription.strict and record.state == "held")
        ]
    pending = [chain for chain in chains.values() if chain.items and not chain.subscription.strict]
    if pending:
        done = _run_chains(deliverer, breakers, pending)
        _end_failure_streaks(deliverer, done)
        for chain in done:
            if chain.error is not None:
                outcome.fail_all((item.sequence_number for item in chain.failed), chain.error)
            delivered.update((item.event.event_id, item) for item in chain.delivered)
    # After the others' sends: queueing costs a few writes per strict subscription, sends nothing.
    for chain in chains.values():
        if chain.items and chain.subscription.strict:
            _hold(deliverer, chain, recorded, outcome)
    _mark_delivered(deliverer, list(delivered.values()), outcome)
    return outcome


def _hold(
    deliverer: Deliverer,
    chain: Chain,
    recorded: Mapping[tuple[str, str], DeliveryItem],
    outcome: ItemFailures,
) -> None:
    """A strict subscription's events join its lane; the retry function sends them one at a time."""
    subscription_id = chain.subscription.subscription_id
    earlier = {
        item.event.event_id: record
        for item in chain.items
        if (record := recorded.get((item.event.event_id, subscription_id))) is not None
    }
    try:
        ordering.hold(deliverer, chain.subscription, [item.event for item in chain.items], earlier)
    except TriggersError as exc:
        logger.error(
            "strict ordering: events not queued; the stream will retry",
            extra={"subscription_id": subscription_id, "error": exc.detail},
        )
        outcome.fail_all((item.sequence_number for item in chain.items), exc)


def _end_failure_streaks(deliverer: Deliverer, chains: list[Chain]) -> None:
    for chain in chains:
        if not chain.delivered:
            continue
        try:
            deliverer.end_failure_streak(chain.subscription)
        except TriggersError as exc:
            # Not a delivery problem: the next success ends the streak.
            logger.warning(
                "failure streak not cleared",
                extra={"subscription_id": chain.subscription.subscription_id, "error": exc.detail},
            )


def _mark_delivered(deliverer: Deliverer, delivered: list[StreamEvent], outcome: ItemFailures) -> None:
    """An event's status becomes `delivered` on its first successful delivery."""
    pending = [item for item in delivered if item.event.status == "pending"]
    if not pending:
        return
    try:
        events_table.mark_delivered(
            deliverer.dynamodb,
            deliverer.settings.events_table,
            [(item.event.tenant_id, item.event.event_id) for item in pending],
        )
    except TriggersError as exc:
        # Retried by the stream: the deliveries are recorded, so nothing is sent again.
        outcome.fail_all((item.sequence_number for item in pending), exc)
