"""The local ESM runner against the embedded stack's moto server, with test-only handlers.

Each test names its own function and tenant and filters the shared events stream on that
tenant, so tests see only their own records.
"""

import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devtools.cli import main
from devtools.runner.esm import EsmRunner, Tuning
from devtools.runner.host import MappingImportError
from devtools.runner.mappings import MappingSpec, load_mappings
from devtools.stack import LOCAL_CREDENTIALS, SCRIPT_PATH, EmbeddedStack
from ingest.core.events_table import EventItem, delete_event, put_events, set_status
from ingest.core.ids import isoformat, new_event_id
from tests.handlers import invocations, item_key

pytestmark = pytest.mark.integration

FAST = Tuning(poll_interval=0.1, retry_base_delay=0.05, retry_max_delay=0.2, stop_timeout=10)

Aws = Callable[[str], Any]


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def keys_of(event: dict[str, Any]) -> list[str]:
    return [item_key(record) for record in event["Records"]]


def delivered(function_name: str) -> list[str]:
    return [key for event in invocations(function_name) for key in keys_of(event)]


class Tenant:
    """Writes valid events of one tenant to the stack's events table, as the ingest API stores them.

    Valid items keep the real processors (which also consume this stream) on their happy path.
    A `{"fail": true}` payload marks a record the test handlers fail on.
    """

    def __init__(self, stack: EmbeddedStack, aws_client: Aws) -> None:
        self.id = f"esm-{uuid.uuid4().hex[:10]}"
        self.table = stack.template.physical_name("EventsTable")
        self.dynamodb = aws_client("dynamodb")

    def put(self, event_type: str = "esm.test", fail: bool = False) -> str:
        now = datetime.now(UTC)
        item = EventItem(
            tenant_id=self.id,
            event_id=new_event_id(now),
            event_type=event_type,
            received_at=isoformat(now),
            payload='{"fail": true}' if fail else '{"ok": true}',
            expires_at=int(now.timestamp()) + 3600,
        )
        put_events(self.dynamodb, self.table, [item])
        return item.event_id

    def put_many(self, count: int, fail: Collection[int] = ()) -> list[str]:
        return [self.put(fail=index in fail) for index in range(count)]

    def acknowledge(self, event_id: str) -> None:
        set_status(self.dynamodb, self.table, self.id, event_id, "acknowledged")

    def delete(self, event_id: str) -> None:
        delete_event(self.dynamodb, self.table, self.id, event_id)


@pytest.fixture
def tenant(stack: EmbeddedStack, aws_client: Aws) -> Tenant:
    return Tenant(stack, aws_client)


@pytest.fixture
def queue(aws_client: Aws) -> Callable[..., tuple[str, str]]:
    """Factory: a fresh SQS queue (url, arn), deleted afterwards."""
    sqs = aws_client("sqs")
    created: list[str] = []

    def make(**attributes: str) -> tuple[str, str]:
        url = sqs.create_queue(QueueName=f"esm-test-{uuid.uuid4().hex[:10]}", Attributes=attributes)[
            "QueueUrl"
        ]
        created.append(url)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    yield make  # type: ignore[misc]
    for url in created:
        sqs.delete_queue(QueueUrl=url)


def stream_spec(stack: EmbeddedStack, tenant: Tenant, handler: str, **overrides: Any) -> MappingSpec:
    """A mapping of the events stream that takes only the tenant's records.

    The 1 s window keeps a test's records in one batch even when a read of the shared
    stream (at most 1,000 records) ends in the middle of them.
    """
    spec = MappingSpec(
        function_logical_id="TestFunction",
        function_name=f"esm-test-{uuid.uuid4().hex[:8]}",
        handler=f"tests.handlers.{handler}.lambda_handler",
        timeout_seconds=10,
        memory_mb=128,
        environment={"POWERTOOLS_SERVICE_NAME": "esm-test"},
        source_kind="DynamoDB",
        source_logical_id="EventsTable",
        source_arn=stack.template.get_att("EventsTable", "StreamArn"),
        batch_size=10,
        maximum_batching_window_seconds=1,
        starting_position="TRIM_HORIZON",
        function_response_types=("ReportBatchItemFailures",),
        maximum_retry_attempts=1,
        filter_patterns=({"dynamodb": {"Keys": {"tenant_id": {"S": [tenant.id]}}}},),
    )
    return replace(spec, **overrides)


