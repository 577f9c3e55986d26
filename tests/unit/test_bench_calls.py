"""The benchmark's accounting: DynamoDB write requests and WCU, receipts, drain, phase profile."""

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from devtools.bench.awscalls import (
    Call,
    CallLog,
    Interval,
    Target,
    consumed_wcu,
    item_size,
    number_size,
    phase_profile,
    union_seconds,
    write_breakdown,
    write_targets,
    write_units,
    writes_of,
)
from devtools.bench.receipts import drain_seconds, latencies_ms, rate_within, tally, throughput
from devtools.bench.suite import selected
from devtools.runner.lambda_context import invoked_function

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def write(operation: str, *targets: Target, function: str | None = "fanout") -> Call:
    return Call(
        service="dynamodb",
        operation=operation,
        tables=tuple(sorted({target.table for target in targets})),
        function=function,
        thread=1,
        started=0.0,
        ended=0.01,
        targets=list(targets),
    )


def test_item_size_counts_names_and_values() -> None:
    item = {"id": {"S": "abc"}, "n": {"N": "12345"}, "ok": {"BOOL": True}, "l": {"L": [{"S": "xy"}]}}

    assert item_size(item) == (2 + 3) + (1 + 4) + (2 + 1) + (1 + 3 + 1 + 2)


def test_number_size_is_half_the_significant_digits_plus_one() -> None:
    assert (number_size("0"), number_size("7"), number_size("12345"), number_size("1000")) == (2, 2, 4, 2)


def test_write_units_round_up_per_kb_and_double_in_transactions() -> None:
    assert (write_units(0), write_units(1024), write_units(1025), write_units(100, transactional=True)) == (
        1,
        1,
        2,
        2,
    )


def test_write_targets_of_batch_and_transaction() -> None:
    # Given
    item = {"tenant_id": {"S": "t1"}, "event_id": {"S": "e1"}}

    # When
    batch = write_targets(
        "BatchWriteItem",
        {"RequestItems": {"events": [{"PutRequest": {"Item": item}}, {"DeleteRequest": {"Key": item}}]}},
    )
    transaction = write_targets(
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": "subs", "Item": item}},
                {"Update": {"TableName": "subs", "Key": item}},
            ]
        },
    )

    # Then
    assert [(t.table, t.size, t.key is None, t.transactional) for t in batch] == [
        ("events", item_size(item), True, False),
        ("events", None, False, False),
    ]
    assert [t.transactional for t in transaction] == [True, True]
    assert transaction[0].strings == frozenset({"t1", "e1"})


def test_wcu_uses_known_sizes_then_read_sizes_and_counts_missing_items_as_one() -> None:
    # Given
    writes = [
        write("PutItem", Target("events", None, size=1500)),
        write("UpdateItem", Target("deliveries", '{"k": 1}')),
        write("DeleteItem", Target("deliveries", '{"k": 2}')),
        write("TransactWriteItems", Target("subs", None, size=10, transactional=True)),
    ]

    # When
    wcu = consumed_wcu(writes, {("deliveries", '{"k": 1}'): 3000})

    # Then
    assert wcu == {"total": 2 + 3 + 1 + 2, "by_table": {"deliveries": 4, "events": 2, "subs": 2}}


def test_writes_are_filtered_by_function_and_by_whose_items_they_touch() -> None:
    # Given
    ours = write("UpdateItem", Target("deliveries", "{}", strings=frozenset({"evt-1", "sub-1"})))
    theirs = write("UpdateItem", Target("deliveries", "{}", strings=frozenset({"evt-9"})))
    ingest = write("PutItem", Target("events", None, 10, strings=frozenset({"evt-1"})), function="ingest")
    read = Call("dynamodb", "GetItem", ("events",), "fanout", 1, 0.0, 0.01)

    # When
    counted = writes_of([ours, theirs, ingest, read], ("fanout",), {"evt-1"})

    # Then
    assert counted == [ours]
    assert write_breakdown([ours, theirs, ingest])["by_operation_and_table"] == {
        "UpdateItem deliveries": 2,
        "PutItem events": 1,
    }


