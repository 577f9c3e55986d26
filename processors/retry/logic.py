"""Re-attempt deliveries from the retry queue.

A message names one delivery attempt and when it is due. Delays beyond SQS's 15-minute limit
are chained: a message that arrives early is re-enqueued for the remaining time. A message is
skipped when its subscription is gone, its event expired, or its attempt was already made
(a duplicate); a delivery whose subscription was disabled goes to the delivery DLQ unsent, so
it can be redriven once the subscription is enabled again. A message fails (and SQS
redelivers it) only when the pipeline fails or the attempt before it has not been recorded yet.

Each attempt is leased on its delivery record before it is sent, so two copies of one message
(SQS delivers at least once; both may land in one batch) send it once. A delivery whose event or
subscription was deleted meanwhile is closed as `failed` ("not sent"), never left `retrying`.

A delivery DLQ letter sent back to the retry queue as it is (SQS's own DLQ redrive, the console's
"Start DLQ redrive", or `awslocal sqs send-message` with its body) is an operator's redrive: the
failed delivery of the letter's tenant is reopened and its next attempt queued, due now
(ingest.core.lifecycle, as `triggers dlq redrive` and replay do). A second copy of the same
letter finds the delivery no longer failed and is skipped.
"""

import contextvars
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from ingest.core import events_table, lifecycle
from ingest.core.deliveries_table import Attempt, DeliveryItem, claim_attempt, get_delivery
from ingest.core.errors import (
    DeliveryConflict,
    DeliveryNotFound,
    EventNotFound,
    MalformedRequest,
    SubscriptionNotFound,
    TriggersError,
)
from ingest.core.events_table import EventItem
from ingest.core.observability import logger
from ingest.core.queues import DeadLetter, RetryMessage, schedule_retry
from ingest.core.subscriptions_table import SubscriptionItem, get_subscription
from processors.batch import ItemFailures
from processors.webhooks import ordering, pacing
from processors.webhooks.breaker import Breakers, breakers_for, host_of
from processors.webhooks.delivery import Deliverer, Outcome, count

EARLY_TOLERANCE = timedelta(seconds=1)
LEASE_MARGIN = 5.0


def retry_delivery(deliverer: Deliverer, message: RetryMessage, breakers: Breakers | None = None) -> Outcome:
    settings = deliverer.settings
    breakers = breakers or breakers_for(deliverer.dynamodb, settings)
    now = deliverer.clock()
    context = {
        "event_id": message.event_id,
        "subscription_id": message.subscription_id,
        "tenant_id": message.tenant_id,
        "attempt": message.attempt,
    }
    if message.due_at - now > EARLY_TOLERANCE:
        schedule_retry(deliverer.sqs, settings.retry_queue_url, message, now)
        logger.info("retry not due yet; re-enqueued", extra={**context, "due_at": message.due_at.isoformat()})
        return "skipped"
    try:
        delivery = get_delivery(
            deliverer.dynamodb, settings.deliveries_table, message.event_id, message.subscription_id
        )
    except DeliveryNotFound as exc:
        if not _event_exists(deliverer, message):
            logger.info("retry skipped: the event no longer exists", extra=context)
            return "skipped"
        # The fanout sends the retry message before it records the first attempt: until that
        # record exists, SQS redelivers this message (and the retry DLQ keeps it if it never does).
        raise DeliveryConflict("attempt 1 of this delivery is not recorded yet") from exc
    if delivery.tenant_id != message.tenant_id:
        logger.warning("retry skipped: message names another tenant's delivery", extra=context)
        return "skipped"
    try:
        event = events_table.get_event(
            deliverer.dynamodb, settings.events_table, message.tenant_id, message.event_id
        )
        subscription = get_subscription(
            deliverer.dynamodb, settings.subscriptions_table, message.tenant_id, message.subscription_id
        )
    except SubscriptionNotFound as exc:
        outcome = _close(deliverer, delivery, f"{exc.detail}: nothing to deliver", context)
        if delivery.lane:
            # A strict subscription's lane releases nothing: what it held is closed too.
            ordering.discard(deliverer, message.subscription_id, "the subscription was deleted")
        return outcome
    except EventNotFound as exc:
        outcome = _close(deliverer, delivery, f"{exc.detail}: nothing to deliver", context)
        if delivery.lane:
            ordering.finish(deliverer, message.subscription_id, message.event_id)
        return outcome
    # A lane member releases the next event of its lane when it ends (also after a change of ordering).
    laned = subscription.strict or bool(delivery.lane)
    if delivery.state == "delivered":
        # Recorded by an earlier copy of this message whose status update may have failed.
        _mark_delivered(deliverer, event)
        if laned:
            ordering.finish(deliverer, subscription.subscription_id, event.event_id)
        logger.info("retry skipped: already delivered", extra=context)
        return "skipped"
    if delivery.is_terminal or delivery.attempt_count >= message.attempt:
        if delivery.is_terminal and laned:
            ordering.finish(deliverer, subscription.subscription_id, event.event_id)
        logger.info("retry skipped: attempt already made", extra={**context, "state": delivery.state})
        return "skipped"
    if delivery.attempt_count < message.attempt - 1:
        raise DeliveryConflict(f"attempt {message.attempt - 1} of this delivery is not recorded yet")
    if subscription.strict:
        turn = ordering.take_turn(deliverer, subscription, event, delivery)
        if turn == "held":
            logger.info("retry held: an earlier event of its strict subscription is in flight", extra=context)
            return "skipped"
        if turn == "full":
            deliverer.record(delivery, deliverer.abandon(event, subscription, delivery, ordering.FULL_REASON))
            return "failed"
    outcome = _attempt(deliverer, message, delivery, event, subscription, breakers, context)
    if laned and outcome in ("delivered", "gone", "failed"):
        ordering.finish(deliverer, subscription.subscription_id, event.event_id)
    return outcome


