"""Data access for the `events` table: the only module that knows its item shape and indexes."""

import base64
import binascii
import contextvars
import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from ingest.core.batching import batch_get, batch_put
from ingest.core.errors import EventNotFound, MalformedRequest, StoreUnavailable
from ingest.core.ids import highest_id_at, lowest_id_at
from ingest.core.models import EventStatus
from ingest.core.rawjson import with_raw_member

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TYPE_INDEX = "EventTypeIndex"
STATUS_INDEX = "StatusIndex"
STATUS_WORKERS = 8
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class EventItem(BaseModel):
    """An event as stored. `payload` is the producer's JSON text, byte for byte."""

    tenant_id: str
    event_id: str
    event_type: str
    source: str | None = None
    occurred_at: str | None = None
    received_at: str
    payload: str
    status: EventStatus = "pending"
    rev: int = 1
    expires_at: int

    def to_ddb(self) -> dict[str, Any]:
        item = self.model_dump(exclude_none=True)
        item["type_key"] = f"{self.event_type}#{self.event_id}"
        item["status_key"] = f"{self.status}#{self.event_id}"
        return {name: _serializer.serialize(value) for name, value in item.items()}

    @classmethod
    def from_ddb(cls, item: dict[str, Any]) -> "EventItem":
        return cls.model_validate({name: _deserializer.deserialize(value) for name, value in item.items()})

    def to_json(self) -> str:
        """The API representation, splicing in the stored payload text unchanged."""
        meta = {
            "id": self.event_id,
            "event_type": self.event_type,
            "source": self.source,
            "occurred_at": self.occurred_at,
            "received_at": self.received_at,
            "status": self.status,
            "rev": self.rev,
        }
        return with_raw_member(meta, "payload", self.payload)


@dataclass(frozen=True)
class EventQuery:
    event_type: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    cursor: str | None = None


@dataclass(frozen=True)
class EventPage:
    items: list[EventItem]
    next_cursor: str | None

    def to_json(self) -> str:
        cursor = json.dumps(self.next_cursor)
        return (
            '{"data":[' + ",".join(item.to_json() for item in self.items) + '],"next_cursor":' + cursor + "}"
        )


def _unavailable(operation: str, exc: Exception) -> StoreUnavailable:
    return StoreUnavailable(f"events table {operation} failed: {type(exc).__name__}")


def put_events(client: "DynamoDBClient", table: str, items: Sequence[EventItem]) -> None:
    """Write up to 25 events in one BatchWriteItem, retrying unprocessed items with backoff."""
    batch_put(client, table, [item.to_ddb() for item in items], "events table")


def put_missing_events(client: "DynamoDBClient", table: str, items: Sequence[EventItem]) -> int:
    """Write those of `items` that are not stored (one consistent BatchGetItem of their keys, then
    a conditional PutItem each, so an item stored meanwhile is left as it is); how many it wrote."""
    keys = [{"tenant_id": {"S": item.tenant_id}, "event_id": {"S": item.event_id}} for item in items]
    found = batch_get(client, table, keys, "events table", projection=("tenant_id", "event_id"))
    stored = {(key["tenant_id"]["S"], key["event_id"]["S"]) for key in found}
    written = 0
    for item in items:
        if (item.tenant_id, item.event_id) in stored:
            continue
        try:
            client.put_item(
                TableName=table,
                Item=item.to_ddb(),
                ConditionExpression="attribute_not_exists(event_id)",
            )
        except client.exceptions.ConditionalCheckFailedException:
            continue
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable("write", exc) from exc
        written += 1
    return written


def put_event(client: "DynamoDBClient", table: str, item: EventItem) -> None:
    """Write one new event (PutItem; its id is fresh, so nothing is overwritten)."""
    try:
        client.put_item(
            TableName=table, Item=item.to_ddb(), ConditionExpression="attribute_not_exists(event_id)"
        )
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("write", exc) from exc


def get_event(client: "DynamoDBClient", table: str, tenant_id: str, event_id: str) -> EventItem:
    try:
        response = client.get_item(
            TableName=table,
            Key={"tenant_id": {"S": tenant_id}, "event_id": {"S": event_id}},
            ConsistentRead=True,
        )
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("read", exc) from exc
    if "Item" not in response:
        raise EventNotFound(f"no event {event_id}")
    return EventItem.from_ddb(response["Item"])


