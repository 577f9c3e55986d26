"""Pieces of the local ESM runner that need no AWS: responses, checkpoints, imports, logs."""

import contextvars
import io
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from devtools.runner.cloudwatch import InvocationCapture, LogShipper, thread_local_formatter
from devtools.runner.esm import CheckpointStore, failed_items
from devtools.runner.host import MappingImportError, load_handler
from devtools.runner.mappings import MappingSpec

BATCH = ["101", "102", "103"]
STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026-11-25T00:00:00.000"


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}])
def test_no_reported_failures_mean_success(response: Any) -> None:
    assert failed_items(response, BATCH) == []


def test_failed_items_are_given_in_batch_order() -> None:
    response = {"batchItemFailures": [{"itemIdentifier": "103"}, {"itemIdentifier": "102"}]}

    assert failed_items(response, BATCH) == [1, 2]


def test_duplicate_failures_count_once() -> None:
    response = {"batchItemFailures": [{"itemIdentifier": "102"}, {"itemIdentifier": "102"}]}

    assert failed_items(response, BATCH) == [1]


@pytest.mark.parametrize(
    "response",
    [
        "ok",
        ["102"],
        {"batchItemFailures": "102"},
        {"batchItemFailures": [{"itemIdentifier": "999"}]},
        {"batchItemFailures": [{"itemIdentifier": 102}]},
        {"batchItemFailures": [{}]},
        {"batchItemFailures": ["102"]},
    ],
)
def test_unusable_responses_are_rejected(response: Any) -> None:
    with pytest.raises(ValueError):
        failed_items(response, BATCH)


def spec(function_name: str = "fn") -> MappingSpec:
    return MappingSpec(
        function_logical_id="Fn",
        function_name=function_name,
        handler="tests.handlers.recording.lambda_handler",
        timeout_seconds=3,
        memory_mb=128,
        environment={},
        source_kind="DynamoDB",
        source_logical_id="Table",
        source_arn="arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/*",
        batch_size=10,
        starting_position="TRIM_HORIZON",
    )


def test_checkpoint_round_trips_per_shard(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)

    store.save(spec(), STREAM, "shard-1", "100")
    store.save(spec(), STREAM, "shard-2", "200")
    store.save(spec(), STREAM, "shard-1", "150")

    assert CheckpointStore(tmp_path).load(spec(), STREAM) == {"shard-1": "150", "shard-2": "200"}
    assert [path.name for path in tmp_path.iterdir()] == ["fn--t.json"]


def test_checkpoints_are_kept_per_function(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)

    store.save(spec("a"), STREAM, "shard-1", "100")

    assert store.load(spec("b"), STREAM) == {}


def test_checkpoint_of_another_stream_is_ignored(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.save(spec(), STREAM, "shard-1", "100")

    assert store.load(spec(), STREAM.replace("2026", "2027")) == {}


def test_unreadable_checkpoint_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "fn--t.json").write_text('{"streamArn": ')

    assert CheckpointStore(tmp_path).load(spec(), STREAM) == {}


def test_checkpoint_file_is_json(tmp_path: Path) -> None:
    CheckpointStore(tmp_path).save(spec(), STREAM, "shard-1", "100")

    assert json.loads((tmp_path / "fn--t.json").read_text()) == {
        "streamArn": STREAM,
        "shards": {"shard-1": "100"},
    }


def test_handler_of_a_missing_module_is_none() -> None:
    assert load_handler("processors.not_written_yet.handler.lambda_handler") is None


def test_handler_module_with_a_failing_import_raises() -> None:
    with pytest.raises(MappingImportError, match="a_module_that_is_not_installed"):
        load_handler("tests.handlers.broken_import.lambda_handler")


def test_missing_handler_function_raises() -> None:
    with pytest.raises(MappingImportError, match="no callable"):
        load_handler("tests.handlers.recording.no_such_function")


def test_source_name_of_stream_and_queue_mappings() -> None:
    queue = replace(spec(), source_kind="SQS", source_arn="arn:aws:sqs:us-east-1:000000000000:q-1")

    assert spec().source_name == "t"
    assert queue.source_name == "q-1"


def powertools_logger(service: str) -> tuple[Logger, io.StringIO]:
    stream = io.StringIO()
    return Logger(service=service, stream=stream), stream