@pytest.fixture
def run(stack: EmbeddedStack, tmp_path: Path) -> Iterator[Callable[..., EsmRunner]]:
    """Factory: a started runner for the given mappings; stopped at teardown."""
    runners: list[EsmRunner] = []

    def start(*specs: MappingSpec, state_dir: Path = tmp_path) -> EsmRunner:
        runner = EsmRunner(list(specs), stack.aws_url, state_dir, tuning=FAST).start()
        runners.append(runner)
        assert runner.wait_ready()
        return runner

    yield start
    for runner in runners:
        runner.stop()


def receive_all(aws_client: Aws, url: str, count: int) -> list[dict[str, Any]]:
    sqs = aws_client("sqs")
    bodies: list[dict[str, Any]] = []

    def more() -> bool:
        response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        bodies.extend(json.loads(message["Body"]) for message in response.get("Messages", []))
        return len(bodies) >= count

    wait_for(more, what=f"{count} messages on {url}")
    return bodies


def stream_arn(stack: EmbeddedStack, aws_client: Aws) -> str:
    table = aws_client("dynamodb").describe_table(TableName=stack.template.physical_name("EventsTable"))
    return str(table["Table"]["LatestStreamArn"])


def test_stack_runs_or_skips_every_mapping_of_the_template(stack: EmbeddedStack) -> None:
    runner = stack.esm_runner
    assert runner is not None

    started = [poller.spec for poller in runner.pollers]

    def ignoring_window(specs: list[MappingSpec]) -> list[MappingSpec]:
        return [replace(spec, maximum_batching_window_seconds=0) for spec in specs]

    # The template's mappings, with the suites' shortened batching window.
    assert runner.specs == stack.mappings()
    assert ignoring_window(runner.specs) == ignoring_window(load_mappings(stack.template))
    assert {spec.maximum_batching_window_seconds for spec in runner.specs} <= {0, stack.batching_window}
    assert sorted(spec.function_name for spec in started + runner.skipped) == sorted(
        spec.function_name for spec in runner.specs
    )
    assert {spec.function_name for spec in runner.specs} == {
        stack.template.physical_name(name) for name in ("FanoutFunction", "IndexerFunction", "RetryFunction")
    }


# --- batching -----------------------------------------------------------------------------------


def test_batches_never_exceed_batch_size(stack: EmbeddedStack, tenant: Tenant, run: Any) -> None:
    ids = tenant.put_many(7)
    spec = stream_spec(stack, tenant, "recording", batch_size=3)

    run(spec)

    wait_for(lambda: len(delivered(spec.function_name)) == 7, what="7 records")
    assert [len(event["Records"]) for event in invocations(spec.function_name)] == [3, 3, 1]
    assert delivered(spec.function_name) == ids


def test_batching_window_gathers_records_written_one_by_one(
    stack: EmbeddedStack, tenant: Tenant, run: Any
) -> None:
    # The template's own window (5 s), not the shortened one the suites' stack runs with.
    mappings = load_mappings(stack.template)
    (fanout,) = [spec for spec in mappings if spec.function_logical_id == "FanoutFunction"]
    spec = stream_spec(
        stack,
        tenant,
        "recording",
        starting_position="LATEST",
        maximum_batching_window_seconds=fanout.maximum_batching_window_seconds,
    )
    run(spec)

    tenant.put_many(5)

    wait_for(lambda: len(delivered(spec.function_name)) == 5, what="5 records")
    assert len(invocations(spec.function_name)) == 1


def test_records_are_delivered_as_lambda_delivers_them(
    stack: EmbeddedStack, aws_client: Aws, tenant: Tenant, run: Any
) -> None:
    event_id = tenant.put(event_type="order.created")
    spec = stream_spec(stack, tenant, "recording")

    run(spec)

    event = wait_for(lambda: invocations(spec.function_name), what="an invocation")[0]
    (record,) = event["Records"]
    assert record["eventName"] == "INSERT"
    assert record["eventVersion"] == "1.1"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["awsRegion"] == "us-east-1"
    assert record["eventSourceARN"] == stream_arn(stack, aws_client)
    change = record["dynamodb"]
    assert isinstance(change["ApproximateCreationDateTime"], float)
    assert abs(change["ApproximateCreationDateTime"] - time.time()) < 600
    assert change["Keys"] == {"tenant_id": {"S": tenant.id}, "event_id": {"S": event_id}}
    assert change["NewImage"]["event_type"] == {"S": "order.created"}
    assert change["StreamViewType"] == "NEW_IMAGE"
    assert change["SequenceNumber"].isdigit()
    assert change["SizeBytes"] > 0
    json.dumps(event)


