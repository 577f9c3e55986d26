"""Raises when the batch holds a record marked to fail (so bisection can isolate it)."""

from typing import Any

from tests.handlers import record, wants_failure


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    record(event, context)
    if any(wants_failure(item) for item in event["Records"]):
        raise RuntimeError("a record marked to fail")
    return {"batchItemFailures": []}
