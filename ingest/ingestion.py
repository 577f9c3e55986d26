"""Turning a request body into stored events: parse, validate, size-check, write.

A request without `Idempotency-Key` gets fresh ids and one BatchWriteItem (`store_events`). With
a key, the ids and the receipt time are decided first and kept in the idempotency record
(`plan_events`), and only then written (`store_planned`): a retry with the same key and body
gets the same plan back and writes what is still missing under the same ids, so a batch that
was stored in part is completed, never duplicated (docs/decisions.md, "Batches").
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ingest.core.errors import BatchTooLarge, MalformedRequest, PayloadTooLarge, ValidationFailed, field_error
from ingest.core.events_table import EventItem, put_events, put_missing_events
from ingest.core.ids import isoformat, new_event_id
from ingest.core.models import MAX_BATCH, AcceptedBatch, AcceptedEvent, EventIn
from ingest.core.rawjson import MalformedJSON, RawObject, parse_objects
from ingest.core.settings import IngestSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def parse_events(body: str, settings: IngestSettings) -> tuple[list[tuple[EventIn, str]], bool]:
    """Validate a request body: returns (event, exact payload text) pairs and whether it was a batch.

    Raises a TriggersError subclass describing the first class of problem found; nothing is
    written by this function.
    """
    if len(body.encode()) > settings.max_body_bytes:
        raise PayloadTooLarge(f"request body exceeds {settings.max_body_bytes} bytes")
    try:
        objects, is_batch = parse_objects(body)
    except MalformedJSON as exc:
        raise MalformedRequest(f"request body {exc}") from exc
    if is_batch and not objects:
        raise ValidationFailed(
            "a batch must contain at least one event",
            errors=[{"field": "body", "message": "must contain at least one event"}],
        )
    if len(objects) > MAX_BATCH:
        raise BatchTooLarge(f"a batch holds at most {MAX_BATCH} events, got {len(objects)}")

    events: list[tuple[EventIn, str]] = []
    errors: list[dict[str, Any]] = []
    oversized: list[str] = []
    for position, obj in enumerate(objects):
        prefix: tuple[Any, ...] = (position,) if is_batch else ()
        event = _validate_one(obj, prefix, errors)
        if event is None:
            continue
        payload_text = obj.raw["payload"]
        if len(payload_text.encode()) > settings.max_payload_bytes:
            oversized.append(".".join(str(part) for part in (*prefix, "payload")))
            continue
        events.append((event, payload_text))
    if errors:
        raise ValidationFailed(f"{len(errors)} invalid field(s): {errors[0]['field']}", errors=errors)
    if oversized:
        raise PayloadTooLarge(
            f"payload exceeds {settings.max_payload_bytes} bytes: {', '.join(oversized)}",
            limit_bytes=settings.max_payload_bytes,
        )
    return events, is_batch


def _validate_one(obj: RawObject, prefix: tuple[Any, ...], errors: list[dict[str, Any]]) -> EventIn | None:
    if not obj.is_object:
        errors.append({"field": ".".join(map(str, prefix)) or "body", "message": "must be a JSON object"})
        return None
    try:
        return EventIn.model_validate(obj.values)
    except ValidationError as exc:
        errors.extend(field_error(error, prefix) for error in exc.errors(include_url=False))
        return None


def build_items(
    tenant_id: str,
    events: Sequence[tuple[EventIn, str]],
    settings: IngestSettings,
    now: datetime,
    ids: Sequence[str] | None = None,
) -> list[EventItem]:
    """Stored items for validated events, received at `now`; new ids ascend in request order
    (`ids` gives them instead, as a plan recorded them)."""
    event_ids = list(ids) if ids is not None else sorted(new_event_id(now) for _ in events)
    expires_at = int((now + timedelta(days=settings.event_retention_days)).timestamp())
    return [
        EventItem(
            tenant_id=tenant_id,
            event_id=event_id,
            event_type=event.event_type,
            source=event.source,
            occurred_at=isoformat(event.occurred_at) if event.occurred_at else None,
            received_at=isoformat(now),
            payload=payload_text,
            expires_at=expires_at,
        )
        for event_id, (event, payload_text) in zip(event_ids, events, strict=True)
    ]


def accepted(items: Sequence[EventItem]) -> list[AcceptedEvent]:
    return [
        AcceptedEvent(
            id=item.event_id, event_type=item.event_type, received_at=item.received_at, status=item.status
        )
        for item in items
    ]


def store_events(
    client: "DynamoDBClient", settings: IngestSettings, tenant_id: str, events: Sequence[tuple[EventIn, str]]
) -> list[AcceptedEvent]:
    """Write a request's events under new ids (no Idempotency-Key): all of them, or a 503."""
    items = build_items(tenant_id, events, settings, datetime.now(UTC))
    put_events(client, settings.events_table, items)
    return accepted(items)


def plan_events(
    tenant_id: str, events: Sequence[tuple[EventIn, str]], settings: IngestSettings, now: datetime
) -> AcceptedBatch:
    """The ids and receipt time of a keyed request's events, decided before anything is written."""
    return AcceptedBatch(data=accepted(build_items(tenant_id, events, settings, now)))


def store_planned(
    client: "DynamoDBClient",
    settings: IngestSettings,
    tenant_id: str,
    events: Sequence[tuple[EventIn, str]],
    plan: AcceptedBatch,
    *,
    retry: bool,
) -> int:
    """Write the events of `plan`; how many this call stored.

    The first attempt writes them all with one BatchWriteItem. A retry (the plan came back from
    the idempotency record) writes only those not stored yet, each conditionally, so an event
    an earlier attempt stored, and that may have moved on since, is never overwritten.
    """
    received_at = datetime.fromisoformat(plan.data[0].received_at)
    items = build_items(tenant_id, events, settings, received_at, [event.id for event in plan.data])
    if not retry:
        put_events(client, settings.events_table, items)
        return len(items)
    return put_missing_events(client, settings.events_table, items)
