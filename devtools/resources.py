"""The resources of template.yaml that a local stack creates, as the AWS API requests that create them.

This is the one reading of the template for both local paths: the embedded stack sends these
requests with boto3 to its moto server (`create_resources`), and devtools/initscripts.py renders
the same requests into the LocalStack init scripts. Event source mappings are the local ESM
runner's reading (devtools/runner/mappings.py) turned into CreateEventSourceMapping requests; the
embedded stack never creates them (moto would invoke Lambdas through Docker).
"""

import io
import json
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from devtools.runner.mappings import MappingSpec, load_mappings
from devtools.template import Tag, Template

# Resource types a local stack does not have: LocalStack's free tier has no HTTP API (the
# ingest function gets a function URL instead) and enforces no IAM (one shared role, and no log
# group resource policy: AWS::Logs::ResourcePolicy is not read at all).
NOT_LOCAL = frozenset({"AWS::Serverless::HttpApi", "AWS::IAM::Role", "AWS::CloudWatch::Dashboard"})
# The domain's access policy names the functions' roles, which a local stack does not have.
NOT_LOCAL_DOMAIN_SETTINGS = ("AccessPolicies",)
# Table properties that are not CreateTable parameters but calls of their own.
TABLE_SETTINGS = ("TimeToLiveSpecification", "PointInTimeRecoverySpecification")
# Key properties that are not CreateKey parameters: rotation is a call of its own, the deletion
# window a parameter of ScheduleKeyDeletion, and the key policy names IAM roles, which a local
# stack does not create (neither moto nor LocalStack's free tier enforces IAM).
KEY_SETTINGS = ("EnableKeyRotation", "PendingWindowInDays", "KeyPolicy")
FUNCTION_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
Client = Callable[[str], Any]


@dataclass(frozen=True)
class Table:
    request: dict[str, Any]  # CreateTable
    ttl_attribute: str | None
    point_in_time_recovery: bool
    recovery_period_days: int | None = None  # PITR's RecoveryPeriodInDays (DynamoDB's default: 35)

    @property
    def name(self) -> str:
        return str(self.request["TableName"])


@dataclass(frozen=True)
class Key:
    alias: str  # how the functions name the key, and how a script finds it again
    request: dict[str, Any]  # CreateKey
    rotation: bool


@dataclass(frozen=True)
class Queue:
    name: str
    attributes: dict[str, str]  # CreateQueue, RedrivePolicy with the template's ARN of its target


@dataclass(frozen=True)
class LogGroup:
    name: str
    retention_days: int | None


@dataclass(frozen=True)
class Function:
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
    keys: list[Key]
    tables: list[Table]
    queues: list[Queue]
    domain: dict[str, Any] | None  # CreateDomain
    domain_log_groups: list[LogGroup]  # where the domain publishes its logs (created before it)
    role: str
    functions: list[Function]
    mappings: list[MappingSpec]
    topic: str | None
    alarms: list[dict[str, Any]]  # PutMetricAlarm


