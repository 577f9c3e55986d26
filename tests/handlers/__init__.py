"""Test-only Lambda handlers the ESM runner invokes in-process; they record what they receive.

Each test names its own function, so `invocations(function_name)` holds only its batches.
"""

import json
import threading
from collections import defaultdict
from typing import Any

_lock = threading.Lock()
_invocations: dict[str, list[dict[str, Any]]] = defaultdict(list)


def record(event: dict[str, Any], context: Any) -> int:
    """Remember the event; returns how many invocations this function had before it."""
    with _lock:
        calls = _invocations[context.function_name]
        calls.append(event)
        return len(calls) - 1


def invocations(function_name: str) -> list[dict[str, Any]]:
    with _lock:
        return list(_invocations[function_name])


def item_key(record: dict[str, Any]) -> str:
    """The event_id of a stream record, or the body of an SQS record."""
    if "dynamodb" in record:
        return str(record["dynamodb"]["Keys"]["event_id"]["S"])
    return str(record["body"])


def wants_failure(record: dict[str, Any]) -> bool:
    """Records a test marks to fail: a `{"fail": true}` event payload, or an SQS body `fail…`."""
    if "dynamodb" in record:
        payload = record["dynamodb"].get("NewImage", {}).get("payload", {}).get("S", "{}")
        return bool(json.loads(payload).get("fail"))
    return str(record["body"]).startswith("fail")
