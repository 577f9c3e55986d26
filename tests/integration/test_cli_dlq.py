"""`triggers dlq ls | show | redrive | purge` against the embedded stack, for every dead-letter queue.

Round trips count what matters (deliveries, documents, messages) so a redrive that loses or
duplicates anything fails.
"""

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from devtools.receiver import Faults, Receiver
from devtools.stack import EmbeddedStack
from ingest.core.events_table import EventItem
from ingest.core.opensearch_client import opensearch_client
from ingest.core.settings import get_settings
from tests.e2e.conftest import (  # noqa: F401 - fixtures
    Configure,
    configure,
    deliveries_of,
    post_events,
    subscribe,
    wait_until,
)
from tests.integration.cli_support import command_json, command_output, triggers
from tests.integration.conftest import ApiClient

Aws = Callable[[str], Any]


def letters(stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], queue: str) -> list[dict[str, Any]]:
    assert triggers(stack, "dlq", "ls", queue, "--max", "1000", "--json") == 0
    messages: list[dict[str, Any]] = command_json(capsys)["messages"]
    return messages


def letter_of(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], queue: str, **match: Any
) -> dict[str, Any] | None:
    found = [
        letter
        for letter in letters(stack, capsys, queue)
        if all(letter.get(key) == value for key, value in match.items())
    ]
    assert len(found) <= 1, found
    return found[0] if found else None


def redrive(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, dict[str, Any]]:
    code = triggers(stack, "dlq", "redrive", *argv, "--json")
    return code, command_json(capsys)


def queue_url(aws_client: Aws, stack: EmbeddedStack, logical_id: str) -> str:
    name = stack.template.physical_name(logical_id)
    return str(aws_client("sqs").get_queue_url(QueueName=name)["QueueUrl"])


def message_ids(aws_client: Aws, url: str) -> set[str]:
    """Every message id in the queue (held briefly, then released)."""
    sqs = aws_client("sqs")
    seen: dict[str, str] = {}
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get(
            "Messages", []
        )
        fresh = [message for message in messages if message["MessageId"] not in seen]
        seen.update((message["MessageId"], message["ReceiptHandle"]) for message in messages)
        if not fresh:
            break
    for handle in seen.values():
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return set(seen)


# -- delivery DLQ ------------------------------------------------------------------------------


@pytest.fixture
def dead_delivery(
    api: ApiClient,
    configure: Configure,  # noqa: F811 - the fixture imported above
    stack: EmbeddedStack,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[tuple[Receiver, dict[str, Any], str, dict[str, Any]]]:
    """A delivery whose short retry schedule failed: (receiver, subscription, event id, DLQ letter)."""
    configure(RETRY_SCHEDULE="1s,1s")
    with Receiver(faults=Faults(fail_rate=1.0)) as receiver:
        subscription = subscribe(api, receiver.url, ["order.created"])
        receiver.add_secret(subscription["secret"])
        (event_id,) = post_events(api, [{"event_type": "order.created", "payload": {"n": 1}}])
        letter = wait_until(
            lambda: letter_of(stack, capsys, "delivery", event_id=event_id),
            "the delivery DLQ letter",
            timeout=90,
        )
        yield receiver, subscription, event_id, letter


def test_delivery_redrive_delivers_once_and_empties_the_letter(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], dead_delivery: Any
) -> None:
    # Given a dead-lettered delivery and a receiver that works again
    receiver, subscription, event_id, letter = dead_delivery
    receiver.faults = Faults()

    # When it is redriven by its short id
    code, result = redrive(stack, capsys, letter["id"])

    # Then it is delivered exactly once more and the letter is gone
    assert code == 0, result
    assert [item["message_id"] for item in result["redriven"]] == [letter["message_id"]]
    wait_until(
        lambda: deliveries_of(api, event_id).get(subscription["id"], {}).get("state") == "delivered",
        "the redriven delivery",
    )
    assert [(d.webhook_id, d.status) for d in receiver.deliveries] == [(event_id, 500)] * 3 + [
        (event_id, 200)
    ]
    assert letter_of(stack, capsys, "delivery", event_id=event_id) is None


def test_delivery_redrive_of_a_deleted_subscription_keeps_the_letter(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], dead_delivery: Any
) -> None:
    receiver, subscription, event_id, letter = dead_delivery
    assert api.delete(f"/v1/subscriptions/{subscription['id']}").status_code == 204

    code, result = redrive(stack, capsys, letter["id"])

    assert code == 1
    (failed,) = result["failed"]
    assert "no longer exists" in failed["reason"]
    assert letter_of(stack, capsys, "delivery", event_id=event_id) is not None
    assert len(receiver.deliveries) == 3


