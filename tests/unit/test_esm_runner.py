"""Pieces of the local ESM runner that need no AWS: responses, checkpoints, handler import."""

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from devtools.esm import CheckpointStore, MappingImportError, failed_items, load_handler
from devtools.mappings import MappingSpec

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
