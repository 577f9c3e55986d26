"""The dead-letter queues and their messages ("letters"): list, find, hold, redrive, purge.

Four queues, by kind: `delivery` (webhook deliveries whose retries are spent), `retry` (retry
messages the retry function could not process), `index` (documents OpenSearch rejected) and
`stream` (the stream mappings' OnFailure records). A letter is addressed by the start of its SQS
message id, unique across the queues.

SQS has no "get message by id": finding a letter receives the queue's messages and holds them
invisible; what is not needed is released at once (visibility 0). A letter is deleted only after
its redrive succeeded; a failed redrive releases it with the reason (at-least-once: a crash
between the two leaves a duplicate, never a loss).
"""

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from devtools.template import Template

SHORT_ID_CHARS = 8
MIN_ID_CHARS = 4
SCAN_HOLD_SECONDS = 60
REDRIVE_HOLD_SECONDS = 300


class Kind(StrEnum):
    DELIVERY = "delivery"
    RETRY = "retry"
    INDEX = "index"
    STREAM = "stream"


KINDS = {
    "DeliveryDLQ": Kind.DELIVERY,
    "RetryQueueDLQ": Kind.RETRY,
    "IndexDLQ": Kind.INDEX,
    "StreamDLQ": Kind.STREAM,
}


class DlqError(Exception):
    """A request the DLQ commands cannot carry out (unknown queue or id, ambiguous id)."""


class RedriveFailed(Exception):
    """The letter could not be redriven; it stays in its queue. The message says why."""


@dataclass(frozen=True)
class DeadLetterQueue:
    kind: Kind
    logical_id: str
    name: str
    stage: str = "local"


@dataclass(frozen=True)
class QueueDepth:
    name: str
    url: str
    visible: int
    in_flight: int


def dead_letter_queues(template: Template) -> dict[str, str]:
    """Logical id -> queue name of every DLQ in the template."""
    return {logical_id: queue.name for logical_id, queue in _queues(template).items()}


def _queues(template: Template) -> dict[str, DeadLetterQueue]:
    declared = template.of_type("AWS::SQS::Queue")
    return {
        logical_id: DeadLetterQueue(kind, logical_id, str(declared[logical_id]["QueueName"]), template.stage)
        for logical_id, kind in KINDS.items()
        if logical_id in declared
    }


def all_queues(template: Template) -> list[DeadLetterQueue]:
    return list(_queues(template).values())


def resolve_queue(template: Template, name: str) -> DeadLetterQueue:
    """A DLQ by kind (`delivery`), queue name, name suffix (`delivery-dlq`) or logical id."""
    queues = all_queues(template)
    for queue in queues:
        if name in (queue.kind, queue.name, queue.logical_id) or queue.name.endswith(f"-{name}"):
            return queue
    known = ", ".join(str(queue.kind) for queue in queues)
    raise DlqError(f"unknown dead-letter queue {name!r}; known: {known}")


