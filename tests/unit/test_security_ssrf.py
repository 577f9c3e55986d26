"""SSRF and header injection: the forms an attacker writes a target URL in, and what a hostile
or rebinding destination can do at delivery time. Complements tests/unit/test_ssrf.py (the
address classes) with real resolution of numeric and named hosts and real local receivers."""

import re
import socket
from collections.abc import Callable

import pytest
from pytest_httpserver import HTTPServer

from devtools.runner.lambda_context import LocalLambdaContext
from ingest.core import ssrf
from ingest.core.ssrf import BlockedDestination, check_url
from processors.fanout.handler import lambda_handler
from tests.unit.webhooks_support import Webhooks, clear_webhook_caches

Receiver = Callable[[], HTTPServer]

# Spellings the C resolver (inet_aton) reads as an internal IPv4 address: not IP literals to
# Python's ipaddress, so they reach getaddrinfo, which must not be trusted blindly.
NUMERIC_FORMS = {
    "2130706433": "decimal 127.0.0.1",
    "0x7f000001": "hex 127.0.0.1",
    "017700000001": "octal 127.0.0.1",
    "0177.0.0.1": "octal first octet",
    "0x7f.0.0.1": "hex first octet",
    "127.1": "short form",
    "0": "0.0.0.0",
    "167772161": "decimal 10.0.0.1",
    "012.0.0.1": "octal 10.0.0.1",
    "0xa9.0xfe.0xa9.0xfe": "hex metadata address",
    "2852039166": "decimal metadata address",
    "192.168.1": "short private form",
}
IPV6_FORMS = [
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:127.0.0.1]",
    "[::ffff:a9fe:a9fe]",
    "[::ffff:c0a8:101]",
    "[64:ff9b::10.0.0.1]",
    "[2002:c0a8:101::1]",
    "[fe80::1%25eth0]",
    "[::1%25lo]",
    "[fd12:3456:789a::1]",
    "[::ffff:0:0]",
]
FULLWIDTH_LOOPBACK = "\uff11\uff12\uff17.\uff10.\uff10.\uff11"  # "127.0.0.1" in fullwidth digits
NAMED_LOOPBACK = ["localhost", "LOCALHOST", "localhost.", FULLWIDTH_LOOPBACK]


@pytest.mark.parametrize("host", sorted(NUMERIC_FORMS))
def test_numeric_ipv4_spellings_of_internal_addresses_are_refused(host: str) -> None:
    with pytest.raises(BlockedDestination):
        check_url(f"http://{host}/hook", allow_loopback=False)


@pytest.mark.parametrize("host", ["0x7f000001", "2130706433", "127.1"])
def test_numeric_loopback_spellings_are_pinned_to_the_loopback_address(host: str) -> None:
    assert check_url(f"http://{host}:8080/hook", allow_loopback=True).address == "127.0.0.1"


@pytest.mark.parametrize("host", IPV6_FORMS)
def test_ipv6_and_ipv4_mapped_forms_of_internal_addresses_are_refused(host: str) -> None:
    with pytest.raises(BlockedDestination):
        check_url(f"https://{host}/hook", allow_loopback=False)


@pytest.mark.parametrize("host", ["[::ffff:10.0.0.1]", "[::ffff:a9fe:a9fe]", "[64:ff9b::a00:1]"])
def test_mapped_private_addresses_stay_refused_when_loopback_is_allowed(host: str) -> None:
    with pytest.raises(BlockedDestination):
        check_url(f"http://{host}/hook", allow_loopback=True)


@pytest.mark.parametrize("host", NAMED_LOOPBACK)
def test_names_resolving_to_loopback_are_refused(host: str) -> None:
    with pytest.raises(BlockedDestination):
        check_url(f"http://{host}/hook", allow_loopback=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://%31%32%37.0.0.1/hook",
        "http://127.0.0.1%00.example.com/hook",
        "http://[::1/hook",
        "http://93.184.215.14@127.0.0.1/hook",
        "http://:@127.0.0.1/hook",
    ],
)
def test_obfuscated_hosts_are_refused(url: str) -> None:
    with pytest.raises(BlockedDestination):
        check_url(url, allow_loopback=False)


def test_name_resolving_to_ipv4_mapped_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ssrf, "resolve_host", lambda host, port: ["::ffff:192.168.0.10"])

    with pytest.raises(BlockedDestination, match="private"):
        check_url("https://mapped.example.com/hook", allow_loopback=True)