def test_show_prints_the_whole_letter_and_leaves_it(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], dead_delivery: Any
) -> None:
    _, subscription, event_id, letter = dead_delivery

    assert triggers(stack, "dlq", "show", letter["id"], "--json") == 0

    shown = command_json(capsys)
    assert shown["message_id"] == letter["message_id"]
    assert shown["body"]["subscription_id"] == subscription["id"]
    assert [attempt["status_code"] for attempt in shown["body"]["attempts"]] == [500, 500, 500]
    assert letter_of(stack, capsys, "delivery", event_id=event_id) is not None


# -- retry-queue DLQ and purge -------------------------------------------------------------------


def retry_message(event_id: str) -> str:
    return json.dumps(
        {
            "tenant_id": "t-nobody",
            "event_id": event_id,
            "subscription_id": "sub_nobody",
            "attempt": 2,
            "due_at": datetime.now(UTC).isoformat(),
        }
    )


def test_retry_dlq_redrive_moves_the_message_back_and_keeps_a_malformed_one(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], aws_client: Aws
) -> None:
    # Given a retry message and a malformed one in the retry queue's DLQ
    url = queue_url(aws_client, stack, "RetryQueueDLQ")
    event_id = f"e-{uuid.uuid4().hex}"
    good = aws_client("sqs").send_message(QueueUrl=url, MessageBody=retry_message(event_id))["MessageId"]
    bad = aws_client("sqs").send_message(QueueUrl=url, MessageBody='{"attempt": "x"}')["MessageId"]

    # When both are redriven
    code, result = redrive(stack, capsys, good, bad)

    # Then the good one left for the retry queue, the bad one stays with the reason
    assert code == 1
    assert [item["message_id"] for item in result["redriven"]] == [good]
    assert [item["message_id"] for item in result["failed"]] == [bad]
    assert "not a retry message" in result["failed"][0]["reason"]
    remaining = message_ids(aws_client, url)
    assert bad in remaining and good not in remaining


def test_purge_needs_confirmation_then_empties_the_queue(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], aws_client: Aws
) -> None:
    url = queue_url(aws_client, stack, "RetryQueueDLQ")
    for _ in range(2):
        aws_client("sqs").send_message(QueueUrl=url, MessageBody=retry_message("e-purged"))

    assert triggers(stack, "dlq", "purge", "retry") == 2
    waiting = message_ids(aws_client, url)
    assert len(waiting) >= 2

    assert triggers(stack, "dlq", "purge", "retry", "--yes", "--json") == 0
    assert command_json(capsys)["purged"][0]["queue"] == "retry"
    # Every message that was there is gone (earlier tests' retries may dead-letter a new one since).
    assert message_ids(aws_client, url) & waiting == set()


@pytest.mark.parametrize("argv", [["nowhere"], [], ["retry", "--all"]])
def test_purge_of_an_unknown_or_unnamed_queue_is_refused(stack: EmbeddedStack, argv: list[str]) -> None:
    assert triggers(stack, "dlq", "purge", *argv, "--yes") == 2


@pytest.mark.parametrize("argv", [["abc"], ["ffffffff"], [], ["ffffffff", "--all"]])
def test_redrive_of_a_bad_or_missing_id_changes_nothing(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert triggers(stack, "dlq", "redrive", *argv, "--json") == 2
    assert json.loads(command_output(capsys)[1])["error"]


# -- index DLQ ---------------------------------------------------------------------------------


def put_event(aws_client: Aws, stack: EmbeddedStack, item: EventItem) -> None:
    aws_client("dynamodb").put_item(TableName=stack.template.physical_name("EventsTable"), Item=item.to_ddb())


def documents(stack: EmbeddedStack, event_id: str) -> list[dict[str, Any]]:
    search = opensearch_client(stack.opensearch_url)
    search.indices.refresh(index=get_settings().index_alias)
    body = {"query": {"ids": {"values": [event_id]}}}
    hits: list[dict[str, Any]] = search.search(index=get_settings().index_alias, body=body)["hits"]["hits"]
    return hits


@pytest.fixture
def rejected_event(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], aws_client: Aws
) -> tuple[EventItem, dict[str, Any]]:
    """An event the strict index mapping rejects (occurred_at is not a date), and its index DLQ letter."""
    now = datetime.now(UTC)
    item = EventItem(
        tenant_id=f"t-{uuid.uuid4().hex[:10]}",
        event_id=f"01{uuid.uuid4().hex[:24].upper()}",
        event_type="order.created",
        occurred_at="yesterday",
        received_at=now.isoformat(),
        payload='{"n": 1}',
        expires_at=int(now.timestamp()) + 86400,
    )
    put_event(aws_client, stack, item)
    letter = wait_until(
        lambda: letter_of(stack, capsys, "index", event_id=item.event_id), "the index DLQ letter", timeout=90
    )
    return item, letter


