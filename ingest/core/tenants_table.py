"""Data access for the `tenants` table: each tenant's limits and its shared rate-limit buckets.

Items (PK `tenant_id`, SK `record`):

- `limits`: the tenant's overrides of the default limits (`IngestSettings.rate_limit_*`,
  `max_subscriptions_per_tenant`); an attribute that is absent means "the default".
- `bucket#<policy>`: the shared state of one rate-limit bucket as GCRA keeps it: `tat`, the
  theoretical arrival time in microseconds since the epoch. A bucket with rate r and burst b
  grants n tokens at time t when `max(tat, t) + n/r <= t + b/r`, and moves `tat` to
  `max(tat, t) + n/r`. `tat` only grows, so a value read earlier is a lower bound of the current
  one. The item expires (TTL `expires_at`) a day after its bucket was last full again.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from ingest.core.errors import StoreUnavailable
from ingest.core.ids import isoformat

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Policy = Literal["ingest", "management"]
POLICIES: tuple[Policy, ...] = ("ingest", "management")
LIMITS_RECORD = "limits"
BUCKET_PREFIX = "bucket#"
IDLE_BUCKET_TTL_SECONDS = 86400
MICROS = 1_000_000


class TenantLimits(BaseModel):
    """A tenant's overrides of the default limits; None means the default applies."""

    model_config = ConfigDict(extra="forbid")

    ingest_per_second: float | None = Field(default=None, gt=0, le=100_000)
    ingest_burst: int | None = Field(default=None, ge=1, le=1_000_000)
    management_per_second: float | None = Field(default=None, gt=0, le=100_000)
    management_burst: int | None = Field(default=None, ge=1, le=1_000_000)
    max_subscriptions: int | None = Field(default=None, ge=0, le=100_000)
    updated_at: str | None = None

    @classmethod
    def from_ddb(cls, item: dict[str, Any] | None) -> "TenantLimits":
        if not item:
            return cls()
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            value = item.get(name)
            if value is None:
                continue
            values[name] = value["S"] if "S" in value else value["N"]
        return cls.model_validate(values)


SETTABLE = tuple(name for name in TenantLimits.model_fields if name != "updated_at")


@dataclass(frozen=True)
class Lease:
    """Tokens granted from a shared bucket (0: none left) and the bucket's `tat` (µs) afterwards,
    or as found when nothing was granted."""

    granted: int
    tat_us: int


def _key(tenant_id: str, record: str) -> dict[str, Any]:
    return {"tenant_id": {"S": tenant_id}, "record": {"S": record}}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def get_limits(client: "DynamoDBClient", table: str, tenant_id: str) -> TenantLimits:
    """The tenant's overrides (none stored: every limit is the default)."""
    try:
        response = client.get_item(TableName=table, Key=_key(tenant_id, LIMITS_RECORD), ConsistentRead=True)
    except (ClientError, BotoCoreError) as exc:
        raise StoreUnavailable(f"tenants table read failed: {type(exc).__name__}") from exc
    return TenantLimits.from_ddb(response.get("Item"))


def update_limits(
    client: "DynamoDBClient",
    table: str,
    tenant_id: str,
    values: Mapping[str, float],
    reset: tuple[str, ...] = (),
) -> TenantLimits:
    """Set some overrides and drop others (back to the default); returns the tenant's overrides.

    Values are validated first (ValueError names the bad one); nothing is written then.
    """
    unknown = sorted(set(values) - set(SETTABLE)) + sorted(set(reset) - set(SETTABLE))
    if unknown:
        raise ValueError(f"unknown limit(s): {', '.join(unknown)}")
    if set(values) & set(reset):
        raise ValueError(f"cannot both set and reset {', '.join(sorted(set(values) & set(reset)))}")
    TenantLimits.model_validate(values)
    names = {f"#{name}": name for name in (*values, *reset, "updated_at")}
    attributes: dict[str, Any] = {f":{name}": {"N": _number(value)} for name, value in values.items()}
    attributes[":updated_at"] = {"S": isoformat(datetime.now(UTC))}
    expression = "SET " + ", ".join(f"#{name} = :{name}" for name in (*values, "updated_at"))
    if reset:
        expression += " REMOVE " + ", ".join(f"#{name}" for name in reset)
    try:
        response = client.update_item(
            TableName=table,
            Key=_key(tenant_id, LIMITS_RECORD),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=attributes,
            ReturnValues="ALL_NEW",
        )
    except (ClientError, BotoCoreError) as exc:
        raise StoreUnavailable(f"tenants table write failed: {type(exc).__name__}") from exc
    return TenantLimits.from_ddb(response.get("Attributes"))


def lease_tokens(
    client: "DynamoDBClient",
    table: str,
    tenant_id: str,
    policy: Policy,
    *,
    wanted: int,
    interval_us: int,
    burst: int,
    now_us: int,
    known_tat_us: int | None = None,
    attempts: int = 3,
) -> Lease:
    """Take up to `wanted` tokens (at least one, or none) from the tenant's shared bucket.

    One conditional UpdateItem when `known_tat_us` (the last `tat` seen) is current; a condition
    that fails returns the item as it is, and the call is retried with that value (at most
    `attempts` writes). A bucket found empty is reported without a write.
    """
    tolerance = burst * interval_us
    tat = known_tat_us
    key = _key(tenant_id, BUCKET_PREFIX + policy)
    for _ in range(attempts):
        values: dict[str, Any] = {":now": {"N": str(now_us)}}
        if tat is None or tat < now_us:
            # The bucket is full (idle since `tat`): start from now.
            granted = min(wanted, burst)
            new_tat = now_us + granted * interval_us
            expression = "SET tat = :new, expires_at = :expires"
            condition = "attribute_not_exists(tat) OR tat < :now"
            values[":new"] = {"N": str(new_tat)}
        else:
            available = (now_us + tolerance - tat) // interval_us
            if available < 1:
                return Lease(0, tat)
            granted = min(wanted, available)
            cost = granted * interval_us
            new_tat = tat + cost
            expression = "SET tat = tat + :cost, expires_at = :expires"
            condition = "tat >= :now AND tat <= :latest"
            values[":cost"] = {"N": str(cost)}
            values[":latest"] = {"N": str(now_us + tolerance - cost)}
        values[":expires"] = {"N": str(new_tat // MICROS + IDLE_BUCKET_TTL_SECONDS)}
        try:
            response = client.update_item(
                TableName=table,
                Key=key,
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except client.exceptions.ConditionalCheckFailedException as exc:
            found = (getattr(exc, "response", {}) or {}).get("Item") or {}
            tat = int(found["tat"]["N"]) if "tat" in found else None
            continue
        except (ClientError, BotoCoreError) as exc:
            raise StoreUnavailable(f"tenants table bucket update failed: {type(exc).__name__}") from exc
        return Lease(granted, int(response["Attributes"]["tat"]["N"]))
    # Other instances kept moving the bucket: grant nothing this time.
    return Lease(0, tat if tat is not None else now_us)
