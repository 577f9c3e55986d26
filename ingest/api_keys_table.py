"""Data access for the `api_keys` table. Keys are stored only as their SHA-256."""

import hashlib
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from ingest.errors import StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY_PREFIX = "trg_"


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def create_api_key(client: "DynamoDBClient", table: str, tenant_id: str) -> str:
    """Create a key for `tenant_id` and return it: the only time it exists in clear."""
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    try:
        client.put_item(
            TableName=table,
            Item={
                "key_hash": {"S": hash_key(api_key)},
                "tenant_id": {"S": tenant_id},
                "key_hint": {"S": api_key[: len(KEY_PREFIX) + 4]},
                "created_at": {"S": datetime.now(UTC).isoformat()},
            },
            ConditionExpression="attribute_not_exists(key_hash)",
        )
    except (ClientError, BotoCoreError) as exc:
        raise StoreUnavailable(f"api_keys table write failed: {type(exc).__name__}") from exc
    return api_key


def tenant_for_key(client: "DynamoDBClient", table: str, api_key: str) -> str | None:
    """The tenant owning `api_key`, or None when the key is unknown or revoked."""
    try:
        response = client.get_item(
            TableName=table, Key={"key_hash": {"S": hash_key(api_key)}}, ConsistentRead=True
        )
    except (ClientError, BotoCoreError) as exc:
        raise StoreUnavailable(f"api_keys table read failed: {type(exc).__name__}") from exc
    item = response.get("Item")
    if item is None or "revoked_at" in item:
        return None
    return item["tenant_id"]["S"]
