"""Properties of the webhook retry schedule: jitter bounds, exhaustion, Retry-After (capped)."""

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from hypothesis import example, given
from hypothesis import strategies as st

from processors.webhooks.schedule import UNIT_SECONDS, next_delay, parse_retry_after, parse_schedule

NOW = datetime(2026, 1, 1, tzinfo=UTC)

steps = st.lists(st.integers(min_value=1, max_value=48 * 3600), min_size=1, max_size=10)
jitters = st.floats(min_value=0, max_value=0.99, allow_nan=False)
caps = st.integers(min_value=0, max_value=48 * 3600)
retry_afters = st.none() | st.floats(min_value=0, max_value=10**9, allow_nan=False)
seeds = st.integers(min_value=0, max_value=2**32)


@given(steps, st.integers(min_value=1, max_value=12), jitters, caps, seeds)
def test_delay_is_the_scheduled_step_within_its_jitter(
    schedule: list[int], failed_attempt: int, jitter: float, cap: int, seed: int
) -> None:
    delay = next_delay(
        schedule,
        failed_attempt,
        jitter_ratio=jitter,
        retry_after=None,
        retry_after_cap=cap,
        rng=random.Random(seed),
    )

    if failed_attempt > len(schedule):
        assert delay is None
    else:
        base = schedule[failed_attempt - 1]
        assert delay is not None
        assert base * (1 - jitter) <= delay <= base * (1 + jitter)


@given(steps, jitters, retry_afters, caps, seeds)
def test_schedule_ends_after_its_last_step_whatever_the_responses(
    schedule: list[int], jitter: float, retry_after: float | None, cap: int, seed: int
) -> None:
    rng = random.Random(seed)
    delays = []
    for failed_attempt in range(1, len(schedule) + 5):
        delay = next_delay(
            schedule,
            failed_attempt,
            jitter_ratio=jitter,
            retry_after=retry_after,
            retry_after_cap=cap,
            rng=rng,
        )
        if delay is None:
            break
        delays.append(delay)

    assert len(delays) == len(schedule)


@given(steps, st.integers(min_value=1, max_value=10), jitters, retry_afters, caps, seeds)
def test_retry_after_is_honoured_up_to_the_cap_and_never_shortens_the_step(
    schedule: list[int], failed_attempt: int, jitter: float, retry_after: float | None, cap: int, seed: int
) -> None:
    failed_attempt = min(failed_attempt, len(schedule))
    base = schedule[failed_attempt - 1]

    delay = next_delay(
        schedule,
        failed_attempt,
        jitter_ratio=jitter,
        retry_after=retry_after,
        retry_after_cap=cap,
        rng=random.Random(seed),
    )

    assert delay is not None
    assert delay >= base * (1 - jitter)
    assert delay <= max(base * (1 + jitter), float(cap))
    if retry_after is not None:
        assert delay >= min(retry_after, float(cap))


@given(st.text(max_size=40))
@example("²")
@example("٣")
@example("-5")
@example("1e3")
def test_any_retry_after_header_parses_to_none_or_non_negative_seconds(value: str) -> None:
    seconds = parse_retry_after(value, NOW)

    assert seconds is None or seconds >= 0


@given(st.text(alphabet=st.characters(max_codepoint=0x2FF), max_size=20))
def test_retry_after_delta_seconds_are_ascii_digits_only(value: str) -> None:
    seconds = parse_retry_after(value, NOW)

    if value.strip().isascii() and value.strip().isdigit():
        assert seconds == float(value.strip())
    elif not any(char.isalpha() for char in value):
        assert seconds is None


@given(st.integers(min_value=-86400, max_value=86400 * 30))
def test_retry_after_http_date_is_seconds_from_now_never_negative(offset: int) -> None:
    header = format_datetime(NOW + timedelta(seconds=offset), usegmt=True)

    assert parse_retry_after(header, NOW) == max(0, offset)


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=10**6), st.sampled_from(sorted(UNIT_SECONDS))),
        min_size=1,
    )
)
def test_schedule_text_parses_to_seconds_step_by_step(parts: list[tuple[int, str]]) -> None:
    text = ",".join(f"{number}{unit}" for number, unit in parts)

    assert parse_schedule(text) == [number * UNIT_SECONDS[unit] for number, unit in parts]
