"""The no-loss invariant checker finds what it must: loss, duplicates, other bytes, bad signatures,
requests and letters nobody expected, outcome counts that do not add up, and late arrivals."""

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer
from standardwebhooks import Webhook

from devtools.invariant import (
    Accepted,
    Observed,
    Outcomes,
    Report,
    Stores,
    Watched,
    check,
    envelope,
    wait_for_invariant,
)
from devtools.receiver import Delivery
from ingest.core.settings import get_settings
from ingest.core.subscriptions_table import new_secret

TENANT = "t-1"
SUBSCRIPTION = "sub_1"
TARGET = "http://127.0.0.1/hook"
RECEIVED_AT = "2026-01-02T03:04:05.678Z"
PAYLOAD = '{ "n" : 1,"z":"caf\\u00e9", "a": [1.50, "é"] }'
EVENT = Accepted(TENANT, "01EVENT", "order.created", PAYLOAD)
BODY = (
    '{"id":"01EVENT","type":"order.created","timestamp":"2026-01-02T03:04:05.678Z","data":' + PAYLOAD + "}"
).encode()
SECRET = new_secret()
OTHER_SECRET = new_secret()
DELIVERED = Outcomes(delivered=1)
_serializer = TypeSerializer()


class FakeOpenSearch:
    def __init__(self, versions: dict[str, int]) -> None:
        self.versions = versions

    def mget(self, index: str, body: dict[str, Any], _source: bool) -> dict[str, Any]:
        return {
            "docs": [
                {"_id": i, "found": i in self.versions, "_version": self.versions.get(i)} for i in body["ids"]
            ]
        }


@pytest.fixture
def stores(aws: None) -> Stores:
    settings = get_settings()
    dynamodb = boto3.client("dynamodb")
    sqs = boto3.client("sqs")
    dlq_url = sqs.create_queue(QueueName="delivery-dlq")["QueueUrl"]
    put(dynamodb, settings.events_table, event_item(EVENT))
    return Stores(
        dynamodb=dynamodb,
        sqs=sqs,
        opensearch=FakeOpenSearch({EVENT.event_id: 2}),
        events_table=settings.events_table,
        deliveries_table=settings.deliveries_table,
        delivery_dlq_url=dlq_url,
        index_alias="events",
    )


def event_item(event: Accepted, **changes: Any) -> dict[str, Any]:
    return {
        "tenant_id": event.tenant_id,
        "event_id": event.event_id,
        "event_type": event.event_type,
        "received_at": RECEIVED_AT,
        "payload": event.payload,
        "rev": 2,
        **changes,
    }


def put(dynamodb: Any, table: str, item: dict[str, Any]) -> None:
    dynamodb.put_item(
        TableName=table, Item={name: _serializer.serialize(value) for name, value in item.items()}
    )


def record(stores: Stores, state: str, statuses: list[int], event: Accepted = EVENT) -> None:
    put(
        stores.dynamodb,
        stores.deliveries_table,
        {
            "event_id": event.event_id,
            "subscription_id": SUBSCRIPTION,
            "tenant_id": TENANT,
            "target_url": TARGET,
            "state": state,
            "attempts": [{"status_code": status} for status in statuses],
        },
    )


def letter(
    stores: Stores, event: Accepted = EVENT, subscription_id: str = SUBSCRIPTION, **changes: Any
) -> None:
    fields = {
        "event_id": event.event_id,
        "subscription_id": subscription_id,
        "tenant_id": TENANT,
        "target_url": TARGET,
        "attempts": [{}, {}],
        **changes,
    }
    text = json.dumps(fields)[:-1] + ',"envelope":' + BODY.decode() + "}"
    stores.sqs.send_message(QueueUrl=stores.delivery_dlq_url, MessageBody=text)


def request(
    status: int,
    *,
    body: bytes = BODY,
    secrets: tuple[str, ...] = (SECRET,),
    webhook_id: str | None = EVENT.event_id,
    signed_at: datetime | None = None,
) -> Delivery:
    """A request as the receiver records it, signed (like the sender) once per secret."""
    received_at = datetime.now(UTC)
    at = signed_at or received_at
    headers = {"content-type": "application/json", "webhook-timestamp": str(int(at.timestamp()))}
    if webhook_id is not None:
        headers["webhook-id"] = webhook_id
        headers["webhook-signature"] = " ".join(
            Webhook(secret).sign(webhook_id, at, body.decode()) for secret in secrets
        )
    return Delivery(webhook_id, EVENT.event_type, None, status, body, headers, received_at)


