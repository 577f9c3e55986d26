"""JSON whose payload stays the exact text the producer sent: parse it keeping each member's
source text, and splice such text back into a document.

The event payload is stored as the bytes the producer sent, so signatures and replays are
byte-faithful. The stdlib decoder gives us positions through ``raw_decode``; this module walks
the top level of an object (or an array of objects) and records the source span of each value.
"""

import json
from dataclasses import dataclass
from typing import Any

_WHITESPACE = " \t\n\r"


class MalformedJSON(ValueError):
    """The text is not valid JSON (or not the expected shape)."""


def _reject_constant(name: str) -> Any:
    raise MalformedJSON(f"{name} is not valid JSON")


# Python's decoder accepts NaN and Infinity by default; RFC 8259 (and every consumer) does not.
_decoder = json.JSONDecoder(parse_constant=_reject_constant)


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
        raise MalformedJSON(f"expected {char!r} at position {index}, found {found}")
    return index + 1


def _decode_value(text: str, index: int) -> tuple[Any, int]:
    try:
        return _decoder.raw_decode(text, index)
    except json.JSONDecodeError as exc:
        raise MalformedJSON(f"{exc.msg} at position {exc.pos}") from exc
    except RecursionError as exc:
        raise MalformedJSON(f"JSON nested too deeply (value at position {index})") from exc


def _parse_object(text: str, index: int) -> tuple[RawObject, int]:
    index = _expect(text, index, "{")
    values: dict[str, Any] = {}
    raw: dict[str, str] = {}
    index = _skip_ws(text, index)
    if index < len(text) and text[index] == "}":
        return RawObject(values, raw), index + 1
    while True:
        index = _skip_ws(text, index)
        key, index = _decode_value(text, index)
        if not isinstance(key, str):
            raise MalformedJSON(f"object keys must be strings (position {index})")
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
        raise MalformedJSON(f"extra data at position {index}")


def parse_objects(text: str) -> tuple[list[RawObject], bool]:
    """Parse one JSON object or an array of objects.

    Returns the objects and whether the document was an array (a batch).
    """
    start = _skip_ws(text, 0)
    if start < len(text) and text[start] == "[":
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
    if start < len(text) and text[start] == "{":
        obj, index = _parse_object(text, start)
        _ensure_end(text, index)
        return [obj], False
    if start == len(text):
        raise MalformedJSON("request body is empty")
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
