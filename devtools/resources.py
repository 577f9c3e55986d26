"""The resources of template.yaml that a local stack creates, as the AWS API requests that create them.

This is the one reading of the template for both local paths: the embedded stack sends these
requests with boto3 to its moto server (`create_resources`), and devtools/initscripts.py renders
the same requests into the LocalStack init scripts. Event source mappings are the local ESM
runner's reading (devtools/mappings.py) turned into CreateEventSourceMapping requests; the
embedded stack never creates them (moto would invoke Lambdas through Docker).
"""

import io
import json
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from devtools.mappings import MappingSpec, load_mappings
from devtools.template import Tag, Template

# Resource types a local stack does not have: LocalStack's free tier has no HTTP API (the
# ingest function gets a function URL instead) and enforces no IAM (one shared role).
NOT_LOCAL = frozenset({"AWS::Serverless::HttpApi", "AWS::IAM::Role", "AWS::CloudWatch::Dashboard"})
TABLE_REQUEST_KEYS = (
    "TableName",
    "BillingMode",
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "StreamSpecification",
    "SSESpecification",
    "DeletionProtectionEnabled",
)
QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "SqsManagedSseEnabled",
    "RedrivePolicy",
)
FUNCTION_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
Client = Callable[[str], Any]


@dataclass(frozen=True)
class TableSpec:
    request: dict[str, Any]  # CreateTable
    ttl_attribute: str | None
    point_in_time_recovery: bool

    @property
    def name(self) -> str:
        return str(self.request["TableName"])


@dataclass(frozen=True)
class QueueSpec:
    name: str
    attributes: dict[str, str]  # CreateQueue, RedrivePolicy with the template's ARN of its target
    dead_letter_queue: str | None


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    request: dict[str, Any]  # CreateFunction without Role and Code
    log_group: str
    log_retention_days: int | None
    http_api: bool  # served by the template's HTTP API (a function URL on LocalStack)

    @property
    def name(self) -> str:
        return str(self.request["FunctionName"])


@dataclass(frozen=True)
class LocalResources:
    """What a local stack creates from the template, in creation order within each kind."""

    template: Template
    tables: list[TableSpec]
    queues: list[QueueSpec]
    domain: dict[str, Any] | None  # CreateDomain
    role: str
    functions: list[FunctionSpec]
    mappings: list[MappingSpec]
    topic: str | None
    alarms: list[dict[str, Any]]  # PutMetricAlarm


def read_resources(template: Template) -> LocalResources:
    topics = list(template.of_type("AWS::SNS::Topic").values())
    domains = list(template.of_type("AWS::OpenSearchService::Domain").values())
    return LocalResources(
        template=template,
        tables=[_table(properties) for properties in template.tables().values()],
        queues=_queues(template),
        domain=domains[0] if domains else None,
        role=f"triggers-{template.stage}-lambda",
        functions=[_function(template, name) for name in template.of_type("AWS::Serverless::Function")],
        mappings=load_mappings(template),
        topic=str(topics[0]["TopicName"]) if topics else None,
        alarms=[
            properties
            for name, properties in template.of_type("AWS::CloudWatch::Alarm").items()
            if not _measures_what_is_not_local(template, name)
        ],
    )


def _table(properties: dict[str, Any]) -> TableSpec:
    request = {key: properties[key] for key in TABLE_REQUEST_KEYS if key in properties}
    if not request.get("DeletionProtectionEnabled", True):
        del request["DeletionProtectionEnabled"]  # the default; older AWS CLIs do not know the key
    if "StreamSpecification" in request:
        request["StreamSpecification"] = {"StreamEnabled": True, **request["StreamSpecification"]}
    if "SSESpecification" in request:
        sse = request["SSESpecification"]
        request["SSESpecification"] = {"Enabled": sse["SSEEnabled"]} | {
            key: sse[key] for key in ("SSEType", "KMSMasterKeyId") if key in sse
        }
    ttl = properties.get("TimeToLiveSpecification", {})
    pitr = properties.get("PointInTimeRecoverySpecification", {})
    return TableSpec(
        request=request,
        ttl_attribute=ttl["AttributeName"] if ttl.get("Enabled") else None,
        point_in_time_recovery=bool(pitr.get("PointInTimeRecoveryEnabled")),
    )


