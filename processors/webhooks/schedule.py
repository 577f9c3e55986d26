"""When the next attempt happens: the configured schedule, jitter, and `Retry-After`."""

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_schedule(text: str) -> list[int]:
    """`"5s,5m,30m"` -> `[5, 300, 1800]`: the delays before attempts 2, 3, 4..."""
    return [int(part[:-1]) * UNIT_SECONDS[part[-1]] for part in text.split(",")]


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds requested by a `Retry-After` header (delta-seconds or HTTP date), if valid."""
    if not value:
        return None
    value = value.strip()
    # ASCII only: str.isdigit() also accepts "²" and "٣", which float() rejects or misreads.
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def next_delay(
    schedule: list[int],
    failed_attempt: int,
    *,
    jitter_ratio: float,
    retry_after: float | None,
    retry_after_cap: int,
    rng: random.Random,
) -> float | None:
    """Delay before the attempt after `failed_attempt` (1-based), or None when the schedule is spent.

    The scheduled delay gets +/- `jitter_ratio` jitter; a `Retry-After` longer than that wins,
    capped at `retry_after_cap` seconds.
    """
    if failed_attempt > len(schedule):
        return None
    base = schedule[failed_attempt - 1]
    delay = base * rng.uniform(1 - jitter_ratio, 1 + jitter_ratio)
    if retry_after is not None:
        delay = max(delay, min(retry_after, float(retry_after_cap)))
    return delay


def due_at(now: datetime, delay: float) -> datetime:
    return now + timedelta(seconds=delay)
