"""Content filters (ingest/core/patterns.py): a table of matching cases, following the semantics
of AWS EventBridge's content filtering docs, and of patterns the grammar refuses."""

from typing import Any

import pytest

from ingest.core import patterns

ORDER = {
    "event_type": "order.created",
    "source": "shop",
    "payload": {
        "amount": 150,
        "currency": "EUR",
        "ratio": 0.5,
        "paid": True,
        "note": None,
        "customer": {"id": "c-42", "country": "DE", "tier": "Gold"},
        "tags": ["new", "priority"],
        "lines": [{"sku": "A-1", "qty": 2}, {"sku": "B-7", "qty": 1}],
        "file": "report.PNG",
        "empty": [],
    },
}


def p(**fields: Any) -> dict[str, Any]:
    """A pattern over the payload."""
    return {"payload": fields}


CASES: list[tuple[str, dict[str, Any], bool]] = [
    # exact values: strings, numbers by value, booleans, null; a list is OR
    ("exact string", p(currency=["EUR"]), True),
    ("exact string, other value", p(currency=["USD"]), False),
    ("exact is case-sensitive", p(currency=["eur"]), False),
    ("list of values is OR", p(currency=["USD", "EUR"]), True),
    ("exact number", p(amount=[150]), True),
    ("numbers compare by value", p(amount=[150.0]), True),
    ("a number does not equal its text", p(amount=["150"]), False),
    ("text does not equal a number", p(currency=[1]), False),
    ("exact boolean", p(paid=[True]), True),
    ("true is not 1", p(paid=[1]), False),
    ("1 is not true", p(amount=[True]), False),
    ("exact null", p(note=[None]), True),
    ("null does not match an absent field", p(missing=[None]), False),
    # fields are ANDed; nested objects
    ("two fields, both match", p(currency=["EUR"], amount=[150]), True),
    ("two fields, one fails", p(currency=["EUR"], amount=[151]), False),
    ("nested object", p(customer={"country": ["DE"]}), True),
    ("nested object, other value", p(customer={"country": ["FR"]}), False),
    ("top-level event_type", {"event_type": ["order.created"]}, True),
    ("top-level source", {"source": ["shop"]}, True),
    ("top-level and payload ANDed", {"source": ["crm"], "payload": {"currency": ["EUR"]}}, False),
    # arrays in the event: any element
    ("array field, one element matches", p(tags=["priority"]), True),
    ("array field, no element matches", p(tags=["old"]), False),
    ("array of objects, nested pattern on any element", p(lines={"sku": ["B-7"]}), True),
    ("array of objects, no element matches", p(lines={"sku": ["C-1"]}), False),
    # prefix, suffix, equals-ignore-case
    ("prefix", {"event_type": [{"prefix": "order."}]}, True),
    ("prefix, no match", {"event_type": [{"prefix": "user."}]}, False),
    ("prefix ignoring case", p(customer={"tier": [{"prefix": {"equals-ignore-case": "go"}}]}), True),
    ("prefix is for strings only", p(amount=[{"prefix": "1"}]), False),
    ("suffix", p(file=[{"suffix": ".PNG"}]), True),
    ("suffix is case-sensitive", p(file=[{"suffix": ".png"}]), False),
    ("suffix ignoring case", p(file=[{"suffix": {"equals-ignore-case": ".png"}}]), True),
    ("equals-ignore-case", p(customer={"tier": [{"equals-ignore-case": "GOLD"}]}), True),
    ("equals-ignore-case, other value", p(customer={"tier": [{"equals-ignore-case": "silver"}]}), False),
    # numeric ranges
    ("numeric >", p(amount=[{"numeric": [">", 100]}]), True),
    ("numeric >, at the bound", p(amount=[{"numeric": [">", 150]}]), False),
    ("numeric >=, at the bound", p(amount=[{"numeric": [">=", 150]}]), True),
    ("numeric range inside", p(amount=[{"numeric": [">", 100, "<=", 150]}]), True),
    ("numeric range outside", p(amount=[{"numeric": [">", 0, "<", 150]}]), False),
    ("numeric =", p(ratio=[{"numeric": ["=", 0.5]}]), True),
    ("numeric on a string", p(currency=[{"numeric": [">", 0]}]), False),
    ("numeric on a boolean", p(paid=[{"numeric": [">", 0]}]), False),
    ("numeric on an absent field", p(missing=[{"numeric": [">", 0]}]), False),
    ("numeric or exact (OR)", p(amount=[{"numeric": ["<", 10]}, 150]), True),
    # exists
    ("exists true on a value", p(currency=[{"exists": True}]), True),
    ("exists true on null", p(note=[{"exists": True}]), True),
    ("exists true on an absent field", p(missing=[{"exists": True}]), False),
    ("exists false on an absent field", p(missing=[{"exists": False}]), True),
    ("exists false on a present field", p(currency=[{"exists": False}]), False),
    ("exists false under an absent parent", p(nothing={"deeper": [{"exists": False}]}), True),
    ("exists true under an absent parent", p(nothing={"deeper": [{"exists": True}]}), False),
    ("exists only sees leaves: an object is not one", p(customer=[{"exists": True}]), False),
    ("an empty array has no leaves", p(empty=[{"exists": True}]), False),
    # anything-but
    ("anything-but a string", p(currency=[{"anything-but": "USD"}]), True),
    ("anything-but the value", p(currency=[{"anything-but": "EUR"}]), False),
    ("anything-but a list", p(currency=[{"anything-but": ["USD", "EUR"]}]), False),
    ("anything-but a number", p(amount=[{"anything-but": 100}]), True),
    ("anything-but numbers by value", p(amount=[{"anything-but": [150.0]}]), False),
    ("anything-but needs the field", p(missing=[{"anything-but": "x"}]), False),
    ("anything-but a prefix", {"event_type": [{"anything-but": {"prefix": "user."}}]}, True),
    ("anything-but the prefix", {"event_type": [{"anything-but": {"prefix": "order."}}]}, False),
    ("anything-but a suffix", p(file=[{"anything-but": {"suffix": ".PNG"}}]), False),
    ("anything-but ignoring case", p(currency=[{"anything-but": {"equals-ignore-case": "eur"}}]), False),
    ("anything-but, array field: any element", p(tags=[{"anything-but": "new"}]), True),
    # the issue's example
    ("amount above 100", {"payload": {"amount": [{"numeric": [">", 100]}]}}, True),
]


