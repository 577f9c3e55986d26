"""Look for signing secrets (and other credentials) in stored items: every attribute of every
item (nested ones too), in every form a secret could take there: the `whsec_` string, its key
bytes, their base64 (standard, URL-safe, unpadded) and hex, and inside any base64 run (e.g. of
a wrapped value)."""

import base64
import binascii
import re
from collections.abc import Iterable, Iterator
from typing import Any

BASE64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{16,}={0,2}")


def secret_forms(secret: str) -> set[bytes]:
    """The byte strings that would give `secret` away: a signing secret (`whsec_…`) or any other
    credential (a custom header's value), as text and in the encodings below."""
    if secret.startswith("whsec_"):
        body = secret.removeprefix("whsec_")
        raw = base64.b64decode(body)
        forms = {secret.encode(), body.encode(), raw}
    else:
        raw = secret.encode()
        forms = {raw}
    for value in (secret.encode(), raw):
        for encoded in (base64.b64encode(value), base64.urlsafe_b64encode(value)):
            forms |= {encoded, encoded.rstrip(b"=")}
        forms.add(value.hex().encode())
    return forms


def attribute_bytes(value: dict[str, Any]) -> Iterator[bytes]:
    """Every scalar of a DynamoDB-typed attribute value, as bytes (map keys included)."""
    for kind, inner in value.items():
        if kind in ("S", "N"):
            yield inner.encode()
        elif kind == "B":
            yield bytes(inner)
        elif kind in ("SS", "NS"):
            yield from (member.encode() for member in inner)
        elif kind == "BS":
            yield from (bytes(member) for member in inner)
        elif kind == "L":
            for member in inner:
                yield from attribute_bytes(member)
        elif kind == "M":
            for name, member in inner.items():
                yield name.encode()
                yield from attribute_bytes(member)


def _decoded(data: bytes) -> Iterator[bytes]:
    """`data`, and what each base64-looking run in it decodes to."""
    yield data
    for run in BASE64_RUN.findall(data):
        bare = run.rstrip(b"=")
        padded = bare + b"=" * (-len(bare) % 4)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                yield decode(padded)
            except (binascii.Error, ValueError):
                continue


def leaks(items: Iterable[dict[str, Any]], secrets: Iterable[str]) -> list[str]:
    """`<attribute> of <keys>` for every attribute of `items` (DynamoDB-typed) holding a secret."""
    forms = [form for secret in secrets for form in secret_forms(secret)]
    found = []
    for item in items:
        keys = {name: item[name] for name in ("tenant_id", "subscription_id") if name in item}
        for name, value in item.items():
            for data in attribute_bytes(value):
                if any(form in candidate for candidate in _decoded(data) for form in forms):
                    found.append(f"{name} of {keys}")
                    break
    return found


def scan_all(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    """Every item of `table` (consistent Scan, all pages)."""
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items.extend(page.get("Items", []))
    return items
