"""Per-tenant rate limits: a token bucket per tenant and policy, shared by every function instance.

Two policies: `ingest` (`POST /v1/events`) and `management` (every other authenticated route).
The shared state is one DynamoDB item per bucket (ingest/core/tenants_table.py, GCRA). A DynamoDB
write per request would cost as much as the request itself, so each function instance leases
tokens from the shared bucket in chunks (one conditional UpdateItem per chunk) and spends them
from memory; leased tokens it has not spent within `lease_seconds` are dropped. An instance that
finds the bucket empty refuses the tenant from memory until the bucket's next token is due.

Precision (docs/guarantees.md "Rate limits"): every admitted request spent a token the shared
bucket granted, so over any interval of d seconds a tenant is admitted at most
`burst + rate * d` requests plus the tokens instances leased before the interval and spent in it:
at most `chunk - 1` per instance, and never more than `rate * lease_seconds` in all.
`chunk = max(1, min(lease_max, burst // 10, rate * lease_seconds))`.
"""

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ingest.core import tenants_table
from ingest.core.clients import dynamodb_client
from ingest.core.errors import StoreUnavailable
from ingest.core.observability import logger
from ingest.core.runtime import runtime
from ingest.core.settings import IngestSettings, ingest_settings
from ingest.core.tenants_table import MICROS, Policy, TenantLimits

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_TENANTS = 10_000
INGEST_ROUTE = ("POST", "/v1/events")


def policy_for(method: str, path: str) -> Policy:
    """`ingest` for posting events, `management` for everything else."""
    return "ingest" if (method.upper(), path) == INGEST_ROUTE else "management"


