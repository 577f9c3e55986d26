"""`Idempotency-Key` support on top of Powertools' idempotency utility.

A retry with the same key and the same body returns the stored result (marked as a replay);
the same key with a different body is a conflict. Records live in the idempotency table.
"""

import hashlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from ingest.core.clients import dynamodb_client
from ingest.core.errors import IdempotencyConflict, MalformedRequest
from ingest.core.runtime import runtime

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_KEY_LENGTH = 255
# Printable ASCII without surrounding spaces (HTTP strips those): what the OpenAPI document declares.
KEY_PATTERN = r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$"
REPLAYED = "_replayed"


def _mark_replayed(response: Any, _record: DataRecord) -> Any:
    return {**response, REPLAYED: True}


@runtime.cached
def _persistence(table: str, client: "DynamoDBClient") -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(table_name=table, boto3_client=client)


def validate_key(key: str) -> str:
    if len(key) > MAX_KEY_LENGTH or not re.fullmatch(KEY_PATTERN, key):
        raise MalformedRequest(f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable ASCII characters")
    return key


def run_once(
    *,
    table: str,
    ttl_seconds: int,
    tenant_id: str,
    key: str,
    body: str,
    operation: Callable[[], dict[str, Any]],
    lambda_context: LambdaContext | None = None,
) -> tuple[dict[str, Any], bool]:
    """Run `operation` once per (tenant, key); return its result and whether it was a replay.

    With the Lambda context, a request that dies mid-write (timeout) leaves an in-progress record
    that expires with the invocation, so a retry is not locked out until the record's TTL.
    """
    config = IdempotencyConfig(
        event_key_jmespath="[tenant_id, idempotency_key]",
        payload_validation_jmespath="body_sha256",
        expires_after_seconds=ttl_seconds,
        response_hook=_mark_replayed,  # type: ignore[arg-type]  # Powertools' Protocol is stricter than needed
    )

    if lambda_context is not None:
        config.register_lambda_context(lambda_context)

    @idempotent_function(
        data_keyword_argument="request",
        persistence_store=_persistence(table, dynamodb_client()),
        config=config,
        key_prefix="ingest.post_events",
    )
    def guarded(request: dict[str, str]) -> dict[str, Any]:
        return operation()

    request = {
        "tenant_id": tenant_id,
        "idempotency_key": key,
        "body_sha256": hashlib.sha256(body.encode()).hexdigest(),
    }
    try:
        result = guarded(request=request)
    except IdempotencyValidationError as exc:
        raise IdempotencyConflict("this Idempotency-Key was already used with a different body") from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise IdempotencyConflict("a request with this Idempotency-Key is still in progress") from exc
    replayed = bool(result.pop(REPLAYED, False))
    return result, replayed
