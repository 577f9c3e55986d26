"""Strict-ordering lanes: conditional on the version read, idempotent, bounded (moto)."""

from typing import Any

import pytest

from ingest.core import lanes_table
from ingest.core.lanes_table import Lane

TABLE = "triggers-test-deliveries"
SUB = "sub_01TESTLANE0000000000000000"


def join(dynamodb: Any, lane: Lane, *event_ids: str) -> tuple[Lane, list[str]]:
    return lanes_table.join(dynamodb, TABLE, lane, tenant_id="t1", event_ids=list(event_ids), expires_at=1)


def test_a_join_from_a_stale_read_appends_after_what_others_added_and_never_twice(dynamodb: Any) -> None:
    # Given two writers that read the idle lane at the same time
    stale = lanes_table.get(dynamodb, TABLE, SUB)
    join(dynamodb, stale, "e1", "e2")

    # When the second writes from its stale read, with one event the first already added
    lane, overflow = join(dynamodb, stale, "e2", "e3")

    # Then its condition failed, it re-read and appended only what was missing, in order
    assert (lane.head, lane.held, overflow) == ("e1", ["e2", "e3"], [])
    assert lanes_table.get(dynamodb, TABLE, SUB) == lane


def test_release_hands_the_lane_on_in_order_then_goes_idle(dynamodb: Any) -> None:
    lane, _ = join(dynamodb, lanes_table.get(dynamodb, TABLE, SUB), "e1", "e2")

    lane, following = lanes_table.release(dynamodb, TABLE, lane, "e1")
    assert (lane.head, lane.held, following) == ("e2", [], "e2")
    # a second release by e1 (a redelivered message) writes nothing and names the head it made
    again, following_again = lanes_table.release(dynamodb, TABLE, lanes_table.get(dynamodb, TABLE, SUB), "e1")
    assert (again.ver, following_again) == (lane.ver, "e2")
    # an event that is not the head releases nothing
    assert lanes_table.release(dynamodb, TABLE, again, "e9")[1] is None

    idle, following = lanes_table.release(dynamodb, TABLE, again, "e2")
    assert (idle.head, idle.held, following) == (None, [], None)


def test_a_full_lane_returns_what_does_not_fit(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lanes_table, "MAX_HELD", 2)

    lane, overflow = join(dynamodb, lanes_table.get(dynamodb, TABLE, SUB), "e1", "e2", "e3", "e4", "e5")

    assert (lane.head, lane.held, overflow) == ("e1", ["e2", "e3"], ["e4", "e5"])
    assert join(dynamodb, lane, "e6")[1] == ["e6"]


def test_drop_empties_the_lane_and_returns_what_it_held(dynamodb: Any) -> None:
    lane, _ = join(dynamodb, lanes_table.get(dynamodb, TABLE, SUB), "e1", "e2", "e3")

    dropped = lanes_table.drop(dynamodb, TABLE, lane)

    assert (dropped.head, dropped.held) == ("e1", ["e2", "e3"])
    after = lanes_table.get(dynamodb, TABLE, SUB)
    assert (after.head, after.held) == (None, [])
