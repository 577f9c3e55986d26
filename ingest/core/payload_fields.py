"""A payload's leaves as `path=value` keywords: what field-scoped search (`payload.customer.id:42`) matches.

One `keyword` field (`payload_fields`) holds every tenant's paths, so producers' field names never
become index mappings. The indexer writes `payload_fields(item.payload)`; the search turns
`payload.<path>:<value>` into a term on `entry(path, value)`. Both sides share the rules here:

- a path is the object keys from the payload's root, joined with `.`; array positions are dropped
  (`{"items": [{"sku": "A1"}]}` gives `items.sku=A1`);
- only keys matching `KEY_PATTERN` are addressable, at most `MAX_DEPTH` of them deep;
- strings are kept as they are; numbers in one canonical form (`1.50`, `1.5e0` → `1.5`; `42.0` → `42`);
  booleans `true`/`false`; `null` gives no entry;
- entries longer than `MAX_ENTRY_CHARS`, or holding a lone surrogate (`"\\ud800"`), are left out
  (found by full-text search only), and a document keeps its first `MAX_FIELDS` distinct entries
  in payload order.
"""

import json
import re
from typing import Any

KEY_PATTERN = r"[\w$@-]{1,64}"
MAX_DEPTH = 8
MAX_FIELDS = 256
MAX_ENTRY_CHARS = 256
# Arrays add nesting but not path segments: bound the walk by both.
MAX_NESTING = 32
NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_KEY = re.compile(KEY_PATTERN)
_EXACT_INTEGERS = 2**53


def canonical_number(value: int | float) -> str:
    """The one spelling of a JSON number that index and query agree on."""
    if isinstance(value, float) and value.is_integer() and abs(value) < _EXACT_INTEGERS:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def scalar_text(value: Any) -> str | None:
    """A leaf as it is indexed; None for null (and anything that is not a JSON scalar)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return canonical_number(value)
    if isinstance(value, str):
        return value
    return None


def entry(path: str, value: str) -> str:
    return f"{path}={value}"


def value_spellings(text: str) -> list[str]:
    """What a query value matches: itself, and its canonical form when it is a JSON number."""
    spellings = [text]
    if NUMBER.fullmatch(text):
        canonical = canonical_number(json.loads(text))
        if canonical != text:
            spellings.append(canonical)
    return spellings


def is_key(key: str) -> bool:
    return _KEY.fullmatch(key) is not None


def payload_fields(payload: str) -> list[str]:
    """The `path=value` entries of a payload's JSON text (an object), bounded as the module says."""
    try:
        root = json.loads(payload)
    except ValueError:
        return []
    found: dict[str, None] = {}
    _walk(root, (), 0, found)
    return list(found)


def _utf8(text: str) -> bool:
    """False for strings holding lone surrogates (`"\\ud800"` is valid JSON): not sendable as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _walk(value: Any, path: tuple[str, ...], nesting: int, found: dict[str, None]) -> None:
    if len(found) >= MAX_FIELDS or nesting > MAX_NESTING:
        return
    if isinstance(value, dict):
        if len(path) == MAX_DEPTH:
            return
        for key, child in value.items():
            if is_key(key):
                _walk(child, (*path, key), nesting + 1, found)
    elif isinstance(value, list):
        for child in value:
            _walk(child, path, nesting + 1, found)
    elif path:
        text = scalar_text(value)
        if text is not None and _utf8(text):
            line = entry(".".join(path), text)
            if len(line) <= MAX_ENTRY_CHARS and len(found) < MAX_FIELDS:
                found[line] = None