# --- filtering ----------------------------------------------------------------------------------


def test_filter_on_event_name_drops_other_changes(stack: EmbeddedStack, tenant: Tenant, run: Any) -> None:
    first = tenant.put()
    tenant.acknowledge(first)
    tenant.delete(first)
    second = tenant.put()
    spec = stream_spec(
        stack,
        tenant,
        "recording",
        filter_patterns=({"eventName": ["INSERT"], "dynamodb": {"Keys": {"tenant_id": {"S": [tenant.id]}}}},),
    )

    run(spec)

    wait_for(lambda: second in delivered(spec.function_name), what="the second insert")
    records = [record for event in invocations(spec.function_name) for record in event["Records"]]
    assert [(record["eventName"], item_key(record)) for record in records] == [
        ("INSERT", first),
        ("INSERT", second),
    ]


def test_filter_on_new_image_value_drops_non_matching_records(
    stack: EmbeddedStack, tenant: Tenant, run: Any
) -> None:
    ids = [tenant.put(event_type) for event_type in ("drop", "keep", "keep.not", "keep")]
    spec = stream_spec(
        stack,
        tenant,
        "recording",
        filter_patterns=(
            {
                "dynamodb": {
                    "Keys": {"tenant_id": {"S": [tenant.id]}},
                    "NewImage": {"event_type": {"S": ["keep"]}},
                }
            },
        ),
    )

    run(spec)

    wait_for(lambda: ids[3] in delivered(spec.function_name), what="the last kept record")
    assert delivered(spec.function_name) == [ids[1], ids[3]]


# --- failures -----------------------------------------------------------------------------------


