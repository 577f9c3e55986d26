"""DynamoDB storing only part of a batch under `POST /v1/events`: with an Idempotency-Key the
retry completes the batch under the same ids and nothing is stored or delivered twice; without one,
the 503 leaves the stored part stored (documented in docs/guarantees.md)."""

from collections.abc import Callable
from typing import Any

import pytest

from devtools.invariant import Accepted, Outcomes
from devtools.receiver import Receiver
from devtools.stack import EmbeddedStack
from ingest.core.clients import dynamodb_client
from ingest.core.settings import get_settings
from tests.e2e.conftest import subscribe
from tests.e2e.faults import InjectedFailures, Subscribed, assert_no_loss, payload_text, unprocessed_items
from tests.integration.conftest import ApiClient

pytestmark = pytest.mark.e2e

BATCH = 25
HELD_BACK = 10
EVENT_TYPE = "order.batched"


def batch_body() -> tuple[bytes, list[str]]:
    payloads = [payload_text(n) for n in range(BATCH)]
    body = "[" + ",".join(f'{{"event_type":"{EVENT_TYPE}","payload":{p}}}' for p in payloads) + "]"
    return body.encode(), payloads


def stored_ids(api: ApiClient, aws_client: Callable[[str], Any]) -> list[str]:
    """The tenant's event ids in the events table, read consistently."""
    response = aws_client("dynamodb").query(
        TableName=get_settings().events_table,
        KeyConditionExpression="tenant_id = :t",
        ExpressionAttributeValues={":t": {"S": api.tenant_id}},
        ProjectionExpression="event_id",
        ConsistentRead=True,
    )
    return [item["event_id"]["S"] for item in response["Items"]]


def events_table_writes(params: dict[str, Any]) -> bool:
    return get_settings().events_table in params.get("RequestItems", {})


def post(api: ApiClient, body: bytes, headers: dict[str, str] | None = None) -> Any:
    return api.post("/v1/events", data=body, headers={"Content-Type": "application/json", **(headers or {})})


def test_a_partly_stored_batch_is_completed_by_its_retry_under_the_same_ids_and_delivered_once(
    api: ApiClient, stack: EmbeddedStack, aws_client: Callable[[str], Any]
) -> None:
    body, payloads = batch_body()
    key = {"Idempotency-Key": "batch-partly-stored-1"}
    with Receiver() as receiver:
        subscribed = [Subscribed(api, subscribe(api, receiver.url, [EVENT_TYPE]), receiver)]
        # Given DynamoDB leaving the last 10 items of every events-table batch write unprocessed
        failures = InjectedFailures(when=events_table_writes)
        with unprocessed_items(dynamodb_client(), get_settings().events_table, HELD_BACK, failures):
            # When a batch of 25 is posted with an Idempotency-Key
            first = post(api, body, key)
        # Then it is a 503, and the 15 items DynamoDB took are stored
        assert first.status_code == 503, first.text
        assert first.json()["type"] == "https://triggers.dev/problems/store-unavailable"
        partly = stored_ids(api, aws_client)
        assert len(partly) == BATCH - HELD_BACK

        # When DynamoDB recovers and the client retries with the same key and body
        retried = post(api, body, key)

        # Then the retry stores the other 10 under the ids the first attempt chose: 25 events,
        # each stored once and delivered once
        assert retried.status_code == 201, retried.text
        ids = [event["id"] for event in retried.json()["data"]]
        assert set(partly) < set(ids)
        assert sorted(stored_ids(api, aws_client)) == sorted(ids)
        events = [
            Accepted(api.tenant_id, event_id, EVENT_TYPE, p)
            for event_id, p in zip(ids, payloads, strict=True)
        ]
        assert_no_loss(stack, aws_client, events, subscribed, expected=Outcomes(delivered=BATCH))

        # And a further retry stores nothing and answers the same ids as a replay
        again = post(api, body, key)
        assert (again.status_code, [event["id"] for event in again.json()["data"]]) == (200, ids)
        assert len(stored_ids(api, aws_client)) == BATCH
    assert failures.injected >= 2


def test_a_retry_never_overwrites_an_event_that_moved_on(
    api: ApiClient, aws_client: Callable[[str], Any]
) -> None:
    body, _ = batch_body()
    key = {"Idempotency-Key": "batch-partly-stored-2"}
    failures = InjectedFailures(when=events_table_writes)
    with unprocessed_items(dynamodb_client(), get_settings().events_table, HELD_BACK, failures):
        assert post(api, body, key).status_code == 503
    # Given one stored event of the batch acknowledged meanwhile (rev 2)
    (first_id, *_) = sorted(stored_ids(api, aws_client))
    assert api.post(f"/v1/events/{first_id}/ack").status_code == 200

    # When the batch is retried
    retried = post(api, body, key)

    # Then the acknowledged event keeps its state, and the batch is whole
    assert retried.status_code == 201, retried.text
    event = api.get(f"/v1/events/{first_id}").json()
    assert (event["status"], event["rev"]) == ("acknowledged", 2)
    assert len(stored_ids(api, aws_client)) == BATCH


def test_without_an_idempotency_key_a_partial_write_is_a_503_that_leaves_the_stored_part(
    api: ApiClient, aws_client: Callable[[str], Any]
) -> None:
    body, _ = batch_body()
    failures = InjectedFailures(when=events_table_writes)
    with unprocessed_items(dynamodb_client(), get_settings().events_table, HELD_BACK, failures):
        reply = post(api, body)

    assert reply.status_code == 503, reply.text
    assert f"left {HELD_BACK} of {BATCH} items unprocessed" in reply.json()["detail"]
    assert len(stored_ids(api, aws_client)) == BATCH - HELD_BACK
