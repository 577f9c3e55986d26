"""Pure pieces of `triggers tail` and `triggers dlq redrive`: durations, line filters, shard ranges."""

import io
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from devtools.dlq.letters import DeadLetterQueue, Kind, Letter, RedriveFailed
from devtools.dlq.redrive import LambdaInvoker, Redriver, read_range
from devtools.logs import LineFilter, LogLine, function_log_groups, parse_since
from devtools.runner.mappings import MappingSpec, load_mappings
from devtools.target import Target
from devtools.template import Template

ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026"
START = 10**21
FANOUT_ARN = "arn:aws:lambda:us-east-1:000000000000:function:triggers-local-fanout"


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), ("5", 300)]
)
def test_since_accepts_durations_with_units(text: str, seconds: float) -> None:
    assert parse_since(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "-5m", "10 minutes", "1w"])
def test_since_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_since(text)


def test_every_function_of_the_template_is_tailed_by_default() -> None:
    groups = function_log_groups(Template("local"))

    assert set(groups.values()) == {"ingest", "fanout", "retry", "indexer"}
    assert "/aws/lambda/triggers-local-fanout" in groups


@pytest.mark.parametrize("name", ["fanout", "FanoutFunction", "triggers-local-fanout"])
def test_a_function_is_named_by_short_name_logical_id_or_full_name(name: str) -> None:
    assert function_log_groups(Template("local"), [name]) == {"/aws/lambda/triggers-local-fanout": "fanout"}


def line(message: str) -> LogLine:
    return LogLine("fanout", "/aws/lambda/f", "s", 0, message)


def test_level_filter_keeps_handler_lines_at_or_above_it_and_runtime_errors() -> None:
    warning = LineFilter(level="WARNING")

    assert warning.matches(line('{"level": "ERROR", "message": "m"}'))
    assert warning.matches(line("[ERROR] RuntimeError: boom"))
    assert not warning.matches(line('{"level": "INFO", "message": "m"}'))
    assert not warning.matches(line("START RequestId: r Version: $LATEST"))


def test_every_term_must_occur_and_only_a_safe_one_goes_to_the_server() -> None:
    both = LineFilter(("e-1", "s-1"))

    assert both.matches(line('{"event_id": "e-1", "subscription_id": "s-1"}'))
    assert not both.matches(line('{"event_id": "e-1"}'))
    assert both.pattern == '"e-1"'
    assert LineFilter(('a"b',)).pattern is None


class FakeStreams:
    """A shard holding `sequences`, read 2 records per call, or failing with `error`."""

    def __init__(
        self, sequences: list[int], error: str | None = None, modified: frozenset[int] = frozenset()
    ) -> None:
        self.sequences = sequences
        self.error = error
        self.modified = modified

    def get_shard_iterator(self, SequenceNumber: str, **_: Any) -> dict[str, Any]:
        if self.error:
            raise ClientError({"Error": {"Code": self.error, "Message": "m"}}, "GetShardIterator")
        position = next(
            (i for i, s in enumerate(self.sequences) if s >= int(SequenceNumber)), len(self.sequences)
        )
        return {"ShardIterator": str(position)}

    def get_records(self, ShardIterator: str, **_: Any) -> dict[str, Any]:
        position = int(ShardIterator)
        chunk = self.sequences[position : position + 2]
        records = [
            {
                "eventID": str(sequence),
                "eventName": "MODIFY" if sequence in self.modified else "INSERT",
                "dynamodb": {"SequenceNumber": str(sequence), "ApproximateCreationDateTime": 1.0},
            }
            for sequence in chunk
        ]
        return {"Records": records, "NextShardIterator": str(position + len(chunk))}


def info(start: int, end: int) -> dict[str, Any]:
    return {
        "streamArn": ARN,
        "shardId": "shard-1",
        "startSequenceNumber": str(start),
        "endSequenceNumber": str(end),
    }


