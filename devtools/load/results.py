"""What a locust run measured, read from its CSV files, and whether each threshold held.

`<prefix>_stats.csv` has one row per request name and an `Aggregated` row: counts and latency
percentiles over the whole run. `<prefix>_stats_history.csv` (with --csv-full-history) has the same
rows every second: the user count, totals so far and the percentiles of the last 10 s. Throughput is
taken from the history while the plan held its peak users; the stress figures (breaking point,
recovery) from the per-second `Aggregated` rows.
"""

import csv
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from devtools.load.config import AGGREGATED, Breaking, Threshold

POSTS = "POST /v1/events"


@dataclass(frozen=True)
class RequestStats:
    """One row of `_stats.csv`."""

    name: str
    requests: int
    failures: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    requests_per_s: float

    @property
    def error_rate(self) -> float | None:
        return self.failures / self.requests if self.requests else None

    @property
    def successes(self) -> int:
        return self.requests - self.failures


@dataclass(frozen=True)
class Second:
    """One row of `_stats_history.csv`."""

    timestamp: int
    users: int
    name: str
    total_requests: int
    total_failures: int
    p95_ms: float | None  # over the last 10 s (locust's current-response-time window)


@dataclass(frozen=True)
class BreakingPoint:
    users: int
    after_s: float  # since the first second with users
    requests_per_s: float  # successful, over the window that broke
    error_rate: float
    p95_ms: float | None


@dataclass
class Measured:
    stats: dict[str, RequestStats]
    history: list[Second] = field(default_factory=list)
    extras: dict[str, float | None] = field(default_factory=dict)  # drain_s, delivered_ratio, recovery_s
    breaking_point: BreakingPoint | None = None

    def row(self, name: str = AGGREGATED) -> RequestStats | None:
        return self.stats.get(name)


def read_stats(path: Path) -> dict[str, RequestStats]:
    with path.open(newline="") as handle:
        return {
            row["Name"]: RequestStats(
                name=row["Name"],
                requests=int(row["Request Count"]),
                failures=int(row["Failure Count"]),
                p50_ms=_number(row["50%"]),
                p95_ms=_number(row["95%"]),
                p99_ms=_number(row["99%"]),
                requests_per_s=float(row["Requests/s"]),
            )
            for row in csv.DictReader(handle)
        }


def read_history(path: Path) -> list[Second]:
    with path.open(newline="") as handle:
        return [
            Second(
                timestamp=int(row["Timestamp"]),
                users=int(row["User Count"]),
                name=row["Name"],
                total_requests=int(row["Total Request Count"]),
                total_failures=int(row["Total Failure Count"]),
                p95_ms=_number(row["95%"]),
            )
            for row in csv.DictReader(handle)
        ]


def read(prefix: Path) -> Measured:
    """The stats of a run whose CSV files start with `prefix` (locust --csv)."""
    return Measured(
        stats=read_stats(Path(f"{prefix}_stats.csv")),
        history=read_history(Path(f"{prefix}_stats_history.csv")),
    )


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:  # "N/A" before the first request
        return None
    return value if math.isfinite(value) else None


def of(history: Sequence[Second], name: str = AGGREGATED) -> list[Second]:
    """One request name's seconds, in time order, without the ones before the first user started
    and after the last one stopped."""
    rows = sorted((row for row in history if row.name == name), key=lambda row: row.timestamp)
    while rows and rows[0].users == 0:
        rows.pop(0)
    while rows and rows[-1].users == 0:
        rows.pop()
    return rows


def sustained_rate(history: Sequence[Second], name: str, peak_users: int) -> float | None:
    """Successful requests per second between the first and last second at `peak_users` (or more).

    None when the run never held its peak for a second (then the caller falls back to the run's
    overall rate).
    """
    rows = [row for row in of(history, name) if row.users >= peak_users]
    if len(rows) < 2 or rows[-1].timestamp <= rows[0].timestamp:
        return None
    first, last = rows[0], rows[-1]
    succeeded = (last.total_requests - last.total_failures) - (first.total_requests - first.total_failures)
    return succeeded / (last.timestamp - first.timestamp)


def _window(rows: Sequence[Second], index: int, seconds: int, since: int = 0) -> tuple[int, int, int]:
    """Requests, failures and seconds from the earliest row at most `seconds` before row `index`
    (the previous row if it is older; never a row before `since`) to row `index`."""
    start = index
    while start - 1 >= since and rows[index].timestamp - rows[start - 1].timestamp <= seconds:
        start -= 1
    if start == index and index - 1 >= since:
        start = index - 1
    requests = rows[index].total_requests - rows[start].total_requests
    failures = rows[index].total_failures - rows[start].total_failures
    return requests, failures, rows[index].timestamp - rows[start].timestamp


