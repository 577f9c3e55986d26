"""Lambda entry point of the HTTP API."""

import gc

# The objects this import creates (modules, routes, models) live as long as the execution
# environment: no cyclic collection while they are made, then they are frozen out of the collector
# (docs/decisions.md, "Cold start"). A full collection here walked every object the libraries had
# created, about 40 ms of the cold start; frozen, later collections skip them too.
gc.disable()
try:
    from typing import Any

    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from ingest.api import handle_request
    from ingest.core.observability import logger, metrics, tracer
    from ingest.core.settings import ingest_settings

    # Fails the cold start, naming what is missing, when a deployed function lacks a variable.
    ingest_settings()
finally:
    # Also when an import fails: the collector is never left off.
    gc.freeze()
    gc.enable()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)  # responses carry payloads: keep them out of X-Ray
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_request(event, context)