def test_raising_handler_is_bisected_and_the_bad_record_goes_to_on_failure(
    stack: EmbeddedStack, aws_client: Aws, tenant: Tenant, run: Any, queue: Any
) -> None:
    # Given four records, the third of which makes the handler raise
    dlq_url, dlq_arn = queue()
    ids = tenant.put_many(4, fail={2})
    spec = stream_spec(
        stack,
        tenant,
        "raising",
        bisect_batch_on_function_error=True,
        maximum_retry_attempts=1,
        on_failure_arn=dlq_arn,
    )

    # When the runner processes them
    run(spec)

    # Then the batch is halved until the bad record is alone, retried once, and sent on
    (failure,) = receive_all(aws_client, dlq_url, 1)
    wait_for(lambda: len(invocations(spec.function_name)) == 6, what="the record after the bad one")
    batches = [keys_of(event) for event in invocations(spec.function_name)]
    assert batches == [ids, ids[:2], ids[2:], [ids[2]], [ids[2]], [ids[3]]]
    bad_sequence = invocations(spec.function_name)[3]["Records"][0]["dynamodb"]["SequenceNumber"]
    assert failure["version"] == "1.0"
    assert failure["timestamp"].endswith("Z")
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["functionArn"].endswith(f":function:{spec.function_name}")
    assert failure["requestContext"]["approximateInvokeCount"] >= 2
    uuid.UUID(failure["requestContext"]["requestId"])
    assert failure["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    info = failure["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == bad_sequence
    assert info["batchSize"] == 1
    assert info["streamArn"] == stream_arn(stack, aws_client)
    assert info["shardId"].startswith("shardId-")
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")
    assert info["approximateArrivalOfLastRecord"].endswith("Z")


def test_partial_failure_resumes_from_the_lowest_failed_record(
    stack: EmbeddedStack, aws_client: Aws, tenant: Tenant, run: Any, queue: Any
) -> None:
    # Given five records of which the third and fifth are reported as failed
    dlq_url, dlq_arn = queue()
    ids = tenant.put_many(5, fail={2, 4})
    spec = stream_spec(stack, tenant, "partial", maximum_retry_attempts=1, on_failure_arn=dlq_arn)

    # When the runner processes them
    run(spec)

    # Then the retry starts at the third record, and the first two are never re-delivered
    (failure,) = receive_all(aws_client, dlq_url, 1)
    batches = [keys_of(event) for event in invocations(spec.function_name)]
    assert batches == [ids, ids[2:]]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert "functionError" not in failure["responseContext"]
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 3


def test_empty_failure_list_means_the_whole_batch_succeeded(
    stack: EmbeddedStack, tenant: Tenant, run: Any
) -> None:
    ids = tenant.put_many(3)
    spec = stream_spec(stack, tenant, "recording")
    run(spec)
    wait_for(lambda: len(delivered(spec.function_name)) == 3, what="3 records")

    sentinel = tenant.put()

    wait_for(lambda: sentinel in delivered(spec.function_name), what="the sentinel")
    assert delivered(spec.function_name) == [*ids, sentinel]


def test_unusable_response_fails_the_whole_batch(stack: EmbeddedStack, tenant: Tenant, run: Any) -> None:
    ids = tenant.put_many(3)
    spec = stream_spec(stack, tenant, "garbage", maximum_retry_attempts=2)

    run(spec)

    wait_for(lambda: len(invocations(spec.function_name)) >= 2, what="a retry")
    first, second = (keys_of(event) for event in invocations(spec.function_name)[:2])
    assert first == second == ids


def test_records_older_than_the_maximum_age_go_to_on_failure(
    stack: EmbeddedStack, aws_client: Aws, tenant: Tenant, run: Any, queue: Any
) -> None:
    dlq_url, dlq_arn = queue()
    tenant.put_many(2, fail={0, 1})
    spec = stream_spec(
        stack,
        tenant,
        "raising",
        maximum_retry_attempts=-1,
        maximum_record_age_seconds=2,
        on_failure_arn=dlq_arn,
    )

    run(spec)

    # Bisection may age the records out together or one half at a time: either way each record
    # is reported exactly once, as RecordAgeExceeded.
    sqs = aws_client("sqs")
    failures: list[dict[str, Any]] = []

    def both_reported() -> bool:
        response = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        failures.extend(json.loads(message["Body"]) for message in response.get("Messages", []))
        return sum(failure["DDBStreamBatchInfo"]["batchSize"] for failure in failures) >= 2

    wait_for(both_reported, what="both records on the OnFailure queue")
    assert sum(failure["DDBStreamBatchInfo"]["batchSize"] for failure in failures) == 2
    assert {failure["requestContext"]["condition"] for failure in failures} == {"RecordAgeExceeded"}
    # (approximateInvokeCount may be 0: on a busy machine a record can age out before its first
    # invocation, as on AWS.)


# --- checkpoints --------------------------------------------------------------------------------


def test_a_restarted_runner_resumes_after_its_checkpoint(
    stack: EmbeddedStack, tenant: Tenant, run: Any, tmp_path: Path
) -> None:
    # Given a runner stopped while it works through 20 records, two per batch
    ids = tenant.put_many(20)
    spec = stream_spec(stack, tenant, "slow", batch_size=2)
    first = run(spec, state_dir=tmp_path)
    wait_for(lambda: len(invocations(spec.function_name)) >= 3, what="three batches")
    first.stop()
    seen_by_first = delivered(spec.function_name)

    # When a new runner starts with the same state directory
    run(spec, state_dir=tmp_path)

    # Then every record is delivered, and at most the in-flight batch twice
    wait_for(lambda: set(delivered(spec.function_name)) == set(ids), timeout=60, what="all records")
    seen_by_second = delivered(spec.function_name)[len(seen_by_first) :]
    assert len(seen_by_first) < len(ids)
    assert set(seen_by_first) | set(seen_by_second) == set(ids)
    assert len(set(seen_by_first) & set(seen_by_second)) <= spec.batch_size


def test_checkpoint_of_another_stream_falls_back_to_the_starting_position(
    stack: EmbeddedStack, tenant: Tenant, run: Any, tmp_path: Path
) -> None:
    ids = tenant.put_many(2)
    spec = stream_spec(stack, tenant, "recording")
    checkpoints = tmp_path / "esm-checkpoints"
    checkpoints.mkdir()
    (checkpoints / f"{spec.function_name}--{spec.source_name}.json").write_text(
        json.dumps({"streamArn": "arn:aws:dynamodb:us-east-1:000000000000:table/x/stream/old", "shards": {}})
    )

    run(spec, state_dir=tmp_path)

    wait_for(lambda: delivered(spec.function_name) == ids, what="both records")


def test_poller_survives_errors_until_its_source_exists(
    stack: EmbeddedStack, aws_client: Aws, tenant: Tenant, tmp_path: Path
) -> None:
    # Given a runner whose table does not exist yet (describe-table fails on every attempt)
    dynamodb = aws_client("dynamodb")
    table = f"esm-test-{uuid.uuid4().hex[:10]}"
    spec = stream_spec(
        stack,
        tenant,
        "recording",
        source_arn=f"arn:aws:dynamodb:us-east-1:000000000000:table/{table}/stream/*",
        filter_patterns=(),
    )
    runner = EsmRunner([spec], stack.aws_url, tmp_path, tuning=FAST).start()
    try:
        assert not runner.wait_ready(timeout=1.5)

        # When the table is created and written to
        dynamodb.create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
        dynamodb.put_item(TableName=table, Item={"id": {"S": "late"}})

        # Then the same poller picks it up
        event = wait_for(lambda: invocations(spec.function_name), what="an invocation")[0]
        assert event["Records"][0]["dynamodb"]["Keys"] == {"id": {"S": "late"}}
    finally:
        runner.stop()
        dynamodb.delete_table(TableName=table)


# --- SQS ----------------------------------------------------------------------------------------


def sqs_spec(arn: str, handler: str, **overrides: Any) -> MappingSpec:
    spec = MappingSpec(
        function_logical_id="TestQueueFunction",
        function_name=f"esm-test-{uuid.uuid4().hex[:8]}",
        handler=f"tests.handlers.{handler}.lambda_handler",
        timeout_seconds=10,
        memory_mb=128,
        environment={"POWERTOOLS_SERVICE_NAME": "esm-test"},
        source_kind="SQS",
        source_logical_id="TestQueue",
        source_arn=arn,
        batch_size=10,
        function_response_types=("ReportBatchItemFailures",),
    )
    return replace(spec, **overrides)


def test_sqs_mapping_deletes_successes_and_dead_letters_reported_failures(
    aws_client: Aws, run: Any, queue: Any
) -> None:
    # Given a queue whose redrive policy moves a message to its DLQ on the second receive
    sqs = aws_client("sqs")
    dlq_url, dlq_arn = queue()
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    url, arn = queue(VisibilityTimeout="1", RedrivePolicy=redrive)
    for body in ("ok-1", "fail-1", "ok-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    spec = sqs_spec(arn, "partial")

    # When the runner consumes the queue
    run(spec)

    # Then the reported failure ends in the DLQ after its retries and successes are gone
    (dead,) = wait_for(
        lambda: sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1).get("Messages"),
        what="the failed message in the DLQ",
    )
    assert dead["Body"] == "fail-1"
    bodies = delivered(spec.function_name)
    assert sorted(body for body in bodies if body.startswith("ok")) == ["ok-1", "ok-2"]
    assert bodies.count("fail-1") == 2
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_sqs_records_are_delivered_as_lambda_delivers_them(aws_client: Aws, run: Any, queue: Any) -> None:
    url, arn = queue()
    aws_client("sqs").send_message(
        QueueUrl=url,
        MessageBody='{"hello": "world"}',
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "greeting"}},
    )
    spec = sqs_spec(arn, "recording")

    run(spec)

    event = wait_for(lambda: invocations(spec.function_name), what="an invocation")[0]
    (record,) = event["Records"]
    assert record["body"] == '{"hello": "world"}'
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["awsRegion"] == "us-east-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["md5OfBody"]
    assert record["receiptHandle"]
    uuid.UUID(record["messageId"])
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "greeting",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }


