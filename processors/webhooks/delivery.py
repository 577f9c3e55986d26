"""One delivery attempt and its consequences, shared by the fanout and retry functions.

Order of writes (so that a crash or a retried batch never loses a delivery): the retry message or
DLQ message is sent first, then the attempt is recorded (by the caller). A crash in between means
the attempt is made again (at-least-once; receivers deduplicate on `webhook-id`), never that it is
forgotten.
"""

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar

from aws_lambda_powertools.metrics import MetricUnit

from ingest.core import operational, subscriptions_table
from ingest.core.clients import dynamodb_client, sqs_client
from ingest.core.credentials import CredentialUnreadable, credential_key
from ingest.core.deliveries_table import Attempt, DeliveryItem, record_attempt
from ingest.core.errors import DeliveryConflict, SubscriptionNotFound
from ingest.core.events_table import EventItem
from ingest.core.observability import logger, metrics
from ingest.core.queues import DeadLetter, RetryMessage, dead_letter, schedule_retry
from ingest.core.runtime import runtime
from ingest.core.settings import DeliverySettings, delivery_settings
from ingest.core.ssrf import BlockedDestination, check_url
from ingest.core.subscriptions_table import SubscriptionItem
from processors.webhooks.schedule import due_at, next_delay, parse_retry_after, parse_schedule
from processors.webhooks.signing import SigningSecrets, envelope, signed_headers
from processors.webhooks.transport import Response, Sender, TransportSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

Outcome = Literal["delivered", "gone", "retrying", "failed", "skipped"]
T = TypeVar("T")


class AttemptResult(NamedTuple):
    outcome: Outcome
    response: Response
    updated: DeliveryItem  # the delivery with this attempt, as it is to be recorded


_metrics_lock = threading.Lock()


