"""The no-loss invariant checker finds what it must: loss, duplicates, missing letters, stale index."""

import json
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer

from devtools.invariant import Accepted, Stores, Watched, check
from ingest.core.settings import get_settings

TENANT = "t-1"
SUBSCRIPTION = "sub_1"
EVENT = Accepted(TENANT, "01EVENT", "order.created")
_serializer = TypeSerializer()


class FakeOpenSearch:
    def __init__(self, versions: dict[str, int]) -> None:
        self.versions = versions

    def mget(self, index: str, body: dict[str, Any], _source: bool) -> dict[str, Any]:
        return {
            "docs": [
                {"_id": i, "found": i in self.versions, "_version": self.versions.get(i)} for i in body["ids"]
            ]
        }


@pytest.fixture
def stores(aws: None) -> Stores:
    settings = get_settings()
    dynamodb = boto3.client("dynamodb")
    sqs = boto3.client("sqs")
    dlq_url = sqs.create_queue(QueueName="delivery-dlq")["QueueUrl"]
    put(dynamodb, settings.events_table, {"tenant_id": TENANT, "event_id": EVENT.event_id, "rev": 2})
    return Stores(
        dynamodb=dynamodb,
        sqs=sqs,
        opensearch=FakeOpenSearch({EVENT.event_id: 2}),
        events_table=settings.events_table,
        deliveries_table=settings.deliveries_table,
        delivery_dlq_url=dlq_url,
        index_alias="events",
    )


def put(dynamodb: Any, table: str, item: dict[str, Any]) -> None:
    dynamodb.put_item(
        TableName=table, Item={name: _serializer.serialize(value) for name, value in item.items()}
    )


def delivery(stores: Stores, state: str, statuses: list[int]) -> None:
    put(
        stores.dynamodb,
        stores.deliveries_table,
        {
            "event_id": EVENT.event_id,
            "subscription_id": SUBSCRIPTION,
            "tenant_id": TENANT,
            "target_url": "http://127.0.0.1/hook",
            "state": state,
            "attempts": [{"status_code": status} for status in statuses],
        },
    )


def watched(*answers: tuple[str | None, int]) -> list[Watched]:
    return [Watched(TENANT, SUBSCRIPTION, ("*",), lambda: list(answers))]


def test_one_recorded_and_received_delivery_holds(stores: Stores) -> None:
    delivery(stores, "delivered", [500, 200])
    report = check(stores, [EVENT], watched((EVENT.event_id, 500), (EVENT.event_id, 200)))
    assert report.ok, report.describe()
    assert report.outcomes == {"delivered": 1}


def test_a_second_2xx_at_the_receiver_is_a_duplicate(stores: Stores) -> None:
    delivery(stores, "delivered", [200])
    report = check(stores, [EVENT], watched((EVENT.event_id, 200), (EVENT.event_id, 200)))
    assert len(report.duplicated) == 1
    assert check(
        stores,
        [EVENT],
        watched((EVENT.event_id, 200), (EVENT.event_id, 200)),
        receiver_duplicates_allowed=True,
    ).ok


def test_two_successful_attempts_recorded_are_a_duplicate(stores: Stores) -> None:
    delivery(stores, "delivered", [200, 200])
    assert len(check(stores, [EVENT], watched((EVENT.event_id, 200))).duplicated) == 1


def test_a_matching_subscription_without_a_delivery_record_is_a_loss(stores: Stores) -> None:
    report = check(stores, [EVENT], watched())
    assert report.lost == [f"{EVENT.event_id} -> {SUBSCRIPTION}: no delivery record"]


def test_a_delivery_still_retrying_is_not_settled(stores: Stores) -> None:
    delivery(stores, "retrying", [500])
    assert "still retrying" in check(stores, [EVENT], watched((EVENT.event_id, 500))).lost[0]


def test_a_failed_delivery_needs_one_full_dlq_letter(stores: Stores) -> None:
    delivery(stores, "failed", [500, 500])
    assert check(stores, [EVENT], watched()).lost[0].endswith("failed but no DLQ letter")
    letter = {
        "event_id": EVENT.event_id,
        "subscription_id": SUBSCRIPTION,
        "tenant_id": TENANT,
        "target_url": "http://127.0.0.1/hook",
        "attempts": [{}, {}],
        "envelope": {"id": EVENT.event_id, "type": EVENT.event_type},
    }
    stores.sqs.send_message(QueueUrl=stores.delivery_dlq_url, MessageBody=json.dumps(letter))
    report = check(stores, [EVENT], watched())
    assert report.ok, report.describe()
    assert report.outcomes == {"dead-lettered": 1}
    stores.sqs.send_message(QueueUrl=stores.delivery_dlq_url, MessageBody=json.dumps(letter))
    assert check(stores, [EVENT], watched()).duplicated


def test_an_event_missing_or_indexed_at_an_older_rev_is_reported(stores: Stores) -> None:
    delivery(stores, "delivered", [200])
    other = Accepted(TENANT, "01OTHER", "order.created")
    stale = Stores(**{**stores.__dict__, "opensearch": FakeOpenSearch({EVENT.event_id: 1})})
    report = check(stale, [EVENT, other], watched((EVENT.event_id, 200)))
    assert report.missing_events == [other.event_id]
    assert report.not_indexed == [f"{EVENT.event_id}: index version 1, table rev 2"]