def test_sqs_filter_deletes_messages_that_do_not_match(aws_client: Aws, run: Any, queue: Any) -> None:
    sqs = aws_client("sqs")
    url, arn = queue()
    sqs.send_message(QueueUrl=url, MessageBody='{"kind": "skip"}')
    sqs.send_message(QueueUrl=url, MessageBody='{"kind": "take"}')
    spec = sqs_spec(arn, "recording", filter_patterns=({"body": {"kind": ["take"]}},))

    run(spec)

    wait_for(lambda: delivered(spec.function_name), what="an invocation")
    assert delivered(spec.function_name) == ['{"kind": "take"}']
    wait_for(
        lambda: (
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
                "ApproximateNumberOfMessages"
            ]
            == "0"
        ),
        what="an empty queue",
    )


# --- handlers and logs ----------------------------------------------------------------------------


def test_mapping_whose_handler_module_is_missing_is_skipped(stack: EmbeddedStack, tenant: Tenant) -> None:
    spec = replace(
        stream_spec(stack, tenant, "recording"), handler="processors.not_written_yet.handler.lambda_handler"
    )
    runner = EsmRunner([spec], stack.aws_url, Path("/nonexistent"), tuning=FAST).start()
    try:
        assert runner.skipped == [spec]
        assert runner.pollers == []
    finally:
        runner.stop()