def _attribute(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value) if isinstance(value, dict) else str(value)


def _queues(template: Template) -> list[QueueSpec]:
    queues = []
    for properties in template.of_type("AWS::SQS::Queue").values():
        redrive = properties.get("RedrivePolicy")
        if redrive:
            redrive = {**redrive, "maxReceiveCount": str(redrive["maxReceiveCount"])}
        attributes = {**properties, "RedrivePolicy": redrive} if redrive else properties
        queues.append(
            QueueSpec(
                name=str(properties["QueueName"]),
                attributes={
                    key: _attribute(attributes[key]) for key in QUEUE_ATTRIBUTES if key in attributes
                },
                dead_letter_queue=redrive["deadLetterTargetArn"].rsplit(":", 1)[1] if redrive else None,
            )
        )
    return sorted(queues, key=lambda queue: queue.dead_letter_queue is not None)


def _function(template: Template, logical_id: str) -> FunctionSpec:
    def setting(key: str, default: Any) -> Any:
        value = template.function_setting(logical_id, key)
        return default if value is None else value

    properties = template.resources[logical_id].get("Properties", {})
    log_group = template.resolve(properties.get("LoggingConfig", {}).get("LogGroup"))
    log_group_properties = next(
        (
            group
            for group in template.of_type("AWS::Logs::LogGroup").values()
            if group["LogGroupName"] == log_group
        ),
        {},
    )
    name = template.physical_name(logical_id)
    request = {
        "FunctionName": name,
        "Description": template.resolve(properties.get("Description", "")),
        "Runtime": setting("Runtime", "python3.12"),
        "Handler": setting("Handler", ""),
        "Architectures": setting("Architectures", ["x86_64"]),
        "MemorySize": int(setting("MemorySize", 128)),
        "Timeout": int(setting("Timeout", 3)),
        "TracingConfig": {"Mode": setting("Tracing", "PassThrough")},
        "Environment": {"Variables": template.function_environment(logical_id)},
    }
    retention = log_group_properties.get("RetentionInDays")
    return FunctionSpec(
        logical_id=logical_id,
        request=request,
        log_group=str(log_group or f"/aws/lambda/{name}"),
        log_retention_days=None if retention is None else int(retention),
        http_api=any(event["Type"] == "HttpApi" for event in properties.get("Events", {}).values()),
    )


def _references(value: Any) -> set[str]:
    """Logical ids a raw template value refers to (`!Ref`, `!GetAtt`, `${X}` in `!Sub`)."""
    if isinstance(value, Tag):
        if value.name == "Ref":
            return {value.value}
        if value.name == "GetAtt":
            return {str(value.value).split(".", 1)[0]}
        if value.name == "Sub" and isinstance(value.value, str):
            return {name.split(".", 1)[0] for name in re.findall(r"\$\{([^}]+)\}", value.value)}
        return _references(value.value)
    if isinstance(value, dict):
        return set().union(*map(_references, value.values()))
    if isinstance(value, list):
        return set().union(*map(_references, value))
    return set()


def _measures_what_is_not_local(template: Template, alarm: str) -> bool:
    """An alarm on a resource no local stack has (the HTTP API's)."""
    properties = template.resources[alarm]["Properties"]
    measured = _references({key: value for key, value in properties.items() if key != "AlarmActions"})
    return any(
        template.resources[name]["Type"] in NOT_LOCAL for name in measured if name in template.resources
    )


