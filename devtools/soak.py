"""The soak: ingest and fan-out at a fixed rate against the embedded stack, then the no-loss invariant.

A producer posts batches of events at `rate` events/s for `duration` seconds, spread over a few
tenants, each with subscribers on local receivers (one of them flaky, so retries carry load too;
it fails a webhook at most as many times as the schedule retries, so a healthy run dead-letters
nothing). When the time is up it waits for the pipeline to settle (at most `drain_timeout`
seconds) and checks devtools/invariant.py over every accepted event, expecting every
(event, subscription) pair delivered. Everything runs on 127.0.0.1 and stops by itself.
"""

import json
import random
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import httpx
from triggers_client import AuthenticatedClient

from devtools.api_client import ApiError, connect, subscribe
from devtools.invariant import (
    Accepted,
    Outcomes,
    Report,
    Stores,
    Watched,
    check,
    matching_pairs,
    wait_for_invariant,
)
from devtools.receiver import Delivery, Faults, Receiver
from devtools.stack import EmbeddedStack

BATCH_SIZE = 10
EVENT_TYPES = ("order.created", "order.paid")
# Per tenant: (event types, fail rate of its receiver). The flaky one exercises retries.
SUBSCRIBERS: tuple[tuple[tuple[str, ...], float], ...] = (
    (("*",), 0.0),
    (("order.paid",), 0.0),
    (("*",), 0.05),
)
SOAK_RETRY_SCHEDULE = "1s,2s"
# The flaky receiver fails a webhook-id at most once per retry, so its last attempt succeeds.
FLAKY_MAX_FAILURES = len(SOAK_RETRY_SCHEDULE.split(","))


@dataclass
class SoakSettings:
    rate: float = 100.0
    duration: float = 600.0
    tenants: int = 2
    drain_timeout: float = 300.0
    seed: int = 9
    quiet: float = 10.0


@dataclass
class SoakResult:
    accepted: int
    rejected: int
    seconds: float
    drain_seconds: float
    report: Report
    receivers_answered: int = 0
    unsettled: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.report.ok and self.rejected == 0

    def lines(self) -> list[str]:
        report = self.report
        lost = [problem for problem in report.lost if problem not in self.unsettled]
        return [
            f"accepted {self.accepted} events in {self.seconds:.0f} s "
            f"({self.accepted / max(self.seconds, 1e-9):.1f} ev/s), rejected requests {self.rejected}",
            f"settled in {self.drain_seconds:.0f} s after the producer stopped; "
            f"receivers answered {self.receivers_answered} webhooks",
            report.summary(),
            f"lost: {len(lost)}   duplicated: {len(report.duplicated)}   "
            f"missing from table: {len(report.missing_events)}   not indexed: {len(report.not_indexed)}   "
            f"unsettled at the drain timeout: {len(self.unsettled)}",
        ]


@dataclass
class Tenant:
    tenant_id: str
    client: AuthenticatedClient
    subscriptions: list[tuple[dict[str, Any], Receiver]] = field(default_factory=list)

    @property
    def api_key(self) -> str:
        return self.client.token


def new_tenant(stack: EmbeddedStack, tenant_id: str) -> Tenant:
    """A tenant with an API key, and a session that sends it."""
    from ingest.core.api_keys_table import create_api_key

    dynamodb = boto3.client("dynamodb", endpoint_url=stack.aws_url)
    api_key = create_api_key(dynamodb, stack.template.physical_name("ApiKeysTable"), tenant_id)
    return Tenant(tenant_id, connect(stack.api_url, api_key))


def subscribe_receiver(tenant: Tenant, receiver: Receiver, event_types: tuple[str, ...]) -> None:
    """Subscribe `receiver` through the API; the receiver verifies with the secret it returns."""
    document = subscribe(tenant.client, receiver.url, list(event_types))
    receiver.add_secret(document["secret"])
    tenant.subscriptions.append((document, receiver))


@contextmanager
def _receivers(count: int, rng: random.Random, fail_rates: list[float]) -> Iterator[list[Receiver]]:
    with ExitStack() as stack:
        yield [
            stack.enter_context(
                Receiver(
                    faults=Faults(fail_rate=rate, max_failures_per_id=FLAKY_MAX_FAILURES),
                    rng=random.Random(rng.random()),
                )
            )
            for rate in fail_rates[:count]
        ]


