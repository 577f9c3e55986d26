"""Lambda event filtering (FilterCriteria) as the event source mappings apply it.

A pattern is a JSON object whose leaves are lists of matchers. Every key of the pattern must
match (AND); any matcher of a list may match (OR); a record matches the mapping when any of
its filters matches. Supported matchers: exact values, `prefix`, `suffix`,
`equals-ignore-case`, `anything-but` (values or a prefix), `exists` and `numeric`.
"""

import json
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

_MISSING = object()
_PROBE = 0  # a value every operator can be tried on, to validate its arguments
_NUMERIC_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class FilterPatternError(ValueError):
    """A FilterCriteria pattern that Lambda would reject."""


def matches_any(patterns: Iterable[Mapping[str, Any]], record: Mapping[str, Any]) -> bool:
    """Whether the record passes the mapping's filters (no filters: everything passes)."""
    patterns = list(patterns)
    return not patterns or any(matches(pattern, record) for pattern in patterns)


def matches(pattern: Mapping[str, Any], record: Any) -> bool:
    for key, expected in pattern.items():
        value = record.get(key, _MISSING) if isinstance(record, Mapping) else _MISSING
        if isinstance(expected, Mapping):
            if value is _MISSING or not matches(expected, value):
                return False
        elif isinstance(expected, list):
            if not any(_matcher_matches(matcher, value) for matcher in expected):
                return False
        else:
            raise FilterPatternError(f"pattern value for {key!r} must be an object or a list")
    return True


def validate(pattern: Any) -> None:
    """Raise FilterPatternError for a pattern Lambda would reject at CreateEventSourceMapping."""
    if not isinstance(pattern, Mapping) or not pattern:
        raise FilterPatternError(f"a pattern is a non-empty object, got {pattern!r}")
    for key, expected in pattern.items():
        if isinstance(expected, Mapping):
            validate(expected)
        elif isinstance(expected, list) and expected:
            for matcher in expected:
                if isinstance(matcher, Mapping):
                    _operator_matches(matcher, _PROBE)
        else:
            raise FilterPatternError(f"pattern value for {key!r} must be an object or a non-empty list")


def sqs_filter_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """An SQS record as filters see it: a JSON body is matched as an object."""
    try:
        body = json.loads(record["body"])
    except ValueError:
        body = record["body"]
    return {**record, "body": body}


def _matcher_matches(matcher: Any, value: Any) -> bool:
    if isinstance(matcher, Mapping):
        return _operator_matches(matcher, value)
    if value is _MISSING:
        return False
    if isinstance(value, list):
        return any(_equal(matcher, item) for item in value)
    return _equal(matcher, value)


def _equal(matcher: Any, value: Any) -> bool:
    if isinstance(matcher, bool) or isinstance(value, bool):
        return matcher is value
    if isinstance(matcher, int | float) and isinstance(value, int | float):
        return float(matcher) == float(value)
    return bool(matcher == value)


def _operator_matches(matcher: Mapping[str, Any], value: Any) -> bool:
    if len(matcher) != 1:
        raise FilterPatternError(f"a matcher has exactly one operator, got {dict(matcher)!r}")
    ((name, argument),) = matcher.items()
    if name == "exists":
        return (value is not _MISSING) is bool(argument)
    if value is _MISSING:
        return False
    values = value if isinstance(value, list) else [value]
    if name == "anything-but":
        return all(_anything_but(argument, item) for item in values)
    test = _value_test(name, argument)
    return any(test(item) for item in values)


def _value_test(name: str, argument: Any) -> Callable[[Any], bool]:
    if name in ("prefix", "suffix", "equals-ignore-case") and not isinstance(argument, str):
        raise FilterPatternError(f"{name} takes a string, got {argument!r}")
    if name == "prefix":
        return lambda item: isinstance(item, str) and item.startswith(argument)
    if name == "suffix":
        return lambda item: isinstance(item, str) and item.endswith(argument)
    if name == "equals-ignore-case":
        return lambda item: isinstance(item, str) and item.casefold() == str(argument).casefold()
    if name == "numeric":
        return lambda item: _numeric(argument, item)
    raise FilterPatternError(f"unsupported filter operator {name!r}")


def _anything_but(argument: Any, item: Any) -> bool:
    if isinstance(argument, Mapping):
        return not _operator_matches(argument, item)
    excluded = argument if isinstance(argument, list) else [argument]
    return not any(_equal(candidate, item) for candidate in excluded)


def _numeric(conditions: Any, item: Any) -> bool:
    if not isinstance(conditions, list) or not conditions or len(conditions) % 2:
        raise FilterPatternError(f"numeric matcher needs operator/number pairs, got {conditions!r}")
    checks: list[tuple[Callable[[float, float], bool], float]] = []
    for symbol, bound in zip(conditions[::2], conditions[1::2], strict=True):
        compare = _NUMERIC_OPERATORS.get(symbol)
        if compare is None or isinstance(bound, bool) or not isinstance(bound, int | float):
            raise FilterPatternError(f"invalid numeric condition {symbol!r} {bound!r}")
        checks.append((compare, float(bound)))
    if isinstance(item, bool) or not isinstance(item, int | float):
        return False
    return all(compare(float(item), bound) for compare, bound in checks)
