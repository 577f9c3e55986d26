"""Reports records marked to fail in batchItemFailures, as Powertools' BatchProcessor does."""

from typing import Any

from tests.handlers import record, wants_failure


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    record(event, context)
    return {
        "batchItemFailures": [
            {
                "itemIdentifier": item["dynamodb"]["SequenceNumber"]
                if "dynamodb" in item
                else item["messageId"]
            }
            for item in event["Records"]
            if wants_failure(item)
        ]
    }