@dataclass
class Letter:
    """One message of a DLQ, received and held by this process."""

    queue: DeadLetterQueue
    message_id: str
    receipt_handle: str
    body: str
    sent_at: datetime | None
    receive_count: int

    @property
    def prefix(self) -> str:
        """What every resource name of the stage starts with; dropped from function names shown."""
        return f"triggers-{self.queue.stage}-"

    @property
    def short_id(self) -> str:
        return self.message_id[:SHORT_ID_CHARS]

    @property
    def data(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def summary(self) -> dict[str, Any]:
        """The few fields that say what failed and why, by kind of queue."""
        data = self.data
        if not isinstance(data, dict):
            return {"problem": "body is not JSON"}
        if self.queue.kind == Kind.STREAM:
            info = data.get("DDBStreamBatchInfo") or {}
            context = data.get("requestContext") or {}
            return {
                "function": str(context.get("functionArn", "")).rsplit(":", 1)[-1].removeprefix(self.prefix),
                "condition": context.get("condition"),
                "records": f"{info.get('startSequenceNumber')}..{info.get('endSequenceNumber')}",
                "batch_size": info.get("batchSize"),
                "shard_id": info.get("shardId"),
            }
        keys = {
            Kind.DELIVERY: ("event_id", "subscription_id", "tenant_id", "reason"),
            Kind.RETRY: ("event_id", "subscription_id", "tenant_id", "attempt"),
            Kind.INDEX: ("event_id", "status", "reason"),
        }[self.queue.kind]
        summary = {key: data.get(key) for key in keys}
        if self.queue.kind == Kind.DELIVERY:
            summary["attempts"] = len(data.get("attempts") or [])
        return summary

    def describe(self, with_body: bool = False) -> dict[str, Any]:
        described: dict[str, Any] = {
            "id": self.short_id,
            "message_id": self.message_id,
            "queue": str(self.queue.kind),
            "queue_name": self.queue.name,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "receive_count": self.receive_count,
            **self.summary(),
        }
        if with_body:
            described["body"] = self.data if self.data is not None else self.body
        return described


class Mailbox:
    """SQS operations on the DLQs, with queue URLs looked up once."""

    def __init__(self, sqs: Any, wait_seconds: int = 0) -> None:
        self.sqs = sqs
        self.wait_seconds = wait_seconds
        self._urls: dict[str, str] = {}

    def url(self, queue: DeadLetterQueue) -> str:
        if queue.name not in self._urls:
            self._urls[queue.name] = self.sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
        return self._urls[queue.name]

    def depth(self, queue: DeadLetterQueue) -> QueueDepth:
        url = self.url(queue)
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return QueueDepth(
            queue.name,
            url,
            int(attributes["ApproximateNumberOfMessages"]),
            int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        )

    def receive(self, queue: DeadLetterQueue, hold_seconds: int, limit: int = 10) -> list[Letter]:
        messages = _receive(self.sqs, self.url(queue), hold_seconds, limit, self.wait_seconds)
        return [_letter(queue, message) for message in messages]

    def scan(self, queue: DeadLetterQueue, hold_seconds: int, limit: int | None = None) -> list[Letter]:
        """Receive (and hold) the queue's messages, up to `limit`; each message once."""
        messages = _scan(self.sqs, self.url(queue), hold_seconds, limit, self.wait_seconds)
        return [_letter(queue, message) for message in messages]

    def peek(self, queue: DeadLetterQueue, limit: int | None = None) -> list[Letter]:
        """Up to `limit` letters, left in the queue."""
        letters = self.scan(queue, SCAN_HOLD_SECONDS, limit)
        self.release(letters)
        return letters

    def hold(self, letter: Letter, seconds: int) -> None:
        self.sqs.change_message_visibility(
            QueueUrl=self.url(letter.queue), ReceiptHandle=letter.receipt_handle, VisibilityTimeout=seconds
        )

    def release(self, letters: Iterable[Letter]) -> None:
        for letter in letters:
            self.hold(letter, 0)

    def delete(self, letter: Letter) -> None:
        self.sqs.delete_message(QueueUrl=self.url(letter.queue), ReceiptHandle=letter.receipt_handle)

    def purge(self, queue: DeadLetterQueue) -> int:
        """Delete every message of the queue; returns how many there were (approximately)."""
        depth = self.depth(queue)
        self.sqs.purge_queue(QueueUrl=depth.url)
        return depth.visible + depth.in_flight


def _receive(sqs: Any, url: str, hold_seconds: int, limit: int, wait_seconds: int) -> list[dict[str, Any]]:
    response = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=max(1, min(10, limit)),
        VisibilityTimeout=hold_seconds,
        WaitTimeSeconds=wait_seconds,
        AttributeNames=["All"],
    )
    messages: list[dict[str, Any]] = response.get("Messages", [])
    return messages


def _scan(
    sqs: Any, url: str, hold_seconds: int, limit: int | None, wait_seconds: int
) -> list[dict[str, Any]]:
    """Receive (and hold) up to `limit` messages of the queue, each once."""
    messages: dict[str, dict[str, Any]] = {}
    while limit is None or len(messages) < limit:
        wanted = 10 if limit is None else limit - len(messages)
        received = _receive(sqs, url, hold_seconds, wanted, wait_seconds)
        fresh = [message for message in received if message["MessageId"] not in messages]
        # A message received again comes with a new receipt handle; only the newest one works.
        messages.update((message["MessageId"], message) for message in received)
        if not fresh:
            break
    return list(messages.values())


