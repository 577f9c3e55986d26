"""A payload's `path=value` entries (what `payload.<path>:<value>` searches match), and their bounds."""

import json

import pytest

from ingest.core.payload_fields import (
    MAX_DEPTH,
    MAX_ENTRY_CHARS,
    MAX_FIELDS,
    payload_fields,
    value_spellings,
)


def fields(payload: object) -> list[str]:
    return payload_fields(json.dumps(payload))


def test_nested_objects_give_dotted_paths() -> None:
    assert fields({"customer": {"id": 42, "name": "Blue Co"}, "note": "hi"}) == [
        "customer.id=42",
        "customer.name=Blue Co",
        "note=hi",
    ]


def test_array_positions_are_left_out_of_the_path() -> None:
    payload = {"items": [{"sku": "A1"}, {"sku": "B2"}], "tags": ["x", ["y"]]}

    assert fields(payload) == ["items.sku=A1", "items.sku=B2", "tags=x", "tags=y"]


def test_scalars_have_one_spelling_and_null_none() -> None:
    text = '{"a": 42, "b": 42.0, "c": 1.50, "d": 1e3, "e": -0, "f": true, "g": false, "h": null, "i": "42"}'

    assert payload_fields(text) == ["a=42", "b=42", "c=1.5", "d=1000", "e=0", "f=true", "g=false", "i=42"]


def test_integers_beyond_double_precision_keep_every_digit() -> None:
    assert payload_fields('{"big": 123456789012345678901234567890}') == ["big=123456789012345678901234567890"]


def test_query_values_are_spelled_as_the_index_spells_numbers() -> None:
    assert value_spellings("42") == ["42"]
    assert value_spellings("1.50") == ["1.50", "1.5"]
    assert value_spellings("1e3") == ["1e3", "1000"]
    assert value_spellings("007") == ["007"]  # not a JSON number: only the string
    assert value_spellings("blue") == ["blue"]


@pytest.mark.parametrize("key", ["a.b", "with space", "a=b", "", "x" * 65, 'quo"te', "colon:ed"])
def test_keys_the_query_syntax_cannot_name_are_left_out(key: str) -> None:
    assert fields({key: 1, "ok": {key: 2}, "kept": 3}) == ["kept=3"]


def test_keys_may_be_unicode_words_dashes_dollars_and_ats() -> None:
    assert fields({"café": 1, "x-y": 2, "$ref": 3, "@id": 4, "a_1": 5}) == [
        "café=1",
        "x-y=2",
        "$ref=3",
        "@id=4",
        "a_1=5",
    ]


def test_paths_deeper_than_the_limit_are_left_out() -> None:
    deep: object = "leaf"
    for level in reversed(range(MAX_DEPTH + 1)):
        deep = {f"k{level}": deep, f"v{level}": level}

    entries = fields(deep)

    deepest_kept = ".".join(f"k{level}" for level in range(MAX_DEPTH - 1))
    assert f"{deepest_kept}.v{MAX_DEPTH - 1}={MAX_DEPTH - 1}" in entries
    too_deep = ".".join(f"k{level}" for level in range(MAX_DEPTH))
    assert not any(entry.startswith(too_deep) for entry in entries)


def test_deeply_nested_arrays_stop_the_walk_without_failing() -> None:
    assert payload_fields('{"a": ' + "[" * 500 + "1" + "]" * 500 + ', "b": 2}') == ["b=2"]


def test_a_document_keeps_its_first_entries_up_to_the_limit_without_duplicates() -> None:
    payload = {"same": ["x", "x"], **{f"k{n}": n for n in range(MAX_FIELDS * 2)}}

    entries = fields(payload)

    assert len(entries) == MAX_FIELDS
    assert entries[:3] == ["same=x", "k0=0", "k1=1"]


def test_entries_longer_than_the_limit_are_left_out() -> None:
    fits = "v" * (MAX_ENTRY_CHARS - len("fits="))
    too_long = "v" * (MAX_ENTRY_CHARS - len("long=") + 1)

    assert fields({"fits": fits, "long": too_long}) == [f"fits={fits}"]


def test_strings_with_lone_surrogates_are_left_out() -> None:
    assert payload_fields('{"bad": "\\ud800", "good": "\\u00e9"}') == ["good=é"]


@pytest.mark.parametrize("payload", ["[1, 2]", '"text"', "42", "not json"])
def test_a_payload_without_keys_has_no_entries(payload: str) -> None:
    assert payload_fields(payload) == []
