"""Strict ordering per subscription: one delivery in flight, in stream order (like an SQS FIFO
message group per subscription).

A subscription with `ordering: "strict"` has a lane (ingest/core/lanes_table.py): the event in
flight (`head`) and the events waiting behind it (`held`), in the order the fanout read them from
the stream. The fanout never sends to such a subscription itself: it records each event's delivery
as `held`, appends the events to the lane (idempotently: a retried batch or a duplicate record
adds nothing) and, when the lane was idle, queues the head's first attempt on the retry queue, due
now. The retry function makes every attempt: a message for an event that is not the head joins the
lane (a replay or redrive waits its turn) and is not sent; the head goes through the usual schedule
(breaker pauses and rate-limit deferrals keep it the head). When the head ends (delivered,
dead-lettered, gone, or its event deleted) the next held event becomes the head and its attempt is
queued; when the subscription was deleted, nothing is released: the held deliveries are closed
as `failed` ("not sent") and the lane emptied.

Failure points: the lane is written before the head's message is queued; if the writer dies in
between, a retried stream batch (fanout) or the redelivered message of the event that ended
(retry: the lane remembers it as `prev`) queues the head again; a duplicate is skipped by the
retry function's attempt checks and lease.
"""

from typing import Literal

from ingest.core import deliveries_table, lanes_table
from ingest.core.deliveries_table import Attempt, DeliveryItem
from ingest.core.errors import DeliveryNotFound
from ingest.core.events_table import EventItem
from ingest.core.observability import logger
from ingest.core.queues import RetryMessage, schedule_retry
from ingest.core.subscriptions_table import SubscriptionItem
from processors.webhooks.delivery import Deliverer, count

Turn = Literal["send", "held", "full"]
FULL_REASON = f"strict ordering: more than {lanes_table.MAX_HELD} deliveries held behind a failing one"


def hold(
    deliverer: Deliverer,
    subscription: SubscriptionItem,
    events: list[EventItem],
    recorded: dict[str, DeliveryItem],
) -> list[DeliveryItem]:
    """The fanout's part: record `events` (stream order) as held, append them to the lane, and
    queue the head's first attempt if it is one of them and was never attempted.

    `recorded` holds the records an earlier invocation wrote (a retried batch). Returns the records
    written. Raises TriggersError when DynamoDB or SQS fail (the stream retries the batch).
    """
    settings = deliverer.settings
    now = deliverer.clock()
    records = {event.event_id: recorded[event.event_id] for event in events if event.event_id in recorded}
    new = [
        DeliveryItem.new(
            tenant_id=event.tenant_id,
            event_id=event.event_id,
            subscription_id=subscription.subscription_id,
            target_url=subscription.target_url,
            now=now,
            expires_at=event.expires_at,
        ).model_copy(update={"state": "held", "lane": True})
        for event in events
        if event.event_id not in records
    ]
    deliveries_table.put_many(deliverer.dynamodb, settings.deliveries_table, new)
    records |= {record.event_id: record for record in new}
    subscription_id = subscription.subscription_id
    table = settings.deliveries_table
    lane = lanes_table.get_many(deliverer.dynamodb, table, [subscription_id])[subscription_id]
    lane, overflow = lanes_table.join(
        deliverer.dynamodb,
        settings.deliveries_table,
        lane,
        tenant_id=subscription.tenant_id,
        event_ids=[event.event_id for event in events],
        expires_at=max(event.expires_at for event in events),
    )
    by_id = {event.event_id: event for event in events}
    closed = [deliverer.abandon(by_id[name], subscription, records[name], FULL_REASON) for name in overflow]
    deliveries_table.put_many(deliverer.dynamodb, settings.deliveries_table, closed)
    head = records.get(lane.head or "")
    if head is not None and head.state == "held" and head.attempt_count == 0:
        _enqueue(deliverer, head)
    count("WebhookHeld")
    logger.info(
        "strict ordering: events queued in the subscription's lane",
        extra={
            "subscription_id": subscription.subscription_id,
            "tenant_id": subscription.tenant_id,
            "event_ids": [event.event_id for event in events],
            "head": lane.head,
            "held": len(lane.held),
        },
    )
    return [*new, *closed]


