"""Data access for the `api_keys` table. Keys are stored only as their SHA-256.

A key's id is the start of that hash: it names the key in listings, in every log line of a
request made with it and in the audit trail, without revealing it. A revoked key keeps its item
(with `revoked_at`) so its id stays meaningful.

Each key carries `scopes` (what it may do, see `SCOPES`; `admin` implies every other) and may
carry `expires_at` (ISO 8601, UTC): from then on it is refused like a revoked key. A key written
before scopes existed has none stored and counts as `admin`, which is what it could do then.
"""

import hashlib
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, get_args

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from ingest.core.errors import ApiKeyNotFound, StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY_PREFIX = "trg_"
KEY_ID_CHARS = 16

Scope = Literal["events:write", "events:read", "subscriptions:manage", "audit:read", "admin"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
ADMIN: Scope = "admin"
# What a key stored before scopes existed may do: everything, as it could then.
LEGACY_SCOPES: tuple[Scope, ...] = (ADMIN,)


def normalise_scopes(scopes: Iterable[str]) -> tuple[Scope, ...]:
    """Known scopes, deduplicated, in `SCOPES` order; ValueError naming an unknown one."""
    wanted = set(scopes)
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]!r}; known: {', '.join(SCOPES)}")
    if not wanted:
        raise ValueError("a key needs at least one scope")
    return tuple(scope for scope in SCOPES if scope in wanted)


def allows(granted: Iterable[str], needed: str) -> bool:
    """Whether a key with `granted` scopes may do what needs `needed` (`admin` may do anything)."""
    granted = set(granted)
    return ADMIN in granted or needed in granted


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def key_id(api_key: str) -> str:
    return hash_key(api_key)[:KEY_ID_CHARS]


class ApiKeyInfo(BaseModel):
    """What is known about a key besides the key itself."""

    key_hash: str
    tenant_id: str
    key_hint: str | None = None
    scopes: tuple[Scope, ...] = LEGACY_SCOPES
    created_at: str | None = None
    expires_at: str | None = None
    revoked_at: str | None = None

    @property
    def key_id(self) -> str:
        return self.key_hash[:KEY_ID_CHARS]

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and datetime.fromisoformat(self.expires_at) <= now

    def refusal(self, now: datetime) -> str | None:
        """Why a request with this key is refused (`revoked`, `expired`), or None."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expired(now):
            return "expired"
        return None

    def public(self) -> dict[str, Any]:
        """The key's description for people and scripts: its id, not its hash."""
        return {"key_id": self.key_id, **self.model_dump(exclude={"key_hash"})}

    @classmethod
    def from_ddb(cls, item: dict[str, Any]) -> "ApiKeyInfo":
        def text(name: str) -> str | None:
            value = item.get(name)
            return None if value is None else str(value["S"])

        return cls(
            key_hash=item["key_hash"]["S"],
            tenant_id=item["tenant_id"]["S"],
            key_hint=text("key_hint"),
            scopes=normalise_scopes(item["scopes"]["SS"]) if "scopes" in item else LEGACY_SCOPES,
            created_at=text("created_at"),
            expires_at=text("expires_at"),
            revoked_at=text("revoked_at"),
        )


def create_api_key(
    client: "DynamoDBClient",
    table: str,
    tenant_id: str,
    scopes: Iterable[str] = LEGACY_SCOPES,
    expires_at: datetime | None = None,
) -> str:
    """Create a key for `tenant_id` with `scopes` (default `admin`), valid until `expires_at`
    (None: no expiry), and return it: the only time it exists in clear."""
    granted = normalise_scopes(scopes)
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    item: dict[str, Any] = {
        "key_hash": {"S": hash_key(api_key)},
        "tenant_id": {"S": tenant_id},
        "key_hint": {"S": api_key[: len(KEY_PREFIX) + 4]},
        "scopes": {"SS": list(granted)},
        "created_at": {"S": datetime.now(UTC).isoformat()},
    }
    if expires_at is not None:
        item["expires_at"] = {"S": expires_at.astimezone(UTC).isoformat()}
    try:
        client.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(key_hash)")
    except (ClientError, BotoCoreError) as exc:
        raise StoreUnavailable(f"api_keys table write failed: {type(exc).__name__}") from exc
    return api_key