def peek(sqs: Any, queue_url: str, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` raw SQS messages of a queue, left in it (their visibility is reset at once)."""
    messages = _scan(sqs, queue_url, SCAN_HOLD_SECONDS, limit, 0)
    for message in messages:
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return messages


def _letter(queue: DeadLetterQueue, message: dict[str, Any]) -> Letter:
    attributes = message.get("Attributes", {})
    sent = attributes.get("SentTimestamp")
    return Letter(
        queue=queue,
        message_id=message["MessageId"],
        receipt_handle=message["ReceiptHandle"],
        body=message.get("Body", ""),
        sent_at=datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None,
        receive_count=int(attributes.get("ApproximateReceiveCount", 0)),
    )


def find(mailbox: Mailbox, queues: Iterable[DeadLetterQueue], ids: list[str]) -> list[Letter]:
    """The held letters whose message ids start with `ids` (one each); everything else is released."""
    for letter_id in ids:
        if len(letter_id) < MIN_ID_CHARS:
            raise DlqError(f"id {letter_id!r} is too short: give at least {MIN_ID_CHARS} characters")
    scanned = [letter for queue in queues for letter in mailbox.scan(queue, REDRIVE_HOLD_SECONDS)]
    chosen: dict[str, Letter] = {}
    try:
        for letter_id in ids:
            matches = [letter for letter in scanned if letter.message_id.startswith(letter_id)]
            if not matches:
                raise DlqError(
                    f"no message {letter_id!r} in {', '.join(sorted({str(q.kind) for q in queues}))}"
                )
            if len(matches) > 1:
                found = ", ".join(f"{letter.queue.kind}/{letter.message_id}" for letter in matches)
                raise DlqError(f"id {letter_id!r} is ambiguous: {found}")
            chosen[matches[0].message_id] = matches[0]
    finally:
        mailbox.release(letter for letter in scanned if letter.message_id not in chosen)
    return list(chosen.values())


@dataclass(frozen=True)
class RedriveResult:
    letter: Letter
    ok: bool
    detail: str

    def describe(self) -> dict[str, Any]:
        key = "outcome" if self.ok else "reason"
        return {**self.letter.describe(), "redriven": self.ok, key: self.detail}


Redrive = Callable[[Letter], str]


def redrive(
    mailbox: Mailbox,
    letters: Iterable[Letter],
    action: Redrive,
    errors: tuple[type[Exception], ...] = (),
    hold_failed: bool = False,
) -> Iterator[RedriveResult]:
    """Redrive each held letter: delete it when `action` succeeds, release it when it fails
    (or keep it held with `hold_failed`, so a scan of the queue does not receive it again).

    `action` reports a failure by raising RedriveFailed (or one of `errors`, e.g. SDK errors).
    Letters not reached (the caller stopped, or something unexpected was raised) are released.
    """
    pending = list(letters)
    caught: tuple[type[Exception], ...] = (RedriveFailed, *errors)
    try:
        while pending:
            letter = pending[0]
            mailbox.hold(letter, REDRIVE_HOLD_SECONDS)
            try:
                outcome = action(letter)
            except caught as exc:
                pending.pop(0)
                if not hold_failed:
                    mailbox.release([letter])
                yield RedriveResult(letter, False, str(exc) or type(exc).__name__)
                continue
            pending.pop(0)
            mailbox.delete(letter)
            yield RedriveResult(letter, True, outcome)
    finally:
        mailbox.release(pending)


def redrive_queue(
    mailbox: Mailbox,
    queue: DeadLetterQueue,
    action: Redrive,
    limit: int | None = None,
    errors: tuple[type[Exception], ...] = (),
) -> Iterator[RedriveResult]:
    """Redrive a whole queue, ten letters at a time.

    Only letters that were there when the run started are redriven: one dead-lettered again
    meanwhile (its endpoint still failing) waits for the next run instead of looping. Failed
    and newer letters are held until the end, so they are not received again, then released.
    """
    started = datetime.now(UTC)
    held: dict[str, Letter] = {}
    done = 0
    try:
        while limit is None or done < limit:
            wanted = 10 if limit is None else min(10, limit - done)
            received = mailbox.receive(queue, REDRIVE_HOLD_SECONDS, wanted)
            if not received:
                break
            fresh = []
            for letter in received:
                if letter.message_id in held or (letter.sent_at is not None and letter.sent_at >= started):
                    held[letter.message_id] = letter
                else:
                    fresh.append(letter)
            for result in redrive(mailbox, fresh, action, errors, hold_failed=True):
                done += 1
                if not result.ok:
                    held[result.letter.message_id] = result.letter
                yield result
    finally:
        mailbox.release(held.values())
