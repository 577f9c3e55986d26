"""Settings per function, read once from the environment, validated and typed.

Each function has its own model with only what it uses: `IngestSettings`, `DeliverySettings`
(fanout and retry), `IndexerSettings`. Resource names and queue URLs have no defaults: on a
local stage (`local`, `test`) the local stack's names fill in what the environment leaves out;
on any other stage a missing variable fails the function at cold start with
MissingConfiguration naming it, instead of silently pointing at a local resource.
`Settings` is all of them together, for the local stack and devtools that host every function.
"""

import os
from collections.abc import Mapping
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ingest.core.runtime import runtime

LOCAL_STAGES = frozenset({"local", "test"})
RETRY_SCHEDULE_PATTERN = r"^\d+[smhd](,\d+[smhd])*$"


class ConfigurationError(RuntimeError):
    """A function's environment is one it must not run with: it fails its cold start."""


class MissingConfiguration(ConfigurationError):
    """A function outside a local stage lacks environment variables it needs."""


class LocalOnlySetting(ConfigurationError):
    """A setting that only a local stage may use is set on another stage."""


def local_resources(stage: str) -> dict[str, str]:
    """What the local stack names each resource on `stage` (template.yaml's names)."""
    return {
        "events_table": f"triggers-{stage}-events",
        "subscriptions_table": f"triggers-{stage}-subscriptions",
        "deliveries_table": f"triggers-{stage}-deliveries",
        "api_keys_table": f"triggers-{stage}-api-keys",
        "idempotency_table": f"triggers-{stage}-idempotency",
        "secrets_key_id": f"alias/triggers-{stage}-secrets",
        "tenants_table": f"triggers-{stage}-tenants",
        "audit_table": f"triggers-{stage}-audit",
        "opensearch_endpoint": "http://127.0.0.1:9200",
        # Queue URLs depend on the endpoint; locally an empty one means "not configured".
        "retry_queue_url": "",
        "delivery_dlq_url": "",
        "index_dlq_url": "",
    }


class CoreSettings(BaseModel):
    """What every function needs: the stage and the tables it shares."""

    model_config = ConfigDict(defer_build=True)

    FUNCTION: ClassVar[str] = "core"
    stage: str = "local"
    events_table: str
    subscriptions_table: str
    deliveries_table: str
    event_retention_days: int = Field(default=30, ge=1, le=3650)
    # Who changed what (subscriptions, keys, replays, redrives: the API and
    # the retry function record them); records expire after the retention.
    audit_table: str
    audit_retention_days: int = Field(default=365, ge=1, le=3650)
    opensearch_endpoint: str
    index_alias: str = "events"
    allow_loopback_webhooks: bool = False
    # Comma-separated host names webhooks may reach on private addresses (local stages only).
    webhook_private_hosts: str = ""
    # Ports webhook targets may use besides 80 and 443 (comma-separated; deployed stages). Local
    # stages allow any port: the local stack's receivers listen on ephemeral ones.
    webhook_allowed_ports: str = Field(default="", pattern=r"^\s*$|^\s*\d{1,5}(\s*,\s*\d{1,5})*\s*$")

    @model_validator(mode="after")
    def _local_only_flags_on_local_stages(self) -> Self:
        # Webhooks to this machine or to named private hosts are for the local stack (its
        # receiver, LocalStack's host.docker.internal); anywhere else they would open the SSRF
        # guard, so a deployed function with either refuses to start.
        if self.is_local:
            return self
        offending = [
            name.upper()
            for name, value in (
                ("allow_loopback_webhooks", self.allow_loopback_webhooks),
                ("webhook_private_hosts", self.private_webhook_hosts),
            )
            if value
        ]
        if offending:
            raise LocalOnlySetting(
                f"{' and '.join(offending)} may only be set on a local stage "
                f"({', '.join(sorted(LOCAL_STAGES))}), not on stage {self.stage!r}"
            )
        return self

    @property
    def private_webhook_hosts(self) -> frozenset[str]:
        return frozenset(
            host.strip().lower() for host in self.webhook_private_hosts.split(",") if host.strip()
        )

    @property
    def is_local(self) -> bool:
        return self.stage in LOCAL_STAGES

    @property
    def allowed_webhook_ports(self) -> frozenset[int] | None:
        """Ports a webhook target may use; None (any) on local stages."""
        if self.is_local:
            return None
        extra = {int(port) for port in self.webhook_allowed_ports.split(",") if port.strip()}
        return frozenset({80, 443} | extra)

    @model_validator(mode="after")
    def _ports_in_range(self) -> Self:
        for port in self.webhook_allowed_ports.split(","):
            if port.strip() and not 1 <= int(port) <= 65535:
                raise ValueError(f"WEBHOOK_ALLOWED_PORTS: {port.strip()} is not a TCP port (1-65535)")
        return self

    @classmethod
    def local(cls, stage: str = "local", **values: object) -> Self:
        """Settings as the local stack reads them, with `values` changed (tests, tools)."""
        return cls.model_validate({**local_resources(stage), "stage": stage, **values})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        env = os.environ if environ is None else environ
        fields: dict[str, object] = {
            name: env[name.upper()] for name in cls.model_fields if name.upper() in env
        }
        stage = str(fields.get("stage", "local"))
        if stage in LOCAL_STAGES:
            defaults = local_resources(stage)
            fields = {name: defaults[name] for name in cls.model_fields if name in defaults} | fields
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            missing = sorted(
                str(error["loc"][0]).upper() for error in exc.errors() if error["type"] == "missing"
            )
            if not missing:
                raise
            raise MissingConfiguration(
                f"the {cls.FUNCTION} function on stage {stage!r} needs environment variable(s) "
                f"{', '.join(missing)}"
            ) from None