@dataclass(frozen=True)
class Limit:
    """One policy of one tenant: `rate` requests per second, up to `burst` at once."""

    policy: Policy
    rate: float
    burst: int

    @property
    def interval_us(self) -> int:
        return max(1, round(MICROS / self.rate))

    @property
    def window_seconds(self) -> int:
        """The time a full bucket takes to refill: RateLimit-Policy's `w` (whole seconds, ≥ 1)."""
        return max(1, math.ceil(self.burst / self.rate))

    def chunk(self, lease_max: int, lease_seconds: float) -> int:
        return max(1, min(lease_max, self.burst // 10, int(self.rate * lease_seconds)))

    @property
    def policy_header(self) -> str:
        """`RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers): `burst` requests per refill window."""
        return f'"{self.policy}";q={self.burst};w={self.window_seconds}'


@dataclass(frozen=True)
class Decision:
    """Whether a request is admitted, and what the client is told about its budget."""

    limit: Limit
    allowed: bool
    remaining: int
    reset_seconds: int  # refused: until the next token; admitted: until the bucket is full again
    metered: bool = True  # False: admitted unmetered because the buckets' store failed

    @property
    def retry_after(self) -> int:
        return max(1, self.reset_seconds)

    def headers(self) -> dict[str, str]:
        headers = {"RateLimit-Policy": self.limit.policy_header}
        if self.metered:
            seconds = self.reset_seconds if self.allowed else self.retry_after
            headers["RateLimit"] = f'"{self.limit.policy}";r={self.remaining};t={seconds}'
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


@dataclass
class _Bucket:
    """This instance's side of one shared bucket."""

    limit: Limit
    tokens: int = 0
    lease_expires_us: int = 0
    tat_us: int | None = None  # the shared bucket's `tat` as last seen (a lower bound)
    refused_until_us: int = 0


@dataclass
class _CachedLimits:
    limits: TenantLimits
    read_at: float


@dataclass
class RateLimiter:
    """One function instance's view of every tenant's buckets (thread-safe; bounded in size)."""

    client: "DynamoDBClient"
    table: str
    defaults: TenantLimits
    lease_max: int = 10
    lease_seconds: float = 1.0
    settings_seconds: float = 30.0
    max_tenants: int = MAX_TENANTS
    clock: Callable[[], float] = time.time
    _limits: OrderedDict[str, _CachedLimits] = field(default_factory=OrderedDict)
    _buckets: OrderedDict[tuple[str, Policy], _Bucket] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, client: "DynamoDBClient", settings: IngestSettings) -> "RateLimiter":
        return cls(
            client=client,
            table=settings.tenants_table,
            defaults=default_limits(settings),
            lease_max=settings.rate_limit_lease_max,
            lease_seconds=settings.rate_limit_lease_seconds,
            settings_seconds=settings.rate_limit_settings_seconds,
        )

    def limit(self, tenant_id: str, policy: Policy) -> Limit:
        """The tenant's limit for `policy` (its override, else the default)."""
        limits = self._tenant_limits(tenant_id)
        rate = getattr(limits, f"{policy}_per_second") or getattr(self.defaults, f"{policy}_per_second")
        burst = getattr(limits, f"{policy}_burst") or getattr(self.defaults, f"{policy}_burst")
        return Limit(policy, float(rate), int(burst))

    def check(self, tenant_id: str, policy: Policy) -> Decision:
        """Admit one request of `tenant_id` under `policy`, or refuse it."""
        with self._lock:
            limit = self.limit(tenant_id, policy)
            bucket = self._bucket(tenant_id, limit)
            now_us = int(self.clock() * MICROS)
            if bucket.tokens > 0 and now_us < bucket.lease_expires_us:
                bucket.tokens -= 1
                return self._admitted(bucket, now_us)
            bucket.tokens = 0
            if now_us < bucket.refused_until_us:
                return self._refused(bucket, now_us)
            try:
                lease = tenants_table.lease_tokens(
                    self.client,
                    self.table,
                    tenant_id,
                    policy,
                    wanted=limit.chunk(self.lease_max, self.lease_seconds),
                    interval_us=limit.interval_us,
                    burst=limit.burst,
                    now_us=now_us,
                    known_tat_us=bucket.tat_us,
                )
            except StoreUnavailable as exc:
                # Fail open: the limits protect the service; an outage of their store must not
                # take ingest down with it (the stage-wide throttle still applies).
                logger.warning("rate limit store unavailable: request admitted", extra={"detail": exc.detail})
                return Decision(limit, True, 0, 0, metered=False)
            bucket.tat_us = lease.tat_us
            if lease.granted < 1:
                # The next token is due when `tat` is within one burst of the clock.
                bucket.refused_until_us = lease.tat_us - limit.burst * limit.interval_us + limit.interval_us
                return self._refused(bucket, now_us)
            bucket.tokens = lease.granted - 1
            bucket.lease_expires_us = now_us + int(self.lease_seconds * MICROS)
            return self._admitted(bucket, now_us)

    def _admitted(self, bucket: _Bucket, now_us: int) -> Decision:
        limit = bucket.limit
        tat = bucket.tat_us if bucket.tat_us is not None else now_us
        shared = max(0, (now_us + limit.burst * limit.interval_us - tat) // limit.interval_us)
        remaining = min(limit.burst, bucket.tokens + shared)
        reset = math.ceil(max(0, tat - now_us) / MICROS)
        return Decision(limit, True, remaining, min(reset, limit.window_seconds))

    def _refused(self, bucket: _Bucket, now_us: int) -> Decision:
        wait = math.ceil(max(0, bucket.refused_until_us - now_us) / MICROS)
        return Decision(bucket.limit, False, 0, max(1, wait))

    def _tenant_limits(self, tenant_id: str) -> TenantLimits:
        now = self.clock()
        cached = self._limits.get(tenant_id)
        if cached is None or now - cached.read_at >= self.settings_seconds:
            try:
                limits = tenants_table.get_limits(self.client, self.table, tenant_id)
            except StoreUnavailable as exc:
                if cached is None:
                    logger.warning("tenant limits unavailable: defaults apply", extra={"detail": exc.detail})
                    return TenantLimits()
                limits = cached.limits  # keep the last known limits until the store answers
            cached = _CachedLimits(limits, now)
            self._limits[tenant_id] = cached
        self._limits.move_to_end(tenant_id)
        while len(self._limits) > self.max_tenants:
            self._limits.popitem(last=False)
        return cached.limits

    def _bucket(self, tenant_id: str, limit: Limit) -> _Bucket:
        key = (tenant_id, limit.policy)
        bucket = self._buckets.get(key)
        if bucket is None or bucket.limit != limit:
            # New, or the tenant's limit changed: tokens leased under the old one are dropped.
            bucket = _Bucket(limit)
            self._buckets[key] = bucket
        self._buckets.move_to_end(key)
        while len(self._buckets) > 2 * self.max_tenants:
            self._buckets.popitem(last=False)
        return bucket


def default_limits(settings: IngestSettings) -> TenantLimits:
    """The limits of a tenant without overrides."""
    return TenantLimits(
        ingest_per_second=settings.rate_limit_ingest_per_second,
        ingest_burst=settings.rate_limit_ingest_burst,
        management_per_second=settings.rate_limit_management_per_second,
        management_burst=settings.rate_limit_management_burst,
        max_subscriptions=settings.max_subscriptions_per_tenant,
    )


@runtime.cached
def rate_limiter() -> RateLimiter:
    """This function instance's limiter (its leases and caches live as long as the instance)."""
    return RateLimiter.from_settings(dynamodb_client(), ingest_settings())
