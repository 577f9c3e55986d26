"""Data access for per-subscription delivery rates: one pacing item per rate-limited subscription.

The items live in the deliveries table under the key `event_id = subscription_id = "rate#<id>"`
(never an event's key, never in a subscription's delivery history: that index is queried by the
plain subscription id) and expire with its TTL a day after their last slot.

The state is GCRA's theoretical arrival time `tat` (microseconds since the epoch): the time from
which the next delivery slot is free. Reserving n slots at `now` hands out the slots
`max(tat, now) + i * interval` (i = 0..n-1) and moves `tat` to `max(tat, now) + n * interval`, in
one conditional UpdateItem (two forms: an idle bucket restarts from now, a busy one adds to `tat`;
a condition that fails returns the item, and the other form is tried). A reservation never fails
for lack of capacity: a slot in the future is a delivery deferred to that time.
"""

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ingest.core.errors import StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PACING_PREFIX = "rate#"
MICROS = 1_000_000
IDLE_TTL_SECONDS = 86400
ATTEMPTS = 5


def _key(subscription_id: str) -> dict[str, Any]:
    name = {"S": PACING_PREFIX + subscription_id}
    return {"event_id": name, "subscription_id": name}


def reserve(
    client: "DynamoDBClient",
    table: str,
    *,
    tenant_id: str,
    subscription_id: str,
    count: int,
    interval_us: int,
    now_us: int,
) -> int:
    """Reserve `count` consecutive slots `interval_us` apart; returns the first slot (µs since epoch)."""
    tat: int | None = None
    for _ in range(ATTEMPTS):
        values: dict[str, Any] = {":now": {"N": str(now_us)}, ":tenant": {"S": tenant_id}}
        cost = count * interval_us
        if tat is None or tat < now_us:
            start = now_us
            expression = "SET tat = :new, tenant_id = :tenant, expires_at = :expires"
            condition = "attribute_not_exists(tat) OR tat < :now"
            values[":new"] = {"N": str(now_us + cost)}
        else:
            start = tat
            expression = "SET tat = tat + :cost, tenant_id = :tenant, expires_at = :expires"
            condition = "tat = :seen"
            values[":cost"] = {"N": str(cost)}
            values[":seen"] = {"N": str(tat)}
            values.pop(":now")
        values[":expires"] = {"N": str((start + cost) // MICROS + IDLE_TTL_SECONDS)}
        try:
            client.update_item(
                TableName=table,
                Key=_key(subscription_id),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except client.exceptions.ConditionalCheckFailedException as exc:
            found = (getattr(exc, "response", {}) or {}).get("Item") or {}
            tat = int(found["tat"]["N"]) if "tat" in found else None
            continue
        except (ClientError, BotoCoreError) as exc:
            raise StoreUnavailable(f"delivery pacing update failed: {type(exc).__name__}") from exc
        return start
    raise StoreUnavailable("delivery pacing update failed: other writers kept moving the slot")


def read_tat(client: "DynamoDBClient", table: str, subscription_id: str) -> int | None:
    """The next free slot of a subscription (None: never paced or expired)."""
    try:
        response = client.get_item(TableName=table, Key=_key(subscription_id), ConsistentRead=True)
    except (ClientError, BotoCoreError) as exc:
        raise StoreUnavailable(f"delivery pacing read failed: {type(exc).__name__}") from exc
    item = response.get("Item")
    return int(item["tat"]["N"]) if item and "tat" in item else None
