"""The load-test runner's logic without locust: plans, the config, reading locust's CSV files, verdicts.

Locust itself runs in tests/integration/test_load_smoke.py (it monkey-patches the standard library
when imported, so it never runs in this process).
"""

import csv
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from devtools.cli import main
from devtools.load.config import AGGREGATED, CONFIG_PATH, Breaking, LoadConfig, Threshold, load_config
from devtools.load.plan import Plan, Stage
from devtools.load.results import (
    Measured,
    RequestStats,
    Second,
    Verdict,
    breaking_point,
    judge,
    read,
    recovery_seconds,
    sustained_rate,
)
from devtools.load.runner import ApiTarget, LoadError, run_directory

STATS_COLUMNS = [
    "Type", "Name", "Request Count", "Failure Count", "Median Response Time", "Average Response Time",
    "Min Response Time", "Max Response Time", "Average Content Size", "Requests/s", "Failures/s",
    "50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%",
]  # fmt: skip
HISTORY_COLUMNS = [
    "Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s",
    "50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%",
    "Total Request Count", "Total Failure Count", "Total Median Response Time",
    "Total Average Response Time", "Total Min Response Time", "Total Max Response Time",
    "Total Average Content Size",
]  # fmt: skip


# --- plans -------------------------------------------------------------------------------------


def test_a_plan_ramps_linearly_holds_and_ends() -> None:
    plan = Plan(start_users=10, stages=(Stage(10, 110), Stage(5, 110), Stage(2, 10)))

    assert [plan.users_at(t) for t in (0, 5, 9.99, 10, 14, 15, 16)] == [10, 60, 110, 110, 110, 110, 60]
    assert plan.users_at(17) is None
    assert (plan.total_seconds, plan.peak_users) == (17, 110)


def test_a_plan_travels_to_locust_as_json() -> None:
    plan = Plan(start_users=2, stages=(Stage(20, 20), Stage(40, 20)))

    assert Plan.from_json(plan.to_json()) == plan


# --- the committed config --------------------------------------------------------------------


def test_the_committed_config_is_valid_and_every_locustfile_exists() -> None:
    config = load_config()

    assert set(config.scenarios) == {"ingestion", "inbox", "mixed", "stress", "fanout"}
    for scenario in config.scenarios.values():
        assert scenario.locustfile_path.is_file()
    for stage in ("local", "smoke", "up", "staging"):
        assert set(config.stages[stage].runs) == set(config.scenarios)


def thresholds(config: LoadConfig, scenario: str) -> set[tuple[str, str, float | None, float | None]]:
    return {(t.metric, t.request, t.max, t.min) for t in config.scenarios[scenario].thresholds}


def test_the_thresholds_are_seed_002s() -> None:
    config = load_config()

    assert thresholds(config, "ingestion") == {
        ("p95_ms", AGGREGATED, 100, None),
        ("error_rate", AGGREGATED, 0.001, None),
        ("events_per_s", AGGREGATED, None, 1000),
    }
    assert thresholds(config, "inbox") == {
        ("p95_ms", "GET /v1/inbox", 200, None),
        ("error_rate", "GET /v1/inbox", 0.001, None),
    }
    assert thresholds(config, "mixed") == {
        ("p95_ms", AGGREGATED, 150, None),
        ("error_rate", AGGREGATED, 0.001, None),
    }


def test_staging_runs_seed_002s_users_and_durations_and_prod_is_confirmed_capped_and_never_stressed() -> None:
    config = load_config()
    staging, prod = config.stages["staging"], config.stages["prod"]

    def shape(run: Any) -> tuple[int, int, float]:
        plan = run.plan
        return plan.start_users, plan.peak_users, plan.stages[-1].seconds

    assert shape(staging.runs["ingestion"]) == (10, 1000, 300)  # 10 -> 1000 users, 5 minutes sustained
    assert shape(staging.runs["inbox"]) == (10, 500, 300)
    assert shape(staging.runs["mixed"]) == (10, 1000, 600)
    assert staging.runs["stress"].plan.peak_users >= 2000
    assert prod.confirm and prod.max_seconds == 300 and "stress" not in prod.runs


