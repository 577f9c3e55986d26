"""Inspect and redrive the dead-letter queues.

SQS's own StartMessageMoveTask is not available on moto, so a redrive here is the same thing done
by hand: receive, send to the target, and delete from the DLQ only after the send succeeded
(at-least-once: a crash in between leaves a duplicate, never a loss).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from devtools.template import Template

DLQ_SUFFIX = "-dlq"
# Where each DLQ's messages go back to, by logical id. The stream and index DLQs hold pointers
# and reasons, not work to resend: docs/operations.md says how to act on them.
REDRIVE_TARGETS = {"RetryQueueDLQ": "RetryQueue", "DeliveryDLQ": "RetryQueue"}
Transform = Callable[[str], str]


@dataclass(frozen=True)
class QueueDepth:
    name: str
    url: str
    visible: int
    in_flight: int


def dead_letter_queues(template: Template) -> dict[str, str]:
    """Logical id -> queue name of every DLQ in the template."""
    return {
        logical_id: str(properties["QueueName"])
        for logical_id, properties in template.of_type("AWS::SQS::Queue").items()
        if str(properties["QueueName"]).endswith(DLQ_SUFFIX)
    }


def depths(sqs: Any, template: Template) -> list[QueueDepth]:
    result = []
    for name in dead_letter_queues(template).values():
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        result.append(
            QueueDepth(
                name,
                url,
                int(attributes["ApproximateNumberOfMessages"]),
                int(attributes["ApproximateNumberOfMessagesNotVisible"]),
            )
        )
    return result


def peek(sqs: Any, queue_url: str, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` messages, left in the queue (visibility is reset at once)."""
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(max(1, limit // 10) + 2):
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, limit),
            VisibilityTimeout=30,
            AttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        messages = response.get("Messages", [])
        for message in messages:
            seen.setdefault(message["MessageId"], message)
        if not messages or len(seen) >= limit:
            break
    for message in seen.values():
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return list(seen.values())[:limit]


def _batches(sqs: Any, queue_url: str, limit: int | None) -> Iterator[list[dict[str, Any]]]:
    moved = 0
    while limit is None or moved < limit:
        wanted = 10 if limit is None else min(10, limit - moved)
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=wanted, VisibilityTimeout=60, WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            return
        moved += len(messages)
        yield messages


def redrive(
    sqs: Any, source_url: str, target_url: str, transform: Transform | None = None, limit: int | None = None
) -> int:
    """Move messages from `source_url` to `target_url`; returns how many were moved."""
    moved = 0
    for messages in _batches(sqs, source_url, limit):
        for message in messages:
            body = message["Body"] if transform is None else transform(message["Body"])
            sqs.send_message(QueueUrl=target_url, MessageBody=body)
            sqs.delete_message(QueueUrl=source_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved


def delivery_redrive(dynamodb: Any, deliveries_table: str) -> Transform:
    """Turn a delivery DLQ letter into a retry message after reopening its delivery."""
    from datetime import UTC, datetime

    from ingest.deliveries_table import reopen_failed_delivery
    from processors.webhooks.queues import DeadLetter, redrive_message

    def transform(body: str) -> str:
        letter = DeadLetter.model_validate_json(body)
        now = datetime.now(UTC)
        delivery = reopen_failed_delivery(
            dynamodb, deliveries_table, letter.event_id, letter.subscription_id, now
        )
        return redrive_message(letter, delivery.attempt_count, now).model_dump_json()

    return transform
