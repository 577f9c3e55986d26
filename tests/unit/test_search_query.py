"""The `q` syntax: what each form becomes, what is refused (400 invalid-query), and that nothing
a caller types reaches a field other than the allowed ones or escapes the tenant filter."""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.core.errors import InvalidQuery
from ingest.core.events_table import EventQuery
from ingest.search import search_body
from ingest.search_query import MAX_CLAUSES, parse

ALLOWED_FIELDS = {"payload", "payload_fields", "event_type", "source", "status"}
QUERY_TYPES = {"bool", "term", "terms", "prefix", "match", "match_phrase"}


def clauses(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return parse(text).filters()


def anywhere(word: str) -> dict[str, Any]:
    return {
        "bool": {
            "should": [
                {"match": {"payload": {"query": word, "operator": "and"}}},
                {"prefix": {"event_type": word}},
                {"prefix": {"source": word}},
            ],
            "minimum_should_match": 1,
        }
    }


@pytest.mark.parametrize(
    ("q", "clause"),
    [
        ("payload.customer.id:42", {"terms": {"payload_fields": ["customer.id=42"]}}),
        ("payload.price:1.50", {"terms": {"payload_fields": ["price=1.50", "price=1.5"]}}),
        ('payload.name:"Blue Co"', {"term": {"payload_fields": "name=Blue Co"}}),
        ("payload.sku:WID*", {"prefix": {"payload_fields": "sku=WID"}}),
        ("payload.url:http://x", {"terms": {"payload_fields": ["url=http://x"]}}),
        ("event_type:order.created", {"term": {"event_type": "order.created"}}),
        ("event_type:order.*", {"prefix": {"event_type": "order."}}),
        ("source:shop", {"term": {"source": "shop"}}),
        ('source:"my shop"', {"term": {"source": "my shop"}}),
        ("status:failed", {"term": {"status": "failed"}}),
        ("payload:widget", {"match": {"payload": {"query": "widget", "operator": "and"}}}),
        ("payload:Wid*", {"prefix": {"payload": "wid"}}),
        ('"blue widget"', {"match_phrase": {"payload": "blue widget"}}),
        ('"say \\"hi\\""', {"match_phrase": {"payload": 'say "hi"'}}),
        ("order", anywhere("order")),
    ],
)
def test_each_form_becomes_one_clause_on_an_allowed_field(q: str, clause: dict[str, Any]) -> None:
    assert clauses(q) == ([clause], [])


def test_a_word_with_a_final_star_is_a_prefix_of_the_text_type_or_source() -> None:
    (clause,), _ = clauses("Wid*")

    assert clause["bool"]["should"] == [
        {"prefix": {"payload": "wid"}},
        {"prefix": {"event_type": "Wid"}},
        {"prefix": {"source": "Wid"}},
    ]


def test_terms_are_combined_with_and() -> None:
    assert clauses("payload.a:1 event_type:x") == (
        [{"terms": {"payload_fields": ["a=1"]}}, {"term": {"event_type": "x"}}],
        [],
    )


def test_or_binds_its_neighbours_into_one_alternative() -> None:
    must, must_not = clauses("status:failed OR status:pending source:shop")

    assert must == [
        {
            "bool": {
                "should": [{"term": {"status": "failed"}}, {"term": {"status": "pending"}}],
                "minimum_should_match": 1,
            }
        },
        {"term": {"source": "shop"}},
    ]
    assert must_not == []
    assert clauses("status:failed | status:pending") == clauses("status:failed OR status:pending")


def test_a_minus_excludes_what_the_term_matches() -> None:
    assert clauses("-status:failed source:shop") == (
        [{"term": {"source": "shop"}}],
        [{"term": {"status": "failed"}}],
    )


def test_a_negated_alternative_stays_inside_its_or() -> None:
    (group,), must_not = clauses("status:failed OR -source:shop")

    assert group["bool"]["should"][1] == {"bool": {"must_not": [{"term": {"source": "shop"}}]}}
    assert must_not == []


def test_lowercase_or_and_a_minus_inside_a_value_are_plain_text() -> None:
    assert clauses("or") == ([anywhere("or")], [])
    assert clauses("payload.delta:-5") == ([{"terms": {"payload_fields": ["delta=-5"]}}], [])


@pytest.mark.parametrize(
    ("q", "reason"),
    [
        ("tenant_id:other", "unknown field `tenant_id`"),
        ("_id:01J00000000000000000000000", "unknown field `_id`"),
        ("_index:events-v1", "unknown field `_index`"),
        ("payload_fields:a=1", "unknown field `payload_fields`"),
        ("event_id:x", "unknown field `event_id`"),
        ("12:30", "quote a value containing `:`"),
        ('"blue widget', "unbalanced quote"),
        ('payload.name:"Blue', "unbalanced quote"),
        ('""', "empty phrase"),
        ('"a"b', "a space must follow"),
        ('a"b"', "a quote may only start"),
        ("*", "`*` needs at least one character"),
        ("payload.a:*", "`*` needs at least one character"),
        ("*widget", "`*` may only end a value"),
        ("wid*get", "`*` may only end a value"),
        ("event_type:*.created", "`*` may only end a value"),
        ("w*", "at least 2 characters"),
        ("(a OR b)", "parentheses are not supported"),
        ("a OR", "OR needs a term on each side"),
        ("OR a", "OR needs a term on each side"),
        ("a OR | b", "OR needs a term on each side"),
        ("-", "`-` must be followed by a term"),
        ("a - b", "`-` must be followed by a term"),
        ("source:", "`source:` needs a value"),
        ("status:lost", "status is one of pending, delivered, acknowledged, failed"),
        ("payload.a.b.c.d.e.f.g.h.i:1", "too deep: at most 8 keys"),
        ("payload..a:1", "a key is 1-64 letters"),
        ("payload.a=b:1", "a key is 1-64 letters"),
        ("payload.:1", "a key is 1-64 letters"),
        ("payload." + "k" * 65 + ":1", "a key is 1-64 letters"),
        (" ".join(["w"] * (MAX_CLAUSES + 1)), f"at most {MAX_CLAUSES}"),
    ],
)
def test_input_outside_the_syntax_is_refused_with_the_reason(q: str, reason: str) -> None:
    with pytest.raises(InvalidQuery) as refused:
        parse(q)

    assert reason in refused.value.detail
    assert refused.value.status == 400
    assert refused.value.type == "https://triggers.dev/problems/invalid-query"


def test_the_most_terms_allowed_are_accepted() -> None:
    must, _ = clauses(" ".join(f"payload.k{n}:{n}" for n in range(MAX_CLAUSES)))

    assert len(must) == MAX_CLAUSES


def fields_of(clause: Any) -> set[str]:
    """Every field a query clause names, and every query type it uses, checked on the way."""
    found: set[str] = set()
    if isinstance(clause, list):
        for part in clause:
            found |= fields_of(part)
        return found
    assert isinstance(clause, dict)
    ((kind, body),) = clause.items()
    assert kind in QUERY_TYPES
    if kind == "bool":
        for key, part in body.items():
            assert key in {"should", "must_not", "minimum_should_match"}
            if key != "minimum_should_match":
                found |= fields_of(part)
        return found
    ((field, _),) = body.items()
    return {field}


@given(st.text(max_size=80))
@settings(max_examples=400)
def test_any_text_is_either_refused_or_clauses_on_allowed_fields_only(text: str) -> None:
    try:
        must, must_not = clauses(text)
    except InvalidQuery:
        return
    assert fields_of(must) | fields_of(must_not) <= ALLOWED_FIELDS


query_words = st.sampled_from(
    [
        "tenant_id:x",
        "payload.a:1",
        "OR",
        "|",
        "-",
        '"',
        "*",
        ":",
        "a",
        "event_type:o*",
        '"p q"',
        "-b",
        "status:failed",
        "(",
    ]
)


@given(st.lists(query_words, max_size=20).map(" ".join))
@settings(max_examples=400)
def test_any_arrangement_of_syntax_keeps_the_tenant_filter_first(text: str) -> None:
    try:
        body = search_body("tenant-a", text, EventQuery(limit=10))
    except InvalidQuery:
        return
    conditions = body["query"]["bool"]
    assert set(conditions) <= {"filter", "must_not"}
    assert conditions["filter"][0] == {"term": {"tenant_id": "tenant-a"}}
    assert fields_of(conditions["filter"][1:]) | fields_of(conditions.get("must_not", [])) <= ALLOWED_FIELDS
    assert body["_source"] == {"excludes": ["payload_fields"]}
