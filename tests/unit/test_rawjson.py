"""The payload-preserving JSON parser."""

import json

import pytest

from ingest.core.rawjson import MalformedJSON, parse_objects


def test_single_object_keeps_each_member_source_text() -> None:
    objects, is_batch = parse_objects('{"a": 1.50 , "b" :  {"x": [1, 2.0e1]}}')

    assert is_batch is False
    assert objects[0].values == {"a": 1.5, "b": {"x": [1, 20.0]}}
    assert objects[0].raw == {"a": "1.50", "b": '{"x": [1, 2.0e1]}'}


def test_nested_and_escaped_strings_are_kept_verbatim() -> None:
    payload = r'{"q": "a \"quoted\" } ] , string", "u": "caf\u00e9 \ud83d\ude00", "s": "\/\\"}'

    objects, _ = parse_objects('{"event_type": "x", "payload": ' + payload + "}")

    assert objects[0].raw["payload"] == payload
    assert objects[0].values["payload"]["u"] == "café 😀"


def test_unicode_text_is_kept_as_sent() -> None:
    objects, _ = parse_objects('{"payload": {"name": "Zoë 東京"}}')

    assert objects[0].raw["payload"] == '{"name": "Zoë 東京"}'


def test_whitespace_around_document_is_allowed() -> None:
    objects, _ = parse_objects(' \n\t{"a": 1}\r\n ')

    assert objects[0].raw == {"a": "1"}


def test_empty_object() -> None:
    objects, is_batch = parse_objects("{ }")

    assert (objects[0].values, objects[0].raw, is_batch) == ({}, {}, False)


def test_array_is_a_batch_of_objects() -> None:
    objects, is_batch = parse_objects('[{"a": 1}, {"a": [ 2 ]}]')

    assert is_batch is True
    assert [obj.raw["a"] for obj in objects] == ["1", "[ 2 ]"]


def test_empty_array_is_an_empty_batch() -> None:
    assert parse_objects(" [ ] ") == ([], True)


def test_non_object_items_are_marked_not_objects() -> None:
    objects, is_batch = parse_objects('[{"a": 1}, 7, "s", [1], null]')

    assert is_batch is True
    assert [obj.is_object for obj in objects] == [True, False, False, False, False]


@pytest.mark.parametrize("text", ['"just a string"', "42", "null", "true"])
def test_top_level_scalar_is_one_non_object(text: str) -> None:
    objects, is_batch = parse_objects(text)

    assert (len(objects), objects[0].is_object, is_batch) == (1, False, False)


def test_duplicate_member_keeps_the_last_value_and_its_text() -> None:
    objects, _ = parse_objects('{"payload": {"a": 1}, "payload": {"b": 2}}')

    assert objects[0].values["payload"] == {"b": 2}
    assert objects[0].raw["payload"] == '{"b": 2}'


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "{",
        '{"a": 1',
        '{"a" 1}',
        '{"a": 1,}',
        '{"a": 1} {"b": 2}',
        '{"a": 1} x',
        '{"a": 1}]',
        "[{}, ]",
        "[{}",
        "[{}] x",
        "[{} {}]",
        "{1: 2}",
        "{'a': 1}",
        '{"a": NaN}',
        '{"a": Infinity}',
        '{"a": -Infinity}',
        '{"a": 01}',
        '{"a": "unterminated}',
        '{"a": "ctrl\x01char"}',
        "[1,]",
        "nope",
    ],
)
def test_invalid_json_raises(text: str) -> None:
    with pytest.raises(MalformedJSON):
        parse_objects(text)


def test_agrees_with_stdlib_on_values() -> None:
    text = '[{"payload": {"a": [1, {"b": null}], "c": -1.5e-3}, "event_type": "t"}]'

    objects, _ = parse_objects(text)

    assert [obj.values for obj in objects] == json.loads(text)
    assert json.loads(objects[0].raw["payload"]) == json.loads(text)[0]["payload"]


def test_nesting_deeper_than_the_decoder_can_follow_is_malformed() -> None:
    deep = "[" * 100_000 + "]" * 100_000

    with pytest.raises(MalformedJSON, match="nested too deeply"):
        parse_objects('{"payload": {"a": ' + deep + "}}")