def mapping_request(spec: MappingSpec) -> dict[str, Any]:
    """The CreateEventSourceMapping request of a mapping as the runner reads it."""
    request: dict[str, Any] = {
        "FunctionName": spec.function_name,
        "EventSourceArn": spec.source_arn,
        "BatchSize": spec.batch_size,
        "MaximumBatchingWindowInSeconds": spec.maximum_batching_window_seconds,
    }
    if spec.source_kind == "DynamoDB":
        request |= {
            "StartingPosition": spec.starting_position,
            "BisectBatchOnFunctionError": spec.bisect_batch_on_function_error,
            "MaximumRetryAttempts": spec.maximum_retry_attempts,
            "MaximumRecordAgeInSeconds": spec.maximum_record_age_seconds,
            "ParallelizationFactor": spec.parallelization_factor,
        }
    if spec.function_response_types:
        request["FunctionResponseTypes"] = list(spec.function_response_types)
    if spec.filter_patterns:
        patterns = [{"Pattern": json.dumps(pattern)} for pattern in spec.filter_patterns]
        request["FilterCriteria"] = {"Filters": patterns}
    if spec.on_failure_arn:
        request["DestinationConfig"] = {"OnFailure": {"Destination": spec.on_failure_arn}}
    if not spec.enabled:
        request["Enabled"] = False
    return request


def placeholder_code() -> bytes:
    """A zip for functions the embedded stack hosts in-process: moto keeps them as metadata only."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README", "The embedded stack runs this function's handler in-process.\n")
    return buffer.getvalue()


def _exists(error: ClientError) -> bool:
    return error.response["Error"]["Code"] in (
        "ResourceInUseException",
        "ResourceAlreadyExistsException",
        "ResourceConflictException",
        "EntityAlreadyExists",
    )


def create_tables(dynamodb: Any, resources: LocalResources) -> None:
    """Tables with their TTL and point-in-time recovery; existing ones are left as they are."""
    for table in resources.tables:
        try:
            dynamodb.create_table(**table.request)
        except ClientError as error:
            if not _exists(error):
                raise
            continue
        if table.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=table.name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
        if table.point_in_time_recovery:
            dynamodb.update_continuous_backups(
                TableName=table.name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )


def create_resources(
    client: Client, resources: LocalResources, environment: Mapping[str, str] | None = None
) -> None:
    """Everything but the event source mappings, through boto3 (the embedded stack on moto).

    `environment` is set on every function on top of the template's (the embedded stack's
    OpenSearch endpoint and retry schedule), so tools reading a function's configuration see the
    values its in-process handler runs with.
    """
    create_tables(client("dynamodb"), resources)
    sqs = client("sqs")
    for queue in resources.queues:
        sqs.create_queue(QueueName=queue.name, Attributes=queue.attributes)
    if resources.domain is not None:
        opensearch = client("opensearch")
        try:
            opensearch.create_domain(**resources.domain)
        except ClientError as error:
            if not _exists(error):
                raise
    _create_functions(client, resources, dict(environment or {}))
    if resources.topic is not None:
        client("sns").create_topic(Name=resources.topic)
    cloudwatch = client("cloudwatch")
    for alarm in resources.alarms:
        cloudwatch.put_metric_alarm(**alarm)


def _create_functions(client: Client, resources: LocalResources, environment: dict[str, str]) -> None:
    iam, lambda_, logs = client("iam"), client("lambda"), client("logs")
    try:
        role = iam.create_role(
            RoleName=resources.role, AssumeRolePolicyDocument=json.dumps(FUNCTION_ROLE_POLICY)
        )["Role"]["Arn"]
    except ClientError as error:
        if not _exists(error):
            raise
        role = iam.get_role(RoleName=resources.role)["Role"]["Arn"]
    code = placeholder_code()
    for function in resources.functions:
        request = dict(function.request)
        variables = request["Environment"]["Variables"]
        request["Environment"] = {
            "Variables": {key: environment.get(key, value) for key, value in variables.items()}
        }
        try:
            lambda_.create_function(**request, Role=role, Code={"ZipFile": code})
        except ClientError as error:
            if not _exists(error):
                raise
        try:
            logs.create_log_group(logGroupName=function.log_group)
        except ClientError as error:
            if not _exists(error):
                raise
        if function.log_retention_days is not None:
            logs.put_retention_policy(
                logGroupName=function.log_group, retentionInDays=function.log_retention_days
            )