def watched(
    *requests: Delivery, secrets: tuple[str, ...] = (SECRET,), event_types: tuple[str, ...] = ("*",)
) -> list[Watched]:
    return [Watched(TENANT, SUBSCRIPTION, event_types, secrets, lambda: list(requests))]


def only(report: Report, category: str) -> list[str]:
    """The problems of one category, after asserting that no other category has any."""
    problems = {
        name: getattr(report, name)
        for name in (
            "missing_events",
            "not_indexed",
            "lost",
            "duplicated",
            "malformed",
            "unexpected",
            "miscounted",
            "unsettled",
        )
    }
    assert {name for name, found in problems.items() if found} == {category}, report.describe()
    found: list[str] = problems[category]
    return found


# ---------------------------------------------------------------------------------------------
# Delivered, dead-lettered, gone: the three settled outcomes.


def test_the_envelope_is_the_stored_time_and_the_producers_payload_text_unchanged() -> None:
    assert envelope(EVENT, event_item(EVENT)) == BODY
    occurred = envelope(EVENT, event_item(EVENT, occurred_at="2025-12-31T23:59:59Z"))
    assert json.loads(occurred)["timestamp"] == "2025-12-31T23:59:59Z"


def test_one_recorded_and_received_delivery_holds(stores: Stores) -> None:
    record(stores, "delivered", [500, 200])
    report = check(stores, [EVENT], watched(request(500), request(200)), expected=DELIVERED)
    assert report.ok, report.describe()
    assert report.outcomes == {"delivered": 1}
    assert report.observed == Observed(requests=2, records=1, attempts=2, letters=0)


def test_a_failed_delivery_with_one_full_letter_is_dead_lettered(stores: Stores) -> None:
    record(stores, "failed", [500, 500])
    letter(stores)
    report = check(stores, [EVENT], watched(request(500), request(500)), expected=Outcomes(dead_lettered=1))
    assert report.ok, report.describe()
    assert report.outcomes == {"dead-lettered": 1}


def test_a_410_recorded_gone_holds(stores: Stores) -> None:
    record(stores, "gone", [410])
    report = check(stores, [EVENT], watched(request(410)), expected=Outcomes(gone=1))
    assert report.ok, report.describe()


# ---------------------------------------------------------------------------------------------
# Lost.


def test_a_matching_subscription_without_a_delivery_record_is_a_loss(stores: Stores) -> None:
    report = check(stores, [EVENT], watched(), expected=DELIVERED)
    assert report.lost == [f"{EVENT.event_id} -> {SUBSCRIPTION}: no delivery record"]
    assert report.miscounted == ["outcomes missing 1, expected delivered 1"]


def test_a_delivery_still_retrying_is_not_settled(stores: Stores) -> None:
    record(stores, "retrying", [500])
    report = check(stores, [EVENT], watched(request(500)), expected=DELIVERED)
    assert "still retrying after 1 attempts" in report.lost[0]


def test_delivered_without_a_2xx_at_the_receiver_is_a_loss(stores: Stores) -> None:
    record(stores, "delivered", [200])
    report = check(stores, [EVENT], watched(request(500)), expected=DELIVERED)
    assert only(report, "lost")[0].endswith("the receiver never answered 2xx to its webhook-id")


def test_delivered_without_a_2xx_attempt_recorded_is_a_loss(stores: Stores) -> None:
    record(stores, "delivered", [500])
    report = check(stores, [EVENT], watched(request(200)), expected=DELIVERED)
    assert only(report, "lost")[0].endswith("state delivered without a 2xx attempt")


def test_a_failed_delivery_needs_a_dlq_letter(stores: Stores) -> None:
    record(stores, "failed", [500, 500])
    report = check(stores, [EVENT], watched(), expected=Outcomes(dead_lettered=1))
    assert only(report, "lost")[0].endswith("failed but no DLQ letter")


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"tenant_id": "t-2"}, "letter names another tenant"),
        ({"target_url": "http://elsewhere/"}, "letter lacks the target URL"),
        ({"attempts": [{}]}, "letter has 1 attempts, the record 2"),
    ],
)
def test_a_letter_without_its_full_context_is_a_loss(
    stores: Stores, changes: dict[str, Any], problem: str
) -> None:
    record(stores, "failed", [500, 500])
    letter(stores, **changes)
    report = check(stores, [EVENT], watched(), expected=Outcomes(dead_lettered=1))
    assert only(report, "lost")[0].endswith(problem)