class IngestSettings(CoreSettings):
    """The HTTP API."""

    FUNCTION: ClassVar[str] = "ingest"
    api_keys_table: str
    idempotency_table: str
    retry_queue_url: str
    # The KMS key (alias) subscriber credentials are encrypted with; the API encrypts only.
    secrets_key_id: str
    max_payload_bytes: int = Field(default=64 * 1024, ge=1, le=350 * 1024)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1, le=6 * 1024 * 1024)
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    # Tenants' limits and their shared rate-limit buckets (docs/guarantees.md "Rate limits").
    tenants_table: str
    # Defaults of every tenant's limits; `triggers limits set` overrides them per tenant.
    rate_limit_ingest_per_second: float = Field(default=100.0, gt=0, le=100_000)
    rate_limit_ingest_burst: int = Field(default=200, ge=1, le=1_000_000)
    rate_limit_management_per_second: float = Field(default=100.0, gt=0, le=100_000)
    rate_limit_management_burst: int = Field(default=200, ge=1, le=1_000_000)
    max_subscriptions_per_tenant: int = Field(default=100, ge=0, le=100_000)
    # Tokens one function instance takes from a shared bucket at a time (at most), and how long
    # it may keep unused ones; a tenant's limits are re-read after `rate_limit_settings_seconds`.
    rate_limit_lease_max: int = Field(default=10, ge=1, le=1000)
    rate_limit_lease_seconds: float = Field(default=1.0, gt=0, le=60)
    rate_limit_settings_seconds: float = Field(default=30.0, ge=0, le=3600)
    # Unknown or revoked keys are refused from memory for this long (at most this many keys).
    refused_key_cache_seconds: float = Field(default=60.0, ge=0, le=3600)
    refused_key_cache_size: int = Field(default=10_000, ge=0, le=1_000_000)
    # A valid key is used for this long after a consistent read of it (at most this many keys),
    # so revocation and scope changes apply within this bound; expiry is checked on every request.
    api_key_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    api_key_cache_size: int = Field(default=10_000, ge=0, le=1_000_000)
    # An instance uses an event type's catalog entry (its schema, or its absence) for this long
    # after reading it (docs/guarantees.md "Event-type catalog").
    event_type_cache_seconds: float = Field(default=5.0, ge=0, le=300)


class DeliverySettings(CoreSettings):
    """The fanout and retry functions; see docs/webhooks.md "Delivery"."""

    FUNCTION: ClassVar[str] = "fanout/retry"
    retry_queue_url: str
    delivery_dlq_url: str
    # The KMS key (alias) signing secrets are decrypted with; pinned on every Decrypt.
    secrets_key_id: str
    retry_schedule: str = Field(default="5s,5m,30m,2h,5h,10h,10h", pattern=RETRY_SCHEDULE_PATTERN)
    retry_jitter_ratio: float = Field(default=0.2, ge=0, lt=1)
    retry_after_cap_seconds: int = Field(default=3600, ge=0)
    disable_after_failing_seconds: int = Field(default=5 * 24 * 3600, ge=1)
    webhook_connect_timeout_seconds: float = Field(default=3.0, gt=0, le=30)
    webhook_read_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_response_cap_bytes: int = Field(default=4096, ge=0, le=64 * 1024)
    webhook_max_connections_per_host: int = Field(default=4, ge=1, le=64)
    fanout_max_workers: int = Field(default=16, ge=1, le=128)
    # The per-(tenant, host) circuit breaker (processors/webhooks/breaker.py): after this many
    # consecutive failed attempts to a host its deliveries pause for `breaker_open_seconds`,
    # doubling on each failed probe up to `breaker_max_open_seconds`. 0 turns it off.
    breaker_failure_threshold: int = Field(default=5, ge=0, le=1000)
    breaker_open_seconds: float = Field(default=30.0, gt=0, le=3600)
    breaker_max_open_seconds: float = Field(default=900.0, gt=0, le=24 * 3600)


class IndexerSettings(CoreSettings):
    """The indexer."""

    FUNCTION: ClassVar[str] = "indexer"
    index_dlq_url: str


class Settings(IngestSettings, DeliverySettings, IndexerSettings):
    """Every function's settings at once: the local stack and devtools, which host them all."""

    FUNCTION: ClassVar[str] = "local stack"


@runtime.cached
def get_settings() -> Settings:
    return Settings.from_env()


@runtime.cached
def ingest_settings() -> IngestSettings:
    return IngestSettings.from_env()


@runtime.cached
def delivery_settings() -> DeliverySettings:
    return DeliverySettings.from_env()


@runtime.cached
def indexer_settings() -> IndexerSettings:
    return IndexerSettings.from_env()
