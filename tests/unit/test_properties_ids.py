"""Properties of event and subscription ids: ULIDs that sort by time, as the API's patterns say.

Promised: an id issued in a later millisecond sorts after every id of an earlier one; ids one
process (one Lambda instance) issues within the same millisecond ascend too; the ids of one batch
ascend in request order. Not promised: the order of ids two instances issue in the same
millisecond (docs/guarantees.md says so).
"""

import re
from datetime import UTC, datetime, timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from ingest.core.ids import highest_id_at, lowest_id_at, new_event_id
from ingest.core.models import EVENT_ID_PATTERN, SUBSCRIPTION_ID_PATTERN, EventIn
from ingest.core.settings import Settings
from ingest.core.subscriptions_table import ID_PREFIX
from ingest.ingestion import build_items

# Millisecond instants a ULID can hold (48 bits), as aware datetimes.
instants = st.datetimes(
    min_value=datetime(1970, 1, 1),
    max_value=datetime(9000, 12, 31),
    timezones=st.just(UTC),
).map(lambda at: at.replace(microsecond=at.microsecond // 1000 * 1000))


# 2004-02-01T00:00:00.001Z is one of the instants `timestamp() * 1000` puts 1 ms early.
FLOAT_TRAP = datetime(2004, 2, 1, tzinfo=UTC)


@given(instants, st.integers(min_value=1, max_value=10**9))
@example(FLOAT_TRAP, 1)
def test_an_id_issued_a_millisecond_later_sorts_later(at: datetime, later_ms: int) -> None:
    later = at + timedelta(milliseconds=later_ms)

    assert new_event_id(at) < new_event_id(later)


@given(instants)
@example(FLOAT_TRAP)
@example(FLOAT_TRAP + timedelta(milliseconds=1))
def test_ids_of_one_millisecond_lie_between_its_bounds(at: datetime) -> None:
    event_id = new_event_id(at)

    assert lowest_id_at(at) <= event_id <= highest_id_at(at)
    assert highest_id_at(at) < lowest_id_at(at + timedelta(milliseconds=1))


@given(instants, st.integers(min_value=2, max_value=50))
def test_ids_one_process_issues_within_a_millisecond_ascend(at: datetime, count: int) -> None:
    ids = [new_event_id(at) for _ in range(count)]

    assert ids == sorted(ids)
    assert len(set(ids)) == count


@given(instants)
def test_every_issued_id_matches_the_documented_path_patterns(at: datetime) -> None:
    event_id = new_event_id(at)

    assert re.fullmatch(EVENT_ID_PATTERN, event_id)
    assert re.fullmatch(SUBSCRIPTION_ID_PATTERN, ID_PREFIX + event_id)


@given(instants, st.integers(min_value=1, max_value=25))
def test_batch_ids_are_distinct_and_ascend_in_request_order(at: datetime, size: int) -> None:
    events = [(EventIn(event_type=f"t{n}", payload={}), "{}") for n in range(size)]

    items = build_items("tenant", events, Settings.local(), at)

    ids = [item.event_id for item in items]
    assert ids == sorted(ids)
    assert len(set(ids)) == size
    assert [item.event_type for item in items] == [f"t{n}" for n in range(size)]
