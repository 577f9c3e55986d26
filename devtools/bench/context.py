"""What the scenarios share: the running stack, its clients, tenants and event bodies."""

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from devtools.bench.core import Settings
from devtools.runner.apiserver import ExecutionEnvironments, LocalApiServer
from devtools.runner.esm import wait_for_idle_streams
from devtools.runner.mappings import function_spec
from devtools.stack import EmbeddedStack, free_port
from ingest.core.api_keys_table import create_api_key
from ingest.core.credentials import CredentialKey
from ingest.core.events_table import EventItem
from ingest.core.settings import Settings as AppSettings
from ingest.core.settings import get_settings
from ingest.ingestion import build_items, parse_events

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PAD = "x" * 200


def event_body(index: int, event_type: str = "bench.created") -> dict[str, Any]:
    return {"event_type": event_type, "source": "bench", "payload": {"index": index, "pad": PAD}}


def stream_event(items: list[EventItem], stream_arn: str) -> dict[str, Any]:
    """A DynamoDB stream batch of INSERT records, shaped as the ESM runner delivers it."""
    return {
        "Records": [
            {
                "eventID": uuid.uuid4().hex,
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": float(int(time.time())),
                    "Keys": {"tenant_id": {"S": item.tenant_id}, "event_id": {"S": item.event_id}},
                    "NewImage": item.to_ddb(),
                    "SequenceNumber": str(10**20 + position),
                    "SizeBytes": 512,
                    "StreamViewType": "NEW_IMAGE",
                },
                "eventSourceARN": stream_arn,
            }
            for position, item in enumerate(items)
        ]
    }


@dataclass
class BenchContext:
    stack: EmbeddedStack
    settings: Settings
    say: Any
    # Where the handlers' log lines go (the in-process ones and the execution environments').
    log_path: Path | None = None
    _environments: ExecutionEnvironments | None = None
    _pooled_api: LocalApiServer | None = None

    @cached_property
    def app_settings(self) -> AppSettings:
        return get_settings()

    @cached_property
    def dynamodb(self) -> "DynamoDBClient":
        """A client for the baselines, with a connection per concurrent client."""
        connections = max(self.settings.concurrency) * 4 + 8
        return boto3.client(
            "dynamodb",
            endpoint_url=self.stack.aws_url,
            config=Config(max_pool_connections=connections, retries={"mode": "standard", "max_attempts": 3}),
        )

    @cached_property
    def secrets_key(self) -> CredentialKey:
        """The key the API encrypts signing secrets with, for subscriptions made directly."""
        kms = boto3.client("kms", endpoint_url=self.stack.aws_url)
        return CredentialKey(kms, self.app_settings.secrets_key_id)

    def new_tenant(self, prefix: str = "bench") -> tuple[str, str]:
        """(tenant id, API key) of a fresh tenant."""
        tenant_id = f"{prefix}-{uuid.uuid4().hex[:10]}"
        return tenant_id, create_api_key(self.dynamodb, self.app_settings.api_keys_table, tenant_id)

    def items(self, tenant_id: str, bodies: list[dict[str, Any]]) -> list[EventItem]:
        """The items the API would store for `bodies` (same shape and size for the baselines)."""
        events, _ = parse_events(json.dumps(bodies), self.app_settings)
        return build_items(tenant_id, events, self.app_settings, datetime.now(UTC))

    @property
    def pooled_api_url(self) -> str:
        """The ingest function behind `settings.environments` execution environments."""
        if self._pooled_api is None:
            spec = function_spec(self.stack.template, "IngestFunction")
            count = self.settings.environments
            self.say(f"starting {count} API execution environments (processes)")
            self._environments = ExecutionEnvironments(spec, self.stack.aws_url, count).start()
            self._pooled_api = LocalApiServer(
                ("127.0.0.1", free_port()),
                self._environments.invoke,
                spec.function_name,
                spec.timeout_seconds,
                concurrency=count,
            )
            self._pooled_api.start()
        return self._pooled_api.url

    def wait_for_idle_pipeline(self, quiet_seconds: float = 2.0, timeout: float = 120.0) -> bool:
        """Wait until the stream pollers have caught up with the table (devtools.runner.esm)."""
        return wait_for_idle_streams(self.stack.state_dir, quiet_seconds, timeout)

    @property
    def environment_pids(self) -> list[int]:
        return self._environments.pids if self._environments else []

    def close(self) -> None:
        if self._pooled_api is not None:
            self._pooled_api.shutdown()
            self._pooled_api.server_close()
        if self._environments is not None:
            self._environments.stop()
