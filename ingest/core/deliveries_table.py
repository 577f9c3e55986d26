"""Data access for the `deliveries` table: one item per (event, subscription).

The conditional writes here are what make webhook delivery idempotent: a delivery is claimed
only while no attempt has been recorded for it, and every attempt is recorded only if the
attempt count is still the one the writer read, so a retried stream batch or a duplicated
retry message never records (or re-sends) a delivery twice.
"""

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from ingest.core.batching import batch_get, batch_put
from ingest.core.errors import DeliveryConflict, DeliveryNotFound, MalformedRequest, StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SUBSCRIPTION_INDEX = "SubscriptionIndex"

# `held`: waiting behind an earlier event of a strict-ordering subscription (ingest/core/lanes_table.py).
DeliveryState = Literal["pending", "held", "delivered", "retrying", "failed", "gone"]
TERMINAL_STATES: tuple[DeliveryState, ...] = ("delivered", "failed", "gone")

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class Attempt(BaseModel):
    """One HTTP attempt. `status_code` is None when no response came back (timeout, refused...)."""

    at: str
    status_code: int | None = None
    latency_ms: int
    error: str | None = None


class DeliveryItem(BaseModel):
    event_id: str
    subscription_id: str
    tenant_id: str
    target_url: str
    state: DeliveryState = "pending"
    attempts: list[Attempt] = []
    attempt_count: int = 0
    next_attempt_at: str | None = None
    created_at: str
    updated_at: str
    expires_at: int
    # Went through a strict-ordering lane (ingest/core/lanes_table.py): its end releases the next
    # event of the lane, even if the subscription's ordering changed meanwhile.
    lane: bool | None = None

    @classmethod
    def from_ddb(cls, item: dict[str, Any]) -> "DeliveryItem":
        return cls.model_validate({name: _deserializer.deserialize(value) for name, value in item.items()})

    @classmethod
    def new(
        cls,
        *,
        tenant_id: str,
        event_id: str,
        subscription_id: str,
        target_url: str,
        now: datetime,
        expires_at: int,
    ) -> "DeliveryItem":
        stamp = now.isoformat()
        return cls(
            event_id=event_id,
            subscription_id=subscription_id,
            tenant_id=tenant_id,
            target_url=target_url,
            created_at=stamp,
            updated_at=stamp,
            expires_at=expires_at,
        )

    def to_ddb(self) -> dict[str, Any]:
        return {
            name: _serializer.serialize(value) for name, value in self.model_dump(exclude_none=True).items()
        }

    def after(
        self, attempt: Attempt, state: DeliveryState, now: datetime, next_attempt_at: str | None = None
    ) -> "DeliveryItem":
        """This delivery once `attempt` is recorded: what `record_attempt` writes, as a value."""
        return self.model_copy(
            update={
                "attempts": [*self.attempts, attempt],
                "attempt_count": self.attempt_count + 1,
                "state": state,
                "next_attempt_at": next_attempt_at,
                "updated_at": now.isoformat(),
            }
        )

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES


def _unavailable(operation: str, exc: Exception) -> StoreUnavailable:
    return StoreUnavailable(f"deliveries table {operation} failed: {type(exc).__name__}")


def _key(event_id: str, subscription_id: str) -> dict[str, Any]:
    return {"event_id": {"S": event_id}, "subscription_id": {"S": subscription_id}}


def get_many(
    client: "DynamoDBClient", table: str, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], DeliveryItem]:
    """The deliveries that exist among (event_id, subscription_id) `keys`, read consistently.

    This is how a retried stream batch learns what an earlier invocation already recorded.
    """
    wanted = [_key(event_id, subscription_id) for event_id, subscription_id in dict.fromkeys(keys)]
    items = [DeliveryItem.from_ddb(raw) for raw in batch_get(client, table, wanted, "deliveries table")]
    return {(item.event_id, item.subscription_id): item for item in items}


