"""JSON whose payload stays the exact text the producer sent: parse it keeping each member's
source text, and splice such text back into a document.

The event payload is stored as the bytes the producer sent, so signatures and replays are
byte-faithful. The stdlib decoder gives us positions through ``raw_decode``; this module walks
the top level of an object (or an array of objects) and records the source span of each value.

Every request body is read strictly (`check_text`, then a decoder that refuses what it cannot
represent): no byte order mark, at most `MAX_DEPTH` nested arrays/objects, no NaN/Infinity, no
number beyond a 64-bit float's range (1e999999 would become infinity), no lone UTF-16
surrogate escape (`"\\ud800"`: not a character, refused by strict parsers and unencodable as
UTF-8), and no member repeated in an object the API reads. Inside an event's `payload`, which
the API never interprets, repeated members are kept as sent (see docs/decisions.md).
"""

import json
import math
import re
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

_WHITESPACE = " \t\n\r"
BYTE_ORDER_MARK = "\ufeff"
# Arrays/objects nested in a request body, the outermost counting as 1. Deep enough for any
# real document; shallow enough for every receiver's parser (Ruby's default limit is 100,
# serde_json's 128) and far from Python's recursion limit.
MAX_DEPTH = 64
# A 64-bit float's largest finite value has 309 integer digits.
_FLOAT_DIGITS = 309

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)


class MalformedJSON(ValueError):
    """The text is not valid JSON, or JSON the API refuses (the message completes "request body ...")."""