def scan_events(
    client: "DynamoDBClient", table: str, tenant_id: str | None = None, page_size: int = 100
) -> Iterator[list[EventItem]]:
    """Every event, or one tenant's, a page at a time, read consistently (for re-indexing)."""
    params: dict[str, Any] = {"TableName": table, "Limit": page_size, "ConsistentRead": True}
    if tenant_id is not None:
        params["KeyConditionExpression"] = "tenant_id = :tenant"
        params["ExpressionAttributeValues"] = {":tenant": {"S": tenant_id}}
    while True:
        try:
            response = client.query(**params) if tenant_id is not None else client.scan(**params)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable("scan", exc) from exc
        yield [EventItem.from_ddb(item) for item in response.get("Items", [])]
        last_key = response.get("LastEvaluatedKey")
        if not last_key:
            return
        params["ExclusiveStartKey"] = last_key


def encode_cursor(last_key: dict[str, Any]) -> str:
    plain = {name: _deserializer.deserialize(value) for name, value in last_key.items()}
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode()


_PAGE_KEYS: dict[str | None, frozenset[str]] = {
    None: frozenset({"tenant_id", "event_id"}),
    TYPE_INDEX: frozenset({"tenant_id", "event_id", "type_key"}),
    STATUS_INDEX: frozenset({"tenant_id", "event_id", "status_key"}),
}


def decode_cursor(cursor: str, tenant_id: str, index: str | None = None) -> dict[str, Any]:
    """The start key a cursor encodes, if it was issued to `tenant_id` for a query on `index`."""
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequest("cursor is not one this API issued") from exc
    if not isinstance(plain, dict) or plain.get("tenant_id") != tenant_id:
        raise MalformedRequest("cursor is not one this API issued")
    if set(plain) != _PAGE_KEYS[index] or not all(isinstance(value, str) for value in plain.values()):
        raise MalformedRequest("cursor belongs to another query")
    return {name: {"S": value} for name, value in plain.items()}


def _id_range(query: EventQuery) -> tuple[str, str] | None:
    if query.since is None and query.until is None:
        return None
    # ULIDs cannot encode times before the epoch: such bounds mean "from the beginning".
    low = lowest_id_at(max(query.since, EPOCH)) if query.since else "0" * 26
    high = highest_id_at(max(query.until, EPOCH)) if query.until else "7" + "Z" * 25
    return low, high


def list_events(client: "DynamoDBClient", table: str, tenant_id: str, query: EventQuery) -> EventPage:
    """A tenant's events, newest first, by type and/or time range, one page at a time."""
    values: dict[str, Any] = {":tenant": {"S": tenant_id}}
    id_range = _id_range(query)
    if query.event_type is not None:
        index: str | None = TYPE_INDEX
        prefix = f"{query.event_type}#"
        if id_range:
            condition = "tenant_id = :tenant AND type_key BETWEEN :low AND :high"
            values[":low"] = {"S": prefix + id_range[0]}
            values[":high"] = {"S": prefix + id_range[1]}
        else:
            condition = "tenant_id = :tenant AND begins_with(type_key, :prefix)"
            values[":prefix"] = {"S": prefix}
    else:
        index = None
        if id_range:
            condition = "tenant_id = :tenant AND event_id BETWEEN :low AND :high"
            values[":low"], values[":high"] = {"S": id_range[0]}, {"S": id_range[1]}
        else:
            condition = "tenant_id = :tenant"
    return _query(client, table, tenant_id, index, condition, values, query, newest_first=True)


def list_inbox(client: "DynamoDBClient", table: str, tenant_id: str, query: EventQuery) -> EventPage:
    """Pending events, oldest first: the polling path for consumers without webhooks."""
    values: dict[str, Any] = {":tenant": {"S": tenant_id}, ":prefix": {"S": "pending#"}}
    condition = "tenant_id = :tenant AND begins_with(status_key, :prefix)"
    return _query(client, table, tenant_id, STATUS_INDEX, condition, values, query, newest_first=False)


