"""Operational events: what the pipeline tells a tenant about its own subscriptions.

`subscription.disabled` (a 410, an endpoint failing for too long, or the disable route: its
`trigger` says which), `subscription.enabled` (the enable route) and `delivery.exhausted` (a
delivery dead-lettered) are written into the tenant's events table like any event (source
`triggers`), so the fan-out delivers them, signed, with retries, to the subscriptions that list
the type by name (`*` does not take them, as Svix sends its operational webhooks to endpoints of
their own). A delivery of an operational event that is dead-lettered emits nothing, so an
operational event never causes another one in a loop.
Producers cannot post these types, nor put them in the catalog. See docs/webhooks.md.

Emitting is best effort: the delivery or the call that caused it has happened, and does not fail
because its notification could not be stored; that is logged and counted
(`OperationalEventsLost`), never retried in a loop.
"""

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from ingest.core import events_table
from ingest.core.errors import StoreUnavailable
from ingest.core.events_table import EventItem
from ingest.core.ids import isoformat, new_event_id
from ingest.core.models import OPERATIONAL_TYPES
from ingest.core.observability import logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from ingest.core.subscriptions_table import SubscriptionItem

SOURCE = "triggers"
SUBSCRIPTION_DISABLED = "subscription.disabled"
SUBSCRIPTION_ENABLED = "subscription.enabled"
DELIVERY_EXHAUSTED = "delivery.exhausted"
DisableTrigger = Literal["manual", "automatic"]


def is_operational(event_type: str) -> bool:
    return event_type in OPERATIONAL_TYPES


def operational_item(
    tenant_id: str, event_type: str, payload: dict[str, Any], now: datetime, retention_days: int
) -> EventItem:
    return EventItem(
        tenant_id=tenant_id,
        event_id=new_event_id(now),
        event_type=event_type,
        source=SOURCE,
        occurred_at=isoformat(now),
        received_at=isoformat(now),
        payload=json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
        expires_at=int((now + timedelta(days=retention_days)).timestamp()),
    )


def emit(
    client: "DynamoDBClient",
    table: str,
    tenant_id: str,
    event_type: str,
    payload: dict[str, Any],
    *,
    now: datetime,
    retention_days: int,
) -> str | None:
    """Store one operational event; its id, or None when the store refused it (logged, counted)."""
    item = operational_item(tenant_id, event_type, payload, now, retention_days)
    try:
        events_table.put_event(client, table, item)
    except StoreUnavailable as exc:
        with single_metric(
            name="OperationalEventsLost", unit=MetricUnit.Count, value=1, namespace=metrics.namespace
        ) as metric:
            metric.add_dimension(name="event_type", value=event_type)
        logger.error(
            "operational event not stored",
            extra={"tenant_id": tenant_id, "event_type": event_type, "error": exc.detail},
        )
        return None
    logger.info(
        "operational event stored",
        extra={"tenant_id": tenant_id, "event_type": event_type, "event_id": item.event_id},
    )
    return item.event_id


def subscription_payload(
    subscription: "SubscriptionItem",
    now: datetime,
    reason: str | None = None,
    *,
    trigger: DisableTrigger | None = None,
) -> dict[str, Any]:
    """The payload of `subscription.disabled` / `subscription.enabled`. A disable says what
    triggered it (as Svix's `endpoint.disabled` does): `automatic` (a 410, or failing for too
    long) or `manual` (the disable route)."""
    payload: dict[str, Any] = {
        "subscription_id": subscription.subscription_id,
        "target_url": subscription.target_url,
        "event_types": list(subscription.event_types),
        "at": isoformat(now),
    }
    if reason is not None:
        payload["reason"] = reason
    if trigger is not None:
        payload["trigger"] = trigger
    return payload


def exhausted_payload(
    *,
    event_id: str,
    event_type: str,
    subscription_id: str,
    target_url: str,
    attempts: list[dict[str, Any]],
    reason: str,
    now: datetime,
) -> dict[str, Any]:
    """The payload of `delivery.exhausted`: which delivery, why, and its last attempt."""
    return {
        "event_id": event_id,
        "event_type": event_type,
        "subscription_id": subscription_id,
        "target_url": target_url,
        "reason": reason,
        "attempt_count": len(attempts),
        "last_attempt": attempts[-1] if attempts else None,
        "at": isoformat(now),
    }
