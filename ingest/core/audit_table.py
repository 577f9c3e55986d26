"""Data access for the `audit` table: who changed what, when, for each tenant.

PK `tenant_id`, SK `audit_id` (a ULID: a tenant's records sort by time). Each record names the
actor (the API key id of the request, `cli:<user>` for an operator's command, `system:<function>`
for a change a function makes on its own), the action (`subscription.create`...), the resource
(type and id), and `before`/`after`: ids and status fields only. A field whose name says it holds
a secret or a key is refused here (ValueError), so no caller can store one by mistake. Records
expire after the retention the caller passes (DynamoDB TTL on `expires_at`).

A change is recorded after it is made, best effort: a record that cannot be written is logged at
ERROR with everything it holds (so it survives in the function's logs) and counted in the
`AuditWriteFailed` metric; the change itself stands (docs/decisions.md, "Audit trail").
"""

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from ingest.core.errors import MalformedRequest, StoreUnavailable
from ingest.core.ids import highest_id_at, isoformat, lowest_id_at, new_event_id
from ingest.core.observability import logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ACTIONS = (
    "subscription.create",
    "subscription.update",
    "subscription.delete",
    "subscription.enable",
    "subscription.disable",
    "subscription.rotate_secret",
    "subscription.replay",
    "subscription.recover",
    "event_type.create",
    "event_type.update",
    "event_type.delete",
    "delivery.redrive",
    "api_key.create",
    "api_key.revoke",
    "limits.update",
)
ACTION_PATTERN = r"^[a-z_]+\.[a-z_]+$"
# Field names that could carry a secret: never stored in `before`/`after`.
SECRET_FIELD = re.compile(r"secret|ciphertext|key_hash|api_key|password|token|credential", re.IGNORECASE)
MAX_FIELD_CHARS = 2048

FieldValue = str | int | bool | list[str] | None
# What a caller passes as `before`/`after` (any mapping); stored and returned as a dict.
Fields = Mapping[str, FieldValue]


class AuditRecord(BaseModel):
    """One recorded change, as stored and as `GET /v1/audit` returns it."""

    model_config = ConfigDict(defer_build=True)

    id: str = Field(description="Record id (a ULID: records sort by time)")
    at: str = Field(description="When the change was made (UTC)")
    actor: str = Field(
        description="Who made it: an API key id (16 hex), `cli:<user>` (an operator's command) or "
        "`system:<function>`"
    )
    action: str = Field(description="What was done, e.g. `subscription.create`, `api_key.revoke`")
    resource_type: str = Field(description="`subscription`, `api_key`, `delivery`")
    resource_id: str
    before: dict[str, FieldValue] | None = Field(
        description="The resource's ids and status fields before (null: created)"
    )
    after: dict[str, FieldValue] | None = Field(description="The same fields after (null: deleted)")
    request_id: str | None = Field(description="The API request that made the change, if any")


class AuditPage(BaseModel):
    model_config = ConfigDict(defer_build=True)

    data: list[AuditRecord]
    next_cursor: str | None = Field(description="Pass as `cursor` to fetch the next page; null at the end")


@dataclass(frozen=True)
class AuditLog:
    """Where a process records changes: the table and how long records are kept."""

    client: "DynamoDBClient"
    table: str
    retention_days: int


@dataclass(frozen=True)
class AuditQuery:
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    cursor: str | None = None


def _checked(fields: Fields | None) -> dict[str, FieldValue] | None:
    if fields is None:
        return None
    for name, value in fields.items():
        if SECRET_FIELD.search(name):
            raise ValueError(f"audit records never hold secrets: field {name!r} refused")
        if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
            raise ValueError(f"audit field {name!r} is longer than {MAX_FIELD_CHARS} characters")
    return dict(fields)


def record_change(
    audit: AuditLog | None,
    *,
    tenant_id: str,
    actor: str,
    action: str,
    resource_type: str,
    resource_id: str,
    before: Fields | None = None,
    after: Fields | None = None,
    request_id: str | None = None,
    now: datetime | None = None,
) -> AuditRecord:
    """Record one change of `tenant_id`'s `resource_type` `resource_id`, made by `actor`.

    Best effort (see the module docstring): a failed write is logged at ERROR with the record and
    counted, never raised. `audit` None (a tool run without an audit table) logs the record only.
    Raises ValueError when `before`/`after` name a field that may hold a secret.
    """
    at = now or datetime.now(UTC)
    record = AuditRecord(
        id=new_event_id(at),
        at=isoformat(at),
        actor=actor,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        before=_checked(before),
        after=_checked(after),
        request_id=request_id,
    )
    if audit is None:
        logger.warning("audit record not stored (no audit table)", extra={"audit": record.model_dump()})
        return record
    item: dict[str, Any] = {
        "tenant_id": {"S": tenant_id},
        "audit_id": {"S": record.id},
        "at": {"S": record.at},
        "actor": {"S": actor},
        "action": {"S": action},
        "resource_type": {"S": resource_type},
        "resource_id": {"S": resource_id},
        "before": {"S": json.dumps(record.before)},
        "after": {"S": json.dumps(record.after)},
        "expires_at": {"N": str(int((at + timedelta(days=audit.retention_days)).timestamp()))},
    }
    if request_id:
        item["request_id"] = {"S": request_id}
    try:
        audit.client.put_item(TableName=audit.table, Item=item)
    except (ClientError, BotoCoreError) as exc:
        logger.error(
            "audit record lost: write failed",
            extra={"audit": record.model_dump(), "tenant_id": tenant_id, "error": type(exc).__name__},
        )
        with single_metric(
            name="AuditWriteFailed", unit=MetricUnit.Count, value=1, namespace=metrics.namespace
        ):
            pass
    return record