def test_appended_keys_belong_to_the_thread_that_appended_them() -> None:
    # Given a Powertools logger with the thread-local formatter installed
    logger, stream = powertools_logger(f"svc-{uuid.uuid4().hex[:6]}")
    formatter = thread_local_formatter(logger)
    appended = threading.Event()

    def invocation() -> None:
        formatter.reset_thread(service="fanout")
        logger.append_keys(event_id="e-1")
        logger.info("in the invocation")
        appended.set()

    # When another thread appends a correlation id and logs
    worker = threading.Thread(target=invocation)
    worker.start()
    worker.join()
    logger.info("on the main thread")

    # Then only that thread's line carries it and its service
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert appended.is_set()
    assert [(line["service"], line.get("event_id")) for line in lines] == [
        ("fanout", "e-1"),
        (logger.service, None),
    ]


def test_reset_thread_forgets_the_previous_invocations_keys() -> None:
    logger, stream = powertools_logger(f"svc-{uuid.uuid4().hex[:6]}")
    formatter = thread_local_formatter(logger)
    formatter.reset_thread(service="indexer")
    logger.append_keys(event_id="e-1")

    formatter.reset_thread(service="indexer")
    logger.info("next invocation")

    (line,) = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert "event_id" not in line
    assert line["service"] == "indexer"


def test_function_service_survives_clear_state() -> None:
    logger, stream = powertools_logger(f"svc-{uuid.uuid4().hex[:6]}")
    formatter = thread_local_formatter(logger)
    formatter.reset_thread(service="retry")

    logger.clear_state()
    logger.info("after clear_state")

    assert json.loads(stream.getvalue())["service"] == "retry"


def test_capture_sends_only_the_invoking_threads_lines() -> None:
    logger, _ = powertools_logger(f"svc-{uuid.uuid4().hex[:6]}")
    capture = InvocationCapture(thread_local_formatter(logger))
    logger.addHandler(capture)
    captured: list[str] = []

    with capture.capture(lambda _timestamp, line: captured.append(line)):
        logger.info("mine")
        other = threading.Thread(target=lambda: logger.info("someone else's"))
        other.start()
        other.join()
    logger.info("after the invocation")

    assert [json.loads(line)["message"] for line in captured] == ["mine"]


def test_capture_follows_the_handlers_workers_run_in_a_copy_of_its_context() -> None:
    # As fanout and retry submit their deliveries: pool.submit(contextvars.copy_context().run, ...)
    logger, _ = powertools_logger(f"svc-{uuid.uuid4().hex[:6]}")
    formatter = thread_local_formatter(logger)
    capture = InvocationCapture(formatter)
    logger.addHandler(capture)
    captured: list[str] = []

    with capture.capture(lambda _timestamp, line: captured.append(line)):
        formatter.reset_thread(service="fanout")
        logger.append_keys(event_id="01JEVENT")
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [
                pool.submit(contextvars.copy_context().run, logger.info, f"worker {n}") for n in range(2)
            ]
            [future.result() for future in futures]

    lines = [json.loads(line) for line in captured]
    assert sorted(line["message"] for line in lines) == ["worker 0", "worker 1"]
    assert {(line["service"], line["event_id"]) for line in lines} == {("fanout", "01JEVENT")}


class FakeLogs:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def create_log_group(self, **kwargs: Any) -> None:
        self.calls.append(("group", kwargs))

    def create_log_stream(self, **kwargs: Any) -> None:
        self.calls.append(("stream", kwargs))

    def put_log_events(self, **kwargs: Any) -> None:
        self.calls.append(("put", kwargs))


def test_shipper_creates_group_and_stream_once_and_sorts_events() -> None:
    logs = FakeLogs()
    shipper = LogShipper(logs)

    shipper.put("/aws/lambda/f", "s", 2, "second")
    shipper.put("/aws/lambda/f", "s", 1, "first")
    shipper.flush()
    shipper.put("/aws/lambda/f", "s", 3, "third")
    shipper.flush()

    assert [kind for kind, _ in logs.calls] == ["group", "stream", "put", "put"]
    assert [event["message"] for event in logs.calls[2][1]["logEvents"]] == ["first", "second"]


def test_shipper_splits_puts_at_the_service_limits() -> None:
    logs = FakeLogs()
    shipper = LogShipper(logs)
    big = "x" * 400_000

    for timestamp in range(3):
        shipper.put("g", "s", timestamp, big)
    shipper.flush()

    puts = [kwargs["logEvents"] for kind, kwargs in logs.calls if kind == "put"]
    assert [len(events) for events in puts] == [2, 1]