@pytest.mark.parametrize(
    ("pattern", "expected"), [(case[1], case[2]) for case in CASES], ids=[c[0] for c in CASES]
)
def test_pattern_matches_as_eventbridge_does(pattern: dict[str, Any], expected: bool) -> None:
    patterns.check(pattern)
    assert patterns.matches(pattern, ORDER) is expected


def test_a_filter_sees_event_type_source_and_the_parsed_payload() -> None:
    document = patterns.event_document("order.paid", None, '{"amount": 101.5, "n": [1, 2]}')
    assert document == {"event_type": "order.paid", "payload": {"amount": 101.5, "n": [1, 2]}}
    assert patterns.matches({"source": [{"exists": False}], "payload": {"n": [2]}}, document)


def test_a_stored_filter_is_parsed_once() -> None:
    text = '{"payload": {"k": ["v"]}}'
    assert patterns.parse(text) is patterns.parse(text)


REFUSED: list[tuple[str, Any, str]] = [
    ("not an object", ["x"], ""),
    ("empty object", {}, ""),
    ("unknown top-level field", {"detail": {"a": ["b"]}}, "detail"),
    ("a leaf that is not a list", {"payload": {"amount": 100}}, "payload.amount"),
    ("an empty list", {"payload": {"amount": []}}, "payload.amount"),
    ("an empty nested object", {"payload": {}}, "payload"),
    ("a list in a list", {"payload": {"a": [["x"]]}}, "payload.a.0"),
    ("unknown operator", {"payload": {"a": [{"contains": "x"}]}}, "payload.a.0.contains"),
    ("two operators in one object", {"payload": {"a": [{"prefix": "x", "suffix": "y"}]}}, "payload.a.0"),
    ("prefix not a string", {"payload": {"a": [{"prefix": 1}]}}, "payload.a.0.prefix"),
    ("numeric not a list", {"payload": {"a": [{"numeric": ">"}]}}, "payload.a.0.numeric"),
    ("numeric bad operator", {"payload": {"a": [{"numeric": ["!=", 1]}]}}, "payload.a.0.numeric.0"),
    ("numeric bound not a number", {"payload": {"a": [{"numeric": [">", "1"]}]}}, "payload.a.0.numeric.1"),
    ("numeric range upside down", {"payload": {"a": [{"numeric": ["<", 5, ">", 1]}]}}, "payload.a.0.numeric"),
    ("numeric empty range", {"payload": {"a": [{"numeric": [">", 5, "<", 1]}]}}, "payload.a.0.numeric"),
    ("numeric three items", {"payload": {"a": [{"numeric": [">", 5, "<"]}]}}, "payload.a.0.numeric"),
    ("exists not a boolean", {"payload": {"a": [{"exists": "yes"}]}}, "payload.a.0.exists"),
    (
        "anything-but mixed list",
        {"payload": {"a": [{"anything-but": ["x", 1]}]}},
        "payload.a.0.anything-but.1",
    ),
    ("anything-but empty list", {"payload": {"a": [{"anything-but": []}]}}, "payload.a.0.anything-but"),
    (
        "anything-but object",
        {"payload": {"a": [{"anything-but": {"numeric": [">", 1]}}]}},
        "payload.a.0.anything-but.numeric",
    ),
    (
        "too deep",
        {"payload": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": ["x"]}}}}}}}}}}},
        "payload.a.b.c.d.e.f.g.h.i",
    ),
    ("too many values", {"payload": {"a": list(range(101))}}, "payload.a"),
    ("a string too long", {"payload": {"a": ["x" * 257]}}, "payload.a.0"),
    ("too large", {"payload": {f"k{i}": ["v" * 200] for i in range(30)}}, ""),
]


@pytest.mark.parametrize(
    ("pattern", "path"), [(case[1], case[2]) for case in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_a_pattern_outside_the_grammar_is_refused_naming_its_path(pattern: Any, path: str) -> None:
    with pytest.raises(patterns.PatternError) as refused:
        patterns.check(pattern)
    assert refused.value.path == path
    assert refused.value.message
