"""A delivery's second chances, implemented once: replay, redrive, and the event's status.

Replay (the API route), an operator's redrive of a dead letter (`triggers dlq redrive`, or the
letter sent back to the retry queue as it is) and the fanout all end in the same two steps:
the delivery is reopened (`retrying`, due now, its attempts kept) and a retry message for its
next attempt is put on the retry queue, where the retry function makes the attempt like any
other (same `webhook-id`, fresh signature, the schedule and the DLQ if it keeps failing). If the
enqueue fails the reopen is undone, so nothing is left `retrying` without a message.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from ingest.core import audit_table, deliveries_table, events_table, lanes_table
from ingest.core.audit_table import AuditLog
from ingest.core.deliveries_table import DeliveryItem, ReopenRule
from ingest.core.errors import DeliveryConflict, DeliveryNotFound, EventNotFound, QueueUnavailable
from ingest.core.observability import logger
from ingest.core.queues import RetryMessage, schedule_retry
from ingest.core.subscriptions_table import SubscriptionItem

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

    from ingest.core.settings import DeliverySettings, IngestSettings

ReplayOutcome = Literal["queued", "in_progress", "not_found", "not_subscribed"]
# A `retrying` delivery this far past its due time has lost its retry message: replay may reopen it.
STALE_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class Stores:
    """Where deliveries live and where their attempts are queued."""

    dynamodb: "DynamoDBClient"
    sqs: "SQSClient"
    events_table: str
    deliveries_table: str
    retry_queue_url: str

    @classmethod
    def of(
        cls, dynamodb: "DynamoDBClient", sqs: "SQSClient", settings: "IngestSettings | DeliverySettings"
    ) -> "Stores":
        return cls(dynamodb, sqs, settings.events_table, settings.deliveries_table, settings.retry_queue_url)


@dataclass(frozen=True)
class ReplayResult:
    event_id: str
    outcome: ReplayOutcome
    previous_attempts: int = 0


def reopen_and_enqueue(
    stores: Stores,
    *,
    rule: ReopenRule,
    tenant_id: str,
    event_id: str,
    subscription_id: str,
    target_url: str,
    expires_at: int,
    now: datetime,
) -> RetryMessage:
    """Reopen one delivery under `rule` and queue its next attempt, due now.

    Raises DeliveryConflict when the rule refuses (the delivery is in progress, not failed, or
    another tenant's) and DeliveryNotFound when a redriven delivery no longer exists.
    """
    if not stores.retry_queue_url:
        raise QueueUnavailable("the retry queue is not configured (RETRY_QUEUE_URL)")
    reopened, previous = deliveries_table.reopen(
        stores.dynamodb,
        stores.deliveries_table,
        rule=rule,
        tenant_id=tenant_id,
        event_id=event_id,
        subscription_id=subscription_id,
        target_url=target_url,
        now=now,
        expires_at=expires_at,
        stale_before=now - STALE_AFTER,
    )
    message = RetryMessage(
        tenant_id=tenant_id,
        event_id=event_id,
        subscription_id=subscription_id,
        attempt=reopened.attempt_count + 1,
        due_at=now,
    )
    try:
        schedule_retry(stores.sqs, stores.retry_queue_url, message, now)
    except QueueUnavailable:
        deliveries_table.undo_reopen(stores.dynamodb, stores.deliveries_table, reopened, previous)
        raise
    logger.info(
        f"delivery reopened ({rule}); attempt queued",
        extra={
            "event_id": event_id,
            "subscription_id": subscription_id,
            "tenant_id": tenant_id,
            "attempt": message.attempt,
        },
    )
    return message


def redrive(
    stores: Stores,
    delivery: DeliveryItem,
    *,
    tenant_id: str,
    now: datetime,
    audit: AuditLog | None,
    actor: str,
) -> RetryMessage:
    """One more attempt for a failed (dead-lettered) delivery of `tenant_id`, recorded in the
    audit trail as `actor`'s `delivery.redrive` (`audit` None: logged only)."""
    message = reopen_and_enqueue(
        stores,
        rule="redrive",
        tenant_id=tenant_id,
        event_id=delivery.event_id,
        subscription_id=delivery.subscription_id,
        target_url=delivery.target_url,
        expires_at=delivery.expires_at,
        now=now,
    )
    audit_table.record_change(
        audit,
        tenant_id=tenant_id,
        actor=actor,
        action="delivery.redrive",
        resource_type="delivery",
        resource_id=f"{delivery.event_id}/{delivery.subscription_id}",
        before={"state": delivery.state, "attempt_count": delivery.attempt_count},
        after={"state": "retrying", "next_attempt": message.attempt},
        now=now,
    )
    return message


def replay(stores: Stores, subscription: SubscriptionItem, event_id: str, now: datetime) -> ReplayResult:
    """Deliver one event of the subscription's tenant to it again (or for the first time)."""
    try:
        event = events_table.get_event(stores.dynamodb, stores.events_table, subscription.tenant_id, event_id)
    except EventNotFound:
        return ReplayResult(event_id, "not_found")
    if not subscription.matches(event.event_type):
        return ReplayResult(event_id, "not_subscribed")
    try:
        message = reopen_and_enqueue(
            stores,
            rule="replay",
            tenant_id=subscription.tenant_id,
            event_id=event_id,
            subscription_id=subscription.subscription_id,
            target_url=subscription.target_url,
            expires_at=event.expires_at,
            now=now,
        )
    except DeliveryConflict:
        return ReplayResult(event_id, "in_progress")
    return ReplayResult(event_id, "queued", message.attempt - 1)


@dataclass(frozen=True)
class RecoverResult:
    queued: int
    in_progress: int
    truncated: bool
    last_event_id: str | None


def recover(
    stores: Stores,
    subscription: SubscriptionItem,
    *,
    low_event_id: str,
    high_event_id: str,
    limit: int,
    now: datetime,
) -> RecoverResult:
    """Reopen and queue every failed or gone delivery of `subscription` (which the caller has
    authorised) whose event id lies in [low, high], at most `limit`, oldest first.

    A delivery reopened meanwhile (by this call's twin, a replay, a redrive) fails the reopen's
    condition and counts as `in_progress`: each delivery is sent once per failure, however many
    recovers overlap.
    """
    if not stores.retry_queue_url:
        raise QueueUnavailable("the retry queue is not configured (RETRY_QUEUE_URL)")
    if low_event_id > high_event_id:  # a window that starts after now: nothing failed there yet
        return RecoverResult(0, 0, False, None)
    deliveries, truncated = deliveries_table.list_recoverable(
        stores.dynamodb,
        stores.deliveries_table,
        subscription.tenant_id,
        subscription.subscription_id,
        low_event_id,
        high_event_id,
        limit,
    )
    queued = in_progress = 0
    for delivery in deliveries:
        try:
            reopen_and_enqueue(
                stores,
                rule="recover",
                tenant_id=subscription.tenant_id,
                event_id=delivery.event_id,
                subscription_id=subscription.subscription_id,
                target_url=delivery.target_url,
                expires_at=delivery.expires_at,
                now=now,
            )
        except DeliveryConflict:
            in_progress += 1
            continue
        queued += 1
    return RecoverResult(queued, in_progress, truncated, deliveries[-1].event_id if deliveries else None)


def replay_events(
    stores: Stores, subscription: SubscriptionItem, event_ids: list[str], now: datetime
) -> list[ReplayResult]:
    """Replay each event (in the order given) to `subscription`, which the caller has authorised."""
    if not stores.retry_queue_url:
        raise QueueUnavailable("the retry queue is not configured (RETRY_QUEUE_URL)")
    return [replay(stores, subscription, event_id, now) for event_id in event_ids]


def release_lane(stores: Stores, subscription_id: str, now: datetime) -> int:
    """Let go of a strict subscription's held events (its ordering changed to `"none"`).

    The lane is emptied and every event it held gets its next attempt queued, due now: they go
    out concurrently, as the default ordering does. The event in flight (the head) carries on
    with its own schedule. Events a fanout instance adds to the lane while this runs (a batch read
    before the change) are still released one after the other: each lane member releases the next
    when it ends (`DeliveryItem.lane`). Returns how many were queued.
    """
    lane = lanes_table.drop(
        stores.dynamodb,
        stores.deliveries_table,
        lanes_table.get(stores.dynamodb, stores.deliveries_table, subscription_id),
    )
    queued = 0
    for event_id in lane.held:
        try:
            delivery = deliveries_table.get_delivery(
                stores.dynamodb, stores.deliveries_table, event_id, subscription_id
            )
        except DeliveryNotFound:
            continue
        if delivery.is_terminal:
            continue
        message = RetryMessage(
            tenant_id=delivery.tenant_id,
            event_id=event_id,
            subscription_id=subscription_id,
            attempt=delivery.attempt_count + 1,
            due_at=now,
        )
        schedule_retry(stores.sqs, stores.retry_queue_url, message, now)
        queued += 1
    return queued


def hurry_lane_head(stores: Stores, subscription_id: str, now: datetime) -> bool:
    """Queue the next attempt of a strict subscription's head event, due now (it was disabled).

    An automatic disable happens on the head's own attempt, which is dead-lettered at once and
    releases the next held event, and so on: each is dead-lettered unsent ("subscription
    disabled: ..."). A disable by hand happens between attempts, while the head waits for its
    retry (up to hours): queuing its attempt now makes the lane end the same way, at once. The
    retry function dead-letters it unsent (the subscription is not active), and a copy of the
    message that was already queued finds the attempt made and is skipped. Returns whether an
    attempt was queued (False: no lane, or its head already ended).
    """
    lane = lanes_table.get(stores.dynamodb, stores.deliveries_table, subscription_id)
    if lane.head is None:
        return False
    try:
        delivery = deliveries_table.get_delivery(
            stores.dynamodb, stores.deliveries_table, lane.head, subscription_id
        )
    except DeliveryNotFound:
        return False
    if delivery.is_terminal:
        return False
    message = RetryMessage(
        tenant_id=delivery.tenant_id,
        event_id=lane.head,
        subscription_id=subscription_id,
        attempt=delivery.attempt_count + 1,
        due_at=now,
    )
    schedule_retry(stores.sqs, stores.retry_queue_url, message, now)
    return True
