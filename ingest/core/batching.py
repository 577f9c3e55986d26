"""DynamoDB's batch calls with their chunk sizes and unprocessed-item retries, written once.

Errors are the caller's to name: each function raises `StoreUnavailable(f"{what} ...")`.
"""

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ingest.core.errors import StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

GET_KEYS = 100
WRITE_ITEMS = 25
ATTEMPTS = 6


def backoff(attempt: int) -> float:
    return float(min(0.05 * 2**attempt, 1.0))


def batch_get(
    client: "DynamoDBClient",
    table: str,
    keys: Sequence[dict[str, Any]],
    what: str,
    *,
    projection: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The items that exist among `keys` (DynamoDB-typed), read consistently; only the
    attributes in `projection` when it is given."""
    request: dict[str, Any] = {"ConsistentRead": True}
    if projection:
        request["ProjectionExpression"] = ", ".join(f"#p{n}" for n in range(len(projection)))
        request["ExpressionAttributeNames"] = {f"#p{n}": name for n, name in enumerate(projection)}
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), GET_KEYS):
        pending = list(keys[start : start + GET_KEYS])
        for attempt in range(ATTEMPTS):
            try:
                keys_and_attributes: Any = {**request, "Keys": pending}
                response: Any = client.batch_get_item(RequestItems={table: keys_and_attributes})
            except (ClientError, BotoCoreError) as exc:
                raise StoreUnavailable(f"{what} read failed: {type(exc).__name__}") from exc
            found.extend(response.get("Responses", {}).get(table, []))
            pending = list(response.get("UnprocessedKeys", {}).get(table, {}).get("Keys", []))
            if not pending:
                break
            time.sleep(backoff(attempt))
        else:
            raise StoreUnavailable(f"{what} read left {len(pending)} keys unread after retries")
    return found


def batch_put(client: "DynamoDBClient", table: str, items: Sequence[dict[str, Any]], what: str) -> None:
    """Put `items` (DynamoDB-typed), 25 per request."""
    for start in range(0, len(items), WRITE_ITEMS):
        chunk = items[start : start + WRITE_ITEMS]
        pending: list[Any] = [{"PutRequest": {"Item": item}} for item in chunk]
        for attempt in range(ATTEMPTS):
            try:
                response = client.batch_write_item(RequestItems={table: pending})
            except (ClientError, BotoCoreError) as exc:
                raise StoreUnavailable(f"{what} write failed: {type(exc).__name__}") from exc
            pending = list(response.get("UnprocessedItems", {}).get(table, []))
            if not pending:
                break
            time.sleep(backoff(attempt))
        else:
            raise StoreUnavailable(
                f"{what} write left {len(pending)} of {len(chunk)} items unprocessed after retries"
            )
