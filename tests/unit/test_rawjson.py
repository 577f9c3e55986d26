"""The payload-preserving JSON parser."""

import json

import pytest

from ingest.core.rawjson import MAX_DEPTH, MalformedJSON, loads, nesting_depth, parse_objects


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


def test_a_repeated_member_of_an_event_object_is_malformed() -> None:
    with pytest.raises(MalformedJSON, match='repeats member "payload" at position 22'):
        parse_objects('{"payload": {"a": 1}, "payload": {"b": 2}}')


def test_a_repeated_member_of_a_batch_item_is_malformed() -> None:
    with pytest.raises(MalformedJSON, match='repeats member "event_type"'):
        parse_objects('[{"event_type": "a"}, {"event_type": "a", "event_type": "b"}]')


def test_repeated_members_inside_a_payload_are_kept_as_sent() -> None:
    objects, _ = parse_objects('{"payload": {"a": 1, "a": 2}}')

    assert objects[0].raw["payload"] == '{"a": 1, "a": 2}'
    assert objects[0].values["payload"] == {"a": 2}


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


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, 1_000, 100_000])
def test_nesting_deeper_than_max_depth_is_malformed(depth: int) -> None:
    # The envelope is one level, the payload a second: MAX_DEPTH - 1 more is one too many.
    with pytest.raises(MalformedJSON, match=f"nests arrays/objects more than {MAX_DEPTH} deep"):
        parse_objects('{"payload": {"a": ' + nested(depth) + "}}")


def test_nesting_up_to_max_depth_is_kept() -> None:
    payload = '{"a": ' + nested(MAX_DEPTH - 2) + "}"

    objects, _ = parse_objects('{"payload": ' + payload + "}")

    assert objects[0].raw["payload"] == payload


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = json.dumps({"payload": {"s": "[{" * 500, "t": 'a\\"[[[['}})

    assert nesting_depth(text) == 2
    assert parse_objects(text)[0][0].values["payload"]["s"] == "[{" * 500


@pytest.mark.parametrize(
    "number",
    [
        "1e999999",
        "-1e309",
        "1.8e308",
        "9" * 309,
        "-" + "9" * 400,
        "1" + "0" * 100_000,
        "1" + "0" * 320 + ".5",
    ],
)
def test_a_number_beyond_a_64_bit_float_is_malformed(number: str) -> None:
    with pytest.raises(MalformedJSON, match="beyond a 64-bit float's range"):
        parse_objects('{"payload": {"n": ' + number + "}}")


@pytest.mark.parametrize(
    "number",
    ["1.7976931348623157e308", "-1e308", "1e-999999", "1" + "0" * 307, "123456789012345678901234567890"],
)
def test_large_numbers_within_a_64_bit_float_are_kept_as_sent(number: str) -> None:
    objects, _ = parse_objects('{"payload": {"n": ' + number + "}}")

    assert objects[0].raw["payload"] == '{"n": ' + number + "}"


@pytest.mark.parametrize(
    "string",
    [r'"\ud800"', r'"\uDC00"', r'"a\ud83d"', r'"\ud83d x\ude00"', r'"\ude00\ud83d"', r'"\\\ud800"'],
)
def test_a_lone_surrogate_escape_is_malformed(string: str) -> None:
    with pytest.raises(MalformedJSON, match="lone UTF-16 surrogate"):
        parse_objects('{"payload": {"s": ' + string + "}}")


@pytest.mark.parametrize("string", [r'"\ud83d\ude00"', r'"\\ud800"', r'"\\\\ud800"', '"😀"', r'"\u00e9"'])
def test_surrogate_pairs_and_escaped_backslashes_are_kept(string: str) -> None:
    objects, _ = parse_objects('{"payload": {"s": ' + string + "}}")

    assert objects[0].raw["payload"] == '{"s": ' + string + "}"


def test_a_byte_order_mark_is_malformed() -> None:
    with pytest.raises(MalformedJSON, match="byte order mark"):
        parse_objects('\ufeff{"payload": {}}')


@pytest.mark.parametrize("text", ["", " \n\t\r "])
def test_an_empty_body_is_malformed(text: str) -> None:
    with pytest.raises(MalformedJSON, match="is empty"):
        parse_objects(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1, "a": 2}', 'repeats member "a"'),
        ('{"a": {"b": 1, "b": 1}}', 'repeats member "b"'),
        ('[{"a": NaN}]', "NaN"),
        ('{"a": 1e400}', "64-bit float"),
        ('{"a": "\\udfff"}', "lone UTF-16 surrogate"),
        (nested(MAX_DEPTH + 1), "more than 64 deep"),
        ("\ufeff{}", "byte order mark"),
        ("", "is empty"),
        ('{"a": }', "is not valid JSON"),
    ],
)
def test_loads_refuses_what_parse_objects_refuses_and_repeated_members_anywhere(
    text: str, message: str
) -> None:
    with pytest.raises(MalformedJSON, match=message):
        loads(text)


def test_loads_reads_a_document_within_the_limits() -> None:
    text = '{"a": [1, 2.5, "\\ud83d\\ude00", {"b": null}], "c": ' + nested(MAX_DEPTH - 1) + "}"

    assert loads(text) == json.loads(text)
