"""Fanout Lambda: DynamoDB stream (INSERT) -> signed webhook deliveries."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from ingest.core.observability import logger, metrics, tracer
from ingest.core.runtime import runtime
from ingest.core.settings import delivery_settings
from processors.fanout.logic import SubscriptionCache, fan_out
from processors.webhooks.delivery import default_deliverer

# Fails the cold start, naming what is missing, when a deployed function lacks a variable.
delivery_settings()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
subscription_cache = SubscriptionCache()
runtime.on_reset(subscription_cache.clear)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    outcome = fan_out(event.get("Records", []), default_deliverer(), subscription_cache)
    return process_partial_response(
        event=event, record_handler=outcome.check, processor=processor, context=context
    )
