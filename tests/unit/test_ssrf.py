"""The SSRF guard: internal destinations are refused, the checked address is the one used."""

import socket

import pytest

from ingest.core import ssrf
from ingest.core.ssrf import BlockedDestination, check_url

BLOCKED_ADDRESSES = [
    "127.0.0.1",
    "127.5.6.7",
    "[::1]",
    "10.0.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "100.64.0.1",
    "169.254.169.254",
    "169.254.1.1",
    "[fd00:ec2::254]",
    "[fc00::1]",
    "[fe80::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:169.254.169.254]",
    "[::ffff:10.0.0.1]",
    "[::127.0.0.1]",
    "[2002:7f00:1::]",
    "[2002:a9fe:a9fe::]",
    "[64:ff9b::a9fe:a9fe]",
    "[64:ff9b::127.0.0.1]",
    "[2001:0:4136:e378:8000:63bf:f5ff:fffe]",
    "0.0.0.0",
    "[::]",
    "224.0.0.1",
    "239.255.255.250",
    "[ff02::1]",
    "240.0.0.1",
    "255.255.255.255",
]


@pytest.mark.parametrize("host", BLOCKED_ADDRESSES)
def test_internal_addresses_are_refused(host: str) -> None:
    with pytest.raises(BlockedDestination):
        check_url(f"https://{host}/hook", allow_loopback=False)


@pytest.mark.parametrize(
    "host", ["10.0.0.1", "169.254.169.254", "[fd00:ec2::254]", "[::ffff:127.0.0.1]", "0.0.0.0", "100.64.0.1"]
)
def test_allowing_loopback_allows_nothing_else(host: str) -> None:
    with pytest.raises(BlockedDestination):
        check_url(f"http://{host}/hook", allow_loopback=True)


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]"])
def test_loopback_is_allowed_only_when_configured(host: str) -> None:
    target = check_url(f"http://{host}:8080/hook", allow_loopback=True)

    assert target.address == host.strip("[]")
    assert target.port == 8080


def test_public_address_is_accepted_and_pinned() -> None:
    target = check_url("https://93.184.215.14/a/b?c=d", allow_loopback=False)

    assert (target.address, target.host, target.port, target.path) == (
        "93.184.215.14",
        "93.184.215.14",
        443,
        "/a/b?c=d",
    )


def test_dns_name_resolving_to_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ssrf, "resolve_host", lambda host, port: ["10.1.2.3"])

    with pytest.raises(BlockedDestination, match="private"):
        check_url("https://internal.example.com/hook", allow_loopback=False)


def test_dns_name_resolving_to_metadata_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ssrf, "resolve_host", lambda host, port: ["169.254.169.254"])

    with pytest.raises(BlockedDestination, match="metadata"):
        check_url("https://metadata.example.com/latest", allow_loopback=False)


def test_dns_name_with_one_private_answer_among_public_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ssrf, "resolve_host", lambda host, port: ["93.184.215.14", "127.0.0.1"])

    with pytest.raises(BlockedDestination, match="loopback"):
        check_url("https://rebind.example.com/hook", allow_loopback=False)


def test_dns_name_is_resolved_once_and_the_address_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    lookups: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[str]:
        lookups.append((host, port))
        return ["93.184.215.14"]

    monkeypatch.setattr(ssrf, "resolve_host", resolve)

    target = check_url("https://hooks.example.com/zap", allow_loopback=False)

    assert lookups == [("hooks.example.com", 443)]
    assert (target.address, target.host, target.host_header) == (
        "93.184.215.14",
        "hooks.example.com",
        "hooks.example.com",
    )


def test_unresolvable_host_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise socket.gaierror("Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)

    with pytest.raises(BlockedDestination, match="resolve"):
        check_url("https://does-not-exist.invalid/hook", allow_loopback=False)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://93.184.215.14/x",
        "file:///etc/passwd",
        "gopher://93.184.215.14/",
        "https:///no-host",
        "https://user:pass@93.184.215.14/",
        "https://93.184.215.14:99999/",
        "not a url",
        "",
    ],
)
def test_malformed_or_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(BlockedDestination):
        check_url(url, allow_loopback=False)


def test_plain_http_is_refused_when_https_is_required() -> None:
    with pytest.raises(BlockedDestination, match="https"):
        check_url("http://93.184.215.14/hook", allow_loopback=False, require_https=True)


def test_non_default_port_is_kept_in_host_header() -> None:
    assert check_url("http://127.0.0.1:8443/", allow_loopback=True).host_header == "127.0.0.1:8443"


DOCKER_HOST = frozenset({"host.docker.internal"})


def test_a_named_private_host_may_resolve_to_a_private_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ssrf, "resolve_host", lambda host, port: ["172.17.0.1"])

    target = check_url(
        "http://HOST.docker.internal:8787/webhook", allow_loopback=False, private_hosts=DOCKER_HOST
    )

    assert target.address == "172.17.0.1"


def test_a_named_private_host_still_may_not_reach_metadata_or_link_local(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for address in ("169.254.169.254", "169.254.10.10"):
        monkeypatch.setattr(ssrf, "resolve_host", lambda host, port, address=address: [address])
        with pytest.raises(BlockedDestination):
            check_url("http://host.docker.internal/webhook", allow_loopback=False, private_hosts=DOCKER_HOST)


def test_other_names_resolving_to_private_addresses_stay_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ssrf, "resolve_host", lambda host, port: ["172.17.0.1"])

    with pytest.raises(BlockedDestination, match="private address"):
        check_url("http://evil.example/webhook", allow_loopback=False, private_hosts=DOCKER_HOST)
