"""The shared token bucket (ingest/ratelimit.py over ingest/core/tenants_table.py) against moto.

Time is a fake clock the tests move; "instances" are separate RateLimiter objects sharing the
tenants table, as warm Lambda instances do.
"""

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from ingest.core import tenants_table
from ingest.core.tenants_table import TenantLimits
from ingest.ratelimit import Decision, Limit, RateLimiter, policy_for

TABLE = "triggers-test-tenants"
TENANT = "tenant-a"
START = 1_800_000_000.0


@dataclass
class Clock:
    now: float = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def defaults(rate: float = 10.0, burst: int = 20) -> TenantLimits:
    return TenantLimits(
        ingest_per_second=rate,
        ingest_burst=burst,
        management_per_second=rate,
        management_burst=burst,
        max_subscriptions=100,
    )


@pytest.fixture
def limiter(dynamodb: Any, clock: Clock) -> Callable[..., RateLimiter]:
    """Factory: one function instance's limiter on the shared table."""

    def make(rate: float = 10.0, burst: int = 20, **options: Any) -> RateLimiter:
        return RateLimiter(dynamodb, TABLE, defaults(rate, burst), clock=clock, **options)

    return make


@pytest.fixture
def bucket_writes(dynamodb: Any) -> Iterator[list[dict[str, Any]]]:
    """Every UpdateItem the limiters send (their leases)."""
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(params)

    dynamodb.meta.events.register("provide-client-params.dynamodb.UpdateItem", record)
    yield sent
    dynamodb.meta.events.unregister("provide-client-params.dynamodb.UpdateItem", record)


def admitted(limiter: RateLimiter, requests: int, tenant: str = TENANT) -> int:
    return sum(limiter.check(tenant, "ingest").allowed for _ in range(requests))


def test_a_full_bucket_admits_its_burst_then_refuses(limiter: Callable[..., RateLimiter]) -> None:
    instance = limiter(rate=10, burst=20)

    assert admitted(instance, 20) == 20
    refused = instance.check(TENANT, "ingest")

    assert not refused.allowed
    assert refused.retry_after == 1


def test_the_bucket_refills_at_its_rate(limiter: Callable[..., RateLimiter], clock: Clock) -> None:
    instance = limiter(rate=10, burst=20)
    assert admitted(instance, 25) == 20

    clock.advance(1.0)

    assert admitted(instance, 25) == 10


def test_an_idle_bucket_refills_no_further_than_its_burst(
    limiter: Callable[..., RateLimiter], clock: Clock
) -> None:
    instance = limiter(rate=10, burst=20)
    assert admitted(instance, 20) == 20

    clock.advance(60.0)

    assert admitted(instance, 50) == 20


def test_tokens_are_leased_in_chunks_not_one_write_per_request(
    limiter: Callable[..., RateLimiter], bucket_writes: list[dict[str, Any]]
) -> None:
    # rate 100/s, burst 200: chunks of min(lease_max 10, burst/10 = 20, rate x 1 s = 100) = 10
    instance = limiter(rate=100, burst=200)

    assert admitted(instance, 100) == 100

    assert len(bucket_writes) == 10


def test_an_empty_bucket_is_refused_from_memory_until_its_next_token(
    limiter: Callable[..., RateLimiter], clock: Clock, bucket_writes: list[dict[str, Any]]
) -> None:
    instance = limiter(rate=2, burst=2)  # chunks of 1, a token every 0.5 s
    assert admitted(instance, 3) == 2
    writes = len(bucket_writes)

    assert admitted(instance, 50) == 0
    assert len(bucket_writes) == writes

    clock.advance(0.5)
    assert admitted(instance, 5) == 1
    assert len(bucket_writes) == writes + 1


