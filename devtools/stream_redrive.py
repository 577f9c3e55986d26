"""Redrive the stream DLQ: re-read a discarded batch from the stream and invoke its function again.

An OnFailure record holds no records, only where they are (`DDBStreamBatchInfo`: stream, shard,
first and last sequence number). Within the stream's 24 h retention the records can be read
again by sequence number and given to the function that failed them, filtered by its mapping as
Lambda would. The OnFailure message is deleted only when that invocation processed every record;
otherwise it stays in the queue for the next attempt. The processors are idempotent (conditional
delivery claims, external index versions), so records that did succeed before are not redone.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devtools.esm import failed_items, lambda_stream_record
from devtools.esm_filters import matches_any
from devtools.lambda_context import LocalLambdaContext
from devtools.mappings import MappingSpec

Invoke = Callable[[MappingSpec, dict[str, Any]], Any]
READ_LIMIT = 1000
SCAN_VISIBILITY = 300


@dataclass
class StreamRedrive:
    redriven: int = 0
    kept: int = 0


def failed_batch(streams: Any, info: dict[str, Any], spec: MappingSpec) -> list[dict[str, Any]]:
    """The records of a discarded batch that `spec`'s filters take, as Lambda delivers them."""
    first, last = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
    iterator: str | None = streams.get_shard_iterator(
        StreamArn=info["streamArn"],
        ShardId=info["shardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=info["startSequenceNumber"],
    )["ShardIterator"]
    records: list[dict[str, Any]] = []
    while iterator is not None:
        response = streams.get_records(ShardIterator=iterator, Limit=READ_LIMIT)
        raw_records = response.get("Records", [])
        for raw in raw_records:
            sequence = int(raw["dynamodb"]["SequenceNumber"])
            if sequence > last:
                return records
            record, _ = lambda_stream_record(raw, info["streamArn"])
            if sequence >= first and matches_any(spec.filter_patterns, record):
                records.append(record)
        if not raw_records:
            return records
        iterator = response.get("NextShardIterator")
    return records


def invoke_in_process(handler: Callable[[dict[str, Any], Any], Any]) -> Invoke:
    """Invoke `handler` here with a Lambda context, as the local runner does."""

    def invoke(spec: MappingSpec, event: dict[str, Any]) -> Any:
        context = LocalLambdaContext(
            function_name=spec.function_name,
            memory_limit_in_mb=spec.memory_mb,
            timeout_seconds=spec.timeout_seconds,
        )
        return handler(event, context)

    return invoke


def redrive_stream_dlq(
    sqs: Any,
    streams: Any,
    queue_url: str,
    specs: list[MappingSpec],
    invoke: Invoke,
    select: Callable[[dict[str, Any]], bool] = lambda failure: True,
) -> StreamRedrive:
    """Give every selected OnFailure record's batch to its function again; delete those fully processed.

    Messages left in the queue stay invisible until the scan ends, so each is looked at once.
    """
    by_name = {spec.function_name: spec for spec in specs if spec.source_kind == "DynamoDB"}
    result = StreamRedrive()
    held: list[dict[str, Any]] = []
    try:
        while True:
            messages = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=SCAN_VISIBILITY,
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not messages:
                return result
            for message in messages:
                failure = json.loads(message["Body"])
                function_arn = str(failure.get("requestContext", {}).get("functionArn", ""))
                spec = by_name.get(function_arn.rsplit(":", 1)[-1])
                if spec is None or not select(failure):
                    held.append(message)
                elif _process(streams, failure["DDBStreamBatchInfo"], spec, invoke):
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                    result.redriven += 1
                else:
                    held.append(message)
                    result.kept += 1
    finally:
        for message in held:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )


def _process(streams: Any, info: dict[str, Any], spec: MappingSpec, invoke: Invoke) -> bool:
    records = failed_batch(streams, info, spec)
    if not records:
        return True
    try:
        response = invoke(spec, {"Records": records})
        return not failed_items(response, [record["dynamodb"]["SequenceNumber"] for record in records])
    except Exception:  # a function error keeps the record for another redrive
        return False
