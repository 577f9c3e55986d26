"""Lambda entry point of the indexer (events table stream, INSERT/MODIFY/REMOVE).

The whole batch goes to OpenSearch in one `_bulk` request first; Powertools then reports the
records that request left for a retry in `batchItemFailures`.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from ingest.core.clients import sqs_client
from ingest.core.observability import logger, metrics, tracer
from ingest.core.opensearch_client import opensearch_client
from ingest.core.settings import indexer_settings
from processors.indexer.indexing import index_batch

# Every record failing (OpenSearch down) is reported as such rather than raised: a bisected
# retry would not help, and the stream resumes from the first failed record either way.
# Fails the cold start, naming what is missing, when a deployed function lacks a variable.
indexer_settings()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    settings = indexer_settings()
    outcome = index_batch(
        event.get("Records", []),
        opensearch_client(settings.opensearch_endpoint),
        sqs_client(),
        settings.index_alias,
        settings.index_dlq_url,
    )
    return process_partial_response(
        event=event, record_handler=outcome.deferred.check, processor=processor, context=context
    )