def test_range_is_read_across_pages_and_stops_at_its_end() -> None:
    streams = FakeStreams([START + n for n in range(8)])

    records = read_range(streams, info(START + 1, START + 5))

    assert [int(record["dynamodb"]["SequenceNumber"]) for record in records] == [
        START + n for n in range(1, 6)
    ]
    assert {record["eventSourceARN"] for record in records} == {ARN}


@pytest.mark.parametrize("code", ["TrimmedDataAccessException", "ResourceNotFoundException"])
def test_a_range_the_stream_no_longer_has_is_reported_as_not_retained(code: str) -> None:
    with pytest.raises(RedriveFailed, match="no longer retained"):
        read_range(FakeStreams([], error=code), info(START, START + 1))


def test_a_range_whose_first_record_was_trimmed_is_not_retained() -> None:
    with pytest.raises(RedriveFailed, match="no longer retained"):
        read_range(FakeStreams([START + 5, START + 6]), info(START, START + 6))


def test_a_range_ending_past_the_stream_is_refused() -> None:
    with pytest.raises(RedriveFailed, match=f"no record {START + 9}"):
        read_range(FakeStreams([START, START + 1]), info(START, START + 9))


class FakeLambda:
    def __init__(self, payload: bytes, function_error: str | None = None) -> None:
        self.payload = payload
        self.function_error = function_error
        self.events: list[dict[str, Any]] = []

    def invoke(self, FunctionName: str, Payload: bytes, **_: Any) -> dict[str, Any]:
        self.events.append(json.loads(Payload))
        response: dict[str, Any] = {"StatusCode": 200, "Payload": io.BytesIO(self.payload)}
        if self.function_error:
            response["FunctionError"] = self.function_error
        return response


def fanout_spec() -> MappingSpec:

    return next(
        spec for spec in load_mappings(Template("local")) if spec.function_logical_id == "FanoutFunction"
    )


def test_lambda_invoker_reports_a_function_error() -> None:
    invoker = LambdaInvoker(FakeLambda(b'{"errorMessage": "boom"}', "Unhandled"))

    with pytest.raises(RedriveFailed, match="boom"):
        invoker(fanout_spec(), {"Records": []})


def stream_letter(start: int, end: int) -> Letter:
    import json

    body = {
        "requestContext": {
            "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:triggers-local-fanout"
        },
        "DDBStreamBatchInfo": info(start, end),
    }
    queue = DeadLetterQueue(Kind.STREAM, "StreamDLQ", "triggers-local-stream-dlq")
    return Letter(queue, "m-1", "r-1", json.dumps(body), None, 1)


def redriver(streams: FakeStreams, function: FakeLambda) -> Redriver:
    target = Target.resolve(endpoint="aws", profile=None, state={})
    redriver = Redriver(target, Template("local"), "lambda")
    redriver._clients = {"dynamodbstreams": streams, "lambda": function}
    return redriver


def test_stream_redrive_sends_the_mappings_records_in_batches_of_its_size() -> None:
    # Given 13 records in range, one of them a MODIFY that fanout's filter leaves out
    streams = FakeStreams([START + n for n in range(13)], modified=frozenset({START + 4}))
    function = FakeLambda(b'{"batchItemFailures": []}')

    outcome = redriver(streams, function)(stream_letter(START, START + 12))

    assert [len(event["Records"]) for event in function.events] == [10, 2]
    sent = [record["dynamodb"]["SequenceNumber"] for event in function.events for record in event["Records"]]
    assert str(START + 4) not in sent
    assert outcome.startswith("12 record(s)")


def test_stream_redrive_fails_when_the_function_fails_a_record_again() -> None:
    streams = FakeStreams([START, START + 1])
    function = FakeLambda(f'{{"batchItemFailures": [{{"itemIdentifier": "{START + 1}"}}]}}'.encode())

    with pytest.raises(RedriveFailed, match=f"failed records {START + 1} again"):
        redriver(streams, function)(stream_letter(START, START + 1))
