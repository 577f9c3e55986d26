"""Records every batch and succeeds after a short pause (so a test can stop a runner mid-stream)."""

import time
from typing import Any

from tests.handlers import record


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    record(event, context)
    time.sleep(0.2)
    return {"batchItemFailures": []}