def count(name: str) -> None:
    """Add 1 to a metric; safe from the fanout worker threads."""
    with _metrics_lock:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def transport_settings(settings: DeliverySettings) -> TransportSettings:
    return TransportSettings(
        connect_timeout=settings.webhook_connect_timeout_seconds,
        read_timeout=settings.webhook_read_timeout_seconds,
        response_cap=settings.webhook_response_cap_bytes,
        max_connections_per_host=settings.webhook_max_connections_per_host,
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deliverer:
    """What a delivery attempt needs: clients, settings, the HTTP sender, the signing secrets, a clock."""

    dynamodb: "DynamoDBClient"
    sqs: "SQSClient"
    settings: DeliverySettings
    sender: Sender
    secrets: SigningSecrets
    clock: Callable[[], datetime] = utc_now
    rng: random.Random = field(default_factory=random.Random)

    def send(self, subscription: SubscriptionItem, event: EventItem, body: str, at: datetime) -> Response:
        try:
            target = check_url(
                subscription.target_url,
                allow_loopback=self.settings.allow_loopback_webhooks,
                require_https=not self.settings.is_local,
                private_hosts=self.settings.private_webhook_hosts,
            )
        except BlockedDestination as exc:
            return Response(None, 0, error=f"BlockedDestination: {exc}")
        try:
            secrets = self.secrets.of(subscription, at)
            custom = self.secrets.headers_of(subscription)
        except CredentialUnreadable as exc:
            # The subscriber's data, not the pipeline, is broken: retried and dead-lettered like a
            # failed attempt (a rotation or a PATCH issues readable values), never blocking the stream.
            count("SigningSecretUnreadable")
            logger.error(
                "signing secret or custom header cannot be decrypted; not sent",
                extra={"subscription_id": subscription.subscription_id, "error": exc.detail},
            )
            return Response(None, 0, error=f"CredentialUnreadable: {exc.detail}")
        # The subscriber's headers never share a name with the signed ones (custom_headers refuses those).
        headers = {**custom, **signed_headers(event.event_id, body, secrets, at)}
        return self.sender.post(target, body.encode(), headers)

    def attempt(
        self,
        event: EventItem,
        subscription: SubscriptionItem,
        delivery: DeliveryItem,
        *,
        not_sent_because: str | None = None,
    ) -> AttemptResult:
        """Make attempt number `delivery.attempt_count + 1` and act on its outcome.

        What must happen before the attempt is recorded happens here (the retry message or the
        dead letter is sent, a 410 or a long failure streak disables the subscription); recording
        is the caller's: the fanout writes a batch's records together, the retry function writes
        each one conditionally (`record`). With `not_sent_because`, nothing is sent: the attempt
        fails with that reason (fanout uses it for an endpoint that already failed to answer in
        this batch).
        """
        now = self.clock()
        body = envelope(event)
        context = _context(event, subscription, delivery)
        if not_sent_because is None:
            response = self.send(subscription, event, body, now)
        else:
            response = Response(None, 0, error=f"not sent: {not_sent_because}")
        attempt = Attempt(
            at=now.isoformat(),
            status_code=response.status_code,
            latency_ms=response.latency_ms,
            error=_attempt_error(response),
        )
        logger.info(
            "webhook attempt",
            extra={
                **context,
                "status_code": response.status_code,
                "latency_ms": response.latency_ms,
                "failure": response.failure_kind,
            },
        )
        if response.ok:
            count("WebhookDelivered")
            return AttemptResult("delivered", response, delivery.after(attempt, "delivered", now))
        if response.status_code == 410:
            self._disable(subscription, "endpoint answered 410 Gone", context)
            return AttemptResult("gone", response, delivery.after(attempt, "gone", now))
        count("WebhookAttemptFailed")
        outcome, updated = self._failed(event, subscription, delivery, attempt, response, body, now, context)
        return AttemptResult(outcome, response, updated)

    def abandon(
        self, event: EventItem, subscription: SubscriptionItem, delivery: DeliveryItem, reason: str
    ) -> DeliveryItem:
        """Dead-letter a delivery without sending it (its subscription was disabled meanwhile).

        Nothing is lost: once the subscription is enabled again, a redrive of the delivery DLQ
        (`triggers dlq redrive`) gives it another attempt. Returns the delivery to record.
        """
        now = self.clock()
        attempt = Attempt(at=now.isoformat(), status_code=None, latency_ms=0, error=f"not sent: {reason}")
        context = _context(event, subscription, delivery)
        return self._dead_letter(event, delivery, attempt, envelope(event), now, reason, context)

    def pause(
        self, event: EventItem, subscription: SubscriptionItem, delivery: DeliveryItem, until: datetime
    ) -> DeliveryItem:
        """Put off attempt `delivery.attempt_count + 1` until `until` (its host's breaker is open).

        Nothing is sent and no attempt is counted (so neither the retry schedule nor the
        auto-disable streak moves): the same attempt goes back to the retry queue, due `until`, and
        keeps its webhook-id. Returns the delivery to record (fanout: `retrying`, no attempt yet).
        """
        return self._put_off(event, subscription, delivery, until, rate_slot=False)

    def defer(
        self, event: EventItem, subscription: SubscriptionItem, delivery: DeliveryItem, slot: datetime
    ) -> DeliveryItem:
        """Put off attempt `delivery.attempt_count + 1` to its rate-limit slot (reserved, so the
        message that comes back then is sent without taking another). Like a pause: nothing sent,
        no attempt counted, no failure streak; returns the delivery to record."""
        return self._put_off(event, subscription, delivery, slot, rate_slot=True)

    def _put_off(
        self,
        event: EventItem,
        subscription: SubscriptionItem,
        delivery: DeliveryItem,
        until: datetime,
        *,
        rate_slot: bool,
    ) -> DeliveryItem:
        now = self.clock()
        self._enqueue(event, subscription, delivery.attempt_count + 1, until, now, rate_slot=rate_slot)
        count("WebhookDeferred" if rate_slot else "WebhookPaused")
        logger.info(
            "webhook deferred to its rate-limit slot"
            if rate_slot
            else "webhook paused: its host's circuit is open",
            extra={**_context(event, subscription, delivery), "due_at": until.isoformat()},
        )
        return delivery.model_copy(
            update={"state": "retrying", "next_attempt_at": until.isoformat(), "updated_at": now.isoformat()}
        )

    def record(self, before: DeliveryItem, after: DeliveryItem) -> bool:
        """Write one attempt if nobody recorded it first (the retry path); False when someone did."""
        attempt = after.attempts[-1]
        try:
            record_attempt(
                self.dynamodb,
                self.settings.deliveries_table,
                event_id=before.event_id,
                subscription_id=before.subscription_id,
                attempt=attempt,
                expected_count=before.attempt_count,
                state=after.state,
                next_attempt_at=after.next_attempt_at,
                now=datetime.fromisoformat(after.updated_at),
            )
        except DeliveryConflict:
            logger.warning(
                "delivery attempt already recorded by another writer",
                extra={"event_id": before.event_id, "subscription_id": before.subscription_id},
            )
            return False
        return True

    def end_failure_streak(self, subscription: SubscriptionItem) -> None:
        """After a success: the endpoint is no longer failing (no write unless a streak was on)."""
        if subscription.failing_since is not None:
            self._subscription_call(subscriptions_table.record_success, subscription)

    def _failed(
        self,
        event: EventItem,
        subscription: SubscriptionItem,
        delivery: DeliveryItem,
        attempt: Attempt,
        response: Response,
        body: str,
        now: datetime,
        context: dict[str, object],
    ) -> tuple[Outcome, DeliveryItem]:
        # The subscription is as current as the tenant's version (fanout) or freshly read (retry):
        # a streak already on needs no write.
        failing: SubscriptionItem | None = subscription
        if subscription.failing_since is None:
            failing = self._subscription_call(subscriptions_table.record_failure, subscription, now)
        since = _failing_since(failing)
        if since is not None and (now - since).total_seconds() >= self.settings.disable_after_failing_seconds:
            reason = f"endpoint failing continuously since {since.isoformat()}"
            updated = self._dead_letter(
                event, delivery, attempt, body, now, f"subscription disabled: {reason}", context
            )
            self._disable(subscription, reason, context)
            return "failed", updated
        delay = next_delay(
            parse_schedule(self.settings.retry_schedule),
            delivery.attempt_count + 1,
            jitter_ratio=self.settings.retry_jitter_ratio,
            retry_after=parse_retry_after(response.retry_after, now),
            retry_after_cap=self.settings.retry_after_cap_seconds,
            rng=self.rng,
        )
        if delay is None:
            return "failed", self._dead_letter(
                event, delivery, attempt, body, now, "retry schedule exhausted", context
            )
        due = due_at(now, delay)
        self._enqueue(event, subscription, delivery.attempt_count + 2, due, now)
        count("WebhookRetryScheduled")
        logger.info("webhook retry scheduled", extra={**context, "due_at": due.isoformat()})
        return "retrying", delivery.after(attempt, "retrying", now, next_attempt_at=due.isoformat())

    def _enqueue(
        self,
        event: EventItem,
        subscription: SubscriptionItem,
        attempt: int,
        due: datetime,
        now: datetime,
        *,
        rate_slot: bool = False,
    ) -> None:
        """Attempt number `attempt` of this delivery onto the retry queue, due `due`."""
        message = RetryMessage(
            tenant_id=event.tenant_id,
            event_id=event.event_id,
            subscription_id=subscription.subscription_id,
            attempt=attempt,
            due_at=due,
            rate_slot=rate_slot,
        )
        schedule_retry(self.sqs, self.settings.retry_queue_url, message, now)

    def _dead_letter(
        self,
        event: EventItem,
        delivery: DeliveryItem,
        attempt: Attempt,
        body: str,
        now: datetime,
        reason: str,
        context: dict[str, object],
    ) -> DeliveryItem:
        letter = DeadLetter(
            reason=reason,
            tenant_id=event.tenant_id,
            event_id=event.event_id,
            subscription_id=delivery.subscription_id,
            target_url=delivery.target_url,
            attempts=[*delivery.attempts, attempt],
            dead_lettered_at=now.isoformat(),
        )
        dead_letter(self.sqs, self.settings.delivery_dlq_url, letter, body)
        count("WebhookDeadLettered")
        logger.warning("webhook delivery dead-lettered", extra={**context, "reason": reason})
        # An operational event's own dead letter notifies nobody: no loop of notifications.
        if not operational.is_operational(event.event_type):
            self._notify(
                event.tenant_id,
                operational.DELIVERY_EXHAUSTED,
                operational.exhausted_payload(
                    event_id=event.event_id,
                    event_type=event.event_type,
                    subscription_id=delivery.subscription_id,
                    target_url=delivery.target_url,
                    attempts=[item.model_dump() for item in letter.attempts],
                    reason=reason,
                    now=now,
                ),
                now,
            )
        return delivery.after(attempt, "failed", now)

    def _disable(self, subscription: SubscriptionItem, reason: str, context: dict[str, object]) -> None:
        if not self._subscription_call(subscriptions_table.disable, subscription, reason):
            # Deleted, or disabled meanwhile (by hand, or by another delivery): that one told.
            logger.info("subscription already disabled", extra={**context, "reason": reason})
            return
        count("SubscriptionDisabled")
        logger.warning("subscription disabled", extra={**context, "reason": reason})
        now = self.clock()
        self._notify(
            subscription.tenant_id,
            operational.SUBSCRIPTION_DISABLED,
            operational.subscription_payload(subscription, now, reason, trigger="automatic"),
            now,
        )

    def _notify(self, tenant_id: str, event_type: str, payload: dict[str, Any], now: datetime) -> None:
        """Store an operational event for the tenant (best effort: ingest.core.operational)."""
        operational.emit(
            self.dynamodb,
            self.settings.events_table,
            tenant_id,
            event_type,
            payload,
            now=now,
            retention_days=self.settings.event_retention_days,
        )

    def _subscription_call(
        self, operation: Callable[..., T], subscription: SubscriptionItem, *args: object
    ) -> T | None:
        """Update the subscription; one deleted in the meantime needs no update."""
        try:
            return operation(
                self.dynamodb,
                self.settings.subscriptions_table,
                subscription.tenant_id,
                subscription.subscription_id,
                *args,
            )
        except SubscriptionNotFound:
            return None


def _context(event: EventItem, subscription: SubscriptionItem, delivery: DeliveryItem) -> dict[str, object]:
    return {
        "event_id": event.event_id,
        "subscription_id": subscription.subscription_id,
        "tenant_id": event.tenant_id,
        "attempt": delivery.attempt_count + 1,
    }


def _attempt_error(response: Response) -> str | None:
    if response.error is not None:
        return response.error
    if response.ok:
        return None
    return (
        f"HTTP {response.status_code}: {response.body}" if response.body else f"HTTP {response.status_code}"
    )


def _failing_since(subscription: SubscriptionItem | None) -> datetime | None:
    if subscription is None or subscription.failing_since is None:
        return None
    since = datetime.fromisoformat(subscription.failing_since)
    return since if since.tzinfo else since.replace(tzinfo=UTC)


@runtime.cached
def default_deliverer() -> Deliverer:
    """The process-wide deliverer (clients and connection pools reused across invocations)."""
    settings = delivery_settings()
    return Deliverer(
        dynamodb_client(),
        sqs_client(),
        settings,
        Sender(transport_settings(settings)),
        SigningSecrets(credential_key(settings.secrets_key_id)),
    )
