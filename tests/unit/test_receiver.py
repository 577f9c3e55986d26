"""The local webhook receiver: signature verification with standardwebhooks, and fault injection."""

import json
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from standardwebhooks import Webhook

from devtools import cli
from devtools.receiver import Faults, Receiver, container_target, parse_duration, register_secret
from ingest.core.subscriptions_table import new_secret

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


def test_max_failures_per_id_caps_the_failures_of_each_webhook_id() -> None:
    with Receiver([SECRET], faults=Faults(fail_rate=1.0, max_failures_per_id=2)) as receiver:
        statuses = [post(receiver, signed_headers(SECRET)).status_code for _ in range(4)]
    assert statuses == [500, 500, 200, 200]


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


@pytest.mark.parametrize(
    "faults", [{"fail_rate": 1.5}, {"status": 42}, {"latency": -1.0}, {"max_failures_per_id": -1}]
)
def test_invalid_faults_are_refused(faults: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Faults(**faults)  # type: ignore[arg-type]


def test_bad_content_length_is_refused_with_400(receiver: Receiver) -> None:
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as conn:
        conn.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
        assert conn.recv(64).startswith(b"HTTP/1.1 400")
    assert receiver.deliveries == []


def test_receiver_command_parses_fault_options() -> None:
    args = cli.build_parser().parse_args(
        [
            *("receiver", "--port", "9999", "--secret", SECRET, "--secret", "whsec_b2xk", "--status", "503"),
            *("--fail-rate", "0.3", "--latency", "200ms", "--gone"),
        ]
    )
    assert (args.port, args.secret, args.status) == (9999, [SECRET, "whsec_b2xk"], 503)
    assert (args.fail_rate, args.latency, args.gone) == (0.3, pytest.approx(0.2), True)


@pytest.mark.parametrize("option", [["--fail-rate", "1.5"], ["--latency", "soon"]])
def test_receiver_command_rejects_bad_fault_options(option: list[str]) -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["receiver", *option])


def test_receiver_command_reports_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    with Receiver() as busy:
        assert cli.main(["receiver", "--port", str(busy.port)]) == 1
    assert f"cannot listen on 127.0.0.1:{busy.port}" in capsys.readouterr().err


