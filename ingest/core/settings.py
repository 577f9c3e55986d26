"""Settings read once from the environment, validated and typed."""

import os

from pydantic import BaseModel, Field

from ingest.core.runtime import runtime

LOCAL_STAGES = frozenset({"local", "test"})


class Settings(BaseModel):
    stage: str = "local"
    events_table: str = "triggers-local-events"
    api_keys_table: str = "triggers-local-api-keys"
    idempotency_table: str = "triggers-local-idempotency"
    event_retention_days: int = Field(default=30, ge=1, le=3650)
    max_payload_bytes: int = Field(default=64 * 1024, ge=1, le=350 * 1024)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1, le=6 * 1024 * 1024)
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    subscriptions_table: str = "triggers-local-subscriptions"
    deliveries_table: str = "triggers-local-deliveries"
    retry_queue_url: str = ""
    delivery_dlq_url: str = ""
    index_dlq_url: str = ""
    opensearch_endpoint: str = "http://127.0.0.1:9200"
    index_alias: str = "events"
    allow_loopback_webhooks: bool = False
    # Comma-separated host names webhooks may reach on private addresses (local stages only).
    webhook_private_hosts: str = ""
    # Webhook delivery (fanout and retry functions); see docs/webhooks.md "Delivery".
    retry_schedule: str = Field(default="5s,5m,30m,2h,5h,10h,10h", pattern=r"^\d+[smhd](,\d+[smhd])*$")
    retry_jitter_ratio: float = Field(default=0.2, ge=0, lt=1)
    retry_after_cap_seconds: int = Field(default=3600, ge=0)
    disable_after_failing_seconds: int = Field(default=5 * 24 * 3600, ge=1)
    webhook_connect_timeout_seconds: float = Field(default=3.0, gt=0, le=30)
    webhook_read_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_response_cap_bytes: int = Field(default=4096, ge=0, le=64 * 1024)
    webhook_max_connections_per_host: int = Field(default=4, ge=1, le=64)
    fanout_max_workers: int = Field(default=16, ge=1, le=128)

    @property
    def private_webhook_hosts(self) -> frozenset[str]:
        return frozenset(
            host.strip().lower() for host in self.webhook_private_hosts.split(",") if host.strip()
        )

    @property
    def is_local(self) -> bool:
        return self.stage in LOCAL_STAGES

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        fields = {name: env[name.upper()] for name in cls.model_fields if name.upper() in env}
        return cls.model_validate(fields)


@runtime.cached
def get_settings() -> Settings:
    return Settings.from_env()
