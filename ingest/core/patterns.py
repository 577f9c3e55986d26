"""Content filters: EventBridge-style event patterns over an event's `event_type`, `source` and
`payload` (docs/webhooks.md, "Content filters"; why not a library: docs/decisions.md).

A pattern is a JSON object. Its members are ANDed; a member's value is either an object (a
pattern for the nested object of the same name) or a non-empty array of matchers, ORed. A
matcher is a JSON scalar (exact match: strings case-sensitively, numbers by value, `true`,
`false`, `null`) or an object with one operator:

    {"prefix": "ord"}   {"suffix": ".png"}   {"equals-ignore-case": "EU"}
    {"prefix": {"equals-ignore-case": "ord"}}   {"suffix": {"equals-ignore-case": ".PNG"}}
    {"anything-but": "x" | 5 | ["x", "y"] | [1, 2] | {"prefix": "x"} | {"suffix": "x"}
                     | {"equals-ignore-case": "x" | ["x", "y"]}}
    {"numeric": [">", 0, "<=", 100]}   {"numeric": ["=", 5]}
    {"exists": true | false}

As in EventBridge: a field holding an array matches when any of its elements does (arrays of
objects are searched element by element for nested patterns); `exists` and every other matcher
apply to leaves (scalars), so an object is not a leaf; `exists: false` matches an absent field
(also when its parent is absent); `anything-but` and `numeric` need the field to be present, and
`numeric`, `prefix` and `suffix` match only numbers and strings respectively.

`check` validates a pattern (raising PatternError naming the bad path); `matches` evaluates a
checked pattern against a document.
"""

import contextlib
import json
import math
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

# The members a pattern may name at its top level (the parts of an event a filter can see).
FIELDS = ("event_type", "source", "payload")
MAX_PATTERN_BYTES = 4096
MAX_DEPTH = 10  # nested objects, the pattern itself counting as 1
MAX_MATCHERS = 100
MAX_STRING = 256
OPERATORS = ("prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists")
LOWER_BOUNDS = (">", ">=")
UPPER_BOUNDS = ("<", "<=")
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "=": lambda value, bound: value == bound,
    ">": lambda value, bound: value > bound,
    ">=": lambda value, bound: value >= bound,
    "<": lambda value, bound: value < bound,
    "<=": lambda value, bound: value <= bound,
}


