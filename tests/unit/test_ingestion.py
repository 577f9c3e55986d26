"""Request bodies to stored events: validation, size limits and item building (no AWS needed)."""

from datetime import UTC, datetime

import pytest

from ingest.core.errors import BatchTooLarge, MalformedRequest, PayloadTooLarge, ValidationFailed
from ingest.core.settings import Settings
from ingest.ingestion import build_items, parse_events, plan_events

SETTINGS = Settings.local(max_payload_bytes=64, max_body_bytes=4096, event_retention_days=30)
NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def body(payload: str = '{"a": 1}', **fields: str) -> str:
    extra = "".join(f', "{name}": "{value}"' for name, value in fields.items())
    return f'{{"event_type": "t.x"{extra}, "payload": {payload}}}'


def test_single_event_returns_model_and_exact_payload_text() -> None:
    events, is_batch = parse_events(body('{ "a" : 1.0 }', source="s"), SETTINGS)

    assert is_batch is False
    ((event, payload),) = events
    assert (event.event_type, event.source, payload) == ("t.x", "s", '{ "a" : 1.0 }')


def test_batch_keeps_order() -> None:
    events, is_batch = parse_events("[" + ",".join(body(f'{{"n": {n}}}') for n in range(3)) + "]", SETTINGS)

    assert is_batch is True
    assert [payload for _, payload in events] == ['{"n": 0}', '{"n": 1}', '{"n": 2}']


def test_malformed_json_is_malformed_request() -> None:
    with pytest.raises(MalformedRequest):
        parse_events('{"event_type": ', SETTINGS)


def test_errors_name_every_invalid_field_with_batch_position() -> None:
    with pytest.raises(ValidationFailed) as raised:
        parse_events("[" + body() + ', {"event_type": "", "payload": 1}]', SETTINGS)

    fields = [error["field"] for error in raised.value.extensions["errors"]]
    assert fields == ["1.event_type", "1.payload"]


def test_26_events_is_batch_too_large() -> None:
    with pytest.raises(BatchTooLarge):
        parse_events("[" + ",".join([body()] * 26) + "]", SETTINGS)


def test_empty_batch_is_validation_failure() -> None:
    with pytest.raises(ValidationFailed):
        parse_events("[]", SETTINGS)


def test_payload_limit_counts_utf8_bytes() -> None:
    # 30 two-byte characters: 60 bytes of text + 9 of JSON = 69 bytes, over the 64-byte limit
    payload = '{"a": "' + "é" * 30 + '"}'
    assert len(payload) < SETTINGS.max_payload_bytes < len(payload.encode())

    with pytest.raises(PayloadTooLarge) as raised:
        parse_events(body(payload), SETTINGS)

    assert raised.value.extensions["limit_bytes"] == 64


def test_oversized_payloads_are_listed_by_position() -> None:
    big = '{"a": "' + "x" * 64 + '"}'

    with pytest.raises(PayloadTooLarge) as raised:
        parse_events(f"[{body()}, {body(big)}, {body(big)}]", SETTINGS)

    assert "1.payload, 2.payload" in raised.value.detail


def test_schema_errors_win_over_size_errors() -> None:
    big = '{"a": "' + "x" * 64 + '"}'

    with pytest.raises(ValidationFailed):
        parse_events(f'[{body(big)}, {{"payload": {{}}}}]', SETTINGS)


def test_body_over_max_body_bytes_is_too_large_before_parsing() -> None:
    with pytest.raises(PayloadTooLarge):
        parse_events("{" + " " * 4096 + "}", SETTINGS)


def test_build_items_gives_ascending_ids_and_retention() -> None:
    events, _ = parse_events("[" + ",".join([body(), body(), body()]) + "]", SETTINGS)

    items = build_items("tenant-1", events, SETTINGS, NOW)

    ids = [item.event_id for item in items]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert {item.received_at for item in items} == {"2026-03-01T12:00:00.123Z"}
    assert {item.expires_at for item in items} == {int(NOW.timestamp()) + 30 * 86400}
    assert {item.status for item in items} == {"pending"}
    assert {item.rev for item in items} == {1}


def test_build_items_normalises_occurred_at_to_utc() -> None:
    events, _ = parse_events(body(occurred_at="2026-03-01T10:00:00-02:00"), SETTINGS)

    (item,) = build_items("tenant-1", events, SETTINGS, NOW)

    assert item.occurred_at == "2026-03-01T12:00:00.000Z"


def test_a_plan_fixes_ids_and_receipt_time_and_its_items_are_rebuilt_identically() -> None:
    events, _ = parse_events("[" + ",".join([body(), body('{"b": 2}')]) + "]", SETTINGS)

    plan = plan_events("tenant-1", events, SETTINGS, NOW)
    received = datetime.fromisoformat(plan.data[0].received_at)
    items = build_items("tenant-1", events, SETTINGS, received, [event.id for event in plan.data])

    assert [item.event_id for item in items] == [event.id for event in plan.data]
    assert {item.received_at for item in items} == {"2026-03-01T12:00:00.123Z"}
    assert items == build_items("tenant-1", events, SETTINGS, received, [event.id for event in plan.data])
    assert [item.payload for item in items] == ['{"a": 1}', '{"b": 2}']