def test_leased_tokens_not_spent_within_the_lease_are_dropped(
    limiter: Callable[..., RateLimiter], clock: Clock
) -> None:
    # Given an instance holding leased tokens (chunks of 10 out of a burst of 100, 10/s)
    instance = limiter(rate=10, burst=100, lease_seconds=1.0)
    assert admitted(instance, 1) == 1

    # When it idles past its lease and another instance drains the (refilled) bucket meanwhile
    clock.advance(1.5)
    other = limiter(rate=10, burst=100)
    drained = admitted(other, 200)

    # Then the 9 tokens it still held are gone, not spent on top of what the bucket allowed
    assert drained == 100
    assert admitted(instance, 20) == 0


def test_two_instances_share_one_budget(limiter: Callable[..., RateLimiter]) -> None:
    first, second = limiter(rate=10, burst=20), limiter(rate=10, burst=20)

    total = 0
    for _ in range(20):
        total += admitted(first, 1) + admitted(second, 1)

    assert total == 20


@pytest.mark.parametrize(("rate", "burst", "instances"), [(10, 20, 2), (100, 200, 3), (50, 50, 4), (3, 5, 2)])
def test_instances_interleaving_stay_within_the_stated_precision(
    limiter: Callable[..., RateLimiter], clock: Clock, rate: float, burst: int, instances: int
) -> None:
    # Given instances sharing the table, each asked for more than the limit every 10 ms for 3 s
    pool = [limiter(rate=rate, burst=burst) for _ in range(instances)]
    chunk = Limit("ingest", rate, burst).chunk(10, 1.0)
    seconds, step = 3.0, 0.01

    # When they admit what they can
    total = 0
    for tick in range(int(seconds / step)):
        for position, instance in enumerate(pool):
            total += admitted(instance, 1 + (tick + position) % 3)
        clock.advance(step)

    # Then the total is the bucket's allowance to within the stated precision: never more than
    # burst + rate x elapsed + (chunk - 1) per instance; at most a chunk per instance (tokens still
    # leased at the end) and one step of refill below it
    allowance = burst + rate * seconds
    assert total <= allowance + instances * (chunk - 1)
    assert total >= allowance - instances * chunk - math.ceil(rate * step)


def test_an_instance_racing_another_for_the_last_tokens_gets_only_what_is_left(
    limiter: Callable[..., RateLimiter], dynamodb: Any
) -> None:
    # Given two instances that have both seen the bucket with 4 tokens left (rate 10, burst 20)
    first, second = limiter(rate=10, burst=20), limiter(rate=10, burst=20)
    assert admitted(first, 16) == 16
    assert admitted(second, 1) == 1  # second has seen the bucket too, and holds a token

    # When the second takes the rest while the first's lease is on its way
    raced, taken = False, 0

    def second_goes_first(**_: Any) -> None:
        nonlocal raced, taken
        if not raced:
            raced = True
            taken = admitted(second, 5)

    dynamodb.meta.events.register("before-call.dynamodb.UpdateItem", second_goes_first)
    try:
        late = admitted(first, 10)
    finally:
        dynamodb.meta.events.unregister("before-call.dynamodb.UpdateItem", second_goes_first)

    # Then the first gets nothing more, and between them they admitted exactly the bucket's 20
    assert raced
    assert late == 0
    assert 16 + 1 + taken == 20


def test_a_tenants_own_limits_replace_the_defaults(
    dynamodb: Any, limiter: Callable[..., RateLimiter]
) -> None:
    tenants_table.update_limits(dynamodb, TABLE, TENANT, {"ingest_per_second": 1, "ingest_burst": 3})
    instance = limiter(rate=100, burst=200)

    assert admitted(instance, 10) == 3
    assert admitted(instance, 10, tenant="tenant-b") == 10


def test_a_changed_limit_applies_once_the_instance_rereads_the_tenants_limits(
    dynamodb: Any, limiter: Callable[..., RateLimiter], clock: Clock
) -> None:
    instance = limiter(rate=100, burst=200, settings_seconds=30.0)
    assert admitted(instance, 1) == 1

    tenants_table.update_limits(dynamodb, TABLE, TENANT, {"ingest_per_second": 1, "ingest_burst": 1})
    clock.advance(29.0)
    assert instance.limit(TENANT, "ingest") == Limit("ingest", 100.0, 200)

    clock.advance(1.0)
    assert instance.limit(TENANT, "ingest") == Limit("ingest", 1.0, 1)
    assert admitted(instance, 5) <= 1


