"""Fixtures for the fanout and retry tests: moto tables and queues, real local receivers,
and Lambda-shaped DynamoDB stream / SQS events built from real items."""

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from pytest_httpserver import HTTPServer

from devtools.stack import free_port
from ingest.core.credentials import CredentialKey
from ingest.core.deliveries_table import DeliveryItem, get_delivery
from ingest.core.events_table import EventItem, get_event, put_events
from ingest.core.ids import isoformat, new_event_id
from ingest.core.runtime import runtime
from ingest.core.subscriptions_table import (
    SubscriptionItem,
    create_subscription,
    get_subscription,
    rotate_secret,
)

STAGE_TABLE = "triggers-test-{}"
STREAM_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/triggers-test-events/stream/x"


def clear_webhook_caches() -> None:
    import processors.fanout.handler  # noqa: F401  # registers the subscription cache with the runtime

    runtime.reset()


def set_read_timeout(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Make the functions give up on an answer after `seconds` (the `webhooks` fixture allows 10)."""
    monkeypatch.setenv("WEBHOOK_READ_TIMEOUT_SECONDS", str(seconds))
    clear_webhook_caches()


@dataclass
class Webhooks:
    """The moto-backed world the handlers run in, plus helpers to drive and inspect it."""

    dynamodb: Any
    sqs: Any
    retry_queue_url: str
    dlq_url: str
    key: CredentialKey
    sequence: list[int] = field(default_factory=lambda: [0])
    secrets: dict[str, str] = field(default_factory=dict)

    def put_event(
        self, tenant_id: str, event_type: str = "order.created", payload: str = '{"n": 1}'
    ) -> EventItem:
        now = datetime.now(UTC)
        item = EventItem(
            tenant_id=tenant_id,
            event_id=new_event_id(now),
            event_type=event_type,
            received_at=isoformat(now),
            payload=payload,
            expires_at=int(now.timestamp()) + 86400,
        )
        put_events(self.dynamodb, STAGE_TABLE.format("events"), [item])
        return item

    def subscribe(
        self, tenant_id: str, url: str, event_types: list[str] | None = None, **options: Any
    ) -> SubscriptionItem:
        """`options`: `rate_limit`, `ordering`."""
        subscription, secret = create_subscription(
            self.dynamodb,
            STAGE_TABLE.format("subscriptions"),
            tenant_id,
            url,
            event_types or ["*"],
            self.key,
            **options,
        )
        self.secrets[subscription.subscription_id] = secret
        return subscription

    def secret_of(self, subscription: SubscriptionItem) -> str:
        """The plaintext secret the API returned when `subscription` was created or last rotated."""
        return self.secrets[subscription.subscription_id]

    def rotate(self, subscription: SubscriptionItem, now: datetime | None = None) -> SubscriptionItem:
        rotated, secret = rotate_secret(
            self.dynamodb,
            STAGE_TABLE.format("subscriptions"),
            subscription.tenant_id,
            subscription.subscription_id,
            now or datetime.now(UTC),
            self.key,
        )
        self.secrets[rotated.subscription_id] = secret
        return rotated

    def disable_by_hand(self, subscription: SubscriptionItem, reason: str) -> dict[str, Any]:
        """Disable `subscription` through the API route (POST /v1/subscriptions/{id}/disable), as
        its tenant's admin key; returns the route's JSON answer."""
        from devtools.runner.apiserver import http_api_event
        from devtools.runner.lambda_context import LocalLambdaContext
        from ingest.core.api_keys_table import create_api_key
        from ingest.handler import lambda_handler

        api_key = create_api_key(self.dynamodb, STAGE_TABLE.format("api-keys"), subscription.tenant_id)
        headers = {"authorization": f"Bearer {api_key}", "content-type": "application/json"}
        path = f"/v1/subscriptions/{subscription.subscription_id}/disable"
        request = http_api_event("POST", path, headers, json.dumps({"reason": reason}).encode(), "127.0.0.1")
        response = lambda_handler(request, LocalLambdaContext("triggers-test-ingest"))
        assert response["statusCode"] == 200, response.get("body")
        return dict(json.loads(response["body"]))

    def subscription(self, item: SubscriptionItem) -> SubscriptionItem:
        return get_subscription(
            self.dynamodb, STAGE_TABLE.format("subscriptions"), item.tenant_id, item.subscription_id
        )

    def delivery(self, event: EventItem, subscription: SubscriptionItem) -> DeliveryItem:
        return get_delivery(
            self.dynamodb, STAGE_TABLE.format("deliveries"), event.event_id, subscription.subscription_id
        )

    def event(self, event: EventItem) -> EventItem:
        return get_event(self.dynamodb, STAGE_TABLE.format("events"), event.tenant_id, event.event_id)

    def stream_event(self, *events: EventItem) -> dict[str, Any]:
        """A Lambda DynamoDB stream event with one INSERT record per event, in order."""
        records = []
        for event in events:
            self.sequence[0] += 1
            records.append(
                {
                    "eventID": f"evt-{self.sequence[0]}",
                    "eventName": "INSERT",
                    "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb",
                    "awsRegion": "us-east-1",
                    "eventSourceARN": STREAM_ARN,
                    "dynamodb": {
                        "Keys": {"tenant_id": {"S": event.tenant_id}, "event_id": {"S": event.event_id}},
                        "NewImage": event.to_ddb(),
                        "SequenceNumber": f"{self.sequence[0]:021d}",
                        "SizeBytes": 100,
                        "StreamViewType": "NEW_IMAGE",
                    },
                }
            )
        return {"Records": records}

    def receive(self, queue_url: str, count: int = 1, timeout: float = 15) -> list[dict[str, Any]]:
        """Poll `queue_url` until `count` messages arrived (deleting them) or the deadline passes."""
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(messages) < count and time.monotonic() < deadline:
            response = self.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
            )
            for message in response.get("Messages", []):
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                messages.append(message)
        return messages

    def queued(self, queue_url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesDelayed"]
        )


def sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """A Lambda SQS event carrying `messages` (as received from the queue)."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:triggers-test-delivery-retry",
                "awsRegion": "us-east-1",
            }
            for message in messages
        ]
    }


