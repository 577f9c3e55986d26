"""Data access for the events table, against moto in-process (tables from template.yaml)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from ingest.core import batching, events_table
from ingest.core.errors import EventNotFound, MalformedRequest, StoreUnavailable
from ingest.core.events_table import EventItem, EventQuery
from ingest.core.ids import isoformat, new_event_id
from ingest.core.settings import get_settings

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def table(aws: None) -> str:
    return get_settings().events_table


def make_item(
    at: datetime, event_type: str = "order.created", source: str | None = None, tenant_id: str = "t1"
) -> EventItem:
    return EventItem(
        tenant_id=tenant_id,
        event_id=new_event_id(at),
        event_type=event_type,
        source=source,
        received_at=isoformat(at),
        payload='{"at": "' + isoformat(at) + '"}',
        expires_at=int((at + timedelta(days=30)).timestamp()),
    )


def store(dynamodb: Any, table: str, *items: EventItem) -> list[str]:
    events_table.put_events(dynamodb, table, items)
    return [item.event_id for item in items]


def ids(page: events_table.EventPage) -> list[str]:
    return [item.event_id for item in page.items]


def test_put_then_get_round_trips_the_item(dynamodb: Any, table: str) -> None:
    item = make_item(T0, source="shop")
    store(dynamodb, table, item)

    assert events_table.get_event(dynamodb, table, "t1", item.event_id) == item


def test_stored_item_carries_index_keys(dynamodb: Any, table: str) -> None:
    item = make_item(T0)
    store(dynamodb, table, item)

    raw = dynamodb.get_item(TableName=table, Key={"tenant_id": {"S": "t1"}, "event_id": {"S": item.event_id}})
    assert raw["Item"]["type_key"]["S"] == f"order.created#{item.event_id}"
    assert raw["Item"]["status_key"]["S"] == f"pending#{item.event_id}"
    assert "source" not in raw["Item"]


def test_get_unknown_or_other_tenant_raises_not_found(dynamodb: Any, table: str) -> None:
    item = make_item(T0)
    store(dynamodb, table, item)

    with pytest.raises(EventNotFound):
        events_table.get_event(dynamodb, table, "t2", item.event_id)


def test_list_newest_first_by_type_and_source(dynamodb: Any, table: str) -> None:
    a, b, c = store(
        dynamodb,
        table,
        make_item(T0, "order.created", "shop"),
        make_item(T0 + timedelta(seconds=1), "order.paid", "shop"),
        make_item(T0 + timedelta(seconds=2), "order.created", "pos"),
        make_item(T0, tenant_id="t2"),
    )[:3]

    def listed(**query: Any) -> list[str]:
        return ids(events_table.list_events(dynamodb, table, "t1", EventQuery(**query)))

    assert listed() == [c, b, a]
    assert listed(event_type="order.created") == [c, a]
    assert listed(source="shop") == [b, a]
    assert listed(event_type="order.created", source="pos") == [c]
    assert listed(event_type="order") == []


def test_list_by_time_range_is_inclusive(dynamodb: Any, table: str) -> None:
    times = [T0 + timedelta(minutes=n) for n in range(4)]
    stored = store(dynamodb, table, *(make_item(at) for at in times))

    def listed(**query: Any) -> list[str]:
        return ids(events_table.list_events(dynamodb, table, "t1", EventQuery(**query)))

    assert listed(since=times[1], until=times[2]) == [stored[2], stored[1]]
    assert listed(since=times[3]) == [stored[3]]
    assert listed(until=times[0]) == [stored[0]]
    assert listed(event_type="order.created", since=times[2]) == [stored[3], stored[2]]


def test_pagination_cursor_walks_every_item_once(dynamodb: Any, table: str) -> None:
    stored = store(dynamodb, table, *(make_item(T0 + timedelta(seconds=n)) for n in range(5)))

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        page = events_table.list_events(dynamodb, table, "t1", EventQuery(limit=2, cursor=cursor))
        seen += ids(page)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert seen == stored[::-1]


def test_cursor_of_another_tenant_is_rejected(dynamodb: Any, table: str) -> None:
    store(dynamodb, table, make_item(T0), make_item(T0 + timedelta(seconds=1)))
    cursor = events_table.list_events(dynamodb, table, "t1", EventQuery(limit=1)).next_cursor
    assert cursor

    with pytest.raises(MalformedRequest):
        events_table.list_events(dynamodb, table, "t2", EventQuery(cursor=cursor))


def test_cursor_of_another_index_is_rejected(dynamodb: Any, table: str) -> None:
    store(dynamodb, table, make_item(T0), make_item(T0 + timedelta(seconds=1)))
    cursor = events_table.list_events(dynamodb, table, "t1", EventQuery(limit=1)).next_cursor

    with pytest.raises(MalformedRequest):
        events_table.list_inbox(dynamodb, table, "t1", EventQuery(cursor=cursor))


def test_cursor_rejected_by_dynamodb_is_malformed_request(dynamodb: Any, table: str) -> None:
    # Given DynamoDB refusing a start key outside the query's key condition (moto does not check)
    cursor = events_table.encode_cursor({"tenant_id": {"S": "t1"}, "event_id": {"S": "x"}})
    stubber = Stubber(dynamodb)
    stubber.add_client_error("query", "ValidationException", "The provided starting key is invalid")

    # Then the caller gets a 400, not a 503
    with stubber, pytest.raises(MalformedRequest):
        events_table.list_events(dynamodb, table, "t1", EventQuery(cursor=cursor))


def test_inbox_lists_pending_oldest_first(dynamodb: Any, table: str) -> None:
    a, b, c = store(
        dynamodb,
        table,
        make_item(T0, "order.created", "shop"),
        make_item(T0 + timedelta(seconds=1), "order.paid", "pos"),
        make_item(T0 + timedelta(seconds=2), "order.created", "pos"),
    )
    events_table.set_status(dynamodb, table, "t1", a, "acknowledged")

    def inbox(**query: Any) -> list[str]:
        return ids(events_table.list_inbox(dynamodb, table, "t1", EventQuery(**query)))

    assert inbox() == [b, c]
    assert inbox(event_type="order.created") == [c]
    assert inbox(source="pos") == [b, c]
    assert ids(events_table.list_inbox(dynamodb, table, "t2", EventQuery())) == []


def test_set_status_bumps_rev_and_status_key(dynamodb: Any, table: str) -> None:
    (event_id,) = store(dynamodb, table, make_item(T0))

    first = events_table.set_status(dynamodb, table, "t1", event_id, "delivered")
    second = events_table.set_status(dynamodb, table, "t1", event_id, "acknowledged")

    raw = dynamodb.get_item(TableName=table, Key={"tenant_id": {"S": "t1"}, "event_id": {"S": event_id}})
    assert (first.status, first.rev) == ("delivered", 2)
    assert (second.status, second.rev) == ("acknowledged", 3)
    assert raw["Item"]["status_key"]["S"] == f"acknowledged#{event_id}"


def test_set_status_of_missing_event_raises_and_creates_nothing(dynamodb: Any, table: str) -> None:
    with pytest.raises(EventNotFound):
        events_table.set_status(dynamodb, table, "t1", new_event_id(T0), "acknowledged")

    assert dynamodb.scan(TableName=table, Select="COUNT")["Count"] == 0


def test_delete_removes_the_event(dynamodb: Any, table: str) -> None:
    (event_id,) = store(dynamodb, table, make_item(T0))

    events_table.delete_event(dynamodb, table, "t1", event_id)

    with pytest.raises(EventNotFound):
        events_table.get_event(dynamodb, table, "t1", event_id)


def test_delete_of_other_tenants_event_raises_and_keeps_it(dynamodb: Any, table: str) -> None:
    (event_id,) = store(dynamodb, table, make_item(T0))

    with pytest.raises(EventNotFound):
        events_table.delete_event(dynamodb, table, "t2", event_id)

    assert events_table.get_event(dynamodb, table, "t1", event_id).event_id == event_id


def test_to_json_splices_the_payload_text_unchanged() -> None:
    item = make_item(T0).model_copy(update={"payload": '{ "n" : 1.0 }'})

    assert item.to_json().endswith(',"payload":{ "n" : 1.0 }}')


class FlakyBatchWriter:
    """Passes BatchWriteItem through to moto, but reports the last item(s) unprocessed at first."""

    def __init__(self, client: Any, table: str, holdbacks: list[int]) -> None:
        self.client = client
        self.table = table
        self.holdbacks = holdbacks
        self.calls: list[int] = []

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        requests = RequestItems[self.table]
        self.calls.append(len(requests))
        held = self.holdbacks.pop(0) if self.holdbacks else 0
        written, unprocessed = requests[: len(requests) - held], requests[len(requests) - held :]
        if written:
            self.client.batch_write_item(RequestItems={self.table: written})
        return {"UnprocessedItems": {self.table: unprocessed} if unprocessed else {}}


def test_unprocessed_items_are_retried_until_written(
    dynamodb: Any, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given DynamoDB leaving 10, then 3 of 25 items unprocessed
    monkeypatch.setattr(batching.time, "sleep", lambda seconds: None)
    writer = FlakyBatchWriter(dynamodb, table, holdbacks=[10, 3])
    items = [make_item(T0 + timedelta(milliseconds=n)) for n in range(25)]

    # When the batch is written
    events_table.put_events(writer, table, items)  # type: ignore[arg-type]

    # Then only the unprocessed items are resent, and all 25 are stored
    assert writer.calls == [25, 10, 3]
    assert dynamodb.scan(TableName=table, Select="COUNT")["Count"] == 25


def test_unprocessed_items_after_every_attempt_raise_store_unavailable(
    dynamodb: Any, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batching.time, "sleep", lambda seconds: None)
    writer = FlakyBatchWriter(dynamodb, table, holdbacks=[1] * batching.ATTEMPTS)

    with pytest.raises(StoreUnavailable):
        events_table.put_events(writer, table, [make_item(T0), make_item(T0)])  # type: ignore[arg-type]

    assert len(writer.calls) == batching.ATTEMPTS


def test_sdk_error_becomes_store_unavailable(dynamodb: Any, table: str) -> None:
    stubber = Stubber(dynamodb)
    stubber.add_client_error("batch_write_item", "ProvisionedThroughputExceededException")

    with stubber, pytest.raises(StoreUnavailable) as raised:
        events_table.put_events(dynamodb, table, [make_item(T0)])

    assert isinstance(raised.value.__cause__, ClientError)


def test_put_missing_events_writes_only_what_is_missing_and_leaves_stored_items_as_they_are(
    dynamodb: Any, table: str
) -> None:
    # Given one item of three stored and acknowledged since (rev 2)
    items = [make_item(T0 + timedelta(milliseconds=n)) for n in range(3)]
    store(dynamodb, table, items[0])
    events_table.set_status(dynamodb, table, "t1", items[0].event_id, "acknowledged")

    # When the three are written as missing
    written = events_table.put_missing_events(dynamodb, table, items)

    # Then the other two are stored and the first is untouched
    assert written == 2
    first = events_table.get_event(dynamodb, table, "t1", items[0].event_id)
    assert (first.status, first.rev) == ("acknowledged", 2)
    assert [events_table.get_event(dynamodb, table, "t1", item.event_id) for item in items[1:]] == items[1:]
    assert events_table.put_missing_events(dynamodb, table, items) == 0


class BlindReader:
    """Passes calls through, but its BatchGetItem finds nothing: an item stored between the
    read and the write, as a concurrent retry would."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.exceptions = client.exceptions
        self.puts = 0

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        return {"Responses": {name: [] for name in RequestItems}}

    def put_item(self, **kwargs: Any) -> Any:
        self.puts += 1
        return self.client.put_item(**kwargs)