def test_ingest_and_management_budgets_are_separate(limiter: Callable[..., RateLimiter]) -> None:
    instance = limiter(rate=1, burst=2)
    assert admitted(instance, 5) == 2

    assert instance.check(TENANT, "management").allowed


def test_headers_follow_the_ietf_ratelimit_draft(limiter: Callable[..., RateLimiter]) -> None:
    instance = limiter(rate=10, burst=20)

    first = instance.check(TENANT, "ingest").headers()
    for _ in range(19):
        instance.check(TENANT, "ingest")
    refused = instance.check(TENANT, "ingest").headers()

    assert first["RateLimit-Policy"] == '"ingest";q=20;w=2'
    assert re.fullmatch(r'"ingest";r=(\d+);t=(\d+)', first["RateLimit"])
    assert "Retry-After" not in first
    assert refused["RateLimit"] == '"ingest";r=0;t=1'
    assert refused["Retry-After"] == "1"


def test_the_estimate_of_what_remains_counts_down(limiter: Callable[..., RateLimiter]) -> None:
    instance = limiter(rate=10, burst=20)

    remaining = [instance.check(TENANT, "ingest").remaining for _ in range(20)]

    assert remaining == sorted(remaining, reverse=True)
    assert remaining[0] == 19 and remaining[-1] == 0


def test_retry_after_is_the_wait_for_the_next_token(
    limiter: Callable[..., RateLimiter], clock: Clock
) -> None:
    instance = limiter(rate=0.25, burst=1)  # a token every 4 s
    assert admitted(instance, 1) == 1

    refused = instance.check(TENANT, "ingest")
    clock.advance(1.5)
    later = instance.check(TENANT, "ingest")

    assert (refused.retry_after, later.retry_after) == (4, 3)


def test_a_failing_store_admits_requests_unmetered(clock: Clock, dynamodb: Any) -> None:
    instance = RateLimiter(dynamodb, "no-such-table", defaults(1, 1), clock=clock)

    decisions: list[Decision] = [instance.check(TENANT, "ingest") for _ in range(5)]

    assert all(decision.allowed and not decision.metered for decision in decisions)
    assert "RateLimit" not in decisions[0].headers()
    assert decisions[0].headers()["RateLimit-Policy"] == '"ingest";q=1;w=1'


def test_the_instance_remembers_a_bounded_number_of_tenants(limiter: Callable[..., RateLimiter]) -> None:
    instance = limiter(rate=10, burst=20, max_tenants=3)

    for number in range(10):
        admitted(instance, 1, tenant=f"tenant-{number}")

    assert len(instance._limits) == 3
    assert len(instance._buckets) <= 6


@pytest.mark.parametrize(
    ("method", "path", "policy"),
    [
        ("POST", "/v1/events", "ingest"),
        ("post", "/v1/events", "ingest"),
        ("GET", "/v1/events", "management"),
        ("POST", "/v1/subscriptions", "management"),
        ("POST", "/v1/events/01J00000000000000000000000/ack", "management"),
    ],
)
def test_posting_events_is_ingest_everything_else_management(method: str, path: str, policy: str) -> None:
    assert policy_for(method, path) == policy


@pytest.mark.parametrize(
    ("rate", "burst", "chunk"),
    [(100, 200, 10), (10, 20, 2), (5, 10, 1), (1000, 5000, 10), (0.5, 100, 1), (3, 5, 1)],
)
def test_the_chunk_is_small_against_the_burst_and_the_rate(rate: float, burst: int, chunk: int) -> None:
    assert Limit("ingest", rate, burst).chunk(10, 1.0) == chunk