def _attempt(
    deliverer: Deliverer,
    message: RetryMessage,
    delivery: DeliveryItem,
    event: EventItem,
    subscription: SubscriptionItem,
    breakers: Breakers,
    context: dict[str, object],
) -> Outcome:
    """Pause, defer or make the attempt the message names (the breaker, the rate limit, the lease)."""
    settings = deliverer.settings
    now = deliverer.clock()
    breaker = (message.tenant_id, host_of(subscription.target_url))
    if subscription.status == "active":
        # Before the lease: a paused attempt must stay free for the message that comes back for it.
        admission = breakers.admit(breaker, now)
        if admission.paused and admission.until is not None:
            paused = message.model_copy(update={"due_at": admission.until})
            schedule_retry(deliverer.sqs, settings.retry_queue_url, paused, now)
            count("WebhookPaused")
            logger.info(
                "retry paused: its host's circuit is open",
                extra={**context, "due_at": admission.until.isoformat()},
            )
            return "retrying"
        if subscription.rate_limit is not None and not message.rate_slot:
            slot = pacing.reserve(deliverer, subscription, 1)[0]
            if slot > deliverer.clock():
                deferred = message.model_copy(update={"due_at": slot, "rate_slot": True})
                schedule_retry(deliverer.sqs, settings.retry_queue_url, deferred, now)
                count("WebhookDeferred")
                logger.info(
                    "retry deferred to its rate-limit slot", extra={**context, "due_at": slot.isoformat()}
                )
                return "retrying"
    lease_seconds = (
        settings.webhook_connect_timeout_seconds + settings.webhook_read_timeout_seconds + LEASE_MARGIN
    )
    claimed = claim_attempt(
        deliverer.dynamodb, settings.deliveries_table, delivery, now=now, lease_seconds=lease_seconds
    )
    if claimed is None:
        logger.info("retry skipped: another worker holds this attempt", extra=context)
        return "skipped"
    if subscription.status != "active":
        updated = deliverer.abandon(
            event, subscription, delivery, f"subscription disabled: {subscription.disabled_reason}"
        )
        deliverer.record(delivery, updated)
        return "failed"
    count("WebhookRetryAttempted")
    result = deliverer.attempt(event, subscription, delivery)
    breakers.observe(breaker, result.response, deliverer.clock())
    if not deliverer.record(delivery, result.updated):
        return "skipped"
    if result.outcome == "delivered":
        deliverer.end_failure_streak(subscription)
        _mark_delivered(deliverer, event)
    return result.outcome