def _from_ddb(item: dict[str, Any]) -> AuditRecord:
    return AuditRecord(
        id=item["audit_id"]["S"],
        at=item["at"]["S"],
        actor=item["actor"]["S"],
        action=item["action"]["S"],
        resource_type=item["resource_type"]["S"],
        resource_id=item["resource_id"]["S"],
        before=json.loads(item["before"]["S"]),
        after=json.loads(item["after"]["S"]),
        request_id=item.get("request_id", {}).get("S"),
    )


def _encode_cursor(last_key: dict[str, Any]) -> str:
    plain = {"tenant_id": last_key["tenant_id"]["S"], "audit_id": last_key["audit_id"]["S"]}
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode()


def _decode_cursor(cursor: str, tenant_id: str) -> dict[str, Any]:
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequest("cursor is not one this API issued") from exc
    if (
        not isinstance(plain, dict)
        or set(plain) != {"tenant_id", "audit_id"}
        or plain.get("tenant_id") != tenant_id
        or not isinstance(plain.get("audit_id"), str)
    ):
        raise MalformedRequest("cursor is not one this API issued")
    return {"tenant_id": {"S": tenant_id}, "audit_id": {"S": plain["audit_id"]}}


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def list_changes(client: "DynamoDBClient", table: str, tenant_id: str, query: AuditQuery) -> AuditPage:
    """A tenant's audit records, newest first, by action and time range, one page at a time.

    With `action`, a page holds the matching records among the next `limit` read, so it may be
    short (even empty) while `next_cursor` is not null, as with the event list's filters."""
    low = lowest_id_at(max(query.since, EPOCH)) if query.since else "0" * 26
    high = highest_id_at(max(query.until, EPOCH)) if query.until else "7" + "Z" * 25
    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "tenant_id = :tenant AND audit_id BETWEEN :low AND :high",
        "ExpressionAttributeValues": {":tenant": {"S": tenant_id}, ":low": {"S": low}, ":high": {"S": high}},
        "ScanIndexForward": False,
        "Limit": query.limit,
    }
    if query.action is not None:
        params["FilterExpression"] = "#action = :action"
        params["ExpressionAttributeNames"] = {"#action": "action"}
        params["ExpressionAttributeValues"][":action"] = {"S": query.action}
    if query.cursor:
        params["ExclusiveStartKey"] = _decode_cursor(query.cursor, tenant_id)
    try:
        response = client.query(**params)
    except ClientError as exc:
        if query.cursor and exc.response.get("Error", {}).get("Code") == "ValidationException":
            raise MalformedRequest("cursor belongs to another query") from exc
        raise StoreUnavailable(f"audit table query failed: {type(exc).__name__}") from exc
    except BotoCoreError as exc:
        raise StoreUnavailable(f"audit table query failed: {type(exc).__name__}") from exc
    last_key = response.get("LastEvaluatedKey")
    return AuditPage(
        data=[_from_ddb(item) for item in response.get("Items", [])],
        next_cursor=_encode_cursor(last_key) if last_key else None,
    )


def scan_changes(client: "DynamoDBClient", table: str, query: AuditQuery) -> list[tuple[str, AuditRecord]]:
    """Every tenant's records (an operator's view, by Scan), newest first, at most `query.limit`."""
    conditions, values, names = [], {}, {}
    if query.action is not None:
        conditions.append("#action = :action")
        values[":action"] = {"S": query.action}
        names["#action"] = "action"
    if query.since is not None:
        conditions.append("audit_id >= :low")
        values[":low"] = {"S": lowest_id_at(max(query.since, EPOCH))}
    if query.until is not None:
        conditions.append("audit_id <= :high")
        values[":high"] = {"S": highest_id_at(max(query.until, EPOCH))}
    params: dict[str, Any] = {"TableName": table}
    if conditions:
        params["FilterExpression"] = " AND ".join(conditions)
        params["ExpressionAttributeValues"] = values
    if names:
        params["ExpressionAttributeNames"] = names
    try:
        items = [item for page in client.get_paginator("scan").paginate(**params) for item in page["Items"]]
    except (ClientError, BotoCoreError) as exc:
        raise StoreUnavailable(f"audit table scan failed: {type(exc).__name__}") from exc
    items.sort(key=lambda item: item["audit_id"]["S"], reverse=True)
    return [(item["tenant_id"]["S"], _from_ddb(item)) for item in items[: query.limit]]


__all__ = [
    "ACTIONS",
    "AuditLog",
    "AuditPage",
    "AuditQuery",
    "AuditRecord",
    "list_changes",
    "record_change",
    "scan_changes",
]
