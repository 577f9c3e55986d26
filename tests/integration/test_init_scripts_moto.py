"""The generated LocalStack init scripts, run with awslocal against a moto server, create what the
embedded stack creates from the same template (05-mappings.sh excepted: mappings in moto invoke
Lambdas through Docker; tests/unit/test_init_scripts.py checks its requests)."""

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from devtools.initscripts import INIT_DIR, STAGE
from devtools.resources import create_resources, placeholder_code, read_resources
from devtools.stack import LOCAL_CREDENTIALS, SCRIPT_PATH, free_port, wait_for_port
from devtools.template import ACCOUNT_ID, Template

# 04-functions.sh looks up the queues and the domain the others create.
INDEPENDENT = ("00-keys.sh", "01-tables.sh", "02-queues.sh", "03-opensearch.sh", "06-alarms.sh")
VOLATILE = {"CreatedTimestamp", "LastModifiedTimestamp", "AlarmConfigurationUpdatedTimestamp"}
Client = Callable[[str], Any]


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server of its own: the scripts and the embedded creator each start from empty."""
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, "MOTO_ACCOUNT_ID": ACCOUNT_ID},
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, timeout=30, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def client(moto_url: str) -> Client:
    session = boto3.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=LOCAL_CREDENTIALS["AWS_REGION"]
    )
    return lambda service: session.client(service, endpoint_url=moto_url)  # type: ignore[call-overload]


def reset(moto_url: str) -> None:
    requests.post(f"{moto_url}/moto-api/reset", timeout=10).raise_for_status()


def run_scripts(moto_url: str, build_dir: Path, names: tuple[str, ...]) -> None:
    """Run the scripts side by side (LocalStack runs them in order; these do not depend on each other)."""
    env = {
        "PATH": SCRIPT_PATH,
        "HOME": os.environ.get("HOME", "/root"),
        "DISABLE_DEPRECATION_NOTICE": "1",
        "LOCALSTACK_HOST": moto_url.removeprefix("http://"),
        "LAMBDA_BUILD_DIR": str(build_dir),
        "INDEX_TEMPLATE_FILE": str(build_dir / "no-index-template.json"),
        **LOCAL_CREDENTIALS,
    }
    running = {
        name: subprocess.Popen(
            ["bash", str(INIT_DIR / name)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in names
    }
    for name, process in running.items():
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, f"{name} failed:\n{output}"


def _without(item: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key not in {*keys, *VOLATILE, "ResponseMetadata"}}


def _index(index: dict[str, Any]) -> dict[str, Any]:
    return {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}


def described(client: Client) -> dict[str, Any]:
    """Everything the scripts and the embedded creator make, as the AWS API describes it."""
    dynamodb, sqs, lambda_, logs = client("dynamodb"), client("sqs"), client("lambda"), client("logs")
    tables = {}
    for name in dynamodb.list_tables()["TableNames"]:
        table = dynamodb.describe_table(TableName=name)["Table"]
        tables[name] = {
            "KeySchema": table["KeySchema"],
            "AttributeDefinitions": sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]),
            "GlobalSecondaryIndexes": [_index(index) for index in table.get("GlobalSecondaryIndexes", [])],
            "BillingMode": table.get("BillingModeSummary", {}).get("BillingMode"),
            "StreamSpecification": table.get("StreamSpecification"),
            "SSE": table.get("SSEDescription", {}).get("Status"),
            "TimeToLive": dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"],
            "PointInTimeRecovery": dynamodb.describe_continuous_backups(TableName=name)[
                "ContinuousBackupsDescription"
            ]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"],
        }
    queues = {}
    for url in sqs.list_queues().get("QueueUrls", []):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        if "RedrivePolicy" in attributes:
            attributes["RedrivePolicy"] = json.loads(attributes["RedrivePolicy"])
        queues[url.rsplit("/", 1)[1]] = _without(attributes)
    functions = {}
    for function in lambda_.list_functions()["Functions"]:
        configuration = _without(
            function, "FunctionArn", "Role", "CodeSha256", "CodeSize", "LastModified", "RevisionId", "Version"
        )
        # The endpoint the scripts look up (moto's metadata), not the template's LocalStack one.
        configuration["Environment"]["Variables"].pop("OPENSEARCH_ENDPOINT")
        functions[function["FunctionName"]] = configuration
    kms = client("kms")
    keys = {}
    for alias in kms.list_aliases()["Aliases"]:
        if alias["AliasName"].startswith("alias/aws/") or "TargetKeyId" not in alias:
            continue
        metadata = kms.describe_key(KeyId=alias["TargetKeyId"])["KeyMetadata"]
        keys[alias["AliasName"]] = {
            **{name: metadata.get(name) for name in ("Description", "KeyUsage", "KeySpec", "KeyState")},
            "Rotation": kms.get_key_rotation_status(KeyId=alias["TargetKeyId"])["KeyRotationEnabled"],
        }
    return {
        "keys": keys,
        "tables": tables,
        "queues": queues,
        "domains": sorted(
            domain["DomainName"] for domain in client("opensearch").list_domain_names()["DomainNames"]
        ),
        "functions": functions,
        "log_groups": {
            group["logGroupName"]: group.get("retentionInDays")
            for group in logs.describe_log_groups()["logGroups"]
        },
        "topics": sorted(topic["TopicArn"] for topic in client("sns").list_topics()["Topics"]),
        "alarms": {
            alarm["AlarmName"]: _without(
                alarm, "AlarmArn", "StateValue", "StateReason", "StateUpdatedTimestamp"
            )
            for alarm in client("cloudwatch").describe_alarms()["MetricAlarms"]
        },
    }


def declared(template: Template) -> dict[str, Any]:
    """The keys, tables and queues as template.yaml's own properties say, in the shape `described` reports."""
    tables = {}
    for properties in template.tables().values():
        ttl = properties.get("TimeToLiveSpecification", {})
        stream = properties.get("StreamSpecification")
        pitr = properties.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")
        tables[properties["TableName"]] = {
            "KeySchema": properties["KeySchema"],
            "AttributeDefinitions": sorted(
                properties["AttributeDefinitions"], key=lambda a: a["AttributeName"]
            ),
            "GlobalSecondaryIndexes": [
                _index(index) for index in properties.get("GlobalSecondaryIndexes", [])
            ],
            "BillingMode": properties["BillingMode"],
            "StreamSpecification": {"StreamEnabled": True, **stream} if stream else None,
            "SSE": "ENABLED" if properties.get("SSESpecification", {}).get("SSEEnabled") else None,
            "TimeToLive": {"TimeToLiveStatus": "ENABLED", "AttributeName": ttl["AttributeName"]}
            if ttl.get("Enabled")
            else {"TimeToLiveStatus": "DISABLED"},
            "PointInTimeRecovery": "ENABLED" if pitr else "DISABLED",
        }
    queues = {}
    for properties in template.of_type("AWS::SQS::Queue").values():
        settings = ("VisibilityTimeout", "MessageRetentionPeriod", "SqsManagedSseEnabled", "RedrivePolicy")
        queues[properties["QueueName"]] = {
            key: properties[key] if key == "RedrivePolicy" else str(properties[key]).lower()
            for key in settings
            if key in properties
        }
    aliases = {
        alias["TargetKeyId"]: alias["AliasName"] for alias in template.of_type("AWS::KMS::Alias").values()
    }
    keys = {
        aliases[name]: {
            "Description": properties["Description"],
            "KeyUsage": properties["KeyUsage"],
            "KeySpec": properties["KeySpec"],
            "KeyState": "Enabled",
            "Rotation": properties.get("EnableKeyRotation", False),
        }
        for name, properties in template.of_type("AWS::KMS::Key").items()
    }
    return {"keys": keys, "tables": tables, "queues": queues}


