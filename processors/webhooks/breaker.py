"""The per-destination-host circuit breaker, keyed by (tenant, host).

Closed: every attempt goes out; a failed attempt to the host (no response, a timeout, a 5xx or a
429) adds one to its consecutive failures, any other answer (2xx, 3xx, a 4xx: the subscriber's own
reply) shows the host is up and closes the breaker. After `threshold` consecutive failures it
opens: every delivery of the tenant to that host, whatever the subscription, is paused until
`open_until` (not sent, not counted as an attempt, not counted toward auto-disable: it goes back to
the retry queue due then, with its webhook-id and attempt count). Once `open_until` passes it is
half-open: one attempt (the probe, leased across function instances) goes out; success closes it,
failure opens it again for twice as long (`open_seconds * 2**trips`, capped at
`max_open_seconds`). Deliveries that arrive while the probe is in flight wait for its lease.

A `Breakers` board is made per stream batch (fanout: the batch's (tenant, host) pairs read with one
BatchGetItem) or per retry batch (each pair read with GetItem the first time it is needed); the
board is shared by the batch's worker threads, so a trip by one chain pauses the others at once.
Writes happen only on a failure, a trip, a probe claim or a recovery; a healthy host costs no write.
State is not cached across invocations: each batch reads it afresh.
"""

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, NamedTuple
from urllib.parse import urlsplit

from ingest.core import breakers_table
from ingest.core.breakers_table import BreakerItem, BreakerKey
from ingest.core.errors import StoreUnavailable
from ingest.core.observability import logger
from ingest.core.settings import DeliverySettings
from processors.webhooks.delivery import count
from processors.webhooks.transport import Response

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Failures that say nothing about the host: the attempt never reached it.
NOT_THE_HOSTS_FAULT = ("not sent", "BlockedDestination", "CredentialUnreadable")
PROBE_MARGIN_SECONDS = 5.0


def host_of(target_url: str) -> str:
    """The destination host a breaker is keyed by: the URL's host name, lower case, no port."""
    return (urlsplit(target_url).hostname or "").lower()


def host_verdict(response: Response) -> bool | None:
    """True: the host answered; False: it failed (no answer, timeout, 5xx, 429); None: not tried."""
    if response.status_code is None:
        if response.error is not None and response.error.startswith(NOT_THE_HOSTS_FAULT):
            return None
        return False
    return not (response.status_code >= 500 or response.status_code == 429)


@dataclass(frozen=True)
class BreakerPolicy:
    threshold: int  # consecutive failures that open the breaker; 0 turns it off
    open_seconds: float
    max_open_seconds: float
    probe_lease_seconds: float

    @classmethod
    def of(cls, settings: DeliverySettings) -> "BreakerPolicy":
        return cls(
            threshold=settings.breaker_failure_threshold,
            open_seconds=settings.breaker_open_seconds,
            max_open_seconds=settings.breaker_max_open_seconds,
            probe_lease_seconds=settings.webhook_connect_timeout_seconds
            + settings.webhook_read_timeout_seconds
            + PROBE_MARGIN_SECONDS,
        )

    @property
    def enabled(self) -> bool:
        return self.threshold > 0

    def open_for(self, trips: int) -> float:
        """How long the breaker stays open on its `trips + 1`-th opening in a row."""
        return float(min(self.open_seconds * 2 ** min(trips, 32), self.max_open_seconds))


class Admission(NamedTuple):
    """Whether to send now: `send`, `probe` (the half-open attempt) or `pause` until `until`."""

    kind: Literal["send", "probe", "pause"]
    until: datetime | None = None

    @property
    def paused(self) -> bool:
        return self.kind == "pause"


SEND = Admission("send")


