"""The LocalStack init scripts are generated from template.yaml, and a template change reaches
every local path: the generated scripts, the embedded stack's resources and its ESM runner.

Running the scripts against a moto server: tests/integration/test_init_scripts_moto.py.
"""

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devtools.initscripts import INIT_DIR, RENDER_ENDPOINT, STAGE, drift, render
from devtools.resources import create_resources, mapping_request, read_resources
from devtools.stack import EmbeddedStack
from devtools.template import ACCOUNT_ID, TEMPLATE_PATH, Template

FANOUT = f"triggers-{STAGE}-fanout"
EVENTS = f"triggers-{STAGE}-events"
RETRY_QUEUE = f"triggers-{STAGE}-delivery-retry"
STREAM_ARN = f"arn:aws:dynamodb:us-east-1:000000000000:table/{EVENTS}/stream/2026-01-01T00:00:00.000"
# Answers list-streams, records each create-event-source-mapping request (NUL-separated) and each
# mapping whose state is read; states come from $STATES (one per read, then Enabled).
AWSLOCAL_STUB = f"""#!/bin/bash
case "$1 $2" in
  "dynamodbstreams list-streams") echo "{STREAM_ARN}" ;;
  "lambda list-event-source-mappings")
    [[ " ${{EXISTING_MAPPINGS:-}} " == *" $4 "* ]] && echo "uuid-of-$4" || echo None ;;
  "lambda create-event-source-mapping")
    printf '%s\\0' "$4" >>"$RECORD"
    echo "uuid-of-$(grep -o '"FunctionName": "[^"]*"' <<<"$4" | head -n1 | cut -d'"' -f4)" ;;
  "lambda get-event-source-mapping")
    echo "$4" >>"$RECORD.read"
    if [ -s "$STATES" ]; then head -n1 "$STATES"; sed -i 1d "$STATES"; else echo Enabled; fi ;;
  *) echo "unexpected awslocal $*" >&2; exit 2 ;;
esac
"""


def test_committed_init_scripts_are_what_the_generator_makes_now() -> None:
    stale = drift()

    assert stale == [], (
        f"localstack/init/ready.d is out of date with template.yaml ({', '.join(stale)}): "
        "run `make init-scripts` (or `uv run triggers init-scripts`) and commit the result"
    )


@pytest.mark.parametrize("name", sorted(render()))
def test_init_script_is_strict_executable_bash(name: str) -> None:
    path = INIT_DIR / name
    text = path.read_text()

    assert text.startswith("#!/usr/bin/env bash\n# GENERATED from template.yaml")
    assert "set -euo pipefail\n" in text
    assert "--endpoint-url" not in text
    assert os.access(path, os.X_OK)
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True, check=False).returncode == 0


def mappings_script_run(
    tmp_path: Path, existing: str = "", states: tuple[str, ...] = ()
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]], list[str]]:
    """05-mappings.sh against a stub awslocal: its result, the mappings it created and the UUIDs
    whose state it read (in order)."""
    stub = tmp_path / "bin" / "awslocal"
    stub.parent.mkdir(exist_ok=True)
    stub.write_text(AWSLOCAL_STUB)
    stub.chmod(0o755)
    record = tmp_path / "requests"
    record.write_text("")
    (tmp_path / "requests.read").write_text("")
    (tmp_path / "states").write_text("".join(f"{state}\n" for state in states))
    env = {
        "PATH": f"{stub.parent}:/usr/bin:/bin",
        "RECORD": str(record),
        "STATES": str(tmp_path / "states"),
        "EXISTING_MAPPINGS": existing,
    }
    result = subprocess.run(
        ["bash", str(INIT_DIR / "05-mappings.sh")], env=env, capture_output=True, text=True, check=False
    )
    requests = [json.loads(request) for request in record.read_text().split("\0") if request]
    return result, requests, (tmp_path / "requests.read").read_text().split()


def run_mappings_script(tmp_path: Path, existing: str = "") -> list[dict[str, Any]]:
    result, requests, _ = mappings_script_run(tmp_path, existing)
    assert result.returncode == 0, result.stderr
    return requests


def test_mappings_script_creates_the_mappings_the_runner_runs(tmp_path: Path) -> None:
    # Given the runner's reading of the template, with the stream ARN the script looks up
    expected = [
        {**mapping_request(spec), "EventSourceArn": STREAM_ARN}
        if spec.source_kind == "DynamoDB"
        else mapping_request(spec)
        for spec in EmbeddedStack(stage=STAGE).mappings()
    ]

    # When the committed script runs
    requests = run_mappings_script(tmp_path)

    # Then it sends exactly those CreateEventSourceMapping requests
    assert requests == expected


def test_mappings_script_leaves_existing_mappings_alone(tmp_path: Path) -> None:
    requests = run_mappings_script(tmp_path, existing=FANOUT)

    assert [request["FunctionName"] for request in requests] == [
        f"triggers-{STAGE}-retry",
        f"triggers-{STAGE}-indexer",
    ]