def get_key(client: "DynamoDBClient", table: str, api_key: str) -> ApiKeyInfo | None:
    """What is stored about `api_key` (read consistently), or None when it is unknown."""
    try:
        response = client.get_item(
            TableName=table, Key={"key_hash": {"S": hash_key(api_key)}}, ConsistentRead=True
        )
    except (ClientError, BotoCoreError) as exc:
        raise StoreUnavailable(f"api_keys table read failed: {type(exc).__name__}") from exc
    item = response.get("Item")
    return None if item is None else ApiKeyInfo.from_ddb(item)


def tenant_for_key(client: "DynamoDBClient", table: str, api_key: str) -> str | None:
    """The tenant owning `api_key`, or None when the key is unknown, revoked or expired."""
    key = get_key(client, table, api_key)
    if key is None or key.refusal(datetime.now(UTC)) is not None:
        return None
    return key.tenant_id


def get_api_key(client: "DynamoDBClient", table: str, key_hash: str) -> ApiKeyInfo | None:
    """What is known about the key with this hash (None when there is no such key)."""
    try:
        response = client.get_item(TableName=table, Key={"key_hash": {"S": key_hash}}, ConsistentRead=True)
    except (ClientError, BotoCoreError) as exc:
        raise StoreUnavailable(f"api_keys table read failed: {type(exc).__name__}") from exc
    item = response.get("Item")
    return None if item is None else ApiKeyInfo.from_ddb(item)


def list_api_keys(
    client: "DynamoDBClient", table: str, *, tenant_id: str | None = None, key_id_prefix: str | None = None
) -> list[ApiKeyInfo]:
    """Keys (never the keys themselves) of one tenant and/or whose id starts with a prefix."""
    conditions, values = [], {}
    if tenant_id is not None:
        conditions.append("tenant_id = :tenant")
        values[":tenant"] = {"S": tenant_id}
    if key_id_prefix is not None:
        conditions.append("begins_with(key_hash, :prefix)")
        values[":prefix"] = {"S": key_id_prefix.lower()}
    kwargs: dict[str, Any] = {"TableName": table}
    if conditions:
        kwargs["FilterExpression"] = " AND ".join(conditions)
        kwargs["ExpressionAttributeValues"] = values
    try:
        items = [
            item for page in client.get_paginator("scan").paginate(**kwargs) for item in page.get("Items", [])
        ]
    except (ClientError, BotoCoreError) as exc:
        raise StoreUnavailable(f"api_keys table scan failed: {type(exc).__name__}") from exc
    return sorted((ApiKeyInfo.from_ddb(item) for item in items), key=lambda key: key.created_at or "")


def revoke_api_key(client: "DynamoDBClient", table: str, key_hash: str) -> ApiKeyInfo:
    """Mark the key revoked (the next request with it is a 401); revoking twice keeps the first time."""
    try:
        response = client.update_item(
            TableName=table,
            Key={"key_hash": {"S": key_hash}},
            UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :now)",
            ConditionExpression="attribute_exists(key_hash)",
            ExpressionAttributeValues={":now": {"S": datetime.now(UTC).isoformat()}},
            ReturnValues="ALL_NEW",
        )
    except client.exceptions.ConditionalCheckFailedException as exc:
        raise ApiKeyNotFound(f"no API key {key_hash[:KEY_ID_CHARS]}") from exc
    except (ClientError, BotoCoreError) as exc:
        raise StoreUnavailable(f"api_keys table write failed: {type(exc).__name__}") from exc
    return ApiKeyInfo.from_ddb(response["Attributes"])
