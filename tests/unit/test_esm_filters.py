"""Lambda event filtering as the local ESM runner applies it to stream and SQS records."""

from typing import Any

import pytest

from devtools.runner.filters import FilterPatternError, matches, matches_any, sqs_filter_view, validate


def stream_record(event_name: str = "INSERT", **new_image: dict[str, Any]) -> dict[str, Any]:
    return {
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "Keys": {"tenant_id": {"S": "t1"}, "event_id": {"S": "e1"}},
            "NewImage": {"tenant_id": {"S": "t1"}, **new_image},
            "SequenceNumber": "100",
        },
    }


def test_no_filters_take_every_record() -> None:
    assert matches_any([], stream_record())


@pytest.mark.parametrize(("event_name", "taken"), [("INSERT", True), ("MODIFY", True), ("REMOVE", False)])
def test_exact_values_are_alternatives(event_name: str, taken: bool) -> None:
    assert matches({"eventName": ["INSERT", "MODIFY"]}, stream_record(event_name)) is taken


def test_nested_keys_match_the_new_image() -> None:
    pattern = {"dynamodb": {"NewImage": {"status": {"S": ["pending"]}}}}

    assert matches(pattern, stream_record(status={"S": "pending"}))
    assert not matches(pattern, stream_record(status={"S": "delivered"}))


def test_every_key_of_a_pattern_must_match() -> None:
    pattern = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": ["pending"]}}}}

    assert not matches(pattern, stream_record("MODIFY", status={"S": "pending"}))


def test_any_filter_of_the_criteria_may_match() -> None:
    patterns = [{"eventName": ["REMOVE"]}, {"eventName": ["INSERT"]}]

    assert matches_any(patterns, stream_record("INSERT"))


def test_missing_key_does_not_match_a_value() -> None:
    assert not matches({"dynamodb": {"NewImage": {"status": {"S": ["pending"]}}}}, stream_record())


@pytest.mark.parametrize(
    ("matcher", "value", "taken"),
    [
        ({"prefix": "order."}, "order.created", True),
        ({"prefix": "order."}, "invoice.paid", False),
        ({"suffix": ".created"}, "order.created", True),
        ({"equals-ignore-case": "ORDER"}, "order", True),
        ({"anything-but": ["order", "invoice"]}, "refund", True),
        ({"anything-but": ["order", "invoice"]}, "order", False),
        ({"anything-but": "order"}, "order", False),
        ({"anything-but": {"prefix": "test-"}}, "test-1", False),
        ({"anything-but": {"prefix": "test-"}}, "prod-1", True),
    ],
)
def test_string_matchers(matcher: dict[str, Any], value: str, taken: bool) -> None:
    assert matches({"kind": [matcher]}, {"kind": value}) is taken


def test_exists_matches_presence_and_absence() -> None:
    assert matches({"kind": [{"exists": True}]}, {"kind": "x"})
    assert not matches({"kind": [{"exists": True}]}, {})
    assert matches({"kind": [{"exists": False}]}, {})
    assert not matches({"kind": [{"exists": False}]}, {"kind": "x"})


@pytest.mark.parametrize(
    ("value", "taken"), [(5, True), (0, False), (10, False), ("5", False), (True, False)]
)
def test_numeric_ranges(value: Any, taken: bool) -> None:
    assert matches({"size": [{"numeric": [">", 0, "<", 10]}]}, {"size": value}) is taken


def test_a_list_value_matches_when_any_element_does() -> None:
    assert matches({"tags": ["b"]}, {"tags": ["a", "b"]})


def test_numbers_compare_by_value() -> None:
    assert matches({"count": [1]}, {"count": 1.0})
    assert not matches({"flag": [1]}, {"flag": True})


@pytest.mark.parametrize(
    "pattern",
    [
        {"eventName": "INSERT"},
        {"kind": [{"prefix": "a", "suffix": "b"}]},
        {"kind": [{"wildcard": "a*"}]},
        {"size": [{"numeric": [">"]}]},
        {"size": [{"numeric": ["~", 3]}]},
    ],
)
def test_malformed_patterns_are_rejected(pattern: dict[str, Any]) -> None:
    with pytest.raises(FilterPatternError):
        matches(pattern, {"eventName": "INSERT", "kind": "ab", "size": 3})


@pytest.mark.parametrize(
    "pattern",
    [
        {},
        {"eventName": "INSERT"},
        {"eventName": []},
        {"kind": [{"prefix": 1}]},
        {"dynamodb": {"NewImage": {"size": {"N": [{"numeric": ["<"]}]}}}},
        {"kind": [{"anything-but": {"wildcard": "x"}}]},
    ],
)
def test_validate_rejects_what_lambda_rejects(pattern: dict[str, Any]) -> None:
    with pytest.raises(FilterPatternError):
        validate(pattern)


def test_validate_accepts_the_template_patterns() -> None:
    validate({"eventName": ["INSERT", "MODIFY", "REMOVE"]})
    validate({"dynamodb": {"NewImage": {"status": {"S": [{"anything-but": ["failed"]}, {"exists": True}]}}}})


def test_sqs_json_body_is_matched_as_an_object() -> None:
    record = {"messageId": "m1", "body": '{"kind": "retry", "attempt": 2}'}

    assert matches({"body": {"kind": ["retry"]}}, sqs_filter_view(record))
    assert matches({"body": {"attempt": [{"numeric": [">=", 2]}]}}, sqs_filter_view(record))


def test_sqs_plain_body_is_matched_as_a_string() -> None:
    record = {"messageId": "m1", "body": "hello"}

    assert matches({"body": [{"prefix": "he"}]}, sqs_filter_view(record))
    assert not matches({"body": {"kind": ["retry"]}}, sqs_filter_view(record))