def test_mappings_script_waits_until_each_mapping_is_enabled(tmp_path: Path) -> None:
    # Given LocalStack reporting the first mapping Creating twice before it is Enabled
    result, _, read = mappings_script_run(tmp_path, states=("Creating", "Creating"))

    # Then the script reads each mapping's state until it is Enabled, and succeeds
    assert result.returncode == 0, result.stderr
    mappings = [f"uuid-of-triggers-{STAGE}-{name}" for name in ("fanout", "retry", "indexer")]
    assert read == [mappings[0]] * 3 + mappings[1:]
    assert all(f"mapping {uuid} Enabled" in result.stdout for uuid in mappings)


def test_mappings_script_waits_for_existing_mappings_too(tmp_path: Path) -> None:
    result, requests, read = mappings_script_run(tmp_path, existing=FANOUT, states=("Enabling",))

    assert result.returncode == 0, result.stderr
    assert FANOUT not in [request["FunctionName"] for request in requests]
    assert read[:2] == [f"uuid-of-{FANOUT}"] * 2


def test_mappings_script_fails_when_a_mapping_does_not_become_enabled(tmp_path: Path) -> None:
    result, _, _ = mappings_script_run(tmp_path, states=("Creating", "Disabled"))

    assert result.returncode != 0
    assert f"mapping uuid-of-{FANOUT} is Disabled, expected Enabled" in result.stderr


def changed_template(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of template.yaml with the first `old` (the fanout's, the events table's) replaced."""
    text = TEMPLATE_PATH.read_text()
    assert old in text
    path = tmp_path / "template.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.fixture
def local_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in-process, in the account template.yaml's ARNs name locally."""
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT_ID)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


def embedded_resources(path: Path) -> Callable[[str], Any]:
    """The resources the embedded stack creates from `path`, on moto in-process."""
    stack = EmbeddedStack(stage=STAGE, template_path=path)
    create_resources(
        lambda service: boto3.client(service, region_name="us-east-1"), read_resources(stack.template)
    )
    return lambda service: boto3.client(service, region_name="us-east-1")


def fanout_mapping(stack: EmbeddedStack) -> Any:
    return next(spec for spec in stack.mappings() if spec.function_name == FANOUT)


def generated(path: Path) -> dict[str, str]:
    return render(Template(STAGE, path=path, aws_endpoint=RENDER_ENDPOINT))


@pytest.mark.parametrize(
    ("old", "new", "runner_sees", "script_line"),
    [
        ("BatchSize: 10", "BatchSize: 7", lambda spec: spec.batch_size == 7, '"BatchSize": 7'),
        (
            "MaximumBatchingWindowInSeconds: 5",
            "MaximumBatchingWindowInSeconds: 2",
            lambda spec: spec.maximum_batching_window_seconds == 2,
            '"MaximumBatchingWindowInSeconds": 2',
        ),
        (
            """'{"eventName": ["INSERT"]}'""",
            """'{"eventName": ["MODIFY"]}'""",
            lambda spec: spec.filter_patterns == ({"eventName": ["MODIFY"]},),
            r'"Pattern": "{\"eventName\": [\"MODIFY\"]}"',
        ),
    ],
)
def test_changed_mapping_setting_reaches_runner_and_scripts(
    tmp_path: Path, old: str, new: str, runner_sees: Callable[[Any], bool], script_line: str
) -> None:
    # Given the fanout mapping changed in a copy of the template
    path = changed_template(tmp_path, old, new)

    # When the embedded stack and the generator read it
    spec = fanout_mapping(EmbeddedStack(stage=STAGE, template_path=path))
    scripts = generated(path)

    # Then the runner maps with the new setting, the mappings script sends it, and the
    # committed scripts are reported as drifted
    assert runner_sees(spec)
    fanout_call = next(line for line in scripts["05-mappings.sh"].split("\nmap ") if line.startswith(FANOUT))
    assert script_line in fanout_call
    assert drift(INIT_DIR, Template(STAGE, path=path, aws_endpoint=RENDER_ENDPOINT)) == ["05-mappings.sh"]


@pytest.mark.usefixtures("local_moto")
def test_changed_queue_setting_reaches_embedded_stack_and_scripts(tmp_path: Path) -> None:
    path = changed_template(tmp_path, "VisibilityTimeout: 60", "VisibilityTimeout: 90")

    sqs = embedded_resources(path)("sqs")
    url = sqs.get_queue_url(QueueName=RETRY_QUEUE)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]

    assert attributes["VisibilityTimeout"] == "90"
    assert '"VisibilityTimeout": "90"' in generated(path)["02-queues.sh"]


@pytest.mark.usefixtures("local_moto")
def test_changed_table_setting_reaches_embedded_stack_and_scripts(tmp_path: Path) -> None:
    path = changed_template(tmp_path, "StreamViewType: NEW_IMAGE", "StreamViewType: NEW_AND_OLD_IMAGES")

    table = embedded_resources(path)("dynamodb").describe_table(TableName=EVENTS)["Table"]

    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert '"StreamViewType": "NEW_AND_OLD_IMAGES"' in generated(path)["01-tables.sh"]
