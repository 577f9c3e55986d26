"""Signing, envelope and the pinned-address HTTP transport, against real local HTTP servers."""

import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import standardwebhooks
import svix.webhooks
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from devtools.stack import free_port
from ingest.core.events_table import EventItem
from ingest.core.ssrf import ResolvedTarget, check_url
from processors.webhooks.signing import envelope, signed_headers
from processors.webhooks.transport import Sender, TransportSettings

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
# Timeouts far beyond what a loaded machine takes to answer on 127.0.0.1 (TLS handshake included);
# the one test of a timeout uses its own short one.
SETTINGS = TransportSettings(connect_timeout=10, read_timeout=10, response_cap=64, max_connections_per_host=2)


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=free_port(), threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def sender() -> Iterator[Sender]:
    sender = Sender(SETTINGS)
    yield sender
    sender.close()


def target(server: HTTPServer, path: str = "/hook") -> ResolvedTarget:
    return check_url(server.url_for(path), allow_loopback=True)


def event(payload: str = '{"a": 1}') -> EventItem:
    return EventItem(
        tenant_id="t1",
        event_id="01JEVENT0000000000000000000",
        event_type="order.created",
        occurred_at="2026-01-01T00:00:00.000Z",
        received_at="2026-01-01T00:00:01.000Z",
        payload=payload,
        expires_at=2_000_000_000,
    )


def test_envelope_splices_payload_text_unchanged() -> None:
    payload = '{ "amount" : 1.50, "big": 1e400, "name": "caf\\u00e9",  "nested": {"x": [1,2]} }'

    body = envelope(event(payload))

    assert body == (
        '{"id":"01JEVENT0000000000000000000","type":"order.created",'
        '"timestamp":"2026-01-01T00:00:00.000Z","data":' + payload + "}"
    )


def test_signature_verifies_with_standardwebhooks_and_svix() -> None:
    body = envelope(event())

    headers = signed_headers("msg_1", body, [SECRET], datetime.now(UTC))

    assert standardwebhooks.Webhook(SECRET).verify(body, headers)["data"] == {"a": 1}
    svix.webhooks.Webhook(SECRET).verify(body, headers)


def test_both_secrets_sign_during_rotation() -> None:
    body = envelope(event())

    headers = signed_headers("msg_1", body, [SECRET, OLD_SECRET], datetime.now(UTC))

    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (SECRET, OLD_SECRET):
        svix.webhooks.Webhook(secret).verify(body, headers)


def test_tampered_body_does_not_verify() -> None:
    body = envelope(event())
    headers = signed_headers("msg_1", body, [SECRET], datetime.now(UTC))

    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(SECRET).verify(body.replace("1", "2"), headers)


def test_post_reaches_pinned_address_with_original_host_header(server: HTTPServer, sender: Sender) -> None:
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    checked = target(server)
    pinned = ResolvedTarget(
        url=f"http://hooks.example.test:{server.port}/hook",
        scheme="http",
        host="hooks.example.test",
        port=checked.port,
        path="/hook",
        address="127.0.0.1",
    )

    response = sender.post(pinned, b"{}", {"content-type": "application/json"})

    assert response.status_code == 200
    request, _ = server.log[0]
    assert request.headers["Host"] == f"hooks.example.test:{server.port}"


def test_redirect_is_not_followed(server: HTTPServer, sender: Sender) -> None:
    server.expect_request("/hook").respond_with_data("", status=302, headers={"Location": "/elsewhere"})
    server.expect_request("/elsewhere").respond_with_data("should not be reached")

    response = sender.post(target(server), b"{}", {})

    assert response.status_code == 302
    assert not response.ok
    assert [request.path for request, _ in server.log] == ["/hook"]


def test_response_body_is_read_up_to_the_cap(server: HTTPServer, sender: Sender) -> None:
    server.expect_request("/hook").respond_with_data("x" * 100_000, status=500)

    response = sender.post(target(server), b"{}", {})

    assert response.status_code == 500
    assert response.body == "x" * SETTINGS.response_cap


def test_connection_is_reused_after_a_small_response(server: HTTPServer, sender: Sender) -> None:
    server.expect_request("/hook").respond_with_data("ok")

    first = sender.post(target(server), b"{}", {})
    second = sender.post(target(server), b"{}", {})

    assert (first.status_code, second.status_code) == (200, 200)


def test_hanging_endpoint_times_out(server: HTTPServer) -> None:
    release = threading.Event()

    def hang(request: Request) -> Response:
        release.wait(30)
        return Response("late")

    server.expect_request("/hook").respond_with_handler(hang)
    sender = Sender(replace(SETTINGS, read_timeout=1))

    try:
        response = sender.post(target(server), b"{}", {})
    finally:
        release.set()
        sender.close()

    assert response.status_code is None
    assert response.error is not None and "Timeout" in response.error


def test_refused_connection_is_an_error(sender: Sender) -> None:
    closed = check_url(f"http://127.0.0.1:{free_port()}/hook", allow_loopback=True)

    response = sender.post(closed, b"{}", {})

    assert response.status_code is None
    assert response.error is not None


def test_retry_after_header_is_returned(server: HTTPServer, sender: Sender) -> None:
    server.expect_request("/hook").respond_with_data("slow down", status=429, headers={"Retry-After": "120"})

    response = sender.post(target(server), b"{}", {})

    assert (response.status_code, response.retry_after) == (429, "120")


def test_https_to_plain_http_server_fails_tls(server: HTTPServer, sender: Sender) -> None:
    server.expect_request("/hook").respond_with_data("ok")

    response = sender.post(check_url(f"https://127.0.0.1:{server.port}/hook", allow_loopback=True), b"{}", {})

    assert response.status_code is None
    assert response.error is not None and "SSL" in response.error


@dataclass(frozen=True)
class Pki:
    ca_file: str
    server_context: ssl.SSLContext


def make_pki(tmp_path: Path, host: str) -> Pki:
    """A throwaway CA and a server certificate for `host`, issued by it."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return Pki(str(ca_file), context)


@pytest.fixture
def tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HTTPServer]:
    """An HTTPS receiver on 127.0.0.1 with a certificate for hooks.example.test, trusted via SSL_CERT_FILE."""
    pki = make_pki(tmp_path, "hooks.example.test")
    monkeypatch.setenv("SSL_CERT_FILE", pki.ca_file)
    server = HTTPServer(host="127.0.0.1", port=free_port(), ssl_context=pki.server_context, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def pinned(server: HTTPServer, host: str) -> ResolvedTarget:
    return ResolvedTarget(
        url=f"https://{host}:{server.port}/hook",
        scheme="https",
        host=host,
        port=server.port,
        path="/hook",
        address="127.0.0.1",
    )


def test_https_to_pinned_address_verifies_certificate_for_original_host(
    tls_server: HTTPServer, sender: Sender
) -> None:
    tls_server.expect_request("/hook", method="POST").respond_with_data("ok")

    response = sender.post(pinned(tls_server, "hooks.example.test"), b"{}", {})

    assert response.status_code == 200
    request, _ = tls_server.log[0]
    assert request.headers["Host"] == f"hooks.example.test:{tls_server.port}"


def test_https_certificate_for_another_host_is_refused(tls_server: HTTPServer, sender: Sender) -> None:
    tls_server.expect_request("/hook").respond_with_data("ok")

    response = sender.post(pinned(tls_server, "other.example.test"), b"{}", {})

    assert response.status_code is None
    assert response.error is not None and "SSL" in response.error
    assert tls_server.log == []