def _event_exists(deliverer: Deliverer, message: RetryMessage) -> bool:
    try:
        events_table.get_event(
            deliverer.dynamodb, deliverer.settings.events_table, message.tenant_id, message.event_id
        )
    except EventNotFound:
        return False
    return True


def _mark_delivered(deliverer: Deliverer, event: EventItem) -> None:
    if event.status == "pending":
        events_table.mark_delivered(
            deliverer.dynamodb, deliverer.settings.events_table, [(event.tenant_id, event.event_id)]
        )


def _close(deliverer: Deliverer, delivery: DeliveryItem, reason: str, context: dict[str, object]) -> Outcome:
    """End a delivery whose event or subscription is gone, so it does not stay `retrying`."""
    if delivery.is_terminal:
        return "skipped"
    now = deliverer.clock()
    attempt = Attempt(at=now.isoformat(), status_code=None, latency_ms=0, error=f"not sent: {reason}")
    deliverer.record(delivery, delivery.after(attempt, "failed", now))
    logger.info("retry abandoned: the delivery no longer exists", extra={**context, "reason": reason})
    return "skipped"


def redrive_dead_letter(deliverer: Deliverer, letter: DeadLetter) -> Outcome:
    """A delivery DLQ letter sent back to the retry queue: reopen it and queue one more attempt."""
    settings = deliverer.settings
    context = {
        "event_id": letter.event_id,
        "subscription_id": letter.subscription_id,
        "tenant_id": letter.tenant_id,
    }
    try:
        delivery = get_delivery(
            deliverer.dynamodb, settings.deliveries_table, letter.event_id, letter.subscription_id
        )
        if delivery.tenant_id != letter.tenant_id:
            logger.warning("redrive skipped: letter names another tenant's delivery", extra=context)
            return "skipped"
        stores = lifecycle.Stores.of(deliverer.dynamodb, deliverer.sqs, settings)
        lifecycle.redrive(stores, delivery, tenant_id=letter.tenant_id, now=deliverer.clock())
    except (DeliveryConflict, DeliveryNotFound) as exc:
        logger.info("redrive skipped: the delivery is not failed", extra={**context, "reason": exc.detail})
        return "skipped"
    count("WebhookRedriven")
    return "retrying"


def parse_retry_body(body: str) -> RetryMessage | DeadLetter:
    """A retry message, or a delivery DLQ letter sent back as it is."""
    try:
        return RetryMessage.model_validate_json(body)
    except ValidationError:
        return DeadLetter.model_validate_json(body)


def _retry_record(deliverer: Deliverer, breakers: Breakers, record: Mapping[str, Any]) -> Exception | None:
    try:
        message = parse_retry_body(record.get("body", ""))
    except ValidationError as exc:
        count("MalformedRetryMessage")
        logger.error("retry message is malformed", extra={"message_id": record.get("messageId")})
        return MalformedRequest(f"retry message is malformed: {exc.error_count()} errors")
    try:
        if isinstance(message, DeadLetter):
            redrive_dead_letter(deliverer, message)
        else:
            retry_delivery(deliverer, message, breakers)
    except TriggersError as exc:
        logger.error(
            "retry pipeline failed; SQS will redeliver",
            extra={
                "event_id": message.event_id,
                "subscription_id": message.subscription_id,
                "error": exc.detail,
            },
        )
        return exc
    return None


def retry_batch(records: Iterable[Mapping[str, Any]], deliverer: Deliverer) -> ItemFailures:
    """Process a batch of retry messages concurrently (a hanging endpoint delays only its own)."""
    records = list(records)
    batch = ItemFailures()
    if not records:
        return batch
    # One board per batch: its messages to one (tenant, host) share what they learn.
    breakers = breakers_for(deliverer.dynamodb, deliverer.settings)
    with ThreadPoolExecutor(max_workers=min(deliverer.settings.fanout_max_workers, len(records))) as pool:
        # Each task in a copy of this context: log keys and local log capture follow it.
        futures = [
            pool.submit(contextvars.copy_context().run, _retry_record, deliverer, breakers, record)
            for record in records
        ]
        results = [future.result() for future in futures]
    for record, error in zip(records, results, strict=True):
        if error is not None:
            batch.fail(str(record.get("messageId", "")), error)
    return batch