# --- config validation: malformed, out of range ----------------------------------------------------


def config_with(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(CONFIG_PATH.read_text())
    for path, value in changes.items():
        node = document
        *parents, leaf = path.split("__")
        for key in parents:
            node = node[key]
        node[leaf] = value
    return document


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"scenarios__mixed__thresholds": [{"metric": "p95_ms"}]}, "exactly one of max and min"),
        (
            {"scenarios__mixed__thresholds": [{"metric": "p95_ms", "max": 1, "min": 0}]},
            "exactly one of max and min",
        ),
        ({"scenarios__mixed__thresholds": [{"metric": "p42_ms", "max": 1}]}, "p42_ms"),
        ({"scenarios__mixed__colour": "blue"}, "colour"),
        ({"scenarios__ingestion__events_per_request": 26}, "events_per_request"),
        ({"stages__local__runs__mixed": {"start_users": -1, "stages": [[10, 5]]}}, "start_users"),
        ({"stages__local__runs__mixed": {"start_users": 1, "stages": [[0, 5]]}}, "seconds must be > 0"),
        ({"stages__local__runs__mixed": {"start_users": 1, "stages": []}}, "stages"),
        ({"stages__prod__runs__mixed": {"start_users": 1, "stages": [[301, 5]]}}, "over max_seconds 300"),
        ({"stages__staging__api_key_env": None}, "api_url_env and api_key_env"),
        (
            {"stages__local__runs__nosuch": {"start_users": 1, "stages": [[1, 1]]}},
            "unknown scenarios: nosuch",
        ),
        ({"stages__local__runs__stress": {"start_users": 1, "stages": [[5, 10], [5, 0]]}}, "recovery"),
    ],
)
def test_a_malformed_or_out_of_range_config_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        LoadConfig.model_validate(config_with(**changes))


def test_choosing_something_that_is_not_there_names_what_is() -> None:
    config = load_config()

    with pytest.raises(ValueError, match="scenarios: ingestion, inbox, mixed, stress, fanout"):
        config.choose("nosuch", "local")
    with pytest.raises(ValueError, match="stages: local, smoke, up, staging, prod"):
        config.choose("mixed", "nosuch")
    with pytest.raises(ValueError, match="stage prod has no run for stress"):
        config.choose("stress", "prod")


# --- reading locust's CSV files ------------------------------------------------------------------


def write_stats(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, STATS_COLUMNS, restval="0")
        writer.writeheader()
        writer.writerows(rows)


def write_history(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, HISTORY_COLUMNS, restval="0")
        writer.writeheader()
        writer.writerows(rows)


def test_stats_and_history_are_read_from_locusts_files(tmp_path: Path) -> None:
    # Given what locust writes (percentiles N/A before the first answer)
    write_stats(
        tmp_path / "locust_stats.csv",
        [
            {"Type": "GET", "Name": "GET /v1/inbox", "Request Count": 10, "Failure Count": 1,
             "Requests/s": 2.5, "50%": 40, "95%": 90, "99%": 120},
            {"Type": "", "Name": AGGREGATED, "Request Count": 10, "Failure Count": 1,
             "Requests/s": 2.5, "50%": 40, "95%": 90, "99%": 120},
        ],
    )  # fmt: skip
    write_history(
        tmp_path / "locust_stats_history.csv",
        [
            {"Timestamp": 100, "User Count": 0, "Name": AGGREGATED, "95%": "N/A"},
            {"Timestamp": 101, "User Count": 2, "Name": AGGREGATED, "95%": 80, "Total Request Count": 4,
             "Total Failure Count": 1},
        ],
    )  # fmt: skip

    # When
    measured = read(tmp_path / "locust")

    # Then
    assert measured.stats["GET /v1/inbox"] == RequestStats("GET /v1/inbox", 10, 1, 40.0, 90.0, 120.0, 2.5)
    assert measured.stats["GET /v1/inbox"].error_rate == 0.1
    assert measured.history == [
        Second(100, 0, AGGREGATED, 0, 0, None),
        Second(101, 2, AGGREGATED, 4, 1, 80.0),
    ]


