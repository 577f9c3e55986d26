"""The one place that creates the Powertools logger, tracer and metrics, and records each API request.

Every API request leaves one `request` log line and one set of EMF metrics (namespace `Triggers`):

- `Requests` and `ServerErrors` (0 or 1), dimensions `endpoint` (the route template, e.g.
  `/v1/events/{event_id}`, or `unmatched`) and `method`: the per-endpoint error-rate alarms of
  template.yaml divide the two;
- `Errors`, dimensions `endpoint`, `method` and `error_type` (the problem type's slug, e.g.
  `validation-failed`), for every problem answer, 4xx and 5xx.

The dimensions take bounded values only (route templates, standard methods, problem slugs), never
ids or raw paths, so the metric count stays fixed whatever the traffic.
"""

import os
from dataclasses import asdict, dataclass

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Triggers"))

REQUEST_MESSAGE = "request"
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class RequestRecord:
    """What the request log line says about one API request. `key_id` is the API key's public id
    (the first 16 hex digits of its SHA-256, as `triggers keys ls` shows it), never the key."""

    request_id: str | None
    key_id: str | None
    tenant_id: str | None
    endpoint: str
    method: str
    status: int
    latency_ms: float
    error_type: str | None = None


def record_request(record: RequestRecord) -> None:
    """Log the request line and emit its metrics (flushed at once: they carry their own dimensions)."""
    method = record.method if record.method in METHODS else "OTHER"
    logger.info(REQUEST_MESSAGE, extra=asdict(record))
    namespace = metrics.namespace
    counts = EphemeralMetrics(namespace=namespace)
    counts.add_dimension(name="endpoint", value=record.endpoint)
    counts.add_dimension(name="method", value=method)
    counts.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    counts.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=int(record.status >= 500))
    counts.flush_metrics()
    if record.error_type:
        errors = EphemeralMetrics(namespace=namespace)
        errors.add_dimension(name="endpoint", value=record.endpoint)
        errors.add_dimension(name="method", value=method)
        errors.add_dimension(name="error_type", value=record.error_type)
        errors.add_metric(name="Errors", unit=MetricUnit.Count, value=1)
        errors.flush_metrics()
