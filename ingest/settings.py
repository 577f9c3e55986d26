"""Settings read once from the environment, validated and typed."""

import os
from functools import lru_cache

from pydantic import BaseModel, Field

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

    @property
    def is_local(self) -> bool:
        return self.stage in LOCAL_STAGES

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        fields = {name: env[name.upper()] for name in cls.model_fields if name.upper() in env}
        return cls.model_validate(fields)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