def test_a_letter_whose_envelope_is_not_the_signed_bytes_is_a_loss(stores: Stores) -> None:
    record(stores, "failed", [500, 500])
    reformatted = {"id": EVENT.event_id, "type": EVENT.event_type, "data": json.loads(PAYLOAD)}
    fields: dict[str, Any] = {
        "event_id": EVENT.event_id,
        "subscription_id": SUBSCRIPTION,
        "tenant_id": TENANT,
    }
    fields |= {"target_url": TARGET, "attempts": [{}, {}], "envelope": reformatted}
    stores.sqs.send_message(QueueUrl=stores.delivery_dlq_url, MessageBody=json.dumps(fields))
    report = check(stores, [EVENT], watched(), expected=Outcomes(dead_lettered=1))
    assert only(report, "lost")[0].endswith("letter lacks the signed envelope byte for byte")


def test_gone_without_a_410_from_the_receiver_is_a_loss(stores: Stores) -> None:
    record(stores, "gone", [410])
    report = check(stores, [EVENT], watched(request(500)), expected=Outcomes(gone=1))
    assert only(report, "lost")[0].endswith("gone without a 410 from the receiver")


def test_an_event_missing_or_indexed_at_an_older_rev_is_reported(stores: Stores) -> None:
    record(stores, "delivered", [200])
    other = Accepted(TENANT, "01OTHER", "order.created", PAYLOAD)
    stale = replace(stores, opensearch=FakeOpenSearch({EVENT.event_id: 1}))
    report = check(stale, [EVENT, other], watched(request(200)), expected=DELIVERED)
    assert report.missing_events == [other.event_id]
    assert report.not_indexed == [f"{EVENT.event_id}: index version 1, table rev 2"]


# ---------------------------------------------------------------------------------------------
# Duplicated.


def test_a_second_2xx_at_the_receiver_is_a_duplicate_unless_allowed(stores: Stores) -> None:
    record(stores, "delivered", [200])
    twice = watched(request(200), request(200))
    assert only(check(stores, [EVENT], twice, expected=DELIVERED), "duplicated") == [
        f"{EVENT.event_id} -> {SUBSCRIPTION}: the receiver answered 2xx 2 times"
    ]
    assert check(stores, [EVENT], twice, expected=DELIVERED, receiver_duplicates_allowed=1).ok


def test_more_2xx_than_allowed_at_the_receiver_is_a_duplicate(stores: Stores) -> None:
    record(stores, "delivered", [200])
    thrice = watched(request(200), request(200), request(200))
    report = check(stores, [EVENT], thrice, expected=DELIVERED, receiver_duplicates_allowed=1)
    assert only(report, "duplicated")[0].endswith("answered 2xx 3 times (at most 2 allowed)")


def test_two_successful_attempts_recorded_are_a_duplicate(stores: Stores) -> None:
    record(stores, "delivered", [200, 200])
    report = check(stores, [EVENT], watched(request(200)), expected=DELIVERED)
    assert only(report, "duplicated")[0].endswith("2 successful attempts recorded")


def test_two_letters_for_one_pair_are_a_duplicate(stores: Stores) -> None:
    record(stores, "failed", [500, 500])
    letter(stores)
    letter(stores)
    report = check(stores, [EVENT], watched(), expected=Outcomes(dead_lettered=1))
    assert only(report, "duplicated")[0].endswith("2 DLQ letters")


def test_delivered_and_also_dead_lettered_is_a_duplicate(stores: Stores) -> None:
    record(stores, "delivered", [200])
    letter(stores, attempts=[{}])
    report = check(stores, [EVENT], watched(request(200)), expected=DELIVERED)
    assert only(report, "duplicated")[0].endswith("delivered and also dead-lettered")


# ---------------------------------------------------------------------------------------------
# Malformed: other bytes than the envelope, a signature that does not verify.


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(json.loads(BODY)).encode(),
        BODY.replace(b"1.50", b"1.5"),
        BODY.replace(RECEIVED_AT.encode(), b"2026-01-02T03:04:05Z"),
        BODY.replace(b'"01EVENT"', b'"01OTHER"'),
        BODY + b"\n",
    ],
    ids=["re-serialized", "number-normalized", "other-timestamp", "other-id", "trailing-newline"],
)
def test_a_request_whose_body_is_not_the_envelope_byte_for_byte_is_malformed(
    stores: Stores, body: bytes
) -> None:
    record(stores, "delivered", [200])
    report = check(stores, [EVENT], watched(request(200, body=body)), expected=DELIVERED)
    assert "body is not the envelope" in only(report, "malformed")[0]


def test_a_failed_attempt_with_other_bytes_is_malformed_too(stores: Stores) -> None:
    record(stores, "delivered", [500, 200])
    report = check(stores, [EVENT], watched(request(500, body=b"{}"), request(200)), expected=DELIVERED)
    assert "answered 500: body is not the envelope" in only(report, "malformed")[0]