def test_put_missing_events_never_overwrites_an_item_stored_after_the_read(dynamodb: Any, table: str) -> None:
    item = make_item(T0)
    store(dynamodb, table, item)
    events_table.set_status(dynamodb, table, "t1", item.event_id, "acknowledged")
    reader = BlindReader(dynamodb)

    written = events_table.put_missing_events(reader, table, [item])  # type: ignore[arg-type]

    assert (written, reader.puts) == (0, 1)
    assert events_table.get_event(dynamodb, table, "t1", item.event_id).status == "acknowledged"


def test_put_missing_events_reads_only_the_keys(dynamodb: Any, table: str) -> None:
    stubber = Stubber(dynamodb)
    item = make_item(T0)
    key = {"tenant_id": {"S": "t1"}, "event_id": {"S": item.event_id}}
    stubber.add_response(
        "batch_get_item",
        {"Responses": {table: [key]}},
        {
            "RequestItems": {
                table: {
                    "Keys": [key],
                    "ConsistentRead": True,
                    "ProjectionExpression": "#p0, #p1",
                    "ExpressionAttributeNames": {"#p0": "tenant_id", "#p1": "event_id"},
                }
            }
        },
    )

    with stubber:
        assert events_table.put_missing_events(dynamodb, table, [item]) == 0


def test_put_missing_events_turns_sdk_errors_into_store_unavailable(dynamodb: Any, table: str) -> None:
    stubber = Stubber(dynamodb)
    stubber.add_response("batch_get_item", {"Responses": {table: []}})
    stubber.add_client_error("put_item", "ProvisionedThroughputExceededException")

    with stubber, pytest.raises(StoreUnavailable):
        events_table.put_missing_events(dynamodb, table, [make_item(T0)])
