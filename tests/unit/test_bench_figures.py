"""The benchmark suite's arithmetic: percentiles, ratio orientation, targets, saved results."""

import json
import math
from datetime import UTC, datetime
from pathlib import Path

from devtools.bench.context import BenchContext
from devtools.bench.core import Figure, Sample, Settings, percentile
from devtools.bench.ingest import _latencies_in_function
from devtools.bench.report import Results, write


def figure(**overrides: object) -> Figure:
    fields: dict[str, object] = {
        "scenario": "1. ingest",
        "name": "row",
        "unit": "events/s",
        "measured": 80.0,
        "baseline": 100.0,
        "baseline_name": "raw",
    }
    fields.update(overrides)
    return Figure(**fields)  # type: ignore[arg-type]


def test_percentile_is_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]

    assert (percentile(values, 0.5), percentile(values, 0.95), percentile(values, 0.99)) == (50.0, 95.0, 99.0)


def test_percentile_of_nothing_is_nan() -> None:
    assert math.isnan(percentile([], 0.5))


def test_throughput_ratio_is_ours_over_baseline() -> None:
    row = figure(target=0.8)

    assert (row.ratio, row.met) == (0.8, True)


def test_time_ratio_is_baseline_over_ours() -> None:
    row = figure(unit="s", measured=2.0, baseline=5.0, better="lower", target=10.0)

    assert (row.ratio, row.met) == (2.5, False)


def test_absolute_target_on_a_lower_is_better_value() -> None:
    row = figure(
        unit="ms", measured=1400.0, baseline=200.0, better="lower", target=1500.0, target_on="measured"
    )

    assert row.met is True


def test_difference_target_checks_what_our_code_adds() -> None:
    row = figure(
        unit="ms", measured=1060.0, baseline=1000.0, better="lower", target=50.0, target_on="difference"
    )

    assert (row.difference, row.met) == (60.0, False)


def test_figure_without_a_number_is_incomplete_and_missed() -> None:
    row = figure(measured=math.nan, target=0.8)

    assert (row.complete, row.met) == (False, False)


def test_sample_counts_failures_in_the_success_ratio() -> None:
    sample = Sample(seconds=2.0, operations=999, events=999, failed=1)

    assert (sample.events_per_second, sample.success_ratio) == (499.5, 0.999)


def test_saved_results_render_the_same_report(tmp_path: Path) -> None:
    # Given
    results = Results(
        settings=Settings.smoke(),
        figures=[figure(target=0.8, target_text="≥ 0.8x raw", details={"measured": Sample(1.0).summary()})],
        errors={},
        started_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
        seconds=60.0,
        machine={"cores": 2, "commit": "abc1234"},
        scenario_seconds={"1. ingest": 50.0},
    )
    write(results, tmp_path / "first.md", tmp_path / "results.json", "make bench QUICK=1", "results.json")

    # When
    saved = Results.from_json(json.loads((tmp_path / "results.json").read_text()))
    write(saved, tmp_path / "again.md", None, "make bench QUICK=1", json_name="results.json")

    # Then
    assert (tmp_path / "again.md").read_text() == (tmp_path / "first.md").read_text()
    assert (
        "| 1. ingest | row | 80.0 | 100 (raw) | events/s | 0.80x | ≥ 0.8x raw | met |"
        in (tmp_path / "first.md").read_text()
    )


def test_latencies_in_the_function_are_the_tenants_post_request_lines_of_each_window(tmp_path: Path) -> None:
    def line(tenant: str, at: str, latency: float, method: str = "POST", endpoint: str = "/v1/events") -> str:
        record = {
            "message": "request",
            "timestamp": f"2026-12-01 13:00:{at}+0000",
            "tenant_id": tenant,
            "method": method,
            "endpoint": endpoint,
            "latency_ms": latency,
        }
        return json.dumps(record, separators=(",", ":"))

    log = tmp_path / "bench.log"
    log.write_text(
        "\n".join(
            [
                line("quiet", "01,000", 5.0),
                line("quiet", "02,500", 7.0),  # between the windows
                line("quiet", "11,000", 9.0),
                line("flood", "11,100", 500.0),  # another tenant
                line("quiet", "11,200", 400.0, method="GET"),  # another route
                "not json {",
                'prefix {"message":"request","tenant_id":"quiet","timestamp":"garbled"}',
            ]
        )
        + "\n"
    )
    at = lambda second: datetime(2026, 12, 1, 13, 0, second, tzinfo=UTC).timestamp()  # noqa: E731
    context = BenchContext(stack=None, settings=None, say=print, log_path=log)  # type: ignore[arg-type]

    windows = {"alone": [(at(0), at(2))], "beside": [(at(10), at(12))]}

    found = _latencies_in_function(context, "quiet", windows)

    assert found == {"alone": [5.0], "beside": [9.0]}