def _broken(rows: Sequence[Second], index: int, limits: Breaking, since: int = 0) -> tuple[bool, float]:
    requests, failures, _ = _window(rows, index, limits.window_s, since)
    error_rate = failures / requests if requests else 0.0
    p95 = rows[index].p95_ms
    return error_rate > limits.error_rate or (p95 is not None and p95 > limits.p95_ms), error_rate


def breaking_point(history: Sequence[Second], limits: Breaking) -> BreakingPoint | None:
    """The first second, up to the peak, whose error rate or p95 crossed `limits`; None if none did."""
    rows = of(history)
    if not rows:
        return None
    peak = max(range(len(rows)), key=lambda index: (rows[index].users, index))
    for index in range(1, peak + 1):
        broken, error_rate = _broken(rows, index, limits)
        if broken:
            requests, failures, seconds = _window(rows, index, limits.window_s)
            return BreakingPoint(
                users=rows[index].users,
                after_s=float(rows[index].timestamp - rows[0].timestamp),
                requests_per_s=(requests - failures) / seconds if seconds else 0.0,
                error_rate=error_rate,
                p95_ms=rows[index].p95_ms,
            )
    return None


def recovery_seconds(history: Sequence[Second], limits: Breaking, recovered_users: int) -> float | None:
    """Seconds from the drop back to `recovered_users` until every later second was within `limits`.

    The drop is the first second after the peak with at most `recovered_users`; the error rate of a
    second after it counts only requests after it. None when the run ended unhealthy (or never
    dropped), 0.0 when it was healthy from the drop on.
    """
    rows = of(history)
    if not rows:
        return None
    peak = max(range(len(rows)), key=lambda index: (rows[index].users, index))
    drop = next((index for index in range(peak, len(rows)) if rows[index].users <= recovered_users), None)
    if drop is None:
        return None
    healthy_from: int | None = None
    for index in range(drop, len(rows)):
        broken, _ = _broken(rows, index, limits, since=drop)
        if broken:
            healthy_from = None
        elif healthy_from is None:
            healthy_from = index
    if healthy_from is None:
        return None
    return float(rows[healthy_from].timestamp - rows[drop].timestamp)


def metric(
    measured: Measured, threshold: Threshold, peak_users: int, events_per_request: int
) -> float | None:
    """The value `threshold` is checked against; None when the run has nothing to measure it by."""
    name = threshold.request
    if threshold.metric in ("recovery_s", "delivered_ratio", "drain_s"):
        return measured.extras.get(threshold.metric)
    if threshold.metric == "events_per_s":
        name = POSTS if name == AGGREGATED else name
    row = measured.row(name)
    if row is None or row.requests == 0:
        return None
    if threshold.metric in ("requests_per_s", "events_per_s"):
        rate = sustained_rate(measured.history, name, peak_users)
        if rate is None:
            rate = row.requests_per_s * (1 - (row.error_rate or 0.0))
        return rate * (events_per_request if threshold.metric == "events_per_s" else 1)
    value: float | None = getattr(row, threshold.metric)
    return value


@dataclass(frozen=True)
class Verdict:
    threshold: Threshold
    value: float | None

    @property
    def held(self) -> bool:
        return self.threshold.holds(self.value)

    def line(self) -> str:
        shown = "no data" if self.value is None else _shown(self.threshold.metric, self.value)
        return f"{'held  ' if self.held else 'MISSED'}  {self.threshold.describe()}: {shown}"

    def to_json(self) -> dict[str, Any]:
        return {**self.threshold.model_dump(), "value": self.value, "held": self.held}


def judge(
    measured: Measured, thresholds: Sequence[Threshold], peak_users: int, events_per_request: int
) -> list[Verdict]:
    return [
        Verdict(threshold, metric(measured, threshold, peak_users, events_per_request))
        for threshold in thresholds
    ]


def _shown(name: str, value: float) -> str:
    if name == "error_rate":
        return f"{value * 100:.3f} %"
    if name == "delivered_ratio":
        return f"{value:.3f}"
    return f"{value:,.1f}"


def summary_lines(measured: Measured, events_per_request: int) -> list[str]:
    """Per request name: requests, failures, p50/p95/p99 and throughput (what the HTML report shows)."""
    lines = []
    for name, row in sorted(measured.stats.items(), key=lambda item: (item[0] == AGGREGATED, item[0])):
        events = f", {row.successes * events_per_request} events" if name == POSTS else ""
        percentiles = " / ".join("-" if value is None else f"{value:.0f}" for value in _percentiles(row))
        lines.append(
            f"{name}: {row.requests} requests ({row.failures} failed{events}), "
            f"p50/p95/p99 {percentiles} ms, {row.requests_per_s:.1f} requests/s"
        )
    return lines


def _percentiles(row: RequestStats) -> tuple[float | None, float | None, float | None]:
    return row.p50_ms, row.p95_ms, row.p99_ms


def breaking_json(point: BreakingPoint | None) -> dict[str, Any] | None:
    return None if point is None else asdict(point)
