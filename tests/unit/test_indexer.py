"""The indexer handler invoked with stream events against a real osmem-server (and a flaky proxy)."""

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from opensearchpy import NotFoundError, OpenSearch
from osmem_server import OsmemClone
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from devtools.runner.lambda_context import LocalLambdaContext
from devtools.stack import free_port
from ingest.core.events_table import EventItem
from ingest.core.ids import isoformat, new_event_id
from ingest.core.runtime import runtime
from processors.indexer import handler
from processors.indexer.index import TEMPLATE_PATH, ensure_index, versioned_index
from tests.streams import failed_sequence_numbers, sequence_numbers, stream_event, stream_record

ALIAS = "events"
Invoke = Callable[..., dict[str, Any]]


def event_item(tenant_id: str = "t-unit", **fields: Any) -> EventItem:
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "tenant_id": tenant_id,
        "event_id": new_event_id(now),
        "event_type": "order.created",
        "source": "shop",
        "occurred_at": isoformat(now),
        "received_at": isoformat(now),
        "payload": '{"order": 42, "note": "hello brown fox"}',
        "expires_at": int(now.timestamp()) + 86400,
    }
    return EventItem.model_validate({**values, **fields})


def use_endpoint(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("OPENSEARCH_ENDPOINT", url)
    runtime.reset()


@pytest.fixture
def index_dlq(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    url = boto3.client("sqs").create_queue(QueueName="triggers-test-index-dlq")["QueueUrl"]
    monkeypatch.setenv("INDEX_DLQ_URL", url)
    runtime.reset()
    return url


@pytest.fixture
def search(osmem_clone: OsmemClone, index_dlq: str, monkeypatch: pytest.MonkeyPatch) -> OpenSearch:
    """A fresh osmem clone (no index yet) that the indexer writes to."""
    use_endpoint(monkeypatch, osmem_clone.url)
    return OpenSearch(hosts=[osmem_clone.url])


@pytest.fixture
def invoke(lambda_context: LocalLambdaContext) -> Invoke:
    def call(*records: dict[str, Any]) -> dict[str, Any]:
        return dict(handler.lambda_handler(stream_event(*records), lambda_context))

    return call


def indexed(search: OpenSearch, event_id: str) -> dict[str, Any] | None:
    try:
        return dict(search.get(index=ALIAS, id=event_id))
    except NotFoundError:
        return None


def dead_letters(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def emitted_metrics(capsys: pytest.CaptureFixture[str]) -> dict[str, float]:
    """Metric values from the EMF lines Powertools printed."""
    values: dict[str, float] = {}
    for line in capsys.readouterr().out.splitlines():
        if not line.startswith("{"):
            continue
        blob = json.loads(line)
        for directive in blob.get("_aws", {}).get("CloudWatchMetrics", []):
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                values[metric["Name"]] = sum(value) if isinstance(value, list) else value
    return values


class FlakyOpenSearch:
    """A proxy to a real osmem that answers chosen `_bulk` items, or whole `_bulk` requests, with an error."""

    def __init__(self, httpserver: HTTPServer, upstream: str) -> None:
        self.upstream = upstream
        self.item_status: dict[str, int] = {}
        self.bulk_status: int | None = None
        self.bulk_requests = 0
        httpserver.expect_request(re.compile(".*")).respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        if not request.path.endswith("/_bulk"):
            status, body = self._forward(request.method, request.full_path, request.get_data())
            return Response(body, status=status, content_type="application/json")
        self.bulk_requests += 1
        if self.bulk_status is not None:
            error = {"error": {"type": "rejected", "reason": "test"}, "status": self.bulk_status}
            return Response(json.dumps(error), status=self.bulk_status, content_type="application/json")
        return self._bulk(request)

    def _forward(self, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
        outgoing = urllib.request.Request(
            self.upstream + path,
            data=body or None,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(outgoing, timeout=10) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def _bulk(self, request: Request) -> Response:
        lines = [json.loads(line) for line in request.get_data().splitlines() if line.strip()]
        operations: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = []
        while lines:
            ((operation, meta),) = lines.pop(0).items()
            operations.append((operation, meta, [lines.pop(0)] if operation == "index" else []))
        passed = [op for op in operations if op[1]["_id"] not in self.item_status]
        body = "".join(
            json.dumps(line) + "\n" for operation, meta, doc in passed for line in [{operation: meta}, *doc]
        )
        upstream_items = []
        if passed:
            _, answer = self._forward("POST", request.full_path, body.encode())
            upstream_items = json.loads(answer)["items"]
        items = []
        for operation, meta, _ in operations:
            status = self.item_status.get(meta["_id"])
            if status is None:
                items.append(upstream_items.pop(0))
            else:
                error = {"type": "es_rejected_execution_exception", "reason": "test"}
                items.append({operation: {"_id": meta["_id"], "status": status, "error": error}})
        return Response(
            json.dumps({"took": 1, "errors": True, "items": items}), content_type="application/json"
        )


@pytest.fixture
def flaky(
    httpserver: HTTPServer, osmem_clone: OsmemClone, index_dlq: str, monkeypatch: pytest.MonkeyPatch
) -> FlakyOpenSearch:
    use_endpoint(monkeypatch, httpserver.url_for("").rstrip("/"))
    return FlakyOpenSearch(httpserver, osmem_clone.url)


def test_insert_indexes_the_event_through_the_alias(search: OpenSearch, invoke: Invoke) -> None:
    item = event_item()

    response = invoke(stream_record("INSERT", item))

    assert response == {"batchItemFailures": []}
    document = indexed(search, item.event_id)
    assert document is not None
    assert document["_index"] == versioned_index(ALIAS)
    assert document["_version"] == 1
    assert document["_source"] == {
        **item.model_dump(exclude_none=True),
        "payload_fields": ["order=42", "note=hello brown fox"],
    }


def test_first_batch_creates_the_strict_index_behind_the_alias(search: OpenSearch, invoke: Invoke) -> None:
    invoke(stream_record("INSERT", event_item()))

    assert list(search.indices.get_alias(name=ALIAS)) == [versioned_index(ALIAS)]
    mapping = search.indices.get_mapping(index=ALIAS)[versioned_index(ALIAS)]["mappings"]
    assert mapping["dynamic"] == "strict"
    assert mapping["properties"]["payload"] == {"type": "text"}
    assert mapping["properties"]["payload_fields"] == {"type": "keyword", "ignore_above": 256}


def test_alias_removed_while_warm_defers_the_batch_then_is_recreated(
    search: OpenSearch, invoke: Invoke
) -> None:
    # Given a warm indexer whose alias (and index) disappear
    invoke(stream_record("INSERT", event_item()))
    search.indices.delete(index=versioned_index(ALIAS))
    record = stream_record("INSERT", event_item())

    # When the next batches arrive
    first = invoke(record)
    retry = invoke(record)

    # Then the first is left for a retry (no stray `events` index is created) and the retry lands
    assert failed_sequence_numbers(first) == sequence_numbers(record)
    assert retry == {"batchItemFailures": []}
    assert list(search.indices.get_alias(name=ALIAS)) == [versioned_index(ALIAS)]


def test_ensure_index_is_idempotent(osmem_clone: OsmemClone) -> None:
    client = OpenSearch(hosts=[osmem_clone.url])

    ensure_index(client, ALIAS)
    ensure_index(client, ALIAS)

    assert list(client.indices.get_alias(name=ALIAS)) == [versioned_index(ALIAS)]


def test_template_maps_every_field_of_the_stored_event_and_the_payload_entries() -> None:
    template = json.loads(TEMPLATE_PATH.read_text())

    assert set(template["template"]["mappings"]["properties"]) == {*EventItem.model_fields, "payload_fields"}


def test_an_index_made_before_payload_fields_gets_the_field_on_the_next_cold_start(
    search: OpenSearch, invoke: Invoke
) -> None:
    # Given the index and alias as an earlier release created them: the template without payload_fields
    old = json.loads(TEMPLATE_PATH.read_text())
    del old["template"]["mappings"]["properties"]["payload_fields"]
    search.indices.put_index_template(name=ALIAS, body={**old, "index_patterns": [f"{ALIAS}-v*"]})
    search.indices.create(index=versioned_index(ALIAS), body={"aliases": {ALIAS: {"is_write_index": True}}})

    # When a new indexer (cold) indexes an event
    item = event_item()
    response = invoke(stream_record("INSERT", item))

    # Then the mapping gained the field and the document has its entries
    assert response == {"batchItemFailures": []}
    mapping = search.indices.get_mapping(index=ALIAS)[versioned_index(ALIAS)]["mappings"]
    assert mapping["properties"]["payload_fields"] == {"type": "keyword", "ignore_above": 256}
    document = indexed(search, item.event_id)
    assert document is not None
    assert document["_source"]["payload_fields"] == ["order=42", "note=hello brown fox"]


def test_modify_with_a_higher_rev_updates_the_status(search: OpenSearch, invoke: Invoke) -> None:
    item = event_item()
    invoke(stream_record("INSERT", item))

    response = invoke(stream_record("MODIFY", item.model_copy(update={"status": "delivered", "rev": 2})))

    assert response == {"batchItemFailures": []}
    document = indexed(search, item.event_id)
    assert document is not None
    assert document["_source"]["status"] == "delivered"
    assert document["_version"] == 2


def test_replayed_older_rev_does_not_overwrite_and_counts_as_a_conflict(
    search: OpenSearch, invoke: Invoke, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given rev 2 is indexed
    item = event_item()
    newer = item.model_copy(update={"status": "acknowledged", "rev": 2})
    invoke(stream_record("MODIFY", newer))
    capsys.readouterr()

    # When the INSERT of rev 1 arrives late (replay or out of order)
    response = invoke(stream_record("INSERT", item))

    # Then it is a success that changes nothing
    assert response == {"batchItemFailures": []}
    document = indexed(search, item.event_id)
    assert document is not None
    assert document["_source"]["status"] == "acknowledged"
    assert emitted_metrics(capsys).get("conflicts") == 1


def test_duplicate_records_in_one_batch_are_both_successful(search: OpenSearch, invoke: Invoke) -> None:
    item = event_item()

    response = invoke(stream_record("INSERT", item), stream_record("INSERT", item))

    assert response == {"batchItemFailures": []}
    assert indexed(search, item.event_id) is not None


def test_remove_deletes_the_document(search: OpenSearch, invoke: Invoke) -> None:
    item = event_item()
    invoke(stream_record("INSERT", item))

    response = invoke(stream_record("REMOVE", item, ttl_expiry=True))

    assert response == {"batchItemFailures": []}
    assert indexed(search, item.event_id) is None


def test_remove_of_a_document_never_indexed_succeeds(search: OpenSearch, invoke: Invoke) -> None:
    response = invoke(stream_record("REMOVE", event_item()))

    assert response == {"batchItemFailures": []}


def test_write_replayed_after_its_remove_does_not_resurrect_the_document(
    search: OpenSearch, invoke: Invoke
) -> None:
    item = event_item()
    invoke(stream_record("INSERT", item), stream_record("REMOVE", item))

    response = invoke(stream_record("MODIFY", item.model_copy(update={"rev": 2})))

    assert response == {"batchItemFailures": []}
    assert indexed(search, item.event_id) is None


def test_large_payload_is_indexed_and_searchable(search: OpenSearch, invoke: Invoke) -> None:
    words = " ".join(f"word{n}" for n in range(7000))
    item = event_item(payload=json.dumps({"text": words, "tail": "needle"}))
    assert len(item.payload) > 60_000

    response = invoke(stream_record("INSERT", item))

    assert response == {"batchItemFailures": []}
    search.indices.refresh(index=ALIAS)
    hits = search.search(index=ALIAS, body={"query": {"match": {"payload": "needle"}}})["hits"]["hits"]
    assert [hit["_id"] for hit in hits] == [item.event_id]


def test_mapping_rejection_goes_to_the_index_dlq_without_blocking_the_batch(
    search: OpenSearch, invoke: Invoke, index_dlq: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a record whose occurred_at is not a date (the strict mapping rejects it) among good ones
    good, bad = event_item(), event_item(occurred_at="yesterday")
    records = stream_record("INSERT", good), stream_record("INSERT", bad)

    # When the batch is indexed
    response = invoke(*records)

    # Then the bad record is dead-lettered with the reason, and nothing is left for a retry
    assert response == {"batchItemFailures": []}
    assert indexed(search, good.event_id) is not None
    assert indexed(search, bad.event_id) is None
    (letter,) = dead_letters(index_dlq)
    assert letter["event_id"] == bad.event_id
    assert letter["status"] == 400
    assert letter["reason"].startswith("mapper_parsing_exception")
    assert letter["record"] == records[1]
    assert emitted_metrics(capsys).get("rejected") == 1


def test_unreadable_stream_record_goes_to_the_index_dlq(
    search: OpenSearch, invoke: Invoke, index_dlq: str
) -> None:
    record = stream_record("INSERT", event_item())
    del record["dynamodb"]["NewImage"]["received_at"]

    response = invoke(record)

    assert response == {"batchItemFailures": []}
    (letter,) = dead_letters(index_dlq)
    assert letter["reason"] == "unreadable stream record: ValidationError"
    assert letter["record"] == record


def test_rejection_that_cannot_be_dead_lettered_is_left_for_a_retry(
    search: OpenSearch, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INDEX_DLQ_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/missing-dlq")
    runtime.reset()
    record = stream_record("INSERT", event_item(occurred_at="yesterday"))

    response = invoke(record)

    assert failed_sequence_numbers(response) == sequence_numbers(record)


@pytest.mark.parametrize("status", [429, 403, 503], ids=["throttled", "cluster-block", "unavailable"])
def test_items_answered_with_a_transient_error_are_retried_without_loss(
    flaky: FlakyOpenSearch,
    osmem_clone: OsmemClone,
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
) -> None:
    # Given OpenSearch answers one bulk item of three with an error status
    items = [event_item() for _ in range(3)]
    records = [stream_record("INSERT", item) for item in items]
    flaky.item_status[items[1].event_id] = status

    # When the batch is indexed
    response = invoke(*records)

    # Then one bulk request was made and exactly that record is reported
    assert flaky.bulk_requests == 1
    assert failed_sequence_numbers(response) == sequence_numbers(records[1])

    # And the stream's retry (from the failed record on) leaves every event indexed
    use_endpoint(monkeypatch, osmem_clone.url)
    assert invoke(*records[1:]) == {"batchItemFailures": []}
    search = OpenSearch(hosts=[osmem_clone.url])
    assert all(indexed(search, item.event_id) is not None for item in items)


@pytest.mark.parametrize("status", [429, 503])
def test_bulk_request_answered_with_an_error_fails_every_record(
    flaky: FlakyOpenSearch, invoke: Invoke, status: int
) -> None:
    flaky.bulk_status = status
    records = [stream_record("INSERT", event_item()) for _ in range(2)]

    response = invoke(*records)

    assert failed_sequence_numbers(response) == sequence_numbers(*records)


def test_connection_refused_fails_every_record(
    index_dlq: str, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_endpoint(monkeypatch, f"http://127.0.0.1:{free_port()}")
    records = [stream_record("INSERT", event_item()), stream_record("REMOVE", event_item())]

    response = invoke(*records)

    assert failed_sequence_numbers(response) == sequence_numbers(*records)
    assert dead_letters(index_dlq) == []
