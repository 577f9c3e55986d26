"""Re-attempt deliveries from the retry queue.

A message names one delivery attempt and when it is due. Delays beyond SQS's 15-minute limit
are chained: a message that arrives early is re-enqueued for the remaining time. A message is
skipped when its subscription is gone, its event expired, or its attempt was already made
(a duplicate); a delivery whose subscription was disabled goes to the delivery DLQ unsent, so
it can be redriven once the subscription is enabled again. A message fails (and SQS
redelivers it) only when the pipeline fails or the attempt before it has not been recorded yet.

A delivery DLQ letter sent back to the retry queue as it is (SQS's own DLQ redrive, the console's
"Start DLQ redrive", or `awslocal sqs send-message` with its body) is an operator's redrive: the
failed delivery is reopened and attempted once more, due now. A second copy of the same letter
finds the delivery no longer failed and is skipped.
"""

import contextvars
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from ingest.core import events_table
from ingest.core.deliveries_table import get_delivery, reopen_failed_delivery
from ingest.core.errors import (
    DeliveryConflict,
    DeliveryNotFound,
    EventNotFound,
    MalformedRequest,
    SubscriptionNotFound,
    TriggersError,
)
from ingest.core.observability import logger
from ingest.core.queues import DeadLetter, RetryMessage, redrive_message, schedule_retry
from ingest.core.subscriptions_table import get_subscription
from processors.webhooks.delivery import Deliverer, Outcome, count

EARLY_TOLERANCE = timedelta(seconds=1)


def retry_delivery(deliverer: Deliverer, message: RetryMessage) -> Outcome:
    settings = deliverer.settings
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
        subscription = get_subscription(
            deliverer.dynamodb, settings.subscriptions_table, message.tenant_id, message.subscription_id
        )
        delivery = get_delivery(
            deliverer.dynamodb, settings.deliveries_table, message.event_id, message.subscription_id
        )
        event = events_table.get_event(
            deliverer.dynamodb, settings.events_table, message.tenant_id, message.event_id
        )
    except (SubscriptionNotFound, DeliveryNotFound, EventNotFound) as exc:
        logger.info(
            "retry skipped: delivery no longer exists", extra={**context, "reason": type(exc).__name__}
        )
        return "skipped"
    if delivery.tenant_id != message.tenant_id:
        logger.warning("retry skipped: message names another tenant's delivery", extra=context)
        return "skipped"
    if delivery.is_terminal or delivery.attempt_count >= message.attempt:
        logger.info("retry skipped: attempt already made", extra={**context, "state": delivery.state})
        return "skipped"
    if delivery.attempt_count < message.attempt - 1:
        raise DeliveryConflict(f"attempt {message.attempt - 1} of this delivery is not recorded yet")
    if subscription.status != "active":
        return deliverer.abandon(
            event, subscription, delivery, f"subscription disabled: {subscription.disabled_reason}"
        )
    count("WebhookRetryAttempted")
    outcome, _ = deliverer.attempt(event, subscription, delivery)
    if outcome == "delivered" and event.status == "pending":
        events_table.set_status(
            deliverer.dynamodb, settings.events_table, event.tenant_id, event.event_id, "delivered"
        )
    return outcome


def redrive_dead_letter(deliverer: Deliverer, letter: DeadLetter) -> Outcome:
    """One more attempt for a dead-lettered delivery sent back to the retry queue unchanged."""
    settings = deliverer.settings
    now = deliverer.clock()
    context = {
        "event_id": letter.event_id,
        "subscription_id": letter.subscription_id,
        "tenant_id": letter.tenant_id,
    }
    try:
        delivery = reopen_failed_delivery(
            deliverer.dynamodb, settings.deliveries_table, letter.event_id, letter.subscription_id, now
        )
    except DeliveryConflict:
        logger.info(
            "redrive skipped: the delivery is not failed (already redriven or delivered)", extra=context
        )
        return "skipped"
    if delivery.tenant_id != letter.tenant_id:
        logger.warning("redrive skipped: letter names another tenant's delivery", extra=context)
        return "skipped"
    count("WebhookRedriven")
    logger.info("dead letter redriven", extra=context)
    return retry_delivery(deliverer, redrive_message(letter, delivery.attempt_count, now))


def parse_retry_body(body: str) -> RetryMessage | DeadLetter:
    """A retry message, or a delivery DLQ letter sent back as it is."""
    try:
        return RetryMessage.model_validate_json(body)
    except ValidationError:
        return DeadLetter.model_validate_json(body)


@dataclass
class RetryBatch:
    """Errors by SQS message id; `check` raises them for BatchProcessor."""

    errors: dict[str, Exception] = field(default_factory=dict)

    def check(self, record: SQSRecord) -> None:
        error = self.errors.get(record.message_id)
        if error is not None:
            raise error


def _retry_record(deliverer: Deliverer, record: Mapping[str, Any]) -> Exception | None:
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
            retry_delivery(deliverer, message)
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


def retry_batch(records: Iterable[Mapping[str, Any]], deliverer: Deliverer) -> RetryBatch:
    """Process a batch of retry messages concurrently (a hanging endpoint delays only its own)."""
    records = list(records)
    batch = RetryBatch()
    if not records:
        return batch
    with ThreadPoolExecutor(max_workers=min(deliverer.settings.fanout_max_workers, len(records))) as pool:
        # Each task in a copy of this context: log keys and local log capture follow it.
        futures = [
            pool.submit(contextvars.copy_context().run, _retry_record, deliverer, record)
            for record in records
        ]
        results = [future.result() for future in futures]
    for record, error in zip(records, results, strict=True):
        if error is not None:
            batch.errors[str(record.get("messageId", ""))] = error
    return batch
