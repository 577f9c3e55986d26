"""Refuse webhook targets that point inside the network, and pin the address that was checked.

The host is resolved once; every address it resolves to must be public (a mixed answer is
refused), and the transport connects to the checked address, so a DNS answer that changes
between check and connect (DNS rebinding) cannot redirect the request.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64_PREFIXES = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
DEFAULT_PORTS = {"http": 80, "https": 443}


class BlockedDestination(ValueError):
    """The URL is not an allowed webhook destination (scheme, host or address)."""


@dataclass(frozen=True)
class ResolvedTarget:
    """A checked URL: where to connect (`address`) and what to present (`host` for Host/SNI)."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    address: str

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (the one DNS lookup of a delivery)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise BlockedDestination(f"cannot resolve host {host!r}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    embedded: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        embedded.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        embedded.append(address.sixtofour)
    if address.teredo is not None:
        embedded.extend(address.teredo)
    if address in IPV4_COMPATIBLE and int(address) > 1:
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if any(address in prefix for prefix in NAT64_PREFIXES):
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return embedded


def blocked_reason(address: IPAddress, *, allow_loopback: bool) -> str | None:
    """Why `address` may not receive webhooks, or None when it may."""
    if address in METADATA_ADDRESSES:
        return "cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        for inner in _embedded_ipv4(address):
            reason = blocked_reason(inner, allow_loopback=False)
            if reason is not None:
                return f"{reason} (embedded in {address})"
    if address.is_loopback:
        return None if allow_loopback else "loopback address"
    checks = (
        (address.is_unspecified, "unspecified address"),
        (address.is_multicast, "multicast address"),
        (address.is_link_local, "link-local address"),
        (isinstance(address, ipaddress.IPv4Address) and address in CGNAT, "carrier-grade NAT address"),
        (address.is_private, "private address"),
        (address.is_reserved, "reserved address"),
        (not address.is_global, "non-public address"),
    )
    return next((reason for blocked, reason in checks if blocked), None)


# What a host named in `private_hosts` may resolve to (LocalStack's host.docker.internal).
PRIVATE_HOST_ALLOWS = {"private address", "loopback address"}


def check_url(
    url: str,
    *,
    allow_loopback: bool,
    require_https: bool = False,
    private_hosts: frozenset[str] = frozenset(),
    allowed_ports: frozenset[int] | None = None,
) -> ResolvedTarget:
    """Validate a webhook URL and resolve it once; raise BlockedDestination when refused.

    A host named in `private_hosts` may resolve to a private or loopback address (never to
    metadata, link-local or other special ranges): a local stage's way to reach its host machine.
    `allowed_ports` (None: any) are the ports the URL may name, explicitly or by its scheme.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedDestination(f"malformed URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise BlockedDestination("URL scheme must be http or https")
    if require_https and scheme != "https":
        raise BlockedDestination("URL scheme must be https")
    if parts.username is not None or parts.password is not None:
        raise BlockedDestination("URL must not carry credentials")
    host = parts.hostname
    if not host:
        raise BlockedDestination("URL has no host")
    port = port or DEFAULT_PORTS[scheme]
    if allowed_ports is not None and port not in allowed_ports:
        allowed = ", ".join(str(number) for number in sorted(allowed_ports))
        raise BlockedDestination(f"port {port} is not allowed for webhooks (allowed: {allowed})")
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = [ipaddress.ip_address(address.split("%", 1)[0]) for address in resolve_host(host, port)]
    if not addresses:
        raise BlockedDestination(f"host {host!r} has no address")
    for address in addresses:
        reason = blocked_reason(address, allow_loopback=allow_loopback)
        if reason in PRIVATE_HOST_ALLOWS and host.lower() in private_hosts:
            continue
        if reason is not None:
            raise BlockedDestination(f"destination refused: {reason}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return ResolvedTarget(url=url, scheme=scheme, host=host, port=port, path=path, address=str(addresses[0]))