def _query(
    client: "DynamoDBClient",
    table: str,
    tenant_id: str,
    index: str | None,
    condition: str,
    values: dict[str, Any],
    query: EventQuery,
    *,
    newest_first: bool,
) -> EventPage:
    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": not newest_first,
        "Limit": query.limit,
    }
    if index:
        params["IndexName"] = index
    filters = []
    if query.source is not None:
        filters.append("#source = :source")
        values[":source"] = {"S": query.source}
        params["ExpressionAttributeNames"] = {"#source": "source"}
    if index != TYPE_INDEX and query.event_type is not None:
        filters.append("event_type = :event_type")
        values[":event_type"] = {"S": query.event_type}
    if filters:
        params["FilterExpression"] = " AND ".join(filters)
    if query.cursor:
        params["ExclusiveStartKey"] = decode_cursor(query.cursor, tenant_id, index)
    try:
        response = client.query(**params)
    except ClientError as exc:
        # DynamoDB rejects a start key outside the key condition (a cursor from another filter).
        if query.cursor and exc.response.get("Error", {}).get("Code") == "ValidationException":
            raise MalformedRequest("cursor belongs to another query") from exc
        raise _unavailable("query", exc) from exc
    except BotoCoreError as exc:
        raise _unavailable("query", exc) from exc
    items = [EventItem.from_ddb(item) for item in response.get("Items", [])]
    last_key = response.get("LastEvaluatedKey")
    return EventPage(items, encode_cursor(last_key) if last_key else None)


def set_status(
    client: "DynamoDBClient", table: str, tenant_id: str, event_id: str, status: EventStatus
) -> EventItem:
    """Change an event's status and bump `rev` (the indexer's external version)."""
    try:
        response = client.update_item(
            TableName=table,
            Key={"tenant_id": {"S": tenant_id}, "event_id": {"S": event_id}},
            UpdateExpression="SET #status = :status, status_key = :status_key, rev = rev + :one",
            ConditionExpression="attribute_exists(event_id)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":status": {"S": status},
                ":status_key": {"S": f"{status}#{event_id}"},
                ":one": {"N": "1"},
            },
            ReturnValues="ALL_NEW",
        )
    except client.exceptions.ConditionalCheckFailedException as exc:
        raise EventNotFound(f"no event {event_id}") from exc
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("update", exc) from exc
    return EventItem.from_ddb(response["Attributes"])


def mark_delivered(client: "DynamoDBClient", table: str, keys: Sequence[tuple[str, str]]) -> None:
    """Move `pending` events (tenant_id, event_id) to `delivered`, bumping `rev`.

    The one place an event becomes delivered (fanout, retry). An event that is no longer pending
    (delivered already, acknowledged) or no longer exists is left as it is. One conditional
    UpdateItem per event, sent concurrently: 1 WCU each, where a transaction would cost 2 (and
    the local stack's moto copies the whole table for every transaction).
    """
    unique = list(dict.fromkeys(keys))
    if not unique:
        return
    with ThreadPoolExecutor(max_workers=min(STATUS_WORKERS, len(unique))) as pool:
        # In copies of the caller's context, so its log keys (and local accounting) follow.
        futures = [
            pool.submit(contextvars.copy_context().run, _mark_one, client, table, tenant_id, event_id)
            for tenant_id, event_id in unique
        ]
        failures = [error for future in futures if (error := future.result())]
    if failures:
        raise failures[0]


def _mark_one(client: "DynamoDBClient", table: str, tenant_id: str, event_id: str) -> StoreUnavailable | None:
    try:
        client.update_item(
            TableName=table,
            Key={"tenant_id": {"S": tenant_id}, "event_id": {"S": event_id}},
            UpdateExpression="SET #status = :delivered, status_key = :status_key, rev = rev + :one",
            ConditionExpression="#status = :pending",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":delivered": {"S": "delivered"},
                ":pending": {"S": "pending"},
                ":status_key": {"S": f"delivered#{event_id}"},
                ":one": {"N": "1"},
            },
        )
    except client.exceptions.ConditionalCheckFailedException:
        return None
    except (ClientError, BotoCoreError) as exc:
        return _unavailable("update", exc)
    return None


def delete_event(client: "DynamoDBClient", table: str, tenant_id: str, event_id: str) -> None:
    try:
        client.delete_item(
            TableName=table,
            Key={"tenant_id": {"S": tenant_id}, "event_id": {"S": event_id}},
            ConditionExpression="attribute_exists(event_id)",
        )
    except client.exceptions.ConditionalCheckFailedException as exc:
        raise EventNotFound(f"no event {event_id}") from exc
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("delete", exc) from exc