@pytest.mark.parametrize(
    "delivery",
    [
        request(200, secrets=(OTHER_SECRET,)),
        request(200, secrets=()),
        request(200, webhook_id=None),
        request(200, signed_at=datetime.now(UTC) - timedelta(minutes=6)),
        request(200, signed_at=datetime.now(UTC) + timedelta(minutes=6)),
    ],
    ids=["other-secret", "no-signature", "no-webhook-id", "signed-long-before", "signed-after"],
)
def test_a_request_without_a_valid_signature_is_malformed(stores: Stores, delivery: Delivery) -> None:
    record(stores, "delivered", [200])
    if delivery.webhook_id is None:
        delivery = replace(delivery, webhook_id=EVENT.event_id)
    report = check(stores, [EVENT], watched(delivery), expected=DELIVERED)
    assert only(report, "malformed")[0].endswith("no valid signature with the subscription's secret(s)")


def test_a_signature_is_checked_against_its_arrival_not_the_time_of_the_check(stores: Stores) -> None:
    record(stores, "delivered", [200])
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    delivery = replace(request(200, signed_at=long_ago), received_at=long_ago + timedelta(seconds=3))
    assert check(stores, [EVENT], watched(delivery), expected=DELIVERED).ok


@pytest.mark.parametrize(
    ("signed_with", "subscription_secrets"),
    [
        ((SECRET, OTHER_SECRET), (OTHER_SECRET,)),
        ((SECRET,), (SECRET, OTHER_SECRET)),
        ((OTHER_SECRET,), (SECRET, OTHER_SECRET)),
    ],
    ids=["both-signatures-new-secret", "old-secret-during-rotation", "new-secret-during-rotation"],
)
def test_during_a_rotation_either_secret_verifies(
    stores: Stores, signed_with: tuple[str, ...], subscription_secrets: tuple[str, ...]
) -> None:
    record(stores, "delivered", [200])
    delivery = request(200, secrets=signed_with)
    assert check(stores, [EVENT], watched(delivery, secrets=subscription_secrets), expected=DELIVERED).ok


def test_a_stored_payload_other_than_the_producers_text_is_malformed(stores: Stores) -> None:
    put(stores.dynamodb, stores.events_table, event_item(EVENT, payload=json.dumps(json.loads(PAYLOAD))))
    record(stores, "delivered", [200])
    report = check(stores, [EVENT], watched(request(200)), expected=DELIVERED)
    assert only(report, "malformed") == [
        f"{EVENT.event_id}: the events table holds another payload than was sent"
    ]


# ---------------------------------------------------------------------------------------------
# Unexpected: requests and letters for pairs no subscription matches.


def test_a_delivery_to_a_subscription_of_other_event_types_is_unexpected(stores: Stores) -> None:
    report = check(stores, [EVENT], watched(request(200), event_types=("order.paid",)), expected=Outcomes())
    assert only(report, "unexpected") == [
        f"{EVENT.event_id} -> {SUBSCRIPTION}: 1 request(s) answered 200, but no accepted event of it matches"
    ]


def test_a_request_after_a_subscription_was_disabled_is_unexpected_whatever_it_answered(
    stores: Stores,
) -> None:
    later = Accepted(TENANT, "01LATER", "order.created", PAYLOAD)
    put(stores.dynamodb, stores.events_table, event_item(later))
    stores = replace(stores, opensearch=FakeOpenSearch({EVENT.event_id: 2, later.event_id: 2}))
    record(stores, "gone", [410])
    only_first = Watched(
        TENANT,
        SUBSCRIPTION,
        ("*",),
        (SECRET,),
        lambda: [request(410), request(410, webhook_id=later.event_id)],
        expected=frozenset({EVENT.event_id}),
    )
    report = check(stores, [EVENT, later], [only_first], expected=Outcomes(gone=1))
    assert only(report, "unexpected")[0].startswith(f"{later.event_id} -> {SUBSCRIPTION}: 1 request(s)")


def test_a_request_without_a_webhook_id_is_unexpected(stores: Stores) -> None:
    record(stores, "delivered", [200])
    anonymous = replace(request(200), webhook_id=None)
    report = check(stores, [EVENT], watched(request(200), anonymous), expected=DELIVERED)
    assert only(report, "unexpected")[0].startswith("(no webhook-id) -> ")


def test_a_dead_letter_for_a_pair_nobody_expected_is_unexpected(stores: Stores) -> None:
    record(stores, "delivered", [200])
    letter(stores, subscription_id="sub_unwatched")
    report = check(stores, [EVENT], watched(request(200)), expected=DELIVERED)
    assert only(report, "unexpected") == [
        f"{EVENT.event_id} -> sub_unwatched: 1 DLQ letter(s), but it matches no subscription"
    ]


