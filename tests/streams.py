"""Lambda-shaped DynamoDB Streams events (NEW_IMAGE view) for invoking stream handlers directly."""

import itertools
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from ingest.core.events_table import EventItem

STREAM_ARN = (
    "arn:aws:dynamodb:us-east-1:000000000000:table/triggers-test-events/stream/2026-01-01T00:00:00.000"
)
_sequence = itertools.count(100_000_000_000_000_000_000)

EventName = Literal["INSERT", "MODIFY", "REMOVE"]


def stream_record(event_name: EventName, item: EventItem, *, ttl_expiry: bool = False) -> dict[str, Any]:
    """One stream record as Lambda receives it; REMOVE records carry only the keys."""
    stream: dict[str, Any] = {
        "ApproximateCreationDateTime": int(datetime.now(UTC).timestamp()),
        "Keys": {"tenant_id": {"S": item.tenant_id}, "event_id": {"S": item.event_id}},
        "SequenceNumber": str(next(_sequence)),
        "SizeBytes": 256,
        "StreamViewType": "NEW_IMAGE",
    }
    if event_name != "REMOVE":
        stream["NewImage"] = item.to_ddb()
    record: dict[str, Any] = {
        "eventID": uuid.uuid4().hex,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": stream,
        "eventSourceARN": STREAM_ARN,
    }
    if ttl_expiry:
        record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return record


def stream_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def sequence_numbers(*records: dict[str, Any]) -> list[str]:
    return [record["dynamodb"]["SequenceNumber"] for record in records]


def failed_sequence_numbers(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]
