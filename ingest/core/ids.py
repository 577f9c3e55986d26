"""Event ids are ULIDs: unique, and sortable by the time they were received."""

from datetime import UTC, datetime, timedelta

from ulid import ULID

_RANDOM_BYTES = 10
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def isoformat(at: datetime) -> str:
    """The one timestamp format of the API and the stored items: UTC, milliseconds, `Z`."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _millis(at: datetime) -> int:
    # Exact integer arithmetic: `at.timestamp() * 1000` can land 1 ms early (float rounding).
    return (at - _EPOCH) // _MILLISECOND


def new_event_id(at: datetime) -> str:
    """A ULID in the millisecond of `at`; python-ulid's generator keeps one process's ids of the
    same millisecond increasing."""
    return str(ULID.from_timestamp(_millis(at)))


def _bound(at: datetime, fill: bytes) -> str:
    return str(ULID.from_bytes(_millis(at).to_bytes(6, "big") + fill * _RANDOM_BYTES))


def lowest_id_at(at: datetime) -> str:
    """The smallest ULID that can be issued at `at` (inclusive lower bound of a time range)."""
    return _bound(at, b"\x00")


def highest_id_at(at: datetime) -> str:
    """The largest ULID that can be issued at `at` (inclusive upper bound of a time range)."""
    return _bound(at, b"\xff")
