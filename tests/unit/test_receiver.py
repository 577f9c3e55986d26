"""The local webhook receiver: signature verification with standardwebhooks, and fault injection."""

import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from standardwebhooks import Webhook

from devtools.receiver import Faults, Receiver, parse_duration
from ingest.subscriptions_table import new_secret

SECRET = new_secret()
BODY = json.dumps(
    {"id": "01JEVENT", "type": "order.created", "timestamp": "2026-01-01T00:00:00Z", "data": {}}
)


def signed_headers(secret: str, body: str = BODY, at: datetime | None = None) -> dict[str, str]:
    at = at or datetime.now(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": "01JEVENT",
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign("01JEVENT", at, body),
    }


def post(receiver: Receiver, headers: dict[str, str], body: str = BODY) -> requests.Response:
    return requests.post(receiver.url, data=body.encode(), headers=headers, timeout=10)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver([SECRET]) as running:
        yield running


def test_signed_delivery_is_verified_and_answered_200(receiver: Receiver) -> None:
    response = post(receiver, signed_headers(SECRET))
    assert response.status_code == 200
    [delivery] = receiver.deliveries
    assert (delivery.webhook_id, delivery.event_type, delivery.verified) == (
        "01JEVENT",
        "order.created",
        True,
    )
    assert delivery.json()["type"] == "order.created"


def test_signature_with_another_secret_is_rejected_with_401(receiver: Receiver) -> None:
    response = post(receiver, signed_headers(new_secret()))
    assert response.status_code == 401
    assert receiver.deliveries[0].verified is False


def test_tampered_body_is_rejected_with_401(receiver: Receiver) -> None:
    response = post(receiver, signed_headers(SECRET), body=BODY.replace("order.created", "order.paid"))
    assert response.status_code == 401


def test_missing_signature_headers_are_rejected_with_401(receiver: Receiver) -> None:
    assert post(receiver, {"content-type": "application/json"}).status_code == 401


def test_stale_timestamp_is_rejected_with_401(receiver: Receiver) -> None:
    old = datetime.now(UTC) - timedelta(hours=1)
    assert post(receiver, signed_headers(SECRET, at=old)).status_code == 401


def test_any_of_several_secrets_verifies_during_rotation() -> None:
    # Given a receiver that knows the new secret only
    new = new_secret()
    headers = signed_headers(SECRET)
    headers["webhook-signature"] += " " + Webhook(new).sign("01JEVENT", datetime.now(UTC), BODY)
    # When a delivery is signed with both the old and the new secret
    with Receiver([new]) as receiver:
        response = post(receiver, headers)
    # Then
    assert response.status_code == 200


def test_without_secrets_deliveries_are_accepted_unverified() -> None:
    with Receiver() as receiver:
        response = post(receiver, {"content-type": "application/json"})
        assert response.status_code == 200
        assert receiver.deliveries[0].verified is None


def test_status_fault_answers_that_status() -> None:
    with Receiver([SECRET], faults=Faults(status=503)) as receiver:
        assert post(receiver, signed_headers(SECRET)).status_code == 503
        assert receiver.deliveries[0].status == 503


def test_gone_fault_answers_410() -> None:
    with Receiver([SECRET], faults=Faults(gone=True)) as receiver:
        assert post(receiver, signed_headers(SECRET)).status_code == 410


def test_fail_rate_fails_that_fraction_of_deliveries() -> None:
    # Given a seeded 30 % failure rate
    faults = Faults(fail_rate=0.3)
    draws = random.Random(7)
    expected = [500 if draws.random() < 0.3 else 200 for _ in range(20)]
    # When
    with Receiver([SECRET], faults=faults, rng=random.Random(7)) as receiver:
        statuses = [post(receiver, signed_headers(SECRET)).status_code for _ in range(20)]
    # Then
    assert statuses == expected
    assert {200, 500} == set(statuses)


def test_fail_rate_one_fails_every_delivery() -> None:
    with Receiver([SECRET], faults=Faults(fail_rate=1.0)) as receiver:
        assert {post(receiver, signed_headers(SECRET)).status_code for _ in range(5)} == {500}


def test_latency_fault_delays_the_answer() -> None:
    with Receiver([SECRET], faults=Faults(latency=0.2)) as receiver:
        started = time.monotonic()
        response = post(receiver, signed_headers(SECRET))
        # A lower bound only: a slow machine can make it later, never earlier.
        assert time.monotonic() - started >= 0.2
        assert response.status_code == 200


def test_bad_signature_wins_over_faults() -> None:
    with Receiver([SECRET], faults=Faults(gone=True)) as receiver:
        assert post(receiver, signed_headers(new_secret())).status_code == 401


def test_wait_for_returns_once_enough_deliveries_arrived(receiver: Receiver) -> None:
    post(receiver, signed_headers(SECRET))
    post(receiver, signed_headers(SECRET))
    assert len(receiver.wait_for(2, timeout=5)) == 2


def test_wait_for_times_out_when_nothing_arrives(receiver: Receiver) -> None:
    with pytest.raises(TimeoutError):
        receiver.wait_for(1, timeout=0.1)


def test_summary_reports_id_type_and_verification(receiver: Receiver) -> None:
    post(receiver, signed_headers(SECRET))
    summary = receiver.deliveries[0].summary()
    assert "id=01JEVENT" in summary and "type=order.created" in summary and "verified=yes" in summary


def test_oversized_body_is_refused_with_413(receiver: Receiver) -> None:
    response = post(receiver, {"content-type": "application/json"}, body="x" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert receiver.deliveries == []


def test_receiver_binds_loopback_only(receiver: Receiver) -> None:
    assert receiver._server.server_address[0] == "127.0.0.1"


@pytest.mark.parametrize(("text", "seconds"), [("200ms", 0.2), ("1.5s", 1.5), ("250", 0.25)])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "fast", "-1s", "2m"])
def test_parse_duration_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("faults", [{"fail_rate": 1.5}, {"status": 42}, {"latency": -1.0}])
def test_invalid_faults_are_refused(faults: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Faults(**faults)  # type: ignore[arg-type]
