"""Custom request headers a subscriber sets on its deliveries (e.g. `Authorization: Bearer …`).

Names are RFC 9110 tokens; values are visible ASCII, spaces and tabs (no CR, LF or other control
character, so no header can be smuggled in), without leading or trailing whitespace. Refused
names, because the transport or the signature owns them or because they change how the message
is framed or routed: the hop-by-hop headers (Connection, Keep-Alive, TE, Trailer,
Transfer-Encoding, Upgrade, Proxy-*), Host, Content-* (the body is signed JSON), Webhook-* (the
Standard Webhooks headers), User-Agent (names the sender), Expect (changes the exchange). Names
are case-insensitive: two that differ only in case are one header.

Values are credentials: each is stored as KMS ciphertext under the subscription's owner context
(ingest/core/credentials.py), and only a masked hint (`Bearer ****abcd`) is ever returned.
"""

import re
from collections.abc import Mapping

MAX_HEADERS = 10
MAX_NAME_CHARS = 64
MAX_VALUE_BYTES = 1024
# Names and values together, after a PATCH is merged.
MAX_TOTAL_BYTES = 4096
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
VALUE = re.compile(r"[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?")
REFUSED_NAMES = frozenset(
    {
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "user-agent",
        "expect",
    }
)
REFUSED_PREFIXES = ("proxy-", "content-", "webhook-")
# A value shorter than this is masked whole; a longer one shows its last characters.
REVEAL_FROM_CHARS = 16
REVEAL_CHARS = 4
MASK = "****"


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a custom header, or None when it can."""
    if not TOKEN.fullmatch(name):
        return "a header name is a token: letters, digits and !#$%&'*+-.^_`|~"
    if len(name) > MAX_NAME_CHARS:
        return f"a header name is at most {MAX_NAME_CHARS} characters"
    lowered = name.lower()
    if lowered in REFUSED_NAMES or lowered.startswith(REFUSED_PREFIXES):
        return f"{name} is set by the delivery itself and cannot be configured"
    return None


def value_problem(value: str) -> str | None:
    """Why `value` cannot be a header value, or None when it can."""
    if len(value.encode()) > MAX_VALUE_BYTES:
        return f"a header value is at most {MAX_VALUE_BYTES} bytes"
    if not VALUE.fullmatch(value):
        return (
            "a header value is visible ASCII characters, spaces and tabs, not empty, without "
            "leading or trailing whitespace (no CR, LF or other control character)"
        )
    return None


def check_set(sizes: Mapping[str, int]) -> str | None:
    """Why a subscription's whole set of headers (name → value bytes) is refused, or None."""
    lowered = [name.lower() for name in sizes]
    if len(set(lowered)) != len(lowered):
        return "header names are case-insensitive: the same name is given twice"
    if len(sizes) > MAX_HEADERS:
        return f"a subscription has at most {MAX_HEADERS} custom headers"
    total = sum(len(name) + size for name, size in sizes.items())
    if total > MAX_TOTAL_BYTES:
        return f"custom headers take at most {MAX_TOTAL_BYTES} bytes, names and values together ({total})"
    return None


def mask(value: str) -> str:
    """What may be shown of a value: an auth scheme (`Bearer`, `Basic`) and, for a long value, its
    last four characters (`Bearer ****abcd`); never enough to use it."""
    scheme, _, credential = value.partition(" ")
    if not credential or not TOKEN.fullmatch(scheme):
        scheme, credential = "", value
    shown = credential[-REVEAL_CHARS:] if len(credential) >= REVEAL_FROM_CHARS else ""
    return f"{scheme} {MASK}{shown}" if scheme else MASK + shown
