"""moto's conditional writes are atomic once serialized, as DynamoDB's are (devtools/atomic_moto.py).

The attempt lease of the retry path (two copies of one message in one batch send once) relies on a
condition only one writer can pass; unserialized moto let several pass and the suite flaked.
"""

import sys
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.dynamodb.responses import DynamoHandler

from devtools.atomic_moto import serialize_dynamodb

WRITERS = 8
ROUNDS = 30


@pytest.fixture
def eager_thread_switches() -> Iterator[None]:
    """Switch threads every microsecond, so an unlocked read-check-write interleaves within rounds."""
    saved = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(saved)


def race_for_one_item(client: Any, table: str) -> list[int]:
    """WRITERS threads set the same attribute, each only if nobody has; who succeeded."""
    winners: list[int] = []
    start = threading.Barrier(WRITERS)

    def claim(writer: int) -> None:
        start.wait()
        try:
            client.update_item(
                TableName=table,
                Key={"k": {"S": "item"}},
                UpdateExpression="SET holder = :writer",
                ConditionExpression="attribute_not_exists(holder)",
                ExpressionAttributeValues={":writer": {"N": str(writer)}},
            )
        except client.exceptions.ConditionalCheckFailedException:
            return
        winners.append(writer)

    threads = [threading.Thread(target=claim, args=(writer,)) for writer in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return winners


def test_concurrent_conditional_updates_of_one_item_have_one_winner(
    aws: None, eager_thread_switches: None
) -> None:
    # Given a table in moto (the unit fixture serializes DynamoDB)
    client = boto3.client("dynamodb")
    client.create_table(
        TableName="race",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    winners_per_round = []
    for _ in range(ROUNDS):
        client.put_item(TableName="race", Item={"k": {"S": "item"}})
        # When eight writers race for one condition
        winners_per_round.append(len(race_for_one_item(client, "race")))

    # Then exactly one passes it, every round
    assert winners_per_round == [1] * ROUNDS


def test_serializing_twice_wraps_once() -> None:
    serialize_dynamodb()
    wrapped = DynamoHandler.call_action
    serialize_dynamodb()
    assert DynamoHandler.call_action is wrapped
