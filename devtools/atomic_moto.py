"""moto with DynamoDB's atomic conditional writes: one DynamoDB action at a time.

DynamoDB checks a ConditionExpression and applies the write as one step. moto reads the item,
checks the condition and writes it back in Python with no lock, so two threads (a retry batch's
pool, the moto server's request threads) can both pass a condition only one of them may pass:
eight threads racing `attribute_not_exists` on one item had several winners in 21 rounds of 30.
The retry path's attempt lease relies on that atomicity, as production may.

`serialize_dynamodb()` puts DynamoDB's and DynamoDB Streams' actions under one lock (the stream
reads then see whole writes too). moto is bound by the GIL, so throughput barely changes. The
embedded stack runs its moto server through `python -m devtools.atomic_moto`; the unit suites
call `serialize_dynamodb()` in their `mock_aws` fixture.
"""

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

_LOCK = threading.RLock()
_MARK = "_triggers_serialized"


def _serialized(action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    @functools.wraps(action)
    def call_action(self: Any) -> Any:
        with _LOCK:
            return action(self)

    setattr(call_action, _MARK, True)
    return call_action


def serialize_dynamodb() -> None:
    """Run every DynamoDB and DynamoDB Streams action under one lock (idempotent)."""
    for handler in (DynamoHandler, DynamoDBStreamsHandler):
        if not getattr(handler.call_action, _MARK, False):
            handler.call_action = _serialized(handler.call_action)  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    """`python -m moto.server`'s command line, with DynamoDB serialized."""
    from moto.server import main as moto_server_main

    serialize_dynamodb()
    moto_server_main(argv)


if __name__ == "__main__":
    main()
