"""Messages on the retry queue and the delivery DLQ."""

from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import AwareDatetime, BaseModel, Field

from ingest.core.deliveries_table import Attempt
from ingest.core.errors import QueueUnavailable
from ingest.core.rawjson import splice

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_SQS_DELAY_SECONDS = 900


class RetryMessage(BaseModel):
    """Attempt number `attempt` of one delivery, due at `due_at` (ISO 8601, UTC).

    Attempt 1 comes from a replay of an event never delivered to the subscription.
    """

    tenant_id: str = Field(min_length=1)
    event_id: str = Field(min_length=1)
    subscription_id: str = Field(min_length=1)
    attempt: int = Field(ge=1)
    due_at: AwareDatetime
    # The subscription's rate limit reserved a slot at `due_at` for this attempt: send it then
    # without taking another (processors/webhooks/pacing.py).
    rate_slot: bool = False


class DeadLetter(BaseModel):
    """Everything needed to inspect or redrive a delivery whose retries are spent."""

    reason: str
    tenant_id: str
    event_id: str
    subscription_id: str
    target_url: str
    attempts: list[Attempt]
    dead_lettered_at: str

    def to_json(self, envelope: str) -> str:
        """The message body, with the signed envelope spliced in as sent (payload unchanged)."""
        return splice(self.model_dump_json(), "envelope", envelope)


def _send(client: "SQSClient", queue_url: str, body: str, delay_seconds: int, what: str) -> None:
    try:
        client.send_message(QueueUrl=queue_url, MessageBody=body, DelaySeconds=delay_seconds)
    except (ClientError, BotoCoreError) as exc:
        raise QueueUnavailable(f"{what} send failed: {type(exc).__name__}") from exc


def schedule_retry(client: "SQSClient", queue_url: str, message: RetryMessage, now: datetime) -> None:
    """Enqueue `message`; beyond SQS's 15-minute delay limit the retry function re-enqueues it."""
    remaining = (message.due_at - now).total_seconds()
    delay = min(max(0, round(remaining)), MAX_SQS_DELAY_SECONDS)
    _send(client, queue_url, message.model_dump_json(exclude_defaults=True), delay, "retry queue")


def dead_letter(client: "SQSClient", queue_url: str, letter: DeadLetter, envelope: str) -> None:
    _send(client, queue_url, letter.to_json(envelope), 0, "delivery DLQ")