@pytest.fixture
def table() -> Iterator["DynamoDBClient"]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="things",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def test_call_log_records_writes_with_their_function_and_outcome(table: "DynamoDBClient") -> None:
    # Given
    calls = CallLog()
    token = invoked_function.set("fanout")

    # When
    try:
        with calls.attached(table):
            table.put_item(TableName="things", Item={"id": {"S": "a"}})
            table.update_item(
                TableName="things",
                Key={"id": {"S": "a"}},
                UpdateExpression="SET v = :v",
                ExpressionAttributeValues={":v": {"S": "x" * 2000}},
                ReturnValues="ALL_NEW",
            )
            with pytest.raises(table.exceptions.ConditionalCheckFailedException):
                table.delete_item(
                    TableName="things", Key={"id": {"S": "b"}}, ConditionExpression="attribute_exists(id)"
                )
            table.get_item(TableName="things", Key={"id": {"S": "a"}})
    finally:
        invoked_function.reset(token)
    table.put_item(TableName="things", Item={"id": {"S": "after detach"}})

    # Then
    recorded = calls.calls
    assert [(call.operation, call.function, call.error) for call in recorded] == [
        ("PutItem", "fanout", None),
        ("UpdateItem", "fanout", None),
        ("DeleteItem", "fanout", "ConditionalCheckFailedException"),
        ("GetItem", "fanout", None),
    ]
    assert recorded[1].targets[0].size == item_size({"id": {"S": "a"}, "v": {"S": "x" * 2000}})
    assert len(writes_of(recorded)) == 3
    assert consumed_wcu(writes_of(recorded), {})["total"] == 1 + 2 + 1


def test_tally_counts_exactly_once_missing_and_duplicates_per_subscriber() -> None:
    # Given
    sent = {"e1": 100.0, "e2": 101.0, "e3": 102.0}
    receipts = {
        "a": [("e1", 100.5), ("e2", 101.5), ("e2", 103.0), ("other", 101.0)],
        "b": [("e1", 101.0), ("e3", 104.0), (None, 104.0)],
    }

    # When
    counted = tally(sent, receipts)

    # Then
    assert counted.summary() == {
        "expected": 6,
        "received": 4,
        "exactly_once": 3,
        "missing": 2,
        "duplicates": 1,
    }
    assert counted.first_at[("a", "e2")] == 101.5
    assert sorted(latencies_ms(sent, counted.first_at)) == [500.0, 500.0, 1000.0, 2000.0]


def test_drain_is_from_the_last_accepted_post_to_the_last_first_receipt() -> None:
    assert drain_seconds(100.0, [95.0, 104.5, 102.0]) == 4.5
    assert drain_seconds(100.0, [95.0, 99.0]) == 0.0
    assert drain_seconds(100.0, []) == 0.0


def test_rate_within_counts_only_the_window() -> None:
    assert rate_within([0.5, 1.0, 1.5, 2.0, 3.5], 1.0, 3.0) == 1.5
    assert rate_within([1.0], 2.0, 2.0) == 0.0


def test_union_of_overlapping_intervals() -> None:
    assert union_seconds([(0.0, 1.0), (0.5, 2.0), (3.0, 4.0), (3.2, 3.5)]) == 3.0


def test_phase_profile_sums_calls_and_finds_the_time_with_nothing_in_flight() -> None:
    # Given
    intervals = [
        Interval("dynamodb writes", 0.0, 0.4),
        Interval("dynamodb writes", 0.2, 0.6),
        Interval("webhook sends", 0.5, 0.8),
    ]

    # When
    profile = phase_profile(intervals, wall_seconds=1.0)

    # Then
    assert profile["phases"]["dynamodb writes"] == {
        "calls": 2,
        "call_s": 0.8,
        "mean_ms": 400.0,
        "wall_s": 0.6,
    }
    assert profile["phases"]["webhook sends"]["wall_s"] == 0.3
    assert math.isclose(profile["none_in_flight_s"], 0.2)


def test_throughput_is_receipts_per_second_from_first_to_last() -> None:
    assert throughput([10.0, 10.5, 11.0, 12.0]) == 1.5
    assert throughput([10.0]) == 0.0


def test_only_selects_scenarios_by_number_or_word() -> None:
    assert selected("7. sustained delivery", ["7"])
    assert selected("2. fan-out", ["4", "Fan-Out"])
    assert not selected("1. ingest", ["7", "fan-out"])
    assert selected("1. ingest", [])