def test_index_redrive_of_a_still_rejected_event_keeps_the_letter(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], rejected_event: Any
) -> None:
    item, letter = rejected_event

    code, result = redrive(stack, capsys, letter["id"])

    assert code == 1
    assert "rejected" in result["failed"][0]["reason"]
    assert letter_of(stack, capsys, "index", event_id=item.event_id) is not None
    assert documents(stack, item.event_id) == []


def test_index_redrive_after_the_fix_leaves_one_current_document(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], aws_client: Aws, rejected_event: Any
) -> None:
    # Given the rejected event fixed in the table
    item, letter = rejected_event
    fixed = item.model_copy(update={"occurred_at": "2026-01-02T03:04:05Z", "rev": 2})
    put_event(aws_client, stack, fixed)

    # When its letter is redriven
    code, result = redrive(stack, capsys, letter["id"])

    # Then the index holds exactly one document, the current one, and the letter is gone
    assert code == 0, result
    assert f"rev {fixed.rev}" in result["redriven"][0]["outcome"]
    (document,) = wait_until(lambda: documents(stack, item.event_id), "the document")
    assert document["_source"]["occurred_at"] == fixed.occurred_at
    assert document["_source"]["rev"] == fixed.rev
    assert letter_of(stack, capsys, "index", event_id=item.event_id) is None


def test_index_redrive_of_an_event_gone_from_the_table_drops_the_letter(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], aws_client: Aws, rejected_event: Any
) -> None:
    item, letter = rejected_event
    aws_client("dynamodb").delete_item(
        TableName=stack.template.physical_name("EventsTable"),
        Key={"tenant_id": {"S": item.tenant_id}, "event_id": {"S": item.event_id}},
    )

    code, result = redrive(stack, capsys, "--all", "--queue", "index")

    assert code in (0, 1)  # other tests' letters may still be rejected
    mine = [entry for entry in result["redriven"] if entry["message_id"] == letter["message_id"]]
    assert "deleted" in mine[0]["outcome"]
    assert documents(stack, item.event_id) == []
    assert letter_of(stack, capsys, "index", event_id=item.event_id) is None


# -- stream OnFailure queue --------------------------------------------------------------------


def stream_records(aws_client: Aws, stack: EmbeddedStack) -> tuple[str, str, list[dict[str, Any]]]:
    """(stream ARN, shard id, every record of the events table's stream)."""
    streams = aws_client("dynamodbstreams")
    table = aws_client("dynamodb").describe_table(TableName=stack.template.physical_name("EventsTable"))
    stream_arn = table["Table"]["LatestStreamArn"]
    (shard,) = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records: list[dict[str, Any]] = []
    while iterator:
        response = streams.get_records(ShardIterator=iterator, Limit=1000)
        if not response["Records"]:
            break
        records += response["Records"]
        iterator = response.get("NextShardIterator")
    return stream_arn, shard["ShardId"], records


def fanout_checkpoint(stack: EmbeddedStack) -> int:
    name = f"{stack.template.physical_name('FanoutFunction')}--{stack.template.physical_name('EventsTable')}"
    try:
        saved = json.loads((stack.state_dir / "esm-checkpoints" / f"{name}.json").read_text())
    except FileNotFoundError:
        return 0
    return max((int(sequence) for sequence in saved["shards"].values()), default=0)


def on_failure_record(
    stack: EmbeddedStack, stream_arn: str, shard_id: str, start: int, end: int, size: int
) -> str:
    """What the ESM runner (and Lambda) sends to the OnFailure queue for a batch of fanout."""
    function = stack.template.physical_name("FanoutFunction")
    return json.dumps(
        {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:us-east-1:000000000000:function:{function}",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": 11,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": str(start),
                "endSequenceNumber": str(end),
                "approximateArrivalOfFirstRecord": datetime.now(UTC).isoformat(),
                "approximateArrivalOfLastRecord": datetime.now(UTC).isoformat(),
                "batchSize": size,
                "streamArn": stream_arn,
            },
        }
    )


@pytest.fixture
def failed_batch(
    api: ApiClient,
    stack: EmbeddedStack,
    aws_client: Aws,
    configure: Configure,  # noqa: F811 - the fixture imported above
) -> tuple[list[str], Callable[[], str]]:
    """Three events fanout has passed (nobody subscribed yet), and a factory of OnFailure records for them."""
    event_ids = post_events(api, [{"event_type": "order.created", "payload": {"n": n}} for n in range(3)])
    stream_arn, shard_id, records = stream_records(aws_client, stack)
    sequences = [
        int(record["dynamodb"]["SequenceNumber"])
        for record in records
        if record["eventName"] == "INSERT" and record["dynamodb"]["NewImage"]["event_id"]["S"] in event_ids
    ]
    assert len(sequences) == 3
    wait_until(lambda: fanout_checkpoint(stack) >= max(sequences), "fanout to pass the events", timeout=90)
    url = queue_url(aws_client, stack, "StreamDLQ")

    def send() -> str:
        body = on_failure_record(stack, stream_arn, shard_id, min(sequences), max(sequences), 3)
        return str(aws_client("sqs").send_message(QueueUrl=url, MessageBody=body)["MessageId"])

    return event_ids, send


