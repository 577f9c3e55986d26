"""Template vs init scripts vs local ESM runner: each turned into one comparable view.

A view maps a resource kind ("tables", "queues", "domains", "functions", "log_groups", "topics",
"alarms", "mappings") to {physical name: settings}. `template_view` reads template.yaml directly (not through
devtools.runner.mappings, which is what it checks); `scripts_view` parses the calls the init scripts make
(recorded by tests/recording_awslocal.py); `runner_view` is devtools.runner.mappings.load_mappings, the
ESM runner's reading. `differences` lists every setting on which two views disagree.
"""

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

from devtools.runner.mappings import MappingSpec
from devtools.template import REPO_ROOT, Tag, Template

INIT_DIR = REPO_ROOT / "localstack" / "init" / "ready.d"
SHIM = Path(__file__).with_name("recording_awslocal.py")
# Template resource types no init script creates, and why.
NOT_CREATED_BY_SCRIPTS = {
    # API Gateway v2 is not in LocalStack's free tier: locally the API is `triggers up`'s server.
    # Its alarms are left out with it (they measure the API).
    "AWS::Serverless::HttpApi",
    # LocalStack's free tier does not enforce IAM: the functions share one role (04-functions.sh).
    "AWS::IAM::Role",
    # Neither emulator produces the AWS/Lambda, AWS/ApiGateway metrics the dashboard shows.
    "AWS::CloudWatch::Dashboard",
}

# What AWS uses when a mapping leaves a setting out, per source kind.
MAPPING_DEFAULTS: dict[str, dict[str, Any]] = {
    "DynamoDB": {
        "BatchSize": 100,
        "MaximumBatchingWindowInSeconds": 0,
        "StartingPosition": None,
        "FunctionResponseTypes": [],
        "BisectBatchOnFunctionError": False,
        "MaximumRetryAttempts": -1,
        "MaximumRecordAgeInSeconds": -1,
        "ParallelizationFactor": 1,
        "FilterPatterns": [],
        "OnFailure": None,
        "Enabled": True,
    },
    "SQS": {
        "BatchSize": 10,
        "MaximumBatchingWindowInSeconds": 0,
        "FunctionResponseTypes": [],
        "FilterPatterns": [],
        "Enabled": True,
    },
}
QUEUE_VISIBILITY_DEFAULT = 30

View = dict[str, dict[str, Any]]


# ---------------------------------------------------------------- running the scripts