def test_handler_module_that_fails_to_import_stops_start_up(stack: EmbeddedStack, tenant: Tenant) -> None:
    spec = stream_spec(stack, tenant, "broken_import")

    with pytest.raises(MappingImportError, match="a_module_that_is_not_installed"):
        EsmRunner([spec], stack.aws_url, Path("/nonexistent"), tuning=FAST).start()


def logs_tail(stack: EmbeddedStack, group: str) -> str:
    env = {
        "PATH": SCRIPT_PATH,
        "HOME": os.environ.get("HOME", "/root"),
        "DISABLE_DEPRECATION_NOTICE": "1",
        "LOCALSTACK_HOST": f"127.0.0.1:{stack.ports.aws}",
        **LOCAL_CREDENTIALS,
    }
    result = subprocess.run(
        ["awslocal", "logs", "tail", group, "--since", "1h"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return result.stdout


def test_invocation_logs_reach_cloudwatch_logs(stack: EmbeddedStack, tenant: Tenant, run: Any) -> None:
    tenant.put()
    spec = stream_spec(stack, tenant, "recording")

    run(spec)

    group = f"/aws/lambda/{spec.function_name}"
    output = wait_for(
        lambda: (text := logs_tail(stack, group)) and "REPORT RequestId" in text and text,
        what="REPORT in the tailed logs",
    )
    request_id = invocations(spec.function_name)[0] and output.split("START RequestId: ")[1].split()[0]
    assert f"START RequestId: {request_id} Version: $LATEST" in output
    assert f"END RequestId: {request_id}" in output
    assert "Max Memory Used:" in output
    handler_line = next(line for line in output.splitlines() if "test batch recorded" in line)
    logged = json.loads(handler_line[handler_line.index("{") :])
    assert logged["service"] == "esm-test"
    assert logged["function_request_id"] == request_id
    assert logged["records"] == 1


def test_handler_errors_are_logged_like_the_lambda_runtime(
    stack: EmbeddedStack, tenant: Tenant, run: Any
) -> None:
    tenant.put_many(1, fail={0})
    spec = stream_spec(stack, tenant, "raising", maximum_retry_attempts=0)

    run(spec)

    output = wait_for(
        lambda: (text := logs_tail(stack, f"/aws/lambda/{spec.function_name}")) and "REPORT" in text and text,
        what="the failed invocation's logs",
    )
    assert "[ERROR] RuntimeError: a record marked to fail" in output
    assert "Traceback (most recent call last):" in output


def test_handler_running_past_its_timeout_fails_the_batch(
    stack: EmbeddedStack, aws_client: Aws, tenant: Tenant, run: Any, queue: Any
) -> None:
    dlq_url, dlq_arn = queue()
    tenant.put_many(1)
    spec = stream_spec(
        stack, tenant, "slow", timeout_seconds=0.05, maximum_retry_attempts=0, on_failure_arn=dlq_arn
    )

    run(spec)

    (failure,) = receive_all(aws_client, dlq_url, 1)
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert len(invocations(spec.function_name)) == 1


def test_triggers_tail_prints_a_functions_logs(
    stack: EmbeddedStack, tenant: Tenant, run: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant.put()
    spec = stream_spec(stack, tenant, "recording")
    run(spec)
    wait_for(lambda: "REPORT RequestId" in logs_tail(stack, f"/aws/lambda/{spec.function_name}"), what="logs")

    assert main(["tail", spec.function_name, "--endpoint", stack.aws_url]) == 0

    output = capsys.readouterr().out
    assert "START RequestId:" in output
    assert "test batch recorded" in output


def test_correlation_keys_do_not_leak_into_the_next_invocation(
    stack: EmbeddedStack, tenant: Tenant, run: Any
) -> None:
    first = tenant.put()
    spec = stream_spec(stack, tenant, "correlated")
    run(spec)
    wait_for(lambda: invocations(spec.function_name), what="the first invocation")

    tenant.put()

    wait_for(lambda: len(invocations(spec.function_name)) == 2, what="the second invocation")
    group = f"/aws/lambda/{spec.function_name}"
    lines = wait_for(
        lambda: (
            [
                json.loads(line[line.index("{") :])
                for line in logs_tail(stack, group).splitlines()
                if "correlated batch" in line
            ]
            if logs_tail(stack, group).count("correlated batch") == 2
            else None
        ),
        what="two handler lines",
    )
    assert [line.get("event_id") for line in lines] == [first, None]
