"""Data access for strict-ordering lanes: one item per subscription with `ordering: "strict"`.

A lane lives in the deliveries table under the key `event_id = subscription_id = "lane#<id>"`
(never an event's key, and not in a subscription's delivery history, whose index is queried by
the plain subscription id). It holds:

- `head`: the event whose delivery is in flight (absent: the lane is idle);
- `held`: the events waiting behind it, in the order they joined (a list of event ids);
- `prev`: the event whose end made `head` the head (lets a redelivered message of the finished
  event re-enqueue the head if the one that released it died before enqueueing it);
- `ver`: bumped by every write; each write is conditional on the version read (optimistic
  locking), and a failed condition returns the item as it is now, so the caller retries on it.

Invariant: `held` is non-empty only while there is a `head`. The item expires with the table's TTL
(`expires_at`, refreshed by every write to the latest expiry of the events it names).
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from ingest.core.batching import batch_get
from ingest.core.errors import StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LANE_PREFIX = "lane#"
# A lane is one item (≤ 400 KB) and DynamoDB charges a write by the item's size: ~1 KB per 30 held
# events. Beyond this many, a new event is dead-lettered instead of held (redrivable).
MAX_HELD = 1000
ATTEMPTS = 8

_deserializer = TypeDeserializer()


class Lane(BaseModel):
    subscription_id: str
    tenant_id: str | None = None
    head: str | None = None
    held: list[str] = []
    prev: str | None = None
    ver: int = 0
    expires_at: int = 0

    @classmethod
    def from_ddb(cls, item: dict[str, Any]) -> "Lane":
        values = {name: _deserializer.deserialize(value) for name, value in item.items()}
        values["subscription_id"] = str(values.pop("subscription_id"))[len(LANE_PREFIX) :]
        values.pop("event_id", None)
        for name in ("ver", "expires_at"):
            values[name] = int(values.get(name, 0))
        return cls.model_validate(values)

    def holds(self, event_id: str) -> bool:
        return event_id == self.head or event_id in self.held


def _key(subscription_id: str) -> dict[str, Any]:
    name = {"S": LANE_PREFIX + subscription_id}
    return {"event_id": name, "subscription_id": name}


def _unavailable(operation: str, exc: Exception) -> StoreUnavailable:
    return StoreUnavailable(f"ordering lane {operation} failed: {type(exc).__name__}")


def get(client: "DynamoDBClient", table: str, subscription_id: str) -> Lane:
    try:
        response = client.get_item(TableName=table, Key=_key(subscription_id), ConsistentRead=True)
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("read", exc) from exc
    item = response.get("Item")
    return Lane.from_ddb(item) if item else Lane(subscription_id=subscription_id)


def get_many(client: "DynamoDBClient", table: str, subscription_ids: Iterable[str]) -> dict[str, Lane]:
    """The lanes of `subscription_ids` with one consistent BatchGetItem (idle when absent)."""
    wanted = list(dict.fromkeys(subscription_ids))
    found = {
        lane.subscription_id: lane
        for lane in map(Lane.from_ddb, batch_get(client, table, [_key(s) for s in wanted], "ordering lane"))
    }
    return {name: found.get(name) or Lane(subscription_id=name) for name in wanted}


def _write(
    client: "DynamoDBClient", lane: Lane, table: str, sets: dict[str, Any], removes: list[str]
) -> Lane:
    """Write `sets`/`removes` if the lane is still at the version read; raises _Moved (carrying
    the lane as it is now) when it moved."""
    names = {f"#{name}": name for name in [*sets, *removes]}
    values = {f":{name}": value for name, value in sets.items()}
    values[":one"] = {"N": "1"}
    expression = "SET " + ", ".join(f"#{name} = :{name}" for name in sets) + " ADD ver :one"
    if removes:
        expression += " REMOVE " + ", ".join(f"#{name}" for name in removes)
    if lane.ver:
        condition = "ver = :ver"
        values[":ver"] = {"N": str(lane.ver)}
    else:
        condition = "attribute_not_exists(ver)"
    try:
        response = client.update_item(
            TableName=table,
            Key=_key(lane.subscription_id),
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except client.exceptions.ConditionalCheckFailedException as exc:
        current = (getattr(exc, "response", {}) or {}).get("Item")
        moved = Lane.from_ddb(current) if current else Lane(subscription_id=lane.subscription_id)
        raise _Moved(moved) from exc
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("update", exc) from exc
    return Lane.from_ddb(response["Attributes"])


class _Moved(Exception):
    def __init__(self, lane: Lane) -> None:
        super().__init__("lane moved")
        self.lane = lane


def _ids(event_ids: list[str]) -> dict[str, Any]:
    return {"L": [{"S": event_id} for event_id in event_ids]}


def join(
    client: "DynamoDBClient",
    table: str,
    lane: Lane,
    *,
    tenant_id: str,
    event_ids: list[str],
    expires_at: int,
) -> tuple[Lane, list[str]]:
    """Append the events the lane does not hold yet, in order; on an idle lane the first becomes
    the head. Idempotent: events already held (a retried batch, a duplicate message) are skipped.

    Returns the lane as written and the events that did not fit (more than MAX_HELD held).
    """
    for _ in range(ATTEMPTS):
        new = [event_id for event_id in dict.fromkeys(event_ids) if not lane.holds(event_id)]
        if not new:
            return lane, []
        room = max(0, MAX_HELD - len(lane.held)) + (1 if lane.head is None else 0)
        fits, overflow = new[:room], new[room:]
        if not fits:
            return lane, overflow
        sets: dict[str, Any] = {
            "tenant_id": {"S": tenant_id},
            "expires_at": {"N": str(max(expires_at, lane.expires_at))},
        }
        if lane.head is None:
            sets |= {"head": {"S": fits[0]}, "held": _ids(fits[1:])}
        else:
            sets["held"] = _ids([*lane.held, *fits])
        try:
            written = _write(client, lane, table, sets, [])
        except _Moved as moved:
            lane = moved.lane
            continue
        return written, overflow
    raise StoreUnavailable("ordering lane join failed: other writers kept moving the lane")


def release(client: "DynamoDBClient", table: str, lane: Lane, finished: str) -> tuple[Lane, str | None]:
    """`finished` (the head) is done: the next held event becomes the head, or the lane goes idle.

    Returns the lane and the event whose attempt the caller must enqueue now: the new head; or,
    when `finished` already released the lane before (a redelivered message), the head it made,
    in case the releaser died before enqueueing it (a duplicate message is skipped by the retry
    function's attempt checks). None when `finished` is not (or no longer) this lane's business.
    """
    for _ in range(ATTEMPTS):
        if lane.head != finished:
            if lane.prev == finished and lane.head is not None:
                return lane, lane.head
            return lane, None
        if lane.held:
            sets = {"head": {"S": lane.held[0]}, "held": _ids(lane.held[1:]), "prev": {"S": finished}}
            removes: list[str] = []
        else:
            sets, removes = {"prev": {"S": finished}}, ["head"]
        try:
            written = _write(client, lane, table, sets, removes)
        except _Moved as moved:
            lane = moved.lane
            continue
        return written, written.head
    raise StoreUnavailable("ordering lane release failed: other writers kept moving the lane")


def drop(client: "DynamoDBClient", table: str, lane: Lane) -> Lane:
    """Empty the lane (its subscription is gone); returns what it held."""
    for _ in range(ATTEMPTS):
        if lane.head is None and not lane.held:
            return lane
        try:
            _write(client, lane, table, {"held": _ids([])}, ["head", "prev"])
        except _Moved as moved:
            lane = moved.lane
            continue
        return lane
    raise StoreUnavailable("ordering lane drop failed: other writers kept moving the lane")
