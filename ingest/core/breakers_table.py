"""Data access for the circuit breakers: one item per (tenant, destination host).

The items live in the subscriptions table under the tenant's partition with the sort key
`breaker#<host>`, beside the tenant's subscriptions (`sub_…`), guards (`dedup#…`) and version
item. They are never read through the fanout's subscription cache (its query takes the `sub_`
prefix only) and writing them never bumps the tenant's `version`: a breaker opening or closing
changes no subscription, so no cached list becomes stale.

State (times are epoch seconds):

- `consecutive_failures`: failed attempts to the host since its last success (ADD, atomic);
- `trips`: how many times in a row the breaker opened without a success in between (the
  backoff exponent);
- `open_until`: while in the future the breaker is open (deliveries pause); once past, it is
  half-open until a probe settles it;
- `probe_until`: the lease of the one half-open probe in flight.

Every transition is a conditional UpdateItem, so function instances that race agree: one trip
per failure streak, one probe per half-open period.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from ingest.core.batching import batch_get
from ingest.core.errors import StoreUnavailable
from ingest.core.ids import isoformat

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BREAKER_PREFIX = "breaker#"
MAX_ERROR_CHARS = 200

_deserializer = TypeDeserializer()

BreakerKey = tuple[str, str]  # (tenant_id, host)


class BreakerItem(BaseModel):
    """One (tenant, host) breaker as stored."""

    tenant_id: str
    host: str
    consecutive_failures: int = 0
    trips: int = 0
    open_until: float | None = None
    probe_until: float | None = None
    last_error: str | None = None
    opened_at: str | None = None
    updated_at: str | None = None

    @classmethod
    def closed(cls, tenant_id: str, host: str) -> "BreakerItem":
        return cls(tenant_id=tenant_id, host=host)

    @classmethod
    def from_ddb(cls, item: dict[str, Any]) -> "BreakerItem":
        values = {name: _deserializer.deserialize(value) for name, value in item.items()}
        values["host"] = str(values.pop("subscription_id"))[len(BREAKER_PREFIX) :]
        for name in ("consecutive_failures", "trips"):
            values[name] = int(values.get(name, 0))
        for name in ("open_until", "probe_until"):
            if values.get(name) is not None:
                values[name] = float(values[name])
        return cls.model_validate(values)

    def is_open(self, now: datetime) -> bool:
        return self.open_until is not None and self.open_until > now.timestamp()

    @property
    def tripped(self) -> bool:
        """Open or half-open: a success has something to close."""
        return self.open_until is not None or self.consecutive_failures > 0


def _key(tenant_id: str, host: str) -> dict[str, Any]:
    return {"tenant_id": {"S": tenant_id}, "subscription_id": {"S": BREAKER_PREFIX + host}}


def _unavailable(operation: str, exc: Exception) -> StoreUnavailable:
    return StoreUnavailable(f"circuit breaker {operation} failed: {type(exc).__name__}")


def get_many(
    client: "DynamoDBClient", table: str, keys: Iterable[BreakerKey]
) -> dict[BreakerKey, BreakerItem]:
    """The breakers of `keys`, read consistently with one BatchGetItem (closed when absent)."""
    wanted = list(dict.fromkeys(keys))
    found = batch_get(client, table, [_key(*key) for key in wanted], "circuit breaker")
    items = {(item.tenant_id, item.host): item for item in map(BreakerItem.from_ddb, found)}
    return {key: items.get(key) or BreakerItem.closed(*key) for key in wanted}


def get(client: "DynamoDBClient", table: str, tenant_id: str, host: str) -> BreakerItem:
    try:
        response = client.get_item(TableName=table, Key=_key(tenant_id, host), ConsistentRead=True)
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("read", exc) from exc
    item = response.get("Item")
    return BreakerItem.from_ddb(item) if item else BreakerItem.closed(tenant_id, host)


def list_for_tenant(client: "DynamoDBClient", table: str, tenant_id: str) -> list[BreakerItem]:
    """Every breaker the tenant has (hosts that failed at least once), by host."""
    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "tenant_id = :tenant AND begins_with(subscription_id, :prefix)",
        "ExpressionAttributeValues": {":tenant": {"S": tenant_id}, ":prefix": {"S": BREAKER_PREFIX}},
        "ConsistentRead": True,
    }
    items: list[BreakerItem] = []
    try:
        for page in client.get_paginator("query").paginate(**params):
            items.extend(BreakerItem.from_ddb(item) for item in page.get("Items", []))
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("query", exc) from exc
    return items


def _update(client: "DynamoDBClient", table: str, key: BreakerKey, **request: Any) -> BreakerItem | None:
    """One UpdateItem returning the new item; None when its condition does not hold."""
    try:
        response = client.update_item(TableName=table, Key=_key(*key), ReturnValues="ALL_NEW", **request)
    except client.exceptions.ConditionalCheckFailedException:
        return None
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("update", exc) from exc
    return BreakerItem.from_ddb(response["Attributes"])


def record_failure(
    client: "DynamoDBClient", table: str, key: BreakerKey, now: datetime, error: str
) -> BreakerItem:
    """Count one more consecutive failure (atomic ADD); the breaker as it now is."""
    item = _update(
        client,
        table,
        key,
        UpdateExpression="ADD consecutive_failures :one SET last_error = :error, updated_at = :now",
        ExpressionAttributeValues={
            ":one": {"N": "1"},
            ":error": {"S": error[:MAX_ERROR_CHARS]},
            ":now": {"S": isoformat(now)},
        },
    )
    if item is None:  # unconditional: cannot happen
        raise StoreUnavailable("circuit breaker update returned nothing")
    return item


def trip(
    client: "DynamoDBClient", table: str, key: BreakerKey, now: datetime, trips: int, open_until: float
) -> BreakerItem | None:
    """Open the breaker until `open_until` if it is not open already and still at `trips` trips.

    None when another writer opened it first (its pause stands).
    """
    return _update(
        client,
        table,
        key,
        UpdateExpression="SET open_until = :until, trips = :next, opened_at = :now_iso, "
        "updated_at = :now_iso REMOVE probe_until",
        ConditionExpression="(attribute_not_exists(trips) OR trips = :trips) "
        "AND (attribute_not_exists(open_until) OR open_until <= :now)",
        ExpressionAttributeValues={
            ":until": {"N": repr(open_until)},
            ":trips": {"N": str(trips)},
            ":next": {"N": str(trips + 1)},
            ":now": {"N": repr(now.timestamp())},
            ":now_iso": {"S": isoformat(now)},
        },
    )


def claim_probe(
    client: "DynamoDBClient", table: str, key: BreakerKey, now: datetime, lease_seconds: float
) -> BreakerItem | None:
    """Take the half-open breaker's one probe for `lease_seconds`; None when it is open or taken."""
    return _update(
        client,
        table,
        key,
        UpdateExpression="SET probe_until = :lease, updated_at = :now_iso",
        ConditionExpression="open_until <= :now "
        "AND (attribute_not_exists(probe_until) OR probe_until <= :now)",
        ExpressionAttributeValues={
            ":lease": {"N": repr(now.timestamp() + lease_seconds)},
            ":now": {"N": repr(now.timestamp())},
            ":now_iso": {"S": isoformat(now)},
        },
    )


def close(client: "DynamoDBClient", table: str, key: BreakerKey, now: datetime) -> BreakerItem | None:
    """After a success: no failures, no pause, backoff back to its start (an existing item only)."""
    return _update(
        client,
        table,
        key,
        UpdateExpression="SET consecutive_failures = :zero, trips = :zero, updated_at = :now_iso "
        "REMOVE open_until, probe_until",
        ConditionExpression="attribute_exists(subscription_id)",
        ExpressionAttributeValues={":zero": {"N": "0"}, ":now_iso": {"S": isoformat(now)}},
    )
