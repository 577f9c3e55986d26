"""Appends a correlation id for the first record's event and logs one line, as processors do."""

from typing import Any

from ingest.core.observability import logger
from tests.handlers import item_key, record


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if record(event, context) == 0:
        logger.append_keys(event_id=item_key(event["Records"][0]))
    logger.info("correlated batch")
    return {"batchItemFailures": []}