def put_many(client: "DynamoDBClient", table: str, items: Sequence[DeliveryItem]) -> None:
    """Write delivery records with BatchWriteItem (25 per request), retrying unprocessed ones.

    Unconditional: a stream shard is processed by one invocation at a time and a retried batch
    reads its records back first (`get_many`), so the fanout never races itself for one record.
    """
    batch_put(client, table, [item.to_ddb() for item in items], "deliveries table")


def claim_attempt(
    client: "DynamoDBClient",
    table: str,
    delivery: DeliveryItem,
    *,
    now: datetime,
    lease_seconds: float,
) -> DeliveryItem | None:
    """Lease attempt `delivery.attempt_count + 1` to this caller for `lease_seconds`.

    The retry path's guard against sending one attempt twice (a duplicated SQS message, two
    copies in one batch): only one caller holds the lease for a given attempt; None for the others.
    A lease that expired (its holder crashed before recording) can be taken again.
    """
    number = delivery.attempt_count + 1
    try:
        response = client.update_item(
            TableName=table,
            Key=_key(delivery.event_id, delivery.subscription_id),
            UpdateExpression="SET lease_attempt = :number, lease_until = :until",
            ConditionExpression=(
                "tenant_id = :tenant AND attempt_count = :count "
                "AND NOT (#state IN (:delivered, :failed, :gone)) "
                "AND (attribute_not_exists(lease_until) OR lease_attempt <> :number OR lease_until < :now)"
            ),
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":tenant": {"S": delivery.tenant_id},
                ":count": {"N": str(delivery.attempt_count)},
                ":number": {"N": str(number)},
                ":now": {"N": str(now.timestamp())},
                ":until": {"N": str(now.timestamp() + lease_seconds)},
                ":delivered": {"S": "delivered"},
                ":failed": {"S": "failed"},
                ":gone": {"S": "gone"},
            },
            ReturnValues="ALL_NEW",
        )
    except client.exceptions.ConditionalCheckFailedException:
        return None
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("update", exc) from exc
    return DeliveryItem.from_ddb(response["Attributes"])