# ---------------------------------------------------------------------------------------------
# Outcome counts.


def test_an_unexpected_dead_letter_fails_the_expected_counts(stores: Stores) -> None:
    record(stores, "failed", [500, 500])
    letter(stores)
    report = check(stores, [EVENT], watched(request(500), request(500)), expected=DELIVERED)
    assert only(report, "miscounted") == ["outcomes dead-lettered 1, expected delivered 1"]


def test_outcomes_that_do_not_add_up_to_the_expected_numbers_fail(stores: Stores) -> None:
    record(stores, "delivered", [200])
    delivered = watched(request(200))
    assert only(check(stores, [EVENT], delivered, expected=Outcomes(delivered=2)), "miscounted")
    assert only(check(stores, [EVENT], delivered, expected=Outcomes(delivered=1, gone=1)), "miscounted")
    assert only(check(stores, [EVENT], delivered, expected=Outcomes()), "miscounted") == [
        "outcomes delivered 1, expected none"
    ]


def test_expected_counts_cannot_be_negative() -> None:
    with pytest.raises(ValueError):
        Outcomes(delivered=-1)


# ---------------------------------------------------------------------------------------------
# The quiet period.


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = 0
        self.on_sleep: Callable[[int], None] = lambda sleeps: None

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.sleeps += 1
        self.on_sleep(self.sleeps)


def scripted(*reports: Report) -> Callable[[], Report]:
    """A probe answering `reports` in turn, then the last one for ever."""
    remaining: Iterator[Report] = iter(reports)
    last = reports[-1]

    def probe() -> Report:
        nonlocal last
        last = next(remaining, last)
        return last

    return probe


def ok(requests: int = 1) -> Report:
    return Report(observed=Observed(requests=requests, records=1, attempts=1))


def failing() -> Report:
    return Report(lost=["01EVENT -> sub_1: no delivery record"])


def test_the_invariant_passes_only_after_it_held_for_the_quiet_period() -> None:
    clock = Clock()
    report = wait_for_invariant(
        scripted(failing(), ok(), ok(), ok(), ok()),
        timeout=60,
        every=1,
        quiet=2,
        clock=clock,
        sleep=clock.sleep,
    )
    assert report.ok
    assert clock.now == 3.0


def test_anything_new_arriving_restarts_the_quiet_period() -> None:
    clock = Clock()
    report = wait_for_invariant(
        scripted(ok(1), ok(2), ok(2), ok(3), ok(3), ok(3)),
        timeout=60,
        every=1,
        quiet=2,
        clock=clock,
        sleep=clock.sleep,
    )
    assert report.ok and report.observed.requests == 3
    assert clock.now == 5.0


def test_a_report_that_never_stays_the_same_for_the_quiet_period_is_unsettled() -> None:
    clock = Clock()
    counts = iter(range(1, 1000))
    report = wait_for_invariant(
        lambda: ok(next(counts)), timeout=5, every=1, quiet=2, clock=clock, sleep=clock.sleep
    )
    assert not report.ok
    assert report.unsettled and "quiet period" in report.unsettled[0]


def test_a_report_never_ok_is_returned_when_the_time_is_up() -> None:
    clock = Clock()
    report = wait_for_invariant(
        scripted(failing()), timeout=5, every=1, quiet=2, clock=clock, sleep=clock.sleep
    )
    assert report.lost and not report.unsettled
    assert clock.now == 6.0


def test_a_quiet_period_of_zero_passes_at_the_first_ok_report() -> None:
    clock = Clock()
    assert wait_for_invariant(scripted(ok()), timeout=5, quiet=0, clock=clock, sleep=clock.sleep).ok
    assert clock.sleeps == 0


def test_a_late_duplicate_arriving_during_the_quiet_period_fails_the_check(stores: Stores) -> None:
    record(stores, "delivered", [200])
    received = [request(200)]
    subscription = Watched(TENANT, SUBSCRIPTION, ("*",), (SECRET,), lambda: list(received))
    clock = Clock()
    # The first check is OK; a second 2xx for the same webhook-id arrives a second later.
    clock.on_sleep = lambda sleeps: received.append(request(200)) if sleeps == 1 else None
    report = wait_for_invariant(
        lambda: check(stores, [EVENT], [subscription], expected=DELIVERED),
        timeout=5,
        every=1,
        quiet=2,
        clock=clock,
        sleep=clock.sleep,
    )
    assert only(report, "duplicated")[0].endswith("the receiver answered 2xx 2 times")