def second(t: int, users: int, requests: int, failures: int = 0, p95: float | None = 50.0) -> Second:
    return Second(t, users, AGGREGATED, requests, failures, p95)


def row(name: str = AGGREGATED, requests: int = 100, failures: int = 0, p95: float = 80.0) -> RequestStats:
    return RequestStats(name, requests, failures, 40.0, p95, 150.0, 10.0)


def test_throughput_is_taken_while_the_plan_held_its_peak() -> None:
    # ramp: 10 requests/s; at the peak of 20 users: 40 requests/s with 1 failure a second
    history = [
        second(1, 5, 10),
        second(2, 10, 20),
        second(3, 20, 60, 1),
        second(4, 20, 100, 2),
        second(5, 20, 140, 3),
    ]

    assert sustained_rate(history, AGGREGATED, 20) == 39.0


def test_throughput_falls_back_to_the_whole_run_without_a_second_at_the_peak() -> None:
    measured = Measured(stats={"POST /v1/events": row("POST /v1/events", 100, 10)}, history=[])
    rate = Threshold(metric="events_per_s", min=1000)

    (verdict,) = judge(measured, [rate], peak_users=20, events_per_request=25)

    assert verdict.value == pytest.approx(10.0 * 0.9 * 25)  # successful requests/s x events per request
    assert not verdict.held


def test_each_threshold_gets_its_value_and_verdict() -> None:
    measured = Measured(
        stats={AGGREGATED: row(requests=1000, failures=2, p95=120.0), "GET /v1/inbox": row(p95=90.0)}
    )
    checks = [
        Threshold(metric="p95_ms", max=150),
        Threshold(metric="p95_ms", max=50, request="GET /v1/inbox"),
        Threshold(metric="error_rate", max=0.001),
        Threshold(metric="p99_ms", max=100, request="DELETE /v1/events/{id}"),  # no such requests: no data
    ]

    verdicts = judge(measured, checks, peak_users=10, events_per_request=1)

    assert [(v.value, v.held) for v in verdicts] == [
        (120.0, True),
        (90.0, False),
        (0.002, False),
        (None, False),
    ]
    assert [v.line() for v in verdicts] == [
        "held    p95_ms <= 150: 120.0",
        "MISSED  p95_ms of GET /v1/inbox <= 50: 90.0",
        "MISSED  error_rate <= 0.001: 0.200 %",
        "MISSED  p99_ms of DELETE /v1/events/{id} <= 100: no data",
    ]


def test_fan_out_figures_come_from_the_receiver_count() -> None:
    measured = Measured(stats={AGGREGATED: row()}, extras={"delivered_ratio": 1.0, "drain_s": None})
    checks = [Threshold(metric="delivered_ratio", min=1.0), Threshold(metric="drain_s", max=10)]

    assert [v.held for v in judge(measured, checks, 1, 1)] == [True, False]  # drain_s None: never drained


# --- stress: breaking point and recovery --------------------------------------------------------

LIMITS = Breaking(error_rate=0.01, p95_ms=1000, window_s=2)


def ramp_then_drop(p95_at: dict[int, float], failures_from: int | None = None) -> list[Second]:
    """Users 10, 20, ... 100 over t=1..10, held t=11..12, dropped to 5 for t=13..30; 50 requests a second."""
    rows: list[Second] = [second(0, 0, 0, p95=None)]
    for t in range(1, 31):
        users = min(t, 10) * 10 if t <= 12 else 5
        failures = 0 if failures_from is None or t < failures_from else (t - failures_from + 1) * 5
        rows.append(second(t, users, 50 * t, failures, p95_at.get(t, 100.0)))
    return rows


