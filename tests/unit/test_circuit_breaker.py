"""The per-(tenant, host) circuit breaker: its state machine against moto, then in the fanout and retry."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from devtools.runner.lambda_context import LocalLambdaContext
from ingest.core import breakers_table, subscriptions_table
from ingest.core.settings import DeliverySettings
from processors.fanout.handler import lambda_handler as fanout_handler
from processors.retry.handler import lambda_handler as retry_handler
from processors.webhooks.breaker import BreakerPolicy, Breakers, host_of, host_verdict
from processors.webhooks.transport import Response
from tests.unit.webhooks_support import STAGE_TABLE, Webhooks, body, clear_webhook_caches, sqs_event

TABLE = STAGE_TABLE.format("subscriptions")
KEY = ("tenant-a", "hooks.example.com")
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = BreakerPolicy(threshold=3, open_seconds=30, max_open_seconds=100, probe_lease_seconds=20)

FAIL = Response(503, 5)
OK = Response(200, 5)


def board(dynamodb: Any, policy: BreakerPolicy = POLICY) -> Breakers:
    """A fresh board: what the next batch (another instance, too) reads from the table."""
    return Breakers(dynamodb, TABLE, policy)


def fail(dynamodb: Any, times: int, at: datetime, key: tuple[str, str] = KEY) -> None:
    for _ in range(times):
        board(dynamodb).observe(key, FAIL, at)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# --- what counts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "verdict"),
    [
        (Response(200, 1), True),
        (Response(204, 1), True),
        (Response(301, 1), True),
        (Response(400, 1), True),
        (Response(404, 1), True),
        (Response(410, 1), True),
        (Response(429, 1), False),
        (Response(500, 1), False),
        (Response(503, 1), False),
        (Response(None, 3000, error="ReadTimeoutError: read timed out"), False),
        (Response(None, 1, error="NewConnectionError: refused"), False),
        (Response(None, 0, error="not sent: no response to event x earlier in this batch"), None),
        (Response(None, 0, error="BlockedDestination: private address"), None),
        (Response(None, 0, error="CredentialUnreadable: bad ciphertext"), None),
    ],
)
def test_transport_errors_timeouts_5xx_and_429_count_other_answers_show_the_host_up(
    response: Response, verdict: bool | None
) -> None:
    assert host_verdict(response) is verdict


def test_the_host_is_the_urls_host_name_in_lower_case_without_port() -> None:
    assert host_of("https://Hooks.Zapier.com:8443/hooks/catch/1/abc") == "hooks.zapier.com"
    assert host_of("http://127.0.0.1:8787/webhook") == "127.0.0.1"


# --- the state machine ------------------------------------------------------------------------


def test_closed_until_n_consecutive_failures_then_open(dynamodb: Any) -> None:
    # Given: N - 1 failures
    fail(dynamodb, 2, T0)
    assert board(dynamodb).admit(KEY, T0).kind == "send"

    # When: the N-th
    fail(dynamodb, 1, T0)

    # Then: paused until now + the first backoff, across instances (a fresh board reads it)
    admission = board(dynamodb).admit(KEY, at(1))
    assert admission.kind == "pause"
    assert admission.until == at(30)
    stored = breakers_table.get(dynamodb, TABLE, *KEY)
    assert (stored.consecutive_failures, stored.trips) == (3, 1)


def test_a_4xx_is_not_counted_and_ends_the_streak(dynamodb: Any) -> None:
    fail(dynamodb, 2, T0)
    board(dynamodb).observe(KEY, Response(404, 1), T0)
    fail(dynamodb, 2, T0)

    assert board(dynamodb).admit(KEY, at(1)).kind == "send"
    assert breakers_table.get(dynamodb, TABLE, *KEY).consecutive_failures == 2


def test_half_open_lets_one_probe_through_and_pauses_the_rest_for_its_lease(dynamodb: Any) -> None:
    fail(dynamodb, 3, T0)

    first, second = board(dynamodb), board(dynamodb)
    assert first.admit(KEY, at(31)).kind == "probe"
    # Another instance (and another delivery on the same board) waits for the probe.
    other = second.admit(KEY, at(32))
    assert (other.kind, other.until) == ("pause", at(31 + POLICY.probe_lease_seconds))
    assert first.admit(KEY, at(32)).kind == "pause"


def test_a_successful_probe_closes_the_breaker_and_resets_the_backoff(dynamodb: Any) -> None:
    fail(dynamodb, 3, T0)
    probe = board(dynamodb)
    assert probe.admit(KEY, at(31)).kind == "probe"

    probe.observe(KEY, OK, at(31))

    assert board(dynamodb).admit(KEY, at(31)).kind == "send"
    stored = breakers_table.get(dynamodb, TABLE, *KEY)
    assert (stored.consecutive_failures, stored.trips, stored.open_until) == (0, 0, None)
    # The next streak starts from the first backoff again.
    fail(dynamodb, 3, at(40))
    assert board(dynamodb).admit(KEY, at(41)).until == at(40 + 30)


def test_a_failed_probe_reopens_with_a_doubled_backoff_up_to_the_cap(dynamodb: Any) -> None:
    fail(dynamodb, 3, T0)
    opened_at, expected = 0.0, 30.0
    for backoff in (60.0, 100.0, 100.0):  # 30 * 2, 30 * 4 capped at 100, capped
        now = opened_at + expected + 1
        probe = board(dynamodb)
        assert probe.admit(KEY, at(now)).kind == "probe"
        probe.observe(KEY, FAIL, at(now))
        admission = board(dynamodb).admit(KEY, at(now))
        assert (admission.kind, admission.until) == ("pause", at(now + backoff))
        opened_at, expected = now, backoff
    assert breakers_table.get(dynamodb, TABLE, *KEY).trips == 4


def test_failures_of_attempts_in_flight_when_it_opened_do_not_extend_the_pause(dynamodb: Any) -> None:
    fail(dynamodb, 3, T0)
    fail(dynamodb, 2, at(1))

    assert board(dynamodb).admit(KEY, at(2)).until == at(30)
    assert breakers_table.get(dynamodb, TABLE, *KEY).trips == 1


def test_breakers_are_per_tenant_on_a_shared_host(dynamodb: Any) -> None:
    fail(dynamodb, 3, T0, key=("tenant-a", "hooks.zapier.com"))

    shared = board(dynamodb)
    shared.load([("tenant-a", "hooks.zapier.com"), ("tenant-b", "hooks.zapier.com")])
    assert shared.admit(("tenant-a", "hooks.zapier.com"), at(1)).kind == "pause"
    assert shared.admit(("tenant-b", "hooks.zapier.com"), at(1)).kind == "send"


def test_breaker_items_neither_bump_the_version_nor_show_as_subscriptions(
    dynamodb: Any, webhooks: Webhooks
) -> None:
    webhooks.subscribe("tenant-a", "https://hooks.example.com/a")
    before = subscriptions_table.versions(dynamodb, TABLE, ["tenant-a"])

    fail(dynamodb, 3, T0)
    board(dynamodb).observe(KEY, OK, at(1))

    assert subscriptions_table.versions(dynamodb, TABLE, ["tenant-a"]) == before
    assert len(subscriptions_table.list_subscriptions(dynamodb, TABLE, "tenant-a")) == 1
    assert [item.host for item in breakers_table.list_for_tenant(dynamodb, TABLE, "tenant-a")] == [KEY[1]]


def test_a_healthy_host_costs_no_write(dynamodb: Any) -> None:
    healthy = board(dynamodb)
    healthy.load([KEY])
    for _ in range(3):
        assert healthy.admit(KEY, T0).kind == "send"
        healthy.observe(KEY, OK, T0)

    assert breakers_table.list_for_tenant(dynamodb, TABLE, KEY[0]) == []


def test_a_threshold_of_zero_turns_it_off(dynamodb: Any) -> None:
    off = BreakerPolicy(threshold=0, open_seconds=30, max_open_seconds=100, probe_lease_seconds=20)
    for _ in range(10):
        board(dynamodb, off).observe(KEY, FAIL, T0)

    assert board(dynamodb, off).admit(KEY, T0).kind == "send"
    assert breakers_table.list_for_tenant(dynamodb, TABLE, KEY[0]) == []


def test_settings_default_to_five_failures_and_thirty_seconds_doubling_to_fifteen_minutes() -> None:
    policy = BreakerPolicy.of(DeliverySettings.local())
    assert (policy.threshold, policy.open_for(0), policy.open_for(1), policy.open_for(10)) == (
        5,
        30.0,
        60.0,
        900.0,
    )


# --- in the fanout and retry functions --------------------------------------------------------


@pytest.fixture
def breaker_on(webhooks: Webhooks, monkeypatch: pytest.MonkeyPatch) -> Callable[[float], Webhooks]:
    def turn_on(open_seconds: float) -> Webhooks:
        monkeypatch.setenv("BREAKER_FAILURE_THRESHOLD", "2")
        monkeypatch.setenv("BREAKER_OPEN_SECONDS", str(open_seconds))
        clear_webhook_caches()
        return webhooks

    return turn_on


def test_fanout_pauses_every_subscription_of_the_tenant_to_the_host_once_it_opens(
    breaker_on: Callable[[float], Webhooks],
    receiver: Callable[[], HTTPServer],
    lambda_context: LocalLambdaContext,
) -> None:
    # Given: two subscriptions of one tenant to one failing host, one of another tenant to it; once
    # open, the breaker stays open far longer than the batch takes, even on a loaded machine
    webhooks = breaker_on(8)
    server = receiver()
    server.expect_request("/a").respond_with_data("down", status=503)
    server.expect_request("/b").respond_with_data("down", status=503)
    server.expect_request("/c").respond_with_data("ok")
    first = webhooks.subscribe("t1", server.url_for("/a"))
    second = webhooks.subscribe("t1", server.url_for("/b"))
    other = webhooks.subscribe("t2", server.url_for("/c"))
    events = [webhooks.put_event("t1") for _ in range(4)]
    theirs = [webhooks.put_event("t2") for _ in range(4)]

    # When
    result = fanout_handler(webhooks.stream_event(*events, *theirs), lambda_context)

    # Then: t1's host got N attempts (plus at most one per other chain already in flight)
    assert result == {"batchItemFailures": []}
    paths = [request.path for request, _ in server.log]
    assert 2 <= paths.count("/a") + paths.count("/b") <= 3
    assert paths.count("/c") == 4
    records = [webhooks.delivery(event, sub) for event in events for sub in (first, second)]
    paused = [record for record in records if record.attempt_count == 0]
    assert len(paused) == 8 - (paths.count("/a") + paths.count("/b"))
    assert {record.state for record in paused} == {"retrying"}
    assert [webhooks.delivery(event, other).state for event in theirs] == ["delivered"] * 4
    # Each paused delivery is queued as its attempt 1, due when the breaker's pause ends.
    messages = [body(message) for message in webhooks.receive(webhooks.retry_queue_url, count=8, timeout=40)]
    stored = breakers_table.get(webhooks.dynamodb, TABLE, "t1", "127.0.0.1")
    due = datetime.fromtimestamp(stored.open_until or 0, UTC)
    pauses = [message for message in messages if message["attempt"] == 1]
    assert len(pauses) == len(paused)
    assert {datetime.fromisoformat(message["due_at"]) for message in pauses} == {due}
    # Paused deliveries start no failure streak: only the attempts made did.
    assert breakers_table.get(webhooks.dynamodb, TABLE, "t2", "127.0.0.1").consecutive_failures == 0


def test_retry_of_a_paused_host_is_requeued_and_not_sent(
    breaker_on: Callable[[float], Webhooks],
    receiver: Callable[[], HTTPServer],
    lambda_context: LocalLambdaContext,
) -> None:
    # Given: a delivery whose first attempt failed, then the breaker opened (for a minute)
    webhooks = breaker_on(60)
    server = receiver()
    server.expect_request("/a").respond_with_data("down", status=503)
    subscription = webhooks.subscribe("t1", server.url_for("/a"))
    event = webhooks.put_event("t1")
    fanout_handler(webhooks.stream_event(event), lambda_context)
    fail(webhooks.dynamodb, 2, datetime.now(UTC), key=("t1", "127.0.0.1"))  # 3 in a row: open
    retry = webhooks.receive(webhooks.retry_queue_url, count=1)
    sent = len(server.log)

    # When: its retry comes due
    result = retry_handler(sqs_event(retry), lambda_context)

    # Then: not sent, nothing recorded (no lease either), queued again (delayed until the pause ends)
    assert result == {"batchItemFailures": []}
    assert len(server.log) == sent
    delivery = webhooks.delivery(event, subscription)
    assert (delivery.attempt_count, delivery.state) == (1, "retrying")
    assert webhooks.queued(webhooks.retry_queue_url) == 1
    assert webhooks.subscription(subscription).status == "active"