def take_turn(
    deliverer: Deliverer, subscription: SubscriptionItem, event: EventItem, delivery: DeliveryItem
) -> Turn:
    """The retry function's part before an attempt: `send` when the event is its lane's head
    (or the lane was idle and it became the head), `held` when it now waits behind another,
    `full` when the lane has no room left (the caller dead-letters it)."""
    table = deliverer.settings.deliveries_table
    if not delivery.lane:
        # First flagged, then joined: a member's end always releases the next, whatever happens.
        deliveries_table.mark_lane(deliverer.dynamodb, table, delivery.event_id, delivery.subscription_id)
    lane = lanes_table.get(deliverer.dynamodb, table, subscription.subscription_id)
    if lane.head == event.event_id:
        return "send"
    lane, overflow = lanes_table.join(
        deliverer.dynamodb,
        table,
        lane,
        tenant_id=subscription.tenant_id,
        event_ids=[event.event_id],
        expires_at=event.expires_at,
    )
    if overflow:
        return "full"
    return "send" if lane.head == event.event_id else "held"


def finish(deliverer: Deliverer, subscription_id: str, event_id: str) -> None:
    """`event_id`'s delivery ended: release the lane's next event and queue its attempt.

    Safe to call more than once and for events that are not the head (then nothing happens, or the
    head it released before is queued again).
    """
    table = deliverer.settings.deliveries_table
    lane = lanes_table.get(deliverer.dynamodb, table, subscription_id)
    finished: str | None = event_id
    while finished is not None:
        lane, following = lanes_table.release(deliverer.dynamodb, table, lane, finished)
        finished = None
        if following is None:
            return
        try:
            delivery = deliveries_table.get_delivery(deliverer.dynamodb, table, following, subscription_id)
        except DeliveryNotFound:
            # Its record expired (TTL) with its event: nothing to send, the next one's turn.
            finished = following
            continue
        _enqueue(deliverer, delivery)
        logger.info(
            "strict ordering: next event released",
            extra={"subscription_id": subscription_id, "event_id": following, "after": event_id},
        )


def discard(deliverer: Deliverer, subscription_id: str, reason: str) -> None:
    """The subscription is gone: release nothing; close every delivery its lane held as `failed`."""
    table = deliverer.settings.deliveries_table
    lane = lanes_table.get(deliverer.dynamodb, table, subscription_id)
    lane = lanes_table.drop(deliverer.dynamodb, table, lane)
    now = deliverer.clock()
    for event_id in [*([lane.head] if lane.head else []), *lane.held]:
        try:
            delivery = deliveries_table.get_delivery(deliverer.dynamodb, table, event_id, subscription_id)
        except DeliveryNotFound:
            continue
        if delivery.is_terminal:
            continue
        attempt = Attempt(at=now.isoformat(), status_code=None, latency_ms=0, error=f"not sent: {reason}")
        deliverer.record(delivery, delivery.after(attempt, "failed", now))
    if lane.head or lane.held:
        logger.info(
            "strict ordering: lane of a deleted subscription closed",
            extra={"subscription_id": subscription_id, "closed": len(lane.held) + (1 if lane.head else 0)},
        )


def _enqueue(deliverer: Deliverer, delivery: DeliveryItem) -> None:
    now = deliverer.clock()
    message = RetryMessage(
        tenant_id=delivery.tenant_id,
        event_id=delivery.event_id,
        subscription_id=delivery.subscription_id,
        attempt=delivery.attempt_count + 1,
        due_at=now,
    )
    schedule_retry(deliverer.sqs, deliverer.settings.retry_queue_url, message, now)
