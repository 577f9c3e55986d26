"""Replay: deliver chosen events to one subscription again, through the retry queue.

Each event's delivery to the subscription is reopened (`retrying`, due now, its attempts kept;
created when the event was never delivered there) and a retry message for its next attempt is
enqueued, so the retry function makes the attempt like any other: same envelope, same
`webhook-id` (the event id), fresh signature, the retry schedule and the DLQ if it keeps failing.
A delivery still in progress (pending or retrying) is left alone, so replaying twice never
sends twice. If the enqueue fails the reopen is undone and the error raised.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from ingest.core import events_table
from ingest.core.deliveries_table import reopen_for_replay, undo_reopen
from ingest.core.errors import DeliveryConflict, EventNotFound, QueueUnavailable
from ingest.core.observability import logger
from ingest.core.queues import RetryMessage, schedule_retry
from ingest.core.settings import Settings
from ingest.core.subscriptions_table import SubscriptionItem

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

ReplayOutcome = Literal["queued", "in_progress", "not_found", "not_subscribed"]
# A `retrying` delivery this far past its due time has lost its retry message: replay may reopen it.
STALE_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class ReplayResult:
    event_id: str
    outcome: ReplayOutcome
    previous_attempts: int = 0


def replay_event(
    dynamodb: "DynamoDBClient",
    sqs: "SQSClient",
    settings: Settings,
    subscription: SubscriptionItem,
    event_id: str,
    now: datetime,
) -> ReplayResult:
    context = {"event_id": event_id, "subscription_id": subscription.subscription_id}
    try:
        event = events_table.get_event(dynamodb, settings.events_table, subscription.tenant_id, event_id)
    except EventNotFound:
        return ReplayResult(event_id, "not_found")
    if not subscription.matches(event.event_type):
        return ReplayResult(event_id, "not_subscribed")
    try:
        reopened, previous = reopen_for_replay(
            dynamodb,
            settings.deliveries_table,
            tenant_id=subscription.tenant_id,
            event_id=event_id,
            subscription_id=subscription.subscription_id,
            target_url=subscription.target_url,
            now=now,
            expires_at=event.expires_at,
            stale_before=now - STALE_AFTER,
        )
    except DeliveryConflict:
        return ReplayResult(event_id, "in_progress")
    message = RetryMessage(
        tenant_id=subscription.tenant_id,
        event_id=event_id,
        subscription_id=subscription.subscription_id,
        attempt=reopened.attempt_count + 1,
        due_at=now,
    )
    try:
        schedule_retry(sqs, settings.retry_queue_url, message, now)
    except QueueUnavailable:
        undo_reopen(dynamodb, settings.deliveries_table, reopened, previous)
        raise
    logger.info("delivery replay queued", extra={**context, "attempt": message.attempt})
    return ReplayResult(event_id, "queued", reopened.attempt_count)


def replay_events(
    dynamodb: "DynamoDBClient",
    sqs: "SQSClient",
    settings: Settings,
    subscription: SubscriptionItem,
    event_ids: list[str],
    now: datetime,
) -> list[ReplayResult]:
    """Replay each event (in the order given) to `subscription`, which the caller has authorised."""
    if not settings.retry_queue_url:
        raise QueueUnavailable("the retry queue is not configured (RETRY_QUEUE_URL)")
    return [replay_event(dynamodb, sqs, settings, subscription, event_id, now) for event_id in event_ids]
