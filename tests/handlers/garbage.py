"""Returns an unusable response on its first invocation, then succeeds."""

from typing import Any

from tests.handlers import record


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    if record(event, context) == 0:
        return {"batchItemFailures": [{"itemIdentifier": "not-in-the-batch"}]}
    return {"batchItemFailures": []}