@pytest.fixture(scope="module")
def embedded(moto_url: str, client: Client) -> dict[str, Any]:
    """What the embedded stack creates from template.yaml, described."""
    reset(moto_url)
    create_resources(client, read_resources(Template(STAGE, aws_endpoint=moto_url)))
    return described(client)


def test_embedded_tables_and_queues_are_as_template_yaml_declares(embedded: dict[str, Any]) -> None:
    expected = declared(Template(STAGE))
    queues = {
        name: {key: attributes[key] for key in expected["queues"][name] if key in attributes}
        for name, attributes in embedded["queues"].items()
    }

    assert embedded["keys"] == expected["keys"]
    assert embedded["tables"] == expected["tables"]
    assert queues == expected["queues"]


@pytest.mark.timeout(900)  # some hundred AWS CLI start-ups on a shared machine
def test_init_scripts_create_what_the_embedded_stack_creates(
    moto_url: str, client: Client, embedded: dict[str, Any], tmp_path: Path
) -> None:
    # Given what the embedded stack creates from template.yaml
    for function in ("ingest", "fanout", "retry", "indexer"):
        (tmp_path / f"{function}.zip").write_bytes(placeholder_code())

    # When the generated init scripts run on an empty moto server, then the keys, tables and queues again
    reset(moto_url)
    run_scripts(moto_url, tmp_path, INDEPENDENT)
    run_scripts(moto_url, tmp_path, ("04-functions.sh",))
    scripts = described(client)
    run_scripts(moto_url, tmp_path, INDEPENDENT[:3])

    # Then they made the same resources, and the second run changed nothing
    for kind in embedded:
        assert scripts[kind] == embedded[kind], kind
    assert described(client) == scripts