def body(message: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(message["Body"]))


@pytest.fixture
def webhooks(aws: None, secrets_key: CredentialKey, monkeypatch: pytest.MonkeyPatch) -> Iterator[Webhooks]:
    sqs = boto3.client("sqs")
    retry_url = sqs.create_queue(QueueName="triggers-test-delivery-retry")["QueueUrl"]
    dlq_url = sqs.create_queue(QueueName="triggers-test-delivery-dlq")["QueueUrl"]
    for name, value in {
        "RETRY_QUEUE_URL": retry_url,
        "DELIVERY_DLQ_URL": dlq_url,
        "ALLOW_LOOPBACK_WEBHOOKS": "true",
        "RETRY_SCHEDULE": "1s,1s",
        "RETRY_JITTER_RATIO": "0",
        # Far beyond what a loaded machine takes to answer on 127.0.0.1; a test of a timeout sets
        # its own short one (set_read_timeout).
        "WEBHOOK_CONNECT_TIMEOUT_SECONDS": "5",
        "WEBHOOK_READ_TIMEOUT_SECONDS": "10",
    }.items():
        monkeypatch.setenv(name, value)
    clear_webhook_caches()
    yield Webhooks(boto3.client("dynamodb"), sqs, retry_url, dlq_url, secrets_key)
    clear_webhook_caches()


@pytest.fixture
def receiver() -> Iterator[Callable[[], HTTPServer]]:
    """Start as many real HTTP receivers on 127.0.0.1 as a test needs."""
    servers: list[HTTPServer] = []

    def start() -> HTTPServer:
        server = HTTPServer(host="127.0.0.1", port=free_port(), threaded=True)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.clear()
        server.stop()
