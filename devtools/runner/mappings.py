"""Event source mappings as template.yaml declares them (SAM `DynamoDB` and `SQS` events).

The local ESM runner and the generated LocalStack mapping script (devtools/initscripts.py) read
mappings through this module, so there is exactly one interpretation of the template's settings.
"""

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from devtools.template import Template


@dataclass(frozen=True)
class MappingSpec:
    function_logical_id: str
    function_name: str
    handler: str  # "package.module.function"
    timeout_seconds: float
    memory_mb: int
    environment: dict[str, str]
    source_kind: Literal["DynamoDB", "SQS"]
    source_logical_id: str  # the table or queue resource
    source_arn: str
    batch_size: int
    maximum_batching_window_seconds: float = 0
    starting_position: str | None = None
    function_response_types: tuple[str, ...] = ()
    bisect_batch_on_function_error: bool = False
    maximum_retry_attempts: int = -1  # -1: infinite, as in AWS
    maximum_record_age_seconds: int = -1
    parallelization_factor: int = 1
    filter_patterns: tuple[dict[str, Any], ...] = ()
    on_failure_arn: str | None = None
    enabled: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def reports_batch_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.function_response_types

    @property
    def source_name(self) -> str:
        """The table (DynamoDB) or queue (SQS) named by source_arn."""
        resource = self.source_arn.split(":", 5)[5]
        return resource.split("/")[1] if self.source_kind == "DynamoDB" else resource

    @property
    def service_name(self) -> str:
        """The Powertools service the function logs as."""
        return self.environment.get("POWERTOOLS_SERVICE_NAME", self.function_name)


@dataclass(frozen=True)
class FunctionSpec:
    """A function as the template declares it, for hosting it in-process (the API server's ingest)."""

    function_logical_id: str
    function_name: str
    handler: str
    timeout_seconds: float
    memory_mb: int
    environment: dict[str, str]

    @property
    def service_name(self) -> str:
        return self.environment.get("POWERTOOLS_SERVICE_NAME", self.function_name)


def function_spec(template: Template, logical_id: str) -> FunctionSpec:
    return FunctionSpec(
        function_logical_id=logical_id,
        function_name=template.physical_name(logical_id),
        handler=str(template.function_setting(logical_id, "Handler")),
        timeout_seconds=float(template.function_setting(logical_id, "Timeout") or 3),
        memory_mb=int(template.function_setting(logical_id, "MemorySize") or 128),
        environment=template.function_environment(logical_id),
    )


def _source_logical_id(value: Any) -> str:
    """The logical id behind `!GetAtt X.StreamArn` / `!GetAtt X.Arn` in the raw template."""
    tag_value = getattr(value, "value", None)
    if tag_value is None and isinstance(value, dict):
        tag_value = value.get("Fn::GetAtt")
    if isinstance(tag_value, str):
        return tag_value.split(".", 1)[0]
    if isinstance(tag_value, list):
        return str(tag_value[0])
    raise ValueError(f"mapping source must be !GetAtt <Resource>.<Arn>, got {value!r}")


def load_mappings(template: Template) -> list[MappingSpec]:
    specs: list[MappingSpec] = []
    for logical_id, resource in template.resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        raw_properties = resource.get("Properties", {})
        for event in raw_properties.get("Events", {}).values():
            kind = event["Type"]
            if kind not in ("DynamoDB", "SQS"):
                continue
            raw = event["Properties"]
            props = template.resolve(raw)
            source_key = "Stream" if kind == "DynamoDB" else "Queue"
            on_failure = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            specs.append(
                MappingSpec(
                    **asdict(function_spec(template, logical_id)),
                    source_kind=kind,
                    source_logical_id=_source_logical_id(raw[source_key]),
                    source_arn=props[source_key],
                    batch_size=int(props.get("BatchSize", 100 if kind == "DynamoDB" else 10)),
                    maximum_batching_window_seconds=int(props.get("MaximumBatchingWindowInSeconds", 0)),
                    starting_position=props.get("StartingPosition"),
                    function_response_types=tuple(props.get("FunctionResponseTypes", ())),
                    bisect_batch_on_function_error=bool(props.get("BisectBatchOnFunctionError", False)),
                    maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
                    maximum_record_age_seconds=int(props.get("MaximumRecordAgeInSeconds", -1)),
                    parallelization_factor=int(props.get("ParallelizationFactor", 1)),
                    filter_patterns=tuple(
                        json.loads(item["Pattern"])
                        for item in props.get("FilterCriteria", {}).get("Filters", [])
                    ),
                    on_failure_arn=on_failure,
                    enabled=bool(props.get("Enabled", True)),
                )
            )
    return specs