def test_the_breaking_point_is_the_first_second_over_a_limit_up_to_the_peak() -> None:
    history = ramp_then_drop({7: 1500.0, 8: 1500.0})

    point = breaking_point(history, LIMITS)

    assert point is not None
    assert (point.users, point.after_s, point.p95_ms, point.error_rate) == (70, 6.0, 1500.0, 0.0)
    assert point.requests_per_s == 50.0


def test_errors_break_it_too() -> None:
    point = breaking_point(ramp_then_drop({}, failures_from=9), LIMITS)

    assert point is not None and point.users == 90 and point.error_rate > 0.01


def test_no_breaking_point_when_every_second_stayed_within_the_limits() -> None:
    assert breaking_point(ramp_then_drop({}), LIMITS) is None


def test_recovery_is_from_the_drop_until_every_later_second_is_healthy() -> None:
    # p95 stays over the limit for 4 s after the drop at t=13, with one healthy second in between
    history = ramp_then_drop({12: 2000.0, 13: 2000.0, 14: 900.0, 15: 2000.0, 16: 2000.0})

    assert recovery_seconds(history, LIMITS, recovered_users=5) == 4.0


def test_recovery_is_zero_when_healthy_at_the_drop_and_none_when_never() -> None:
    assert recovery_seconds(ramp_then_drop({}), LIMITS, recovered_users=5) == 0.0
    still_failing = ramp_then_drop({}, failures_from=11)
    assert recovery_seconds(still_failing, LIMITS, recovered_users=5) is None
    assert (
        recovery_seconds([second(1, 10, 10), second(2, 10, 20)], LIMITS, recovered_users=5) is None
    )  # no drop


def test_a_missed_recovery_fails_its_threshold() -> None:
    verdict = Verdict(Threshold(metric="recovery_s", max=60), None)

    assert not verdict.held
    assert verdict.line() == "MISSED  recovery_s <= 60: no data"


# --- where the load goes ---------------------------------------------------------------------------


def test_a_local_stage_sends_load_only_to_loopback() -> None:
    ApiTarget("http://127.0.0.1:3000", "k", loopback_only=True).check()
    with pytest.raises(LoadError, match=r"only sends load to 127\.0\.0\.1"):
        ApiTarget("http://10.0.0.5:3000", "k", loopback_only=True).check()
    with pytest.raises(LoadError, match="not an API URL"):
        ApiTarget("ftp:/nowhere", "k", loopback_only=False).check()


def test_runs_started_in_the_same_second_get_their_own_directories(tmp_path: Path) -> None:
    first, second_run = run_directory("mixed", "local", tmp_path), run_directory("mixed", "local", tmp_path)

    assert first != second_run and first.is_dir() and second_run.is_dir()
    assert first.name.startswith("mixed-local-")


def test_prod_sends_nothing_without_confirmation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["load", "mixed", "--stage", "prod", "--output", str(tmp_path / "run")])

    assert code == 2
    assert "--confirm prod" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_deployed_stage_needs_its_url_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TRIGGERS_API_URL", raising=False)
    monkeypatch.delenv("TRIGGERS_API_KEY", raising=False)

    code = main(["load", "mixed", "--stage", "staging", "--output", str(tmp_path)])

    assert code == 2
    assert "TRIGGERS_API_URL" in capsys.readouterr().err


def test_fan_out_on_a_deployed_stage_needs_a_receiver_it_can_reach(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIGGERS_API_URL", "https://api.invalid")
    monkeypatch.setenv("TRIGGERS_API_KEY", "trg_test")
    monkeypatch.delenv("TRIGGERS_LOAD_RECEIVER_URL", raising=False)

    code = main(["load", "fanout", "--stage", "staging", "--output", str(tmp_path)])

    assert code == 2
    assert "TRIGGERS_LOAD_RECEIVER_URL" in capsys.readouterr().err