def read_resources(template: Template) -> LocalResources:
    topics = list(template.of_type("AWS::SNS::Topic").values())
    domains = list(template.of_type("AWS::OpenSearchService::Domain").values())
    domain = _domain(domains[0]) if domains else None
    return LocalResources(
        template=template,
        keys=_keys(template),
        tables=[_table(properties) for properties in template.tables().values()],
        queues=_queues(template),
        domain=domain,
        domain_log_groups=_domain_log_groups(template, domain) if domain else [],
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


def _keys(template: Template) -> list[Key]:
    """The KMS keys, each found by its alias (a local key has a random id)."""
    aliases = template.of_type("AWS::KMS::Alias").values()
    keys = []
    for name, properties in template.of_type("AWS::KMS::Key").items():
        named = [str(alias["AliasName"]) for alias in aliases if alias["TargetKeyId"] == name]
        if len(named) != 1:
            raise ValueError(f"a local key needs exactly one alias to be found by: {name} has {named}")
        request = {key: value for key, value in properties.items() if key not in KEY_SETTINGS}
        keys.append(Key(named[0], request, bool(properties.get("EnableKeyRotation"))))
    return keys


def _table(properties: dict[str, Any]) -> Table:
    request = {key: value for key, value in properties.items() if key not in TABLE_SETTINGS}
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
    return Table(
        request=request,
        ttl_attribute=ttl["AttributeName"] if ttl.get("Enabled") else None,
        point_in_time_recovery=bool(pitr.get("PointInTimeRecoveryEnabled")),
        recovery_period_days=int(pitr["RecoveryPeriodInDays"]) if "RecoveryPeriodInDays" in pitr else None,
    )


def _domain(properties: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in properties.items() if key not in NOT_LOCAL_DOMAIN_SETTINGS}


def _domain_log_groups(template: Template, domain: dict[str, Any]) -> list[LogGroup]:
    """The log groups the domain's LogPublishingOptions name, in their order."""
    groups = {
        template.get_att(name, "Arn"): properties
        for name, properties in template.of_type("AWS::Logs::LogGroup").items()
    }
    published = [
        option["CloudWatchLogsLogGroupArn"] for option in domain.get("LogPublishingOptions", {}).values()
    ]
    return [
        LogGroup(
            name=str(groups[arn]["LogGroupName"]),
            retention_days=int(groups[arn]["RetentionInDays"]) if "RetentionInDays" in groups[arn] else None,
        )
        for arn in published
    ]


def _attribute(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value) if isinstance(value, dict) else str(value)


def _queues(template: Template) -> list[Queue]:
    """Dead-letter queues first: a redrive policy needs its target."""
    queues = []
    for properties in template.of_type("AWS::SQS::Queue").values():
        if "RedrivePolicy" in properties:
            redrive = properties["RedrivePolicy"]
            properties = {
                **properties,
                "RedrivePolicy": {**redrive, "maxReceiveCount": str(redrive["maxReceiveCount"])},
            }
        attributes = {key: _attribute(value) for key, value in properties.items() if key != "QueueName"}
        queues.append(Queue(name=str(properties["QueueName"]), attributes=attributes))
    return sorted(queues, key=lambda queue: "RedrivePolicy" in queue.attributes)


def _function(template: Template, logical_id: str) -> Function:
    def setting(key: str, default: Any) -> Any:
        value = template.function_setting(logical_id, key)
        return default if value is None else value

    properties = template.resources[logical_id].get("Properties", {})
    log_group = template.resolve(properties.get("LoggingConfig", {}).get("LogGroup"))
    groups = {group["LogGroupName"]: group for group in template.of_type("AWS::Logs::LogGroup").values()}
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
    retention = groups.get(log_group, {}).get("RetentionInDays")
    return Function(
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


def create_keys(kms: Any, resources: LocalResources) -> None:
    """KMS keys with their rotation and alias."""
    for key in resources.keys:
        key_id = kms.create_key(**key.request)["KeyMetadata"]["KeyId"]
        if key.rotation:
            kms.enable_key_rotation(KeyId=key_id)
        kms.create_alias(AliasName=key.alias, TargetKeyId=key_id)


def create_tables(dynamodb: Any, resources: LocalResources) -> None:
    """Tables with their TTL and point-in-time recovery."""
    for table in resources.tables:
        dynamodb.create_table(**table.request)
        if table.ttl_attribute:
            specification = {"Enabled": True, "AttributeName": table.ttl_attribute}
            dynamodb.update_time_to_live(TableName=table.name, TimeToLiveSpecification=specification)
        if table.point_in_time_recovery:
            pitr: dict[str, Any] = {"PointInTimeRecoveryEnabled": True}
            if table.recovery_period_days is not None:
                pitr["RecoveryPeriodInDays"] = table.recovery_period_days
            dynamodb.update_continuous_backups(TableName=table.name, PointInTimeRecoverySpecification=pitr)


def create_log_group(logs: Any, name: str, retention_days: int | None) -> None:
    logs.create_log_group(logGroupName=name)
    if retention_days is not None:
        logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)


def create_resources(
    client: Client, resources: LocalResources, environment: Mapping[str, str] | None = None
) -> None:
    """Everything but the event source mappings, with boto3 on an empty endpoint (the embedded stack's moto).

    Values in `environment` replace the template's in the functions' environments (the embedded
    stack's OpenSearch endpoint and retry schedule), so tools reading a function's configuration
    see what its in-process handler runs with.
    """
    create_keys(client("kms"), resources)
    create_tables(client("dynamodb"), resources)
    for queue in resources.queues:
        client("sqs").create_queue(QueueName=queue.name, Attributes=queue.attributes)
    logs = client("logs")
    for group in resources.domain_log_groups:
        create_log_group(logs, group.name, group.retention_days)
    if resources.domain is not None:
        client("opensearch").create_domain(**resources.domain)
    role = client("iam").create_role(
        RoleName=resources.role, AssumeRolePolicyDocument=json.dumps(FUNCTION_ROLE_POLICY)
    )["Role"]["Arn"]
    lambda_ = client("lambda")
    for function in resources.functions:
        variables = function.request["Environment"]["Variables"]
        variables = {key: (environment or {}).get(key, value) for key, value in variables.items()}
        request = {**function.request, "Environment": {"Variables": variables}}
        lambda_.create_function(**request, Role=role, Code={"ZipFile": placeholder_code()})
        create_log_group(logs, function.log_group, function.log_retention_days)
    if resources.topic is not None:
        client("sns").create_topic(Name=resources.topic)
    for alarm in resources.alarms:
        client("cloudwatch").put_metric_alarm(**alarm)