def _abbreviated(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _reject_constant(name: str) -> Any:
    raise MalformedJSON(f"is not valid JSON: {name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise MalformedJSON(f"holds a number beyond a 64-bit float's range: {_abbreviated(text)}")
    return value


def _finite_int(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits < _FLOAT_DIGITS:
        return int(text)
    if digits == _FLOAT_DIGITS:
        value = int(text)
        try:
            float(value)
        except OverflowError:
            pass
        else:
            return value
    raise MalformedJSON(f"holds a number beyond a 64-bit float's range: {_abbreviated(text)}")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise MalformedJSON(f"repeats member {json.dumps(name)} in one object")
            seen.add(name)
    return members


# Python's decoder accepts NaN and Infinity by default; RFC 8259 (and every consumer) does not.
# `_decoder` reads payloads (repeated members kept, as sent); `_unique_decoder` the documents
# the API interprets.
_decoder = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float, parse_int=_finite_int)
_unique_decoder = json.JSONDecoder(
    parse_constant=_reject_constant,
    parse_float=_finite_float,
    parse_int=_finite_int,
    object_pairs_hook=_unique_members,
)


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in JSON `text` (0 for a scalar)."""
    if text.count("[") + text.count("{") <= 1:
        return int("[" in text or "{" in text)
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(1 if bracket in "[{" else -1 for bracket in brackets), default=0)


def _lone_surrogate(text: str) -> int | None:
    """Where JSON `text` has a `\\uD800`-`\\uDFFF` escape that is not half of a pair, if anywhere."""
    if not _SURROGATE_ESCAPE.search(text):
        return None
    high_at = high_end = -1
    for escape in _ESCAPE.finditer(text):
        code = int(escape.group(1), 16) if escape.group(1) else -1
        if high_at >= 0:
            if 0xDC00 <= code <= 0xDFFF and escape.start() == high_end:
                high_at = -1
                continue
            return high_at
        if 0xD800 <= code <= 0xDBFF:
            high_at, high_end = escape.start(), escape.end()
        elif 0xDC00 <= code <= 0xDFFF:
            return escape.start()
    return high_at if high_at >= 0 else None


def check_text(text: str) -> None:
    """Refuse, before parsing, what no route accepts: an empty body, a byte order mark, nesting
    deeper than MAX_DEPTH, a lone surrogate escape."""
    if text.startswith(BYTE_ORDER_MARK):
        raise MalformedJSON("starts with a byte order mark (U+FEFF): send UTF-8 JSON without one")
    if not text.strip(_WHITESPACE):
        raise MalformedJSON("is empty")
    if text.count("[") + text.count("{") > MAX_DEPTH and nesting_depth(text) > MAX_DEPTH:
        raise MalformedJSON(f"nests arrays/objects more than {MAX_DEPTH} deep")
    position = _lone_surrogate(text)
    if position is not None:
        raise MalformedJSON(
            f"holds a lone UTF-16 surrogate {text[position : position + 6]} at position {position}: "
            "not a character"
        )


def loads(text: str) -> Any:
    """A request body the API interprets whole (every object's members unique), read strictly."""
    check_text(text)
    try:
        return _unique_decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise MalformedJSON(f"is not valid JSON: {exc.msg} at position {exc.pos}") from exc


@dataclass(frozen=True)
class RawObject:
    """A parsed JSON object plus the exact source text of each top-level member value."""

    values: dict[str, Any]
    raw: dict[str, str]
    is_object: bool = True


def _skip_ws(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def _expect(text: str, index: int, char: str) -> int:
    index = _skip_ws(text, index)
    if index >= len(text) or text[index] != char:
        found = repr(text[index]) if index < len(text) else "end of input"
        raise MalformedJSON(f"is not valid JSON: expected {char!r} at position {index}, found {found}")
    return index + 1


def _decode_value(text: str, index: int) -> tuple[Any, int]:
    try:
        return _decoder.raw_decode(text, index)
    except json.JSONDecodeError as exc:
        raise MalformedJSON(f"is not valid JSON: {exc.msg} at position {exc.pos}") from exc


def _parse_object(text: str, index: int) -> tuple[RawObject, int]:
    index = _expect(text, index, "{")
    values: dict[str, Any] = {}
    raw: dict[str, str] = {}
    index = _skip_ws(text, index)
    if index < len(text) and text[index] == "}":
        return RawObject(values, raw), index + 1
    while True:
        index = _skip_ws(text, index)
        key_at = index
        key, index = _decode_value(text, index)
        if not isinstance(key, str):
            raise MalformedJSON(f"is not valid JSON: object keys must be strings (position {key_at})")
        if key in values:
            raise MalformedJSON(f"repeats member {json.dumps(key)} at position {key_at}")
        index = _expect(text, index, ":")
        start = _skip_ws(text, index)
        value, index = _decode_value(text, start)
        values[key] = value
        raw[key] = text[start:index]
        index = _skip_ws(text, index)
        if index < len(text) and text[index] == ",":
            index += 1
            continue
        return RawObject(values, raw), _expect(text, index, "}")


def _ensure_end(text: str, index: int) -> None:
    index = _skip_ws(text, index)
    if index != len(text):
        raise MalformedJSON(f"is not valid JSON: extra data at position {index}")


def parse_objects(text: str) -> tuple[list[RawObject], bool]:
    """Parse one JSON object or an array of objects, strictly (`check_text`; an object's own
    members must be unique, the values inside them are kept as sent).

    Returns the objects and whether the document was an array (a batch).
    """
    check_text(text)
    start = _skip_ws(text, 0)
    if text[start] == "[":
        objects: list[RawObject] = []
        index = _skip_ws(text, start + 1)
        if index < len(text) and text[index] == "]":
            _ensure_end(text, index + 1)
            return objects, True
        while True:
            index = _skip_ws(text, index)
            if index < len(text) and text[index] != "{":
                # Valid JSON that is not an object is a schema problem (422), not malformed JSON.
                _, index = _decode_value(text, index)
                objects.append(RawObject({}, {}, is_object=False))
            else:
                obj, index = _parse_object(text, index)
                objects.append(obj)
            index = _skip_ws(text, index)
            if index < len(text) and text[index] == ",":
                index += 1
                continue
            index = _expect(text, index, "]")
            _ensure_end(text, index)
            return objects, True
    if text[start] == "{":
        obj, index = _parse_object(text, start)
        _ensure_end(text, index)
        return [obj], False
    # Valid JSON that is not an object or array is a schema problem (422), like a non-object item.
    _, index = _decode_value(text, start)
    _ensure_end(text, index)
    return [RawObject({}, {}, is_object=False)], False


def splice(document: str, name: str, raw: str) -> str:
    """`document` (a JSON object's text) with member `name` added last, its value `raw` verbatim."""
    return document[:-1] + ("," if document != "{}" else "") + json.dumps(name) + ":" + raw + "}"


def with_raw_member(fields: dict[str, Any], name: str, raw: str) -> str:
    """Compact JSON of `fields` plus member `name` whose value is the JSON text `raw`, unchanged."""
    return splice(json.dumps(fields, separators=(",", ":")), name, raw)