def run_init_scripts(
    workdir: Path, stage: str = "local", embedded: bool = False, index_template: Path | None = None
) -> list[list[str]]:
    """Run every init script against the recording shim; returns the awslocal calls of this run."""
    record = workdir / "calls.jsonl"
    record.touch()
    bin_dir = workdir / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("awslocal", "curl"):
        wrapper = bin_dir / tool
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{SHIM}" {tool} "$@"\n')
        wrapper.chmod(0o755)
    build_dir = workdir / "build"
    build_dir.mkdir(exist_ok=True)
    for function in ("ingest", "fanout", "retry", "indexer"):
        (build_dir / f"{function}.zip").write_bytes(b"")
    env = {
        "PATH": os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
        "HOME": str(workdir),
        "RECORD_FILE": str(record),
        "STAGE": stage,
        "LAMBDA_BUILD_DIR": str(build_dir),
        "INDEX_TEMPLATE_FILE": str(index_template or workdir / "no-index-template.json"),
        "OPENSEARCH_ENDPOINT": "http://127.0.0.1:9200",
    }
    if embedded:
        env["TRIGGERS_EMBEDDED"] = "1"
    before = len(read_calls(record))
    for script in sorted(INIT_DIR.glob("*.sh")):
        result = subprocess.run(
            ["bash", str(script)], env=env, capture_output=True, text=True, check=False, timeout=120
        )
        if result.returncode != 0:
            raise AssertionError(
                f"{script.name} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )
    return read_calls(record)[before:]


def read_calls(record: Path, tool: str = "awslocal") -> list[list[str]]:
    lines = record.read_text().splitlines()
    return [entry["args"] for entry in map(json.loads, lines) if entry["tool"] == tool]


# ---------------------------------------------------------------- parsing AWS CLI arguments


def _scalar(value: str) -> Any:
    if value in ("true", "false"):
        return value == "true"
    return int(value) if value.lstrip("-").isdigit() else value


def _argument(value: str) -> Any:
    """One CLI argument value: JSON, shorthand (`A=1,B=x`) or a plain scalar."""
    if value.startswith(("{", "[")):
        return json.loads(value)
    if "=" in value and not value.startswith(("http:", "https:", "fileb:")):
        return {key: _scalar(item) for key, item in (pair.split("=", 1) for pair in value.split(","))}
    return _scalar(value)


def parse_options(args: list[str]) -> dict[str, Any]:
    """`--name v` -> v, `--name v1 v2` -> [v1, v2], `--flag` -> True."""
    values: dict[str, list[Any]] = {}
    name: str | None = None
    for token in args:
        if token.startswith("--"):
            name = token[2:]
            values[name] = []
        elif name is not None:
            values[name].append(_argument(token))
    return {
        key: True if not items else items[0] if len(items) == 1 else items for key, items in values.items()
    }


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def calls_of(calls: Iterable[list[str]], service: str, operation: str) -> list[dict[str, Any]]:
    return [parse_options(call[2:]) for call in calls if call[:2] == [service, operation]]


def _arn_name(arn: str) -> str:
    """The table behind a stream ARN, the queue behind a queue ARN."""
    if ":dynamodb:" in arn:
        return arn.split(":table/", 1)[1].split("/", 1)[0]
    return arn.rsplit(":", 1)[-1]


def _env(variables: dict[str, Any]) -> dict[str, str]:
    """Environment values that do not depend on where the stack runs: queues and domains by name."""
    normalized = {}
    for key, value in variables.items():
        text = str(value)
        if key.endswith("_URL"):
            text = text.rsplit("/", 1)[-1]
        elif key == "OPENSEARCH_ENDPOINT":
            text = (urlparse(text).hostname or "").split(".", 1)[0]
        normalized[key] = text
    return normalized


def _key_schema(items: Iterable[dict[str, Any]]) -> dict[str, str]:
    return {item["KeyType"]: item["AttributeName"] for item in items}


def _indexes(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {
        index["IndexName"]: {
            "KeySchema": _key_schema(index["KeySchema"]),
            "Projection": index["Projection"]["ProjectionType"],
        }
        for index in items
    }


# ---------------------------------------------------------------- template.yaml


def template_view(template: Template) -> View:
    kinds = ("tables", "queues", "domains", "functions", "log_groups", "topics", "alarms")
    view: View = {kind: {} for kind in kinds}
    for props in template.of_type("AWS::DynamoDB::Table").values():
        ttl = props.get("TimeToLiveSpecification", {})
        view["tables"][props["TableName"]] = {
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
            "KeySchema": _key_schema(props["KeySchema"]),
            "AttributeDefinitions": {
                a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]
            },
            "GlobalSecondaryIndexes": _indexes(props.get("GlobalSecondaryIndexes", [])),
            "StreamViewType": props.get("StreamSpecification", {}).get("StreamViewType"),
            "TimeToLive": ttl["AttributeName"] if ttl.get("Enabled") else None,
            "PointInTimeRecovery": bool(
                props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")
            ),
            "SSE": bool(props.get("SSESpecification", {}).get("SSEEnabled")),
            "DeletionProtection": bool(props.get("DeletionProtectionEnabled", False)),
        }
    for props in template.of_type("AWS::SQS::Queue").values():
        redrive = props.get("RedrivePolicy")
        view["queues"][props["QueueName"]] = {
            "MessageRetentionPeriod": int(props.get("MessageRetentionPeriod", 345600)),
            "VisibilityTimeout": int(props.get("VisibilityTimeout", QUEUE_VISIBILITY_DEFAULT)),
            "SqsManagedSseEnabled": bool(props.get("SqsManagedSseEnabled", False)),
            "RedrivePolicy": {
                "deadLetterTarget": _arn_name(redrive["deadLetterTargetArn"]),
                "maxReceiveCount": int(redrive["maxReceiveCount"]),
            }
            if redrive
            else None,
        }
    for props in template.of_type("AWS::OpenSearchService::Domain").values():
        view["domains"][props["DomainName"]] = {
            key: value for key, value in props.items() if key != "DomainName"
        }
    for logical_id in template.of_type("AWS::Serverless::Function"):
        view["functions"][template.physical_name(logical_id)] = {
            "Handler": template.function_setting(logical_id, "Handler"),
            "Runtime": template.function_setting(logical_id, "Runtime"),
            "Timeout": int(template.function_setting(logical_id, "Timeout") or 3),
            "MemorySize": int(template.function_setting(logical_id, "MemorySize") or 128),
            "Architectures": template.function_setting(logical_id, "Architectures") or ["x86_64"],
            "Tracing": template.function_setting(logical_id, "Tracing") or "PassThrough",
            "Environment": _env(template.function_environment(logical_id)),
            "Code": PurePosixPath(str(template.function_setting(logical_id, "CodeUri"))).name,
        }
    for logical_id, props in template.of_type("AWS::Logs::LogGroup").items():
        if not _serves_only_resources_not_created_by_scripts(template, logical_id):
            view["log_groups"][props["LogGroupName"]] = {"RetentionInDays": props.get("RetentionInDays")}
    for props in template.of_type("AWS::SNS::Topic").values():
        view["topics"][props["TopicName"]] = {}
    for logical_id, props in template.of_type("AWS::CloudWatch::Alarm").items():
        if not _measures_a_resource_not_created_by_scripts(template, logical_id):
            view["alarms"][props["AlarmName"]] = _alarm(props)
    view["mappings"] = template_mappings(template)
    return view


def _alarm(props: dict[str, Any]) -> dict[str, Any]:
    """An alarm's settings with AWS's defaults filled in, dimensions as a dict, actions by name."""
    settings = {key: value for key, value in props.items() if key != "AlarmName"}
    settings.setdefault("TreatMissingData", "missing")
    for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
        if key in settings:
            settings[key] = int(settings[key])
    settings["Threshold"] = float(settings["Threshold"])
    if "Dimensions" in settings:
        settings["Dimensions"] = {item["Name"]: item["Value"] for item in as_list(settings["Dimensions"])}
    for key in ("AlarmActions", "OKActions"):
        settings[key] = [_arn_name(arn) for arn in as_list(settings.get(key, []))]
    return settings


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


def _serves_only_resources_not_created_by_scripts(template: Template, name: str) -> bool:
    """A resource (the API's access log group) that only resources no script creates refer to."""
    users = [
        resource["Type"]
        for user, resource in template.resources.items()
        if user != name and name in _references(resource.get("Properties", {}))
    ]
    return bool(users) and all(kind in NOT_CREATED_BY_SCRIPTS for kind in users)


def _measures_a_resource_not_created_by_scripts(template: Template, alarm: str) -> bool:
    properties = template.resources[alarm]["Properties"]
    measured = _references({key: value for key, value in properties.items() if key != "AlarmActions"})
    return any(
        template.resources[name]["Type"] in NOT_CREATED_BY_SCRIPTS
        for name in measured
        if name in template.resources
    )


def template_mappings(template: Template) -> dict[str, Any]:
    """The SAM `DynamoDB`/`SQS` events as declared, AWS defaults for what they leave out."""
    mappings: dict[str, Any] = {}
    for logical_id, resource in template.resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            kind = event["Type"]
            if kind not in MAPPING_DEFAULTS:
                continue
            props = template.resolve(event["Properties"])
            source = props.pop("Stream" if kind == "DynamoDB" else "Queue")
            settings = {**MAPPING_DEFAULTS[kind], **props}
            filters = settings.pop("FilterCriteria", {}).get("Filters", [])
            settings["FilterPatterns"] = [json.loads(item["Pattern"]) for item in filters]
            destination = settings.pop("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            if destination:
                settings["OnFailure"] = _arn_name(destination)
            mappings[f"{template.physical_name(logical_id)} <- {_arn_name(source)}"] = settings
    return mappings


# ---------------------------------------------------------------- the init scripts' calls

DOMAIN_OPTIONS = {
    "engine-version": "EngineVersion",
    "cluster-config": "ClusterConfig",
    "ebs-options": "EBSOptions",
    "encryption-at-rest-options": "EncryptionAtRestOptions",
    "node-to-node-encryption-options": "NodeToNodeEncryptionOptions",
    "domain-endpoint-options": "DomainEndpointOptions",
}
ALARM_OPTIONS = {
    "alarm-description": "AlarmDescription",
    "namespace": "Namespace",
    "metric-name": "MetricName",
    "dimensions": "Dimensions",
    "statistic": "Statistic",
    "extended-statistic": "ExtendedStatistic",
    "period": "Period",
    "metrics": "Metrics",
    "evaluation-periods": "EvaluationPeriods",
    "datapoints-to-alarm": "DatapointsToAlarm",
    "threshold": "Threshold",
    "comparison-operator": "ComparisonOperator",
    "treat-missing-data": "TreatMissingData",
    "alarm-actions": "AlarmActions",
    "ok-actions": "OKActions",
}
MAPPING_OPTIONS = {
    "batch-size": "BatchSize",
    "maximum-batching-window-in-seconds": "MaximumBatchingWindowInSeconds",
    "starting-position": "StartingPosition",
    "function-response-types": "FunctionResponseTypes",
    "bisect-batch-on-function-error": "BisectBatchOnFunctionError",
    "maximum-retry-attempts": "MaximumRetryAttempts",
    "maximum-record-age-in-seconds": "MaximumRecordAgeInSeconds",
    "parallelization-factor": "ParallelizationFactor",
    "enabled": "Enabled",
}


def scripts_view(calls: list[list[str]]) -> View:
    view: View = {}
    tables: dict[str, Any] = {}
    for options in calls_of(calls, "dynamodb", "create-table"):
        stream = options.get("stream-specification") or {}
        tables[options["table-name"]] = {
            "BillingMode": options.get("billing-mode", "PROVISIONED"),
            "KeySchema": _key_schema(as_list(options["key-schema"])),
            "AttributeDefinitions": {
                a["AttributeName"]: a["AttributeType"] for a in as_list(options["attribute-definitions"])
            },
            "GlobalSecondaryIndexes": _indexes(options.get("global-secondary-indexes", [])),
            "StreamViewType": stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
            "TimeToLive": None,
            "PointInTimeRecovery": False,
            "SSE": bool((options.get("sse-specification") or {}).get("Enabled")),
            "DeletionProtection": bool(options.get("deletion-protection-enabled", False)),
        }
    for options in calls_of(calls, "dynamodb", "update-time-to-live"):
        spec = options["time-to-live-specification"]
        tables[options["table-name"]]["TimeToLive"] = spec["AttributeName"] if spec["Enabled"] else None
    for options in calls_of(calls, "dynamodb", "update-continuous-backups"):
        spec = options["point-in-time-recovery-specification"]
        tables[options["table-name"]]["PointInTimeRecovery"] = spec["PointInTimeRecoveryEnabled"]
    view["tables"] = tables

    queues: dict[str, Any] = {}
    for options in calls_of(calls, "sqs", "create-queue"):
        attributes = options.get("attributes") or {}
        redrive = json.loads(attributes["RedrivePolicy"]) if "RedrivePolicy" in attributes else None
        queues[options["queue-name"]] = {
            "MessageRetentionPeriod": int(attributes.get("MessageRetentionPeriod", 345600)),
            "VisibilityTimeout": int(attributes.get("VisibilityTimeout", QUEUE_VISIBILITY_DEFAULT)),
            "SqsManagedSseEnabled": attributes.get("SqsManagedSseEnabled") == "true",
            "RedrivePolicy": {
                "deadLetterTarget": _arn_name(redrive["deadLetterTargetArn"]),
                "maxReceiveCount": int(redrive["maxReceiveCount"]),
            }
            if redrive
            else None,
        }
    view["queues"] = queues

    view["domains"] = {
        options["domain-name"]: {
            key: options[option] for option, key in DOMAIN_OPTIONS.items() if option in options
        }
        for options in calls_of(calls, "opensearch", "create-domain")
    }
    view["functions"] = {
        options["function-name"]: {
            "Handler": options["handler"],
            "Runtime": options["runtime"],
            "Timeout": options.get("timeout", 3),
            "MemorySize": options.get("memory-size", 128),
            "Architectures": as_list(options.get("architectures", "x86_64")),
            "Tracing": (options.get("tracing-config") or {}).get("Mode", "PassThrough"),
            "Environment": _env((options.get("environment") or {}).get("Variables", {})),
            "Code": PurePosixPath(options["zip-file"].removeprefix("fileb://")).name,
        }
        for options in calls_of(calls, "lambda", "create-function")
    }
    log_groups = {
        options["log-group-name"]: {"RetentionInDays": None}
        for options in calls_of(calls, "logs", "create-log-group")
    }
    for options in calls_of(calls, "logs", "put-retention-policy"):
        log_groups[options["log-group-name"]]["RetentionInDays"] = options["retention-in-days"]
    view["log_groups"] = log_groups

    view["topics"] = {options["name"]: {} for options in calls_of(calls, "sns", "create-topic")}
    alarms: dict[str, Any] = {}
    for options in calls_of(calls, "cloudwatch", "put-metric-alarm"):
        settings = {key: options[option] for option, key in ALARM_OPTIONS.items() if option in options}
        alarms[options["alarm-name"]] = _alarm(settings)
    view["alarms"] = alarms

    mappings: dict[str, Any] = {}
    for options in calls_of(calls, "lambda", "create-event-source-mapping"):
        source = options.pop("event-source-arn")
        kind = "DynamoDB" if ":dynamodb:" in source else "SQS"
        key = f"{options.pop('function-name')} <- {_arn_name(source)}"
        settings = dict(MAPPING_DEFAULTS[kind])
        filters = (options.pop("filter-criteria", None) or {}).get("Filters", [])
        settings["FilterPatterns"] = [json.loads(item["Pattern"]) for item in filters]
        destination = (options.pop("destination-config", None) or {}).get("OnFailure", {}).get("Destination")
        if destination:
            settings["OnFailure"] = _arn_name(destination)
        for option, value in options.items():
            name = MAPPING_OPTIONS.get(option, option)
            settings[name] = as_list(value) if name == "FunctionResponseTypes" else value
        mappings[key] = settings
    view["mappings"] = mappings
    return view


# ---------------------------------------------------------------- the local ESM runner


def runner_view(specs: Iterable[MappingSpec]) -> View:
    """What the runner uses: each mapping's settings and its function's handler, limits, environment."""
    fields = {
        "BatchSize": "batch_size",
        "MaximumBatchingWindowInSeconds": "maximum_batching_window_seconds",
        "StartingPosition": "starting_position",
        "FunctionResponseTypes": "function_response_types",
        "BisectBatchOnFunctionError": "bisect_batch_on_function_error",
        "MaximumRetryAttempts": "maximum_retry_attempts",
        "MaximumRecordAgeInSeconds": "maximum_record_age_seconds",
        "ParallelizationFactor": "parallelization_factor",
        "FilterPatterns": "filter_patterns",
        "OnFailure": "on_failure_arn",
        "Enabled": "enabled",
    }
    mappings: dict[str, Any] = {}
    functions: dict[str, Any] = {}
    for spec in specs:
        settings: dict[str, Any] = {}
        for key in MAPPING_DEFAULTS[spec.source_kind]:
            value = getattr(spec, fields[key])
            if isinstance(value, tuple):
                value = list(value)
            if key == "OnFailure" and value:
                value = _arn_name(value)
            settings[key] = value
        mappings[f"{spec.function_name} <- {_arn_name(spec.source_arn)}"] = settings
        functions[spec.function_name] = {
            "Handler": spec.handler,
            "Timeout": spec.timeout_seconds,
            "MemorySize": spec.memory_mb,
            "Environment": _env(spec.environment),
        }
    return {"mappings": mappings, "functions": functions}


RUNNER_FUNCTION_SETTINGS = ("Handler", "Timeout", "MemorySize", "Environment")


def runner_expectation(template: View) -> View:
    """What the runner must use according to the template: every mapping, and the settings of
    each mapped function that the runner applies when it invokes the handler."""
    mapped = {key.split(" <- ", 1)[0] for key in template["mappings"]}
    return {
        "mappings": template["mappings"],
        "functions": {
            name: {key: settings[key] for key in RUNNER_FUNCTION_SETTINGS}
            for name, settings in template["functions"].items()
            if name in mapped
        },
    }


# ---------------------------------------------------------------- comparing


def differences(expected: Any, actual: Any, labels: tuple[str, str], path: str = "") -> list[str]:
    """Every place where two views disagree, as `path: label1 value, label2 value` lines."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        found: list[str] = []
        for key in sorted({*expected, *actual}, key=str):
            where = f"{path}/{key}" if path else str(key)
            if key not in actual:
                found.append(f"{where}: in {labels[0]} ({expected[key]!r}), missing from {labels[1]}")
            elif key not in expected:
                found.append(f"{where}: in {labels[1]} ({actual[key]!r}), missing from {labels[0]}")
            else:
                found.extend(differences(expected[key], actual[key], labels, where))
        return found
    if expected != actual:
        return [f"{path}: {labels[0]} {expected!r}, {labels[1]} {actual!r}"]
    return []
