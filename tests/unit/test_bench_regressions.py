"""`make bench` regression detection: each ratio against the same figure of main's bench/results.json."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devtools.bench.core import Figure, Settings
from devtools.bench.regressions import Comparison, compare, load_reference
from devtools.bench.report import Results, markdown


def figure(name: str = "row", scenario: str = "1. ingest", **overrides: Any) -> Figure:
    fields: dict[str, Any] = {
        "scenario": scenario,
        "name": name,
        "unit": "events/s",
        "measured": 100.0,
        "baseline": 100.0,
        "baseline_name": "raw",
    }
    fields.update(overrides)
    return Figure(**fields)


def run(*figures: Figure, mode: str = "full", errors: dict[str, str] | None = None) -> dict[str, Any]:
    return {"mode": mode, "errors": errors or {}, "figures": [item.to_json() for item in figures]}


def test_a_ratio_that_fell_25_percent_is_flagged() -> None:
    comparison = compare(run(figure(measured=100.0)), run(figure(measured=75.0)), "main")

    assert [(change.name, change.reference, change.current) for change in comparison.regressions] == [
        ("row", 1.0, 0.75)
    ]
    assert round(comparison.regressions[0].fall, 2) == 0.25
    assert comparison.compared == 1


def test_a_ratio_that_fell_15_percent_or_exactly_20_is_not_flagged() -> None:
    reference = run(figure("a", measured=100.0), figure("b", measured=100.0))

    comparison = compare(reference, run(figure("a", measured=85.0), figure("b", measured=80.0)), "main")

    assert comparison.regressions == []
    assert comparison.compared == 2


def test_a_ratio_that_rose_is_not_flagged() -> None:
    comparison = compare(run(figure(measured=50.0)), run(figure(measured=100.0)), "main")

    assert comparison.regressions == []


def test_higher_is_better_orientation_a_slower_time_is_a_fall() -> None:
    # Given a time (lower is better): the ratio is baseline / ours
    reference = run(figure(unit="ms", better="lower", measured=100.0, baseline=100.0))

    # When ours takes 1.5x as long, or two thirds as long
    slower = compare(
        reference, run(figure(unit="ms", better="lower", measured=150.0, baseline=100.0)), "main"
    )
    faster = compare(reference, run(figure(unit="ms", better="lower", measured=66.0, baseline=100.0)), "main")

    # Then only the slower one is a regression (its ratio fell by a third)
    assert [round(change.fall, 2) for change in slower.regressions] == [0.33]
    assert faster.regressions == []


def test_higher_is_better_orientation_a_lower_throughput_is_a_fall_even_with_the_same_measured_value() -> (
    None
):
    # the baseline of the same run doubled: our throughput is half of it now
    comparison = compare(
        run(figure(measured=80.0, baseline=100.0)), run(figure(measured=80.0, baseline=200.0)), "main"
    )

    assert [change.current for change in comparison.regressions] == [0.4]


def test_new_and_missing_figures_are_listed_not_flagged() -> None:
    reference = run(figure("kept"), figure("dropped"), figure("other", scenario="3. indexer"))

    comparison = compare(reference, run(figure("kept"), figure("added")), "main")

    assert comparison.new == ["1. ingest | added"]
    assert comparison.missing == ["1. ingest | dropped"]  # 3. indexer did not run (--only): not missing
    assert comparison.regressions == []
    assert comparison.compared == 1


def test_figures_of_a_failed_scenario_are_missing() -> None:
    comparison = compare(run(figure("row")), run(errors={"1. ingest": "RuntimeError: boom"}), "main")

    assert comparison.missing == ["1. ingest | row"]


def test_a_figure_without_a_ratio_on_either_side_is_not_comparable() -> None:
    reference = run(figure("a", baseline=0.0), figure("b"))

    comparison = compare(reference, run(figure("a"), figure("b", measured=float("nan"))), "main")

    assert comparison.not_comparable == ["1. ingest | a", "1. ingest | b"]
    assert comparison.regressions == []
    assert comparison.compared == 0


def test_runs_of_different_modes_are_not_compared() -> None:
    comparison = compare(run(figure(measured=100.0)), run(figure(measured=10.0), mode="quick"), "main")

    assert comparison.regressions == []
    assert comparison.skipped is not None and "full" in comparison.skipped and "quick" in comparison.skipped


def test_the_reference_is_read_from_a_git_revision_or_a_file(tmp_path: Path) -> None:
    # main's committed results
    loaded = load_reference("main")
    assert isinstance(loaded, tuple)
    assert loaded[1].startswith("main:bench/results.json (commit ")
    assert loaded[0]["figures"]

    # a file
    path = tmp_path / "results.json"
    path.write_text(
        json.dumps({**run(figure()), "machine": {"commit": "abc1234"}, "generated_at": "2026-12-01T04:07"})
    )
    assert load_reference(str(path)) == (
        json.loads(path.read_text()),
        f"{path} (commit abc1234, 2026-12-01 04:07 UTC)",
    )


def test_an_unreadable_reference_says_why(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "empty.json").write_text("{}")

    assert "no bench/results.json at no-such-branch" in str(load_reference("no-such-branch"))
    assert "is not JSON" in str(load_reference(str(tmp_path / "broken.json")))
    assert "has no figures" in str(load_reference(str(tmp_path / "empty.json")))


def results_with(comparison: Comparison) -> Results:
    return Results(
        settings=Settings.full(),
        figures=[figure(measured=70.0)],
        errors={},
        started_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        seconds=60.0,
        machine={"cores": 2, "commit": "abc1234"},
        scenario_seconds={},
        comparison=comparison.to_json(),
    )


def test_regressions_are_listed_in_the_report_and_survive_a_render_from_saved_results() -> None:
    # Given
    comparison = compare(run(figure(measured=100.0)), run(figure(measured=70.0)), "main:bench/results.json")
    results = results_with(comparison)

    # When
    page = markdown(results, "make bench", "bench/results.json")
    again = markdown(
        Results.from_json(json.loads(json.dumps(results.to_json()))), "make bench", "bench/results.json"
    )

    # Then
    assert "## Against the reference run" in page
    assert "1 fell by more than 20 %:\n\n- 1. ingest | row: 1.00x -> 0.70x (-30 %)" in page
    assert again == page


def test_a_run_without_regressions_says_so() -> None:
    comparison = compare(run(figure(measured=100.0)), run(figure(measured=95.0)), "main:bench/results.json")

    page = markdown(results_with(comparison), "make bench", "bench/results.json")

    assert "Compared with main:bench/results.json: 1 figures" in page
    assert "No ratio fell by more than 20 %." in page