def test_name_resolving_to_ipv6_with_zone_is_judged_without_the_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ssrf, "resolve_host", lambda host, port: ["fe80::1%eth0"])

    with pytest.raises(BlockedDestination, match="link-local"):
        check_url("https://zoned.example.com/hook", allow_loopback=True)


def _real_getaddrinfo_for(
    name: str, address: str
) -> Callable[..., list[tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[str, int]]]]:
    """getaddrinfo answering `address` for `name` (a DNS record we control) and the truth otherwise."""
    real = socket.getaddrinfo

    def lookup(host: str, port: int, *args: object, **kwargs: object) -> list:  # type: ignore[type-arg]
        if host == name:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)  # type: ignore[arg-type]

    return lookup


def test_delivery_rechecks_the_destination_so_dns_rebinding_is_refused(
    webhooks: Webhooks,
    receiver: Receiver,
    lambda_context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a subscription to a name, accepted when it was created
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", f"http://rebind.example:{server.port}/hook")
    monkeypatch.setenv("ALLOW_LOOPBACK_WEBHOOKS", "false")
    clear_webhook_caches()
    # When the name now answers with an internal address (the receiver's) at delivery time
    monkeypatch.setattr(socket, "getaddrinfo", _real_getaddrinfo_for("rebind.example", "127.0.0.1"))
    event = webhooks.put_event("t1")
    result = lambda_handler(webhooks.stream_event(event), lambda_context)

    # Then nothing is sent and the attempt is a failure naming the refusal
    assert result == {"batchItemFailures": []}
    assert server.log == []
    delivery = webhooks.delivery(event, subscription)
    assert delivery.state == "retrying"
    assert "BlockedDestination" in (delivery.attempts[0].error or "")


def test_delivery_connects_to_the_checked_address_and_presents_the_name(
    webhooks: Webhooks,
    receiver: Receiver,
    lambda_context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a name that resolves to the receiver (loopback allowed in this stage)
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    monkeypatch.setattr(socket, "getaddrinfo", _real_getaddrinfo_for("hooks.example", "127.0.0.1"))
    subscription = webhooks.subscribe("t1", f"http://hooks.example:{server.port}/hook")
    event = webhooks.put_event("t1")

    # When
    lambda_handler(webhooks.stream_event(event), lambda_context)

    # Then the request reached the checked address with the original Host
    request, _ = server.log[0]
    assert request.headers["Host"] == f"hooks.example:{server.port}"
    assert webhooks.delivery(event, subscription).state == "delivered"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_to_an_internal_address_is_not_followed(
    status: int, webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given an endpoint that redirects to another (internal) server
    internal = receiver()
    internal.expect_request("/admin").respond_with_data("secret")
    public = receiver()
    public.expect_request("/hook").respond_with_data(
        "", status=status, headers={"Location": internal.url_for("/admin")}
    )
    subscription = webhooks.subscribe("t1", public.url_for("/hook"))
    event = webhooks.put_event("t1")

    # When
    lambda_handler(webhooks.stream_event(event), lambda_context)

    # Then the redirect is a failed attempt and the internal server saw nothing
    assert internal.log == []
    delivery = webhooks.delivery(event, subscription)
    assert (delivery.state, delivery.attempts[0].status_code) == ("retrying", status)


def test_percent_encoded_crlf_in_the_path_stays_encoded_and_injects_no_header(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request(re.compile("^/hook")).respond_with_data("ok")
    webhooks.subscribe("t1", server.url_for("/") + "hook%0D%0AX-Injected:%201")

    lambda_handler(webhooks.stream_event(webhooks.put_event("t1")), lambda_context)

    request, _ = server.log[0]
    assert request.environ["REQUEST_URI"] == "/hook%0D%0AX-Injected:%201"
    assert "X-Injected" not in request.headers
    assert set(request.headers.keys()) <= {
        "Host",
        "Accept-Encoding",
        "Content-Type",
        "Content-Length",
        "User-Agent",
        "Webhook-Id",
        "Webhook-Timestamp",
        "Webhook-Signature",
    }


@pytest.mark.parametrize(
    "retry_after", ["\u00b2", "\u00b9\u00b2", "99999999999999999999999", "-1", "Thu, 01 Jan 1970"]
)
def test_hostile_retry_after_cannot_break_the_delivery(
    retry_after: str, webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("busy", status=503, headers={"Retry-After": retry_after})
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    event = webhooks.put_event("t1")

    result = lambda_handler(webhooks.stream_event(event), lambda_context)

    assert result == {"batchItemFailures": []}
    assert webhooks.delivery(event, subscription).state == "retrying"