@dataclass
class Breakers:
    """The breakers of one batch's (tenant, host) pairs, consulted and updated by its workers."""

    dynamodb: "DynamoDBClient"
    table: str
    policy: BreakerPolicy
    states: dict[BreakerKey, BreakerItem] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self, keys: Iterable[BreakerKey]) -> None:
        """Read the pairs' states with one BatchGetItem (the fanout, once per batch)."""
        if not self.policy.enabled:
            return
        wanted = [key for key in dict.fromkeys(keys) if key not in self.states]
        if wanted:
            self.states.update(breakers_table.get_many(self.dynamodb, self.table, wanted))

    def state(self, key: BreakerKey) -> BreakerItem:
        with self._lock:
            known = self.states.get(key)
        if known is None:
            known = breakers_table.get(self.dynamodb, self.table, *key)
            with self._lock:
                known = self.states.setdefault(key, known)
        return known

    def _set(self, key: BreakerKey, item: BreakerItem) -> None:
        with self._lock:
            self.states[key] = item

    def admit(self, key: BreakerKey, now: datetime) -> Admission:
        """Send, probe or pause a delivery to `key`'s host at `now`."""
        if not self.policy.enabled:
            return SEND
        state = self.state(key)
        if state.open_until is None:
            return SEND
        stamp = now.timestamp()
        if state.open_until > stamp:
            return Admission("pause", _at(state.open_until))
        if state.probe_until is not None and state.probe_until > stamp:
            return Admission("pause", _at(state.probe_until))
        lease = self.policy.probe_lease_seconds
        claimed = breakers_table.claim_probe(self.dynamodb, self.table, key, now, lease)
        if claimed is None:
            # Another instance probes (or reopened it): wait for its lease, then look again.
            current = breakers_table.get(self.dynamodb, self.table, *key)
            self._set(key, current)
            until = max(current.open_until or 0.0, current.probe_until or 0.0)
            if until <= stamp:
                until = stamp + self.policy.open_seconds
            return Admission("pause", _at(until))
        self._set(key, claimed)
        logger.info("circuit half-open: probing", extra=_log(key, claimed))
        return Admission("probe")

    def observe(self, key: BreakerKey, response: Response, now: datetime) -> None:
        """Account for an attempt's answer: count a failure (and trip), or close on success.

        Best effort: the attempt is made, so a store error here must not fail (and resend) it;
        the next attempt to the host counts again.
        """
        if not self.policy.enabled:
            return
        try:
            self._observe(key, response, now)
        except StoreUnavailable as exc:
            logger.warning("circuit state not updated", extra={**_log(key, None), "error": exc.detail})

    def _observe(self, key: BreakerKey, response: Response, now: datetime) -> None:
        verdict = host_verdict(response)
        if verdict is None:
            return
        if verdict:
            if self.state(key).tripped:
                closed = breakers_table.close(self.dynamodb, self.table, key, now)
                self._set(key, closed or BreakerItem.closed(*key))
                count("CircuitClosed")
                logger.info("circuit closed: the host answered", extra=_log(key, closed))
            return
        failed = breakers_table.record_failure(
            self.dynamodb, self.table, key, now, response.failure_kind or "failed"
        )
        self._set(key, failed)
        if failed.consecutive_failures < self.policy.threshold or failed.is_open(now):
            return
        until = now.timestamp() + self.policy.open_for(failed.trips)
        opened = breakers_table.trip(self.dynamodb, self.table, key, now, failed.trips, until)
        if opened is None:
            self._set(key, breakers_table.get(self.dynamodb, self.table, *key))
            return
        self._set(key, opened)
        count("CircuitOpened")
        logger.warning("circuit opened: deliveries to the host pause", extra=_log(key, opened))


def _at(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


def _log(key: BreakerKey, item: BreakerItem | None) -> dict[str, object]:
    context: dict[str, object] = {"tenant_id": key[0], "host": key[1]}
    if item is not None:
        context |= {
            "consecutive_failures": item.consecutive_failures,
            "trips": item.trips,
            "open_until": None if item.open_until is None else _at(item.open_until).isoformat(),
        }
    return context


def breakers_for(dynamodb: "DynamoDBClient", settings: DeliverySettings) -> Breakers:
    return Breakers(dynamodb, settings.subscriptions_table, BreakerPolicy.of(settings))
