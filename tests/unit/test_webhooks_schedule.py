"""The retry schedule: parsing, jitter, exhaustion and Retry-After."""

import random
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from ingest.core.settings import Settings
from processors.webhooks.schedule import next_delay, parse_retry_after, parse_schedule

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SVIX = parse_schedule("5s,5m,30m,2h,5h,10h,10h")


def delay(attempt: int, retry_after: float | None = None, jitter: float = 0.0) -> float | None:
    return next_delay(
        SVIX,
        attempt,
        jitter_ratio=jitter,
        retry_after=retry_after,
        retry_after_cap=3600,
        rng=random.Random(7),
    )


def test_default_schedule_is_svix_like() -> None:
    assert parse_schedule(Settings.local().retry_schedule) == [5, 300, 1800, 7200, 18000, 36000, 36000]


def test_schedule_units() -> None:
    assert parse_schedule("1s,2m,3h,1d") == [1, 120, 10800, 86400]


@pytest.mark.parametrize("text", ["", "5", "5x", "5s,,5m", "-5s", "5s, 5m"])
def test_malformed_schedule_setting_is_rejected(text: str) -> None:
    with pytest.raises(ValidationError):
        Settings.local(retry_schedule=text)


def test_delay_follows_schedule_and_ends() -> None:
    assert [delay(n) for n in range(1, 9)] == [5, 300, 1800, 7200, 18000, 36000, 36000, None]


def test_jitter_stays_within_ratio() -> None:
    rng = random.Random(1)
    delays = [
        next_delay(SVIX, 2, jitter_ratio=0.2, retry_after=None, retry_after_cap=3600, rng=rng)
        for _ in range(200)
    ]

    assert all(d is not None and 240 <= d <= 360 for d in delays)
    assert len(set(delays)) > 1


def test_longer_retry_after_wins_and_is_capped() -> None:
    assert delay(1, retry_after=120) == 120
    assert delay(1, retry_after=99_999) == 3600
    assert delay(3, retry_after=10) == 1800


def test_retry_after_does_not_extend_an_exhausted_schedule() -> None:
    assert delay(8, retry_after=10) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 30 ", 30.0),
        ("Thu, 01 Jan 2026 00:10:00 GMT", 600.0),
        ("Wed, 31 Dec 2025 23:00:00 GMT", 0.0),
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_header_forms(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, NOW) == expected
