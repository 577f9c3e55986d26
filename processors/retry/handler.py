"""Retry Lambda: retry queue (SQS) -> webhook re-attempts, DLQ when the schedule is spent."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from ingest.core.observability import logger, metrics, tracer
from ingest.core.settings import delivery_settings
from processors.retry.logic import retry_batch
from processors.webhooks.delivery import default_deliverer

# Fails the cold start, naming what is missing, when a deployed function lacks a variable.
delivery_settings()
processor = BatchProcessor(event_type=EventType.SQS)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    batch = retry_batch(event.get("Records", []), default_deliverer())
    return process_partial_response(
        event=event, record_handler=batch.check, processor=processor, context=context
    )
