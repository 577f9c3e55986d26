"""What every scenario produces: figures measured against a baseline from the same run."""

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Better = Literal["higher", "lower"]


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def latency_summary(latencies_ms: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(latencies_ms, 0.50), 1),
        "p95_ms": round(percentile(latencies_ms, 0.95), 1),
        "p99_ms": round(percentile(latencies_ms, 0.99), 1),
    }


@dataclass
class Sample:
    """One measured run: how many operations and events went through, in how long, how fast each."""

    seconds: float
    operations: int = 0
    events: int = 0
    failed: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    @property
    def success_ratio(self) -> float:
        total = self.operations + self.failed
        return self.operations / total if total else 0.0

    def merge(self, other: "Sample") -> "Sample":
        return Sample(
            seconds=self.seconds + other.seconds,
            operations=self.operations + other.operations,
            events=self.events + other.events,
            failed=self.failed + other.failed,
            latencies_ms=self.latencies_ms + other.latencies_ms,
        )

    def summary(self) -> dict[str, Any]:
        return {
            "events_per_s": round(self.events_per_second, 1),
            "events": self.events,
            "requests_ok": self.operations,
            "requests_failed": self.failed,
            "seconds": round(self.seconds, 2),
            **latency_summary(self.latencies_ms),
        }


@dataclass
class Figure:
    """One row: a measured value, the same quantity for the baseline, and their ratio.

    `ratio` is oriented so that higher is better for our path (baseline time / our time, or
    our throughput / baseline throughput); `target` is checked against `ratio` unless
    `target_on` says the target is on the measured value itself or on the difference.
    """

    scenario: str
    name: str
    unit: str
    measured: float
    baseline: float
    baseline_name: str
    better: Better = "higher"
    target: float | None = None
    target_on: Literal["ratio", "measured", "difference"] = "ratio"
    target_text: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        if self.better == "higher":
            return self.measured / self.baseline if self.baseline else math.nan
        return self.baseline / self.measured if self.measured else math.nan

    @property
    def difference(self) -> float:
        return self.measured - self.baseline

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        value = {"ratio": self.ratio, "measured": self.measured, "difference": self.difference}[
            self.target_on
        ]
        if math.isnan(value):
            return False
        if self.target_on == "ratio" or self.better == "higher":
            return value >= self.target
        return value <= self.target

    @property
    def complete(self) -> bool:
        """Both numbers were produced (the smoke test checks nothing else)."""
        return all(math.isfinite(value) for value in (self.measured, self.baseline))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            ratio=_finite(self.ratio),
            difference=_finite(self.difference),
            met=self.met,
            complete=self.complete,
        )
        data["measured"] = _finite(self.measured)
        data["baseline"] = _finite(self.baseline)
        return data


def _finite(value: float) -> float | None:
    return round(value, 4) if math.isfinite(value) else None


@dataclass(frozen=True)
class Settings:
    """How long and how hard each scenario runs. `quick` is the CI smoke mode."""

    quick: bool
    round_seconds: float  # one measured or baseline round of a closed-loop ingest figure
    rounds: int  # measured and baseline rounds alternate this many times
    concurrency: tuple[int, ...]
    environments: int  # API execution environments for the concurrent rows
    sustained_seconds: float  # 0: skipped
    sustained_rate: int  # events/s
    fanout_repeats: int
    indexer_batches: int
    trickle_events: int
    load_seconds: float
    load_rate: int
    import_repeats: int
    delivery_seconds: float = 60.0  # scenario 7 (defaults: results saved before it existed)
    delivery_rate: int = 50
    delivery_drain_timeout: float = 120.0

    @classmethod
    def full(cls) -> "Settings":
        return cls(
            quick=False,
            round_seconds=2.5,
            rounds=2,
            concurrency=(1, 8),
            environments=4,
            sustained_seconds=60.0,
            sustained_rate=1000,
            fanout_repeats=3,
            indexer_batches=100,
            trickle_events=10,
            load_seconds=5.0,
            load_rate=100,
            import_repeats=3,
            delivery_seconds=60.0,
            delivery_rate=50,
            delivery_drain_timeout=120.0,
        )

    @classmethod
    def smoke(cls) -> "Settings":
        return cls(
            quick=True,
            round_seconds=1.0,
            rounds=1,
            concurrency=(4,),
            environments=2,
            sustained_seconds=0.0,
            sustained_rate=1000,
            fanout_repeats=1,
            indexer_batches=5,
            trickle_events=1,
            load_seconds=1.0,
            load_rate=20,
            import_repeats=1,
            delivery_seconds=6.0,
            delivery_rate=20,
            delivery_drain_timeout=8.0,
        )