def record_attempt(
    client: "DynamoDBClient",
    table: str,
    *,
    event_id: str,
    subscription_id: str,
    attempt: Attempt,
    expected_count: int,
    state: DeliveryState,
    next_attempt_at: str | None,
    now: datetime,
) -> DeliveryItem:
    """Append `attempt`, bump `attempt_count` and move to `state`.

    Only succeeds while the delivery is not terminal and still has `expected_count` attempts;
    otherwise raises DeliveryConflict (another writer recorded this attempt first).
    """
    names = {"#state": "state"}
    values: dict[str, Any] = {
        ":attempt": {"L": [_serializer.serialize(attempt.model_dump())]},
        ":one": {"N": "1"},
        ":expected": {"N": str(expected_count)},
        ":state": {"S": state},
        ":now": {"S": now.isoformat()},
        ":delivered": {"S": "delivered"},
        ":failed": {"S": "failed"},
        ":gone": {"S": "gone"},
    }
    assignments = [
        "attempts = list_append(attempts, :attempt)",
        "attempt_count = attempt_count + :one",
        "#state = :state",
        "updated_at = :now",
    ]
    if next_attempt_at is None:
        update = "SET " + ", ".join(assignments) + " REMOVE next_attempt_at"
    else:
        assignments.append("next_attempt_at = :next")
        values[":next"] = {"S": next_attempt_at}
        update = "SET " + ", ".join(assignments)
    try:
        response = client.update_item(
            TableName=table,
            Key=_key(event_id, subscription_id),
            UpdateExpression=update,
            ConditionExpression=(
                "attempt_count = :expected AND NOT (#state IN (:delivered, :failed, :gone))"
            ),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
    except client.exceptions.ConditionalCheckFailedException as exc:
        raise DeliveryConflict(
            f"delivery {event_id}/{subscription_id} moved on before attempt {expected_count + 1} was recorded"
        ) from exc
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("update", exc) from exc
    return DeliveryItem.from_ddb(response["Attributes"])


def mark_lane(client: "DynamoDBClient", table: str, event_id: str, subscription_id: str) -> None:
    """Flag an existing delivery as a lane member (a retry joining a strict subscription's lane)."""
    try:
        client.update_item(
            TableName=table,
            Key=_key(event_id, subscription_id),
            UpdateExpression="SET lane = :yes",
            ConditionExpression="attribute_exists(event_id)",
            ExpressionAttributeValues={":yes": {"BOOL": True}},
        )
    except client.exceptions.ConditionalCheckFailedException as exc:
        raise DeliveryNotFound(f"no delivery {event_id}/{subscription_id}") from exc
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("update", exc) from exc


def get_delivery(client: "DynamoDBClient", table: str, event_id: str, subscription_id: str) -> DeliveryItem:
    try:
        response = client.get_item(TableName=table, Key=_key(event_id, subscription_id), ConsistentRead=True)
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("read", exc) from exc
    if "Item" not in response:
        raise DeliveryNotFound(f"no delivery {event_id}/{subscription_id}")
    return DeliveryItem.from_ddb(response["Item"])


def list_for_event(client: "DynamoDBClient", table: str, tenant_id: str, event_id: str) -> list[DeliveryItem]:
    """Every delivery of one event (one per subscription), only if it belongs to `tenant_id`."""
    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "event_id = :event",
        "FilterExpression": "tenant_id = :tenant",
        "ExpressionAttributeValues": {":event": {"S": event_id}, ":tenant": {"S": tenant_id}},
        "ConsistentRead": True,
    }
    items: list[DeliveryItem] = []
    while True:
        try:
            response = client.query(**params)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable("query", exc) from exc
        items.extend(DeliveryItem.from_ddb(item) for item in response.get("Items", []))
        last_key = response.get("LastEvaluatedKey")
        if not last_key:
            return items
        params["ExclusiveStartKey"] = last_key


def _encode_cursor(tenant_id: str, last_key: dict[str, Any]) -> str:
    plain = {name: value["S"] for name, value in last_key.items()}
    plain["tenant_id"] = tenant_id
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode()


def _decode_cursor(cursor: str, tenant_id: str, subscription_id: str) -> dict[str, Any]:
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequest("cursor is not one this API issued") from exc
    if (
        not isinstance(plain, dict)
        or set(plain) != {"tenant_id", "event_id", "subscription_id"}
        or plain["tenant_id"] != tenant_id
        or plain["subscription_id"] != subscription_id
        or not isinstance(plain["event_id"], str)
    ):
        raise MalformedRequest("cursor is not one this API issued")
    return {"event_id": {"S": plain["event_id"]}, "subscription_id": {"S": subscription_id}}