class PatternError(ValueError):
    """A pattern the grammar refuses; `path` names the offending member (`payload.amount.0`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def _join(path: str, part: str | int) -> str:
    return f"{path}.{part}" if path else str(part)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | bool) or _is_number(value)


# --- validation ------------------------------------------------------------------------------


def check(pattern: Any) -> None:
    """Raise PatternError unless `pattern` is a pattern this module can evaluate, within bounds."""
    if not isinstance(pattern, dict) or not pattern:
        raise PatternError("", "a filter is a non-empty JSON object")
    size = len(json.dumps(pattern, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_PATTERN_BYTES:
        raise PatternError("", f"a filter is at most {MAX_PATTERN_BYTES} bytes as JSON (this one: {size})")
    for name in pattern:
        if name not in FIELDS:
            raise PatternError(name, f"unknown field; a filter names {', '.join(FIELDS)}")
    counted = [0]
    _check_object(pattern, "", 1, counted)


def _check_object(pattern: dict[str, Any], path: str, depth: int, counted: list[int]) -> None:
    if depth > MAX_DEPTH:
        raise PatternError(path, f"nested deeper than {MAX_DEPTH} objects")
    if not pattern:
        raise PatternError(path, "an empty object matches nothing; name at least one field")
    for name, value in pattern.items():
        where = _join(path, name)
        if isinstance(value, dict):
            _check_object(value, where, depth + 1, counted)
        elif isinstance(value, list):
            if not value:
                raise PatternError(where, "an empty list matches nothing; list at least one value")
            for index, matcher in enumerate(value):
                counted[0] += 1
                if counted[0] > MAX_MATCHERS:
                    raise PatternError(where, f"a filter holds at most {MAX_MATCHERS} values")
                _check_matcher(matcher, _join(where, index))
        else:
            raise PatternError(where, "must be a list of values to match, or an object of nested fields")


def _check_string(value: Any, path: str) -> None:
    if not isinstance(value, str):
        raise PatternError(path, "must be a string")
    if len(value) > MAX_STRING:
        raise PatternError(path, f"at most {MAX_STRING} characters")


def _check_matcher(matcher: Any, path: str) -> None:
    if _is_scalar(matcher):
        if isinstance(matcher, str) and len(matcher) > MAX_STRING:
            raise PatternError(path, f"at most {MAX_STRING} characters")
        return
    if isinstance(matcher, list):
        raise PatternError(path, "a list inside a list of values is not a pattern")
    if len(matcher) != 1:
        raise PatternError(path, f"an operator object has exactly one of: {', '.join(OPERATORS)}")
    [(operator, operand)] = matcher.items()
    where = _join(path, operator)
    if operator in ("prefix", "suffix"):
        if isinstance(operand, dict):
            _check_ignore_case(operand, where, lists=False)
        else:
            _check_string(operand, where)
    elif operator == "equals-ignore-case":
        _check_string(operand, where)
    elif operator == "anything-but":
        _check_anything_but(operand, where)
    elif operator == "numeric":
        _check_numeric(operand, where)
    elif operator == "exists":
        if not isinstance(operand, bool):
            raise PatternError(where, "must be true or false")
    else:
        raise PatternError(where, f"unknown operator; use one of: {', '.join(OPERATORS)}")


def _check_ignore_case(operand: dict[str, Any], path: str, *, lists: bool) -> None:
    if list(operand) != ["equals-ignore-case"]:
        raise PatternError(path, 'the only operator allowed here is "equals-ignore-case"')
    value, where = operand["equals-ignore-case"], _join(path, "equals-ignore-case")
    if lists and isinstance(value, list):
        _check_list(value, where, str)
    else:
        _check_string(value, where)


def _check_list(values: list[Any], path: str, kind: type) -> None:
    if not values:
        raise PatternError(path, "must list at least one value")
    for index, value in enumerate(values):
        if kind is str:
            _check_string(value, _join(path, index))
        elif not _is_number(value):
            raise PatternError(_join(path, index), "must be a number, like the list's first value")


def _check_anything_but(operand: Any, path: str) -> None:
    if isinstance(operand, str):
        _check_string(operand, path)
    elif _is_number(operand):
        return
    elif isinstance(operand, list):
        kind: type = str if operand and isinstance(operand[0], str) else float
        _check_list(operand, path, kind)
    elif isinstance(operand, dict):
        if len(operand) != 1:
            raise PatternError(path, 'has exactly one of "prefix", "suffix", "equals-ignore-case"')
        [(operator, value)] = operand.items()
        if operator in ("prefix", "suffix"):
            _check_string(value, _join(path, operator))
        elif operator == "equals-ignore-case":
            _check_ignore_case(operand, path, lists=True)
        else:
            raise PatternError(_join(path, operator), 'use "prefix", "suffix" or "equals-ignore-case"')
    else:
        raise PatternError(path, "must be a string, a number, a list of either, or a prefix/suffix object")


def _check_numeric(operand: Any, path: str) -> None:
    shape = 'a list like [">", 0] or [">=", 0, "<", 10]'
    if not isinstance(operand, list) or len(operand) not in (2, 4):
        raise PatternError(path, f"must be {shape}")
    for index in range(0, len(operand), 2):
        operator, bound = operand[index], operand[index + 1]
        if operator not in COMPARISONS:
            raise PatternError(_join(path, index), f"comparison must be one of {', '.join(COMPARISONS)}")
        if not _is_number(bound) or not math.isfinite(bound):
            raise PatternError(_join(path, index + 1), "must be a finite number")
    if len(operand) == 4:
        (low_op, low, high_op, high) = operand
        if low_op not in LOWER_BOUNDS or high_op not in UPPER_BOUNDS:
            raise PatternError(path, 'a range is a lower bound (">" or ">=") then an upper ("<" or "<=")')
        if not low < high:
            raise PatternError(path, "the lower bound must be below the upper bound")


# --- evaluation ------------------------------------------------------------------------------


def matches(pattern: Mapping[str, Any], document: Any) -> bool:
    """Whether `document` (JSON values) matches the checked `pattern`."""
    return _match_object(pattern, document)


@lru_cache(maxsize=4096)
def parse(text: str) -> dict[str, Any]:
    """A stored filter (JSON text), parsed once per process. Treat the result as read-only."""
    pattern: dict[str, Any] = json.loads(text)
    return pattern


def event_document(event_type: str, source: str | None, payload: str) -> dict[str, Any]:
    """What a filter sees of an event: its type, its source (absent when it has none) and its
    payload parsed (absent if the stored text does not parse, which ingest never lets happen)."""
    document: dict[str, Any] = {"event_type": event_type}
    if source is not None:
        document["source"] = source
    with contextlib.suppress(ValueError):
        document["payload"] = json.loads(payload)
    return document


def _members(value: Any, name: str) -> list[Any]:
    """The values `name` takes in `value`: arrays of objects are searched element by element."""
    if isinstance(value, dict):
        return [value[name]] if name in value else []
    if isinstance(value, list):
        return [found for element in value for found in _members(element, name)]
    return []


def _match_object(pattern: Mapping[str, Any], value: Any) -> bool:
    for name, sub in pattern.items():
        found = _members(value, name)
        if isinstance(sub, dict):
            # An absent object is matched as an empty one: only `exists: false` holds inside it.
            if not any(_match_object(sub, candidate) for candidate in found or [{}]):
                return False
        elif not _match_leaf(sub, found):
            return False
    return True


def _leaves(found: list[Any]) -> list[Any]:
    leaves: list[Any] = []
    for value in found:
        if isinstance(value, list):
            leaves.extend(element for element in value if _is_scalar(element))
        elif _is_scalar(value):
            leaves.append(value)
    return leaves


def _match_leaf(matchers: list[Any], found: list[Any]) -> bool:
    leaves = _leaves(found)
    for matcher in matchers:
        if isinstance(matcher, dict) and "exists" in matcher:
            if bool(leaves) == matcher["exists"]:
                return True
        elif any(_match_value(matcher, leaf) for leaf in leaves):
            return True
    return False


def _equal(expected: Any, value: Any) -> bool:
    if _is_number(expected):
        return _is_number(value) and value == expected
    if isinstance(expected, bool):
        return isinstance(value, bool) and value is expected
    return type(value) is type(expected) and value == expected


def _ignore_case(operand: Any) -> tuple[bool, Any]:
    if isinstance(operand, dict):
        return True, operand["equals-ignore-case"]
    return False, operand


def _affix(operator: str, operand: Any, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    folded, affix = _ignore_case(operand)
    if folded:
        value, affix = value.casefold(), affix.casefold()
    return value.startswith(affix) if operator == "prefix" else value.endswith(affix)


def _match_value(matcher: Any, value: Any) -> bool:
    if not isinstance(matcher, dict):
        return _equal(matcher, value)
    [(operator, operand)] = matcher.items()
    if operator in ("prefix", "suffix"):
        return _affix(operator, operand, value)
    if operator == "equals-ignore-case":
        return isinstance(value, str) and value.casefold() == operand.casefold()
    if operator == "numeric":
        return _is_number(value) and all(
            COMPARISONS[operand[index]](value, operand[index + 1]) for index in range(0, len(operand), 2)
        )
    if operator == "anything-but":
        return _anything_but(operand, value)
    return False


def _anything_but(operand: Any, value: Any) -> bool:
    if isinstance(operand, dict):
        [(operator, inner)] = operand.items()
        if operator in ("prefix", "suffix"):
            return isinstance(value, str) and not _affix(operator, inner, value)
        if not isinstance(value, str):
            return False
        listed = inner if isinstance(inner, list) else [inner]
        return value.casefold() not in {item.casefold() for item in listed}
    listed = operand if isinstance(operand, list) else [operand]
    return not any(_equal(item, value) for item in listed)
