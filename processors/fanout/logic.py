"""Fan a batch of stream records out to the tenants' matching subscriptions.

Deliveries run concurrently across subscriptions (a bounded thread pool; the transport limits
connections per host) and sequentially, in stream order, within one subscription. A record
fails only when the pipeline fails (DynamoDB, SQS); subscriber failures go to the retry queue.
"""

import contextvars
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from pydantic import ValidationError

from ingest.core import events_table
from ingest.core.deliveries_table import claim_delivery, get_delivery
from ingest.core.errors import DeliveryNotFound, EventNotFound, TriggersError
from ingest.core.events_table import EventItem
from ingest.core.observability import logger
from ingest.core.subscriptions_table import SubscriptionItem, list_active
from processors.webhooks.delivery import Deliverer, count

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class SubscriptionCache:
    """Each tenant's active subscriptions, kept for `ttl` seconds in this process."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._entries: dict[tuple[str, str], tuple[float, list[SubscriptionItem]]] = {}
        self._lock = threading.Lock()

    def active(self, client: "DynamoDBClient", table: str, tenant_id: str) -> list[SubscriptionItem]:
        key = (table, tenant_id)
        now = self.clock()
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        subscriptions = list_active(client, table, tenant_id)
        with self._lock:
            self._entries[key] = (now + self.ttl, subscriptions)
        return subscriptions


@dataclass
class BatchOutcome:
    """Pipeline errors by stream sequence number; `check` raises them for BatchProcessor."""

    errors: dict[str, Exception] = field(default_factory=dict)

    def check(self, record: DynamoDBRecord) -> None:
        error = self.errors.get((record.dynamodb.sequence_number if record.dynamodb else None) or "")
        if error is not None:
            raise error


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


def _deliver_in_order(
    deliverer: Deliverer, subscription: SubscriptionItem, items: list[StreamEvent]
) -> tuple[dict[str, Exception], set[str]]:
    """Deliver one subscription's events in stream order; stop at a pipeline error or a 410.

    Once the endpoint gives no response (timeout, connection error), the rest of its events in
    this batch go straight to the retry queue, so one dead endpoint costs one timeout per batch.
    """
    settings = deliverer.settings
    delivered: set[str] = set()
    unresponsive: str | None = None
    for index, item in enumerate(items):
        event = item.event
        try:
            delivery = claim_delivery(
                deliverer.dynamodb,
                settings.deliveries_table,
                tenant_id=event.tenant_id,
                event_id=event.event_id,
                subscription_id=subscription.subscription_id,
                target_url=subscription.target_url,
                now=deliverer.clock(),
                expires_at=event.expires_at,
            )
            if delivery is None:
                # Attempted before (a retried batch): its event may still need marking delivered.
                if _was_delivered(deliverer, event, subscription):
                    delivered.add(event.event_id)
                continue
            outcome, response = deliverer.attempt(
                event, subscription, delivery, not_sent_because=unresponsive
            )
        except TriggersError as exc:
            logger.error(
                "delivery pipeline failed; the stream will retry",
                extra={
                    "event_id": event.event_id,
                    "subscription_id": subscription.subscription_id,
                    "error": exc.detail,
                },
            )
            return {later.sequence_number: exc for later in items[index:]}, delivered
        if outcome == "delivered":
            delivered.add(event.event_id)
        if outcome == "gone":
            break
        if response.status_code is None and unresponsive is None:
            unresponsive = (
                f"no response to event {event.event_id} earlier in this batch ({response.failure_kind})"
            )
    return {}, delivered


def _was_delivered(deliverer: Deliverer, event: EventItem, subscription: SubscriptionItem) -> bool:
    try:
        delivery = get_delivery(
            deliverer.dynamodb,
            deliverer.settings.deliveries_table,
            event.event_id,
            subscription.subscription_id,
        )
    except DeliveryNotFound:
        return False
    return delivery.state == "delivered"


def fan_out(
    records: Iterable[Mapping[str, Any]], deliverer: Deliverer, cache: SubscriptionCache
) -> BatchOutcome:
    settings = deliverer.settings
    outcome = BatchOutcome()
    events = parse_records(records)
    chains: dict[tuple[str, str], tuple[SubscriptionItem, list[StreamEvent]]] = {}
    for item in events:
        tenant_id = item.event.tenant_id
        try:
            subscriptions = cache.active(deliverer.dynamodb, settings.subscriptions_table, tenant_id)
        except TriggersError as exc:
            outcome.errors[item.sequence_number] = exc
            continue
        for subscription in subscriptions:
            if subscription.matches(item.event.event_type):
                key = (tenant_id, subscription.subscription_id)
                chains.setdefault(key, (subscription, []))[1].append(item)
    delivered: set[str] = set()
    if chains:
        with ThreadPoolExecutor(max_workers=min(settings.fanout_max_workers, len(chains))) as pool:
            futures = [
                # Each task in a copy of this context: log keys and local log capture follow it.
                pool.submit(contextvars.copy_context().run, _deliver_in_order, deliverer, subscription, items)
                for subscription, items in chains.values()
            ]
            for future in futures:
                errors, done = future.result()
                outcome.errors.update(errors)
                delivered |= done
    _mark_delivered(deliverer, events, delivered, outcome)
    return outcome


def _mark_delivered(
    deliverer: Deliverer, events: list[StreamEvent], delivered: set[str], outcome: BatchOutcome
) -> None:
    """An event's status becomes `delivered` on its first successful delivery."""
    for item in events:
        event = item.event
        if event.event_id not in delivered or event.status != "pending":
            continue
        try:
            events_table.set_status(
                deliverer.dynamodb,
                deliverer.settings.events_table,
                event.tenant_id,
                event.event_id,
                "delivered",
            )
        except EventNotFound:
            continue
        except TriggersError as exc:
            outcome.errors.setdefault(item.sequence_number, exc)