def test_stream_redrive_reprocesses_the_range_once(
    api: ApiClient,
    stack: EmbeddedStack,
    capsys: pytest.CaptureFixture[str],
    failed_batch: Any,
    aws_client: Aws,
) -> None:
    # Given a failed fanout batch in the OnFailure queue, and a subscriber that was not there before
    event_ids, send = failed_batch
    message_id = send()
    with Receiver() as receiver:
        subscription = subscribe(api, receiver.url, ["order.created"])
        receiver.add_secret(subscription["secret"])
        # (every letter: the shared stream DLQ may hold more than the 20 `ls` shows by default)
        assert triggers(stack, "dlq", "ls", "stream", "--max", "1000", "--json") == 0
        assert message_id in [letter["message_id"] for letter in command_json(capsys)["messages"]]

        # When it is redriven
        code, result = redrive(stack, capsys, message_id[:8])

        # Then fanout re-read the three records and delivered each event once; the letter is gone
        assert code == 0, result
        assert "3 record(s)" in result["redriven"][0]["outcome"]
        assert sorted(str(d.webhook_id) for d in receiver.deliveries) == sorted(event_ids)
        assert message_id not in message_ids(aws_client, queue_url(aws_client, stack, "StreamDLQ"))

        # And redriving the same range again duplicates nothing
        second = send()
        code, result = redrive(stack, capsys, second)
        assert code == 0, result
        assert sorted(str(d.webhook_id) for d in receiver.deliveries) == sorted(event_ids)
    for event_id in event_ids:
        assert list(deliveries_of(api, event_id)) == [subscription["id"]]


def test_stream_redrive_of_a_range_no_longer_retained_keeps_the_letter(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], aws_client: Aws
) -> None:
    # Given an OnFailure record of a stream that no longer exists (its table was deleted)
    gone = "arn:aws:dynamodb:us-east-1:000000000000:table/triggers-local-gone/stream/2020-01-01T00:00:00.000"
    body = on_failure_record(stack, gone, "shardId-00000001000000000000-00000000", 10**21, 10**21 + 2, 3)
    url = queue_url(aws_client, stack, "StreamDLQ")
    message_id = aws_client("sqs").send_message(QueueUrl=url, MessageBody=body)["MessageId"]

    # When it is redriven
    code, result = redrive(stack, capsys, message_id)

    # Then the reason says so and the letter stays
    assert code == 1
    assert "no longer retained" in result["failed"][0]["reason"]
    assert message_id in message_ids(aws_client, url)


@pytest.mark.parametrize(
    ("queue", "body"),
    [
        ("StreamDLQ", "not json"),
        ("StreamDLQ", json.dumps({"requestContext": {"functionArn": "arn:aws:lambda:::function:x"}})),
        ("StreamDLQ", json.dumps({"DDBStreamBatchInfo": {"shardId": "s"}, "requestContext": {}})),
        ("IndexDLQ", json.dumps({"reason": "r", "status": 400, "event_id": None, "record": {}})),
        ("DeliveryDLQ", json.dumps({"event_id": "e-1"})),
    ],
)
def test_a_malformed_letter_is_kept_with_the_reason(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], aws_client: Aws, queue: str, body: str
) -> None:
    url = queue_url(aws_client, stack, queue)
    message_id = aws_client("sqs").send_message(QueueUrl=url, MessageBody=body)["MessageId"]

    code, result = redrive(stack, capsys, message_id)

    assert code == 1
    assert result["redriven"] == []
    assert result["failed"][0]["reason"]
    assert message_id in message_ids(aws_client, url)


def test_a_queue_name_instead_of_an_id_redrives_that_whole_queue(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], aws_client: Aws
) -> None:
    # Given two retry messages in the retry queue's DLQ
    url = queue_url(aws_client, stack, "RetryQueueDLQ")
    sent = {
        aws_client("sqs").send_message(QueueUrl=url, MessageBody=retry_message(f"e-{n}"))["MessageId"]
        for n in range(2)
    }
    assert triggers(stack, "dlq", "show", "retry", "--json") == 0
    assert sent <= {letter["message_id"] for letter in command_json(capsys)["messages"]}

    # When the queue is named as in `triggers dlq redrive delivery-retry-dlq`
    code, result = redrive(stack, capsys, "delivery-retry-dlq")

    # Then every message of it was redriven
    assert code == 0, result
    assert sent <= {item["message_id"] for item in result["redriven"]}
    assert message_ids(aws_client, url) & sent == set()