def list_for_subscription(
    client: "DynamoDBClient",
    table: str,
    tenant_id: str,
    subscription_id: str,
    limit: int,
    cursor: str | None,
) -> tuple[list[DeliveryItem], str | None]:
    """A subscription's deliveries, newest event first, one page at a time."""
    params: dict[str, Any] = {
        "TableName": table,
        "IndexName": SUBSCRIPTION_INDEX,
        "KeyConditionExpression": "subscription_id = :subscription",
        "FilterExpression": "tenant_id = :tenant",
        "ExpressionAttributeValues": {":subscription": {"S": subscription_id}, ":tenant": {"S": tenant_id}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if cursor:
        params["ExclusiveStartKey"] = _decode_cursor(cursor, tenant_id, subscription_id)
    try:
        response = client.query(**params)
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("query", exc) from exc
    items = [DeliveryItem.from_ddb(item) for item in response.get("Items", [])]
    last_key = response.get("LastEvaluatedKey")
    return items, _encode_cursor(tenant_id, last_key) if last_key else None


RECOVERABLE_STATES: tuple[DeliveryState, ...] = ("failed", "gone")


def list_recoverable(
    client: "DynamoDBClient",
    table: str,
    tenant_id: str,
    subscription_id: str,
    low_event_id: str,
    high_event_id: str,
    limit: int,
) -> tuple[list[DeliveryItem], bool]:
    """The subscription's failed or gone deliveries of events with ids in [low, high], oldest
    first, at most `limit` (and whether more may follow). Read from the subscription index
    (eventually consistent): the reopen's condition is what decides."""
    params: dict[str, Any] = {
        "TableName": table,
        "IndexName": SUBSCRIPTION_INDEX,
        "KeyConditionExpression": "subscription_id = :subscription AND event_id BETWEEN :low AND :high",
        "FilterExpression": "tenant_id = :tenant AND #state IN (:failed, :gone)",
        "ExpressionAttributeNames": {"#state": "state"},
        "ExpressionAttributeValues": {
            ":subscription": {"S": subscription_id},
            ":low": {"S": low_event_id},
            ":high": {"S": high_event_id},
            ":tenant": {"S": tenant_id},
            ":failed": {"S": "failed"},
            ":gone": {"S": "gone"},
        },
        "ScanIndexForward": True,
    }
    items: list[DeliveryItem] = []
    while True:
        try:
            response = client.query(**params)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable("query", exc) from exc
        for raw in response.get("Items", []):
            if len(items) == limit:
                return items, True
            items.append(DeliveryItem.from_ddb(raw))
        last_key = response.get("LastEvaluatedKey")
        if not last_key:
            return items, False
        params["ExclusiveStartKey"] = last_key


ReopenRule = Literal["redrive", "replay", "recover"]
_REOPEN_CONDITIONS: dict[ReopenRule, str] = {
    # An operator's redrive of a dead letter: only this tenant's failed delivery.
    "redrive": "tenant_id = :tenant AND #state = :failed",
    # A subscription's recover: this tenant's dead-lettered (failed) or refused (gone) delivery;
    # one already reopened is `retrying` and left alone, so a second recover sends nothing twice.
    "recover": "tenant_id = :tenant AND #state IN (:failed, :gone)",
    # A replay: any finished delivery of this tenant, one whose retry message was lost (overdue
    # since before :stale), or one that does not exist yet (the event predates the subscription).
    "replay": (
        "attribute_not_exists(event_id) OR (tenant_id = :tenant AND "
        "(#state IN (:delivered, :failed, :gone) OR (#state = :retrying AND next_attempt_at < :stale)))"
    ),
}


def reopen(
    client: "DynamoDBClient",
    table: str,
    *,
    rule: ReopenRule,
    tenant_id: str,
    event_id: str,
    subscription_id: str,
    target_url: str,
    now: datetime,
    expires_at: int,
    stale_before: datetime,
) -> tuple[DeliveryItem, DeliveryItem | None]:
    """Make a delivery `retrying` again, due now, its attempts kept; returns (new item, previous).

    Raises DeliveryConflict when `rule` does not allow it (in progress, not failed, another
    tenant's) and DeliveryNotFound for a redrive of a delivery that no longer exists.
    """
    stamp = now.isoformat()
    try:
        response = client.update_item(
            TableName=table,
            Key=_key(event_id, subscription_id),
            UpdateExpression=(
                "SET tenant_id = :tenant, target_url = if_not_exists(target_url, :url), "
                "#state = :retrying, attempts = if_not_exists(attempts, :empty), "
                "attempt_count = if_not_exists(attempt_count, :zero), "
                "created_at = if_not_exists(created_at, :now), updated_at = :now, next_attempt_at = :now, "
                "expires_at = if_not_exists(expires_at, :expires) REMOVE lease_attempt, lease_until"
            ),
            ConditionExpression=_REOPEN_CONDITIONS[rule],
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=_only_used(
                _REOPEN_CONDITIONS[rule] + " :url :empty :zero :now :expires :retrying",
                {
                    ":tenant": {"S": tenant_id},
                    ":url": {"S": target_url},
                    ":retrying": {"S": "retrying"},
                    ":empty": {"L": []},
                    ":zero": {"N": "0"},
                    ":now": {"S": stamp},
                    ":expires": {"N": str(expires_at)},
                    ":delivered": {"S": "delivered"},
                    ":failed": {"S": "failed"},
                    ":gone": {"S": "gone"},
                    ":stale": {"S": stale_before.isoformat()},
                },
            ),
            ReturnValues="ALL_OLD",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except client.exceptions.ConditionalCheckFailedException as exc:
        current: Any = exc.response.get("Item")
        if rule == "redrive" and not current:
            raise DeliveryNotFound(f"no delivery {event_id}/{subscription_id}") from exc
        state = _deserializer.deserialize(current["state"]) if current and "state" in current else "absent"
        raise DeliveryConflict(f"delivery {event_id}/{subscription_id} is {state}") from exc
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("update", exc) from exc
    previous = DeliveryItem.from_ddb(response["Attributes"]) if response.get("Attributes") else None
    base = previous or DeliveryItem.new(
        tenant_id=tenant_id,
        event_id=event_id,
        subscription_id=subscription_id,
        target_url=target_url,
        now=now,
        expires_at=expires_at,
    )
    reopened = base.model_copy(update={"state": "retrying", "next_attempt_at": stamp, "updated_at": stamp})
    return reopened, previous


def _only_used(expression: str, values: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB refuses expression values that no expression uses."""
    return {name: value for name, value in values.items() if name in expression}


def undo_reopen(
    client: "DynamoDBClient", table: str, reopened: DeliveryItem, previous: DeliveryItem | None
) -> None:
    """Put a delivery back as it was before `reopen`, if nothing touched it since."""
    condition = "updated_at = :stamp AND attempt_count = :count"
    values: dict[str, Any] = {
        ":stamp": {"S": reopened.updated_at},
        ":count": {"N": str(reopened.attempt_count)},
    }
    try:
        if previous is None:
            client.delete_item(
                TableName=table,
                Key=_key(reopened.event_id, reopened.subscription_id),
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        else:
            client.put_item(
                TableName=table,
                Item=previous.to_ddb(),
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
    except client.exceptions.ConditionalCheckFailedException:
        return
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("update", exc) from exc


def read_recent_for_subscription(
    client: "DynamoDBClient",
    table: str,
    tenant_id: str,
    subscription_id: str,
    since_event_id: str,
    max_items: int,
) -> tuple[list[DeliveryItem], bool]:
    """A subscription's deliveries of events accepted at or after `since_event_id`, newest first,
    at most `max_items` of them; the flag says whether older ones were left unread.

    One key-condition query on SubscriptionIndex (its sort key is the event ULID, so the window is
    a key range): the read is bounded by `max_items`, whatever the subscription's volume.
    """
    params: dict[str, Any] = {
        "TableName": table,
        "IndexName": SUBSCRIPTION_INDEX,
        "KeyConditionExpression": "subscription_id = :subscription AND event_id >= :since",
        "FilterExpression": "tenant_id = :tenant",
        "ExpressionAttributeValues": {
            ":subscription": {"S": subscription_id},
            ":since": {"S": since_event_id},
            ":tenant": {"S": tenant_id},
        },
        "ScanIndexForward": False,
    }
    items: list[DeliveryItem] = []
    while len(items) < max_items:
        params["Limit"] = max_items - len(items)
        try:
            response = client.query(**params)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable("query", exc) from exc
        items.extend(DeliveryItem.from_ddb(item) for item in response.get("Items", []))
        last_key = response.get("LastEvaluatedKey")
        if not last_key:
            return items, False
        params["ExclusiveStartKey"] = last_key
    return items[:max_items], True