def test_subscribe_command_without_key_fails_before_calling(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("TRIGGERS_API_KEY", raising=False)
    monkeypatch.setattr("devtools.target.STATE_FILE", tmp_path / "no-stack.json")
    assert cli.main(["subscribe", "http://127.0.0.1:9/x", "--api-url", "http://127.0.0.1:9"]) == 2
    assert "TRIGGERS_API_KEY" in capsys.readouterr().err


def control(receiver: Receiver, suffix: str = "") -> str:
    return f"http://127.0.0.1:{receiver.port}/_receiver{suffix}"


def test_control_endpoint_counts_deliveries_by_status_and_verification(receiver: Receiver) -> None:
    post(receiver, signed_headers(SECRET))
    post(receiver, signed_headers(new_secret()))

    status = requests.get(control(receiver), timeout=10).json()

    assert (status["deliveries"], status["verified"], status["by_status"]) == (2, 1, {"200": 1, "401": 1})


def test_faults_can_be_injected_and_healed_over_http(receiver: Receiver) -> None:
    broken = requests.put(control(receiver, "/faults"), json={"status": 503}, timeout=10)
    during = post(receiver, signed_headers(SECRET)).status_code
    requests.put(control(receiver, "/faults"), json={}, timeout=10)
    after = post(receiver, signed_headers(SECRET)).status_code

    assert (broken.status_code, broken.json()["faults"]["status"], during, after) == (200, 503, 503, 200)


@pytest.mark.parametrize(
    "body", [b"not json", b"[1]", b'{"status": 99}', b'{"fail_rate": 2}', b'{"unknown": 1}', b"x" * 5000]
)
def test_malformed_or_oversized_fault_settings_are_refused_and_change_nothing(
    receiver: Receiver, body: bytes
) -> None:
    response = requests.put(control(receiver, "/faults"), data=body, timeout=10)

    assert response.status_code == 400
    assert post(receiver, signed_headers(SECRET)).status_code == 200


def test_a_secret_added_over_http_verifies_later_deliveries() -> None:
    other = new_secret()
    with Receiver([SECRET]) as receiver:
        before = post(receiver, signed_headers(other)).status_code
        added = requests.post(control(receiver, "/secrets"), json={"secret": other}, timeout=10)
        after = post(receiver, signed_headers(other)).status_code
        refused = requests.post(control(receiver, "/secrets"), json={"nope": 1}, timeout=10)

    assert (before, added.status_code, after, refused.status_code) == (401, 200, 200, 400)


def test_receiver_listens_on_loopback_by_default() -> None:
    with Receiver() as receiver:
        assert receiver._server.server_address[0] == "127.0.0.1"
        assert receiver.loopback_only


def test_receiver_listens_where_it_is_told_and_is_reached_at_127_0_0_1_and_by_containers() -> None:
    # Given a receiver for LocalStack's containers, on every interface
    with Receiver([SECRET], host="0.0.0.0") as receiver:
        # When a signed delivery arrives at the URL this machine uses
        response = post(receiver, signed_headers(SECRET))

        # Then it listens on every interface, is reached on loopback, and names the container URL
        assert receiver._server.server_address[0] == "0.0.0.0"
        assert not receiver.loopback_only
        assert receiver.url == f"http://127.0.0.1:{receiver.port}/webhook"
        assert receiver.container_url == f"http://host.docker.internal:{receiver.port}/webhook"
        assert response.status_code == 200


def test_receiver_command_warns_loudly_when_it_listens_beyond_loopback() -> None:
    # Given `triggers receiver --host 0.0.0.0` running
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.cli", "receiver", "--host", "0.0.0.0", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)

    # Then it says where containers reach it, and warns that it is exposed
    assert lines[0].startswith("Receiving webhooks at http://127.0.0.1:")
    assert lines[2].strip().startswith("uv run triggers subscribe http://host.docker.internal:")
    assert "WARNING: listening on 0.0.0.0, not 127.0.0.1. This is for LocalStack only" in err
    assert process.returncode == 0


def test_receiver_command_takes_a_host() -> None:
    assert cli.build_parser().parse_args(["receiver"]).host == "127.0.0.1"
    assert cli.build_parser().parse_args(["receiver", "--host", "0.0.0.0"]).host == "0.0.0.0"


def test_a_host_docker_internal_target_is_this_machines_receiver(receiver: Receiver) -> None:
    # Given a subscription target as LocalStack's functions name this machine
    secret = new_secret()
    target = f"http://host.docker.internal:{receiver.port}/webhook"

    # When `triggers subscribe` hands its secret to the receiver
    registered = register_secret(target, secret)

    # Then the receiver on 127.0.0.1 verifies deliveries signed with it
    assert registered
    assert post(receiver, signed_headers(secret)).status_code == 200
    assert receiver.deliveries[-1].verified is True


@pytest.mark.parametrize(
    ("target", "api_url", "instead"),
    [
        (
            "http://127.0.0.1:8787/webhook",
            "http://abc.lambda-url.us-east-1.localhost.localstack.cloud:4566",
            "http://host.docker.internal:8787/webhook",
        ),
        (
            "http://localhost/hook?x=1",
            "http://localhost.localstack.cloud:4566",
            "http://host.docker.internal/hook?x=1",
        ),
        ("http://127.0.0.1:8787/webhook", "http://127.0.0.1:3000", None),
        (
            "http://host.docker.internal:8787/webhook",
            "http://x.lambda-url.us-east-1.localhost.localstack.cloud:4566",
            None,
        ),
        (
            "https://hooks.example.com/x",
            "http://x.lambda-url.us-east-1.localhost.localstack.cloud:4566",
            None,
        ),
    ],
)
def test_loopback_targets_are_redirected_to_the_docker_host_only_on_localstack(
    target: str, api_url: str, instead: str | None
) -> None:
    assert container_target(target, api_url) == instead


def test_subscribe_refuses_a_loopback_target_when_the_functions_run_in_localstack(
    capsys: pytest.CaptureFixture[str],
) -> None:
    api_url = "http://abc.lambda-url.us-east-1.localhost.localstack.cloud:4566"

    code = cli.main(
        ["subscribe", "http://127.0.0.1:8787/webhook", "--api-url", api_url, "--api-key", "trg_x"]
    )

    assert code == 2
    assert "subscribe http://host.docker.internal:8787/webhook" in capsys.readouterr().err