def _produce(
    tenants: list[Tenant], settings: SoakSettings, say: Callable[[str], None]
) -> tuple[list[Accepted], int, float]:
    """Post batches at the fixed rate until the duration is up; (accepted, rejected requests, seconds)."""
    rng = random.Random(settings.seed)
    accepted: list[Accepted] = []
    rejected = 0
    interval = BATCH_SIZE / settings.rate
    started = time.monotonic()
    next_at = started
    last_report = started
    batch = 0
    while time.monotonic() - started < settings.duration:
        tenant = tenants[batch % len(tenants)]
        types = [rng.choice(EVENT_TYPES) for _ in range(BATCH_SIZE)]
        payloads = [json.dumps({"batch": batch, "n": n}) for n in range(BATCH_SIZE)]
        body = ",".join(
            f'{{"event_type":{json.dumps(t)},"payload":{p}}}' for t, p in zip(types, payloads, strict=True)
        )
        try:
            response = tenant.client.get_httpx_client().post(
                "/v1/events", content=f"[{body}]".encode(), headers={"content-type": "application/json"}
            )
        except (httpx.HTTPError, ApiError):  # no answer, or an error status (the client raises those)
            rejected += 1
        else:
            if response.status_code == 201:
                ids = [item["id"] for item in response.json()["data"]]
                accepted += [
                    Accepted(tenant.tenant_id, i, t, p) for i, t, p in zip(ids, types, payloads, strict=True)
                ]
            else:
                rejected += 1
        batch += 1
        now = time.monotonic()
        if now - last_report >= 10:
            say(f"  {now - started:5.0f} s: {len(accepted)} events accepted")
            last_report = now
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    return accepted, rejected, time.monotonic() - started


def _deliveries_of(receiver: Receiver) -> Callable[[], list[Delivery]]:
    return lambda: receiver.deliveries


def configure_handlers(**variables: str) -> None:
    """Set environment variables the in-process handlers read, and forget what they cached."""
    import os

    import processors.fanout.handler  # noqa: F401  # registers the subscription cache
    from ingest.core.runtime import runtime

    os.environ.update(variables)
    runtime.reset()


def stack_stores(stack: EmbeddedStack) -> Stores:
    """Where the invariant reads, for a stack whose settings are in the environment."""
    from ingest.core.opensearch_client import opensearch_client
    from ingest.core.settings import get_settings

    settings = get_settings()
    return Stores(
        dynamodb=boto3.client("dynamodb", endpoint_url=stack.aws_url),
        sqs=boto3.client("sqs", endpoint_url=stack.aws_url),
        opensearch=opensearch_client(stack.opensearch_url),
        events_table=settings.events_table,
        deliveries_table=settings.deliveries_table,
        delivery_dlq_url=settings.delivery_dlq_url,
        index_alias=settings.index_alias,
    )


def run_soak(
    stack: EmbeddedStack,
    settings: SoakSettings,
    stores: Stores,
    say: Callable[[str], None] = lambda line: None,
) -> SoakResult:
    """Run the soak against a started stack; the retry schedule comes from the environment."""
    rng = random.Random(settings.seed)
    per_tenant = [rate for _, rate in SUBSCRIBERS]
    with (
        _receivers(len(SUBSCRIBERS) * settings.tenants, rng, per_tenant * settings.tenants) as receivers,
        ExitStack() as clients,
    ):
        tenants = [
            new_tenant(stack, f"soak-{settings.seed}-{n}-{rng.getrandbits(32):08x}")
            for n in range(settings.tenants)
        ]
        for tenant in tenants:
            clients.enter_context(tenant.client)
        for n, tenant in enumerate(tenants):
            for (event_types, _), receiver in zip(
                SUBSCRIBERS, receivers[n * len(SUBSCRIBERS) : (n + 1) * len(SUBSCRIBERS)], strict=True
            ):
                subscribe_receiver(tenant, receiver, event_types)
        say(
            f"soak: {settings.rate:g} ev/s for {settings.duration:g} s, {settings.tenants} tenants x "
            f"{len(SUBSCRIBERS)} subscribers"
        )
        accepted, rejected, seconds = _produce(tenants, settings, say)
        say(f"soak: producer done ({len(accepted)} accepted); waiting for the pipeline to settle")

        watched = [
            Watched(
                tenant_id=tenant.tenant_id,
                subscription_id=str(document["id"]),
                event_types=tuple(document["event_types"]),
                secrets=(str(document["secret"]),),
                received=_deliveries_of(receiver),
            )
            for tenant in tenants
            for document, receiver in tenant.subscriptions
        ]

        drain_started = time.monotonic()
        # A healthy soak: every pair delivered, nothing dead-lettered, nothing gone.
        expected = Outcomes(delivered=len(matching_pairs(accepted, watched)))
        report = wait_for_invariant(
            lambda: check(stores, accepted, watched, expected=expected),
            timeout=settings.drain_timeout,
            every=5.0,
            quiet=settings.quiet,
        )
        drain_seconds = time.monotonic() - drain_started
        answered = sum(len(receiver.deliveries) for receiver in receivers)
    unsettled = [problem for problem in report.lost if ": still " in problem]
    return SoakResult(len(accepted), rejected, seconds, drain_seconds, report, answered, unsettled)
