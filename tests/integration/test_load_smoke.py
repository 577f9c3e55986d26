"""The load scenarios (tests/load/, `make load`) for a few seconds each against the embedded stack.

Each scenario runs its `smoke` stage of tests/load/config.yaml (a handful of users, seconds long)
through locust in a subprocess, as `make load` does. No timing is asserted (the machine is
shared): the runs must send requests on every route they exercise, get the expected status for
each (any other answer is a locust failure), write the HTML report and the CSV files, and judge
every threshold of the scenario. Fan-out must also see every accepted event delivered.
"""

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from devtools.cli import main
from devtools.load.config import CONFIG_PATH, load_config
from devtools.load.runner import ApiTarget, Outcome, local_receiver, run_scenario
from devtools.stack import EmbeddedStack
from devtools.target import clear_state, write_state
from tests.integration.cli_support import command_output, key_of
from tests.integration.conftest import ApiClient

CONFIG = load_config()
MIXED = {"POST /v1/events", "GET /v1/inbox", "POST /v1/events/{id}/ack", "DELETE /v1/events/{id}"}
ROUTES = {
    "ingestion": {"POST /v1/events"},
    "inbox": {"GET /v1/inbox"},
    "mixed": MIXED,
    "stress": MIXED,
    "fanout": {"POST /v1/events"},
}  # mixed runs through `triggers load` in test_make_load_runs_the_mixed_workload_and_reports_each_threshold
FILES = ("report.html", "locust_stats.csv", "locust_stats_history.csv", "locust_failures.csv", "summary.json")


def smoke(name: str, api: ApiClient, stack: EmbeddedStack, directory: Path) -> Outcome:
    scenario, _, run = CONFIG.choose(name, "smoke")
    target = ApiTarget(stack.api_url, key_of(api), loopback_only=True)
    if not scenario.subscribe:
        return run_scenario(name, scenario, "smoke", run, target, directory)
    with local_receiver() as receiver_url:
        return run_scenario(name, scenario, "smoke", run, target, directory, receiver_url=receiver_url)


def assert_ran_cleanly(directory: Path, routes: set[str]) -> dict[str, dict[str, object]]:
    """Every route got requests, all answered as expected; the reports exist. The summary's rows."""
    for name in FILES:
        assert (directory / name).stat().st_size > 0, name
    assert "<html" in (directory / "report.html").read_text()[:2000].lower()
    summary = json.loads((directory / "summary.json").read_text())
    rows = summary["requests"]
    assert set(rows) == routes | {"Aggregated"}, (directory / "locust.log").read_text()[-3000:]
    for route in routes:
        assert rows[route]["requests"] > 0, route
        assert rows[route]["failures"] == 0, (directory / "locust_failures.csv").read_text()
    with (directory / "locust_failures.csv").open() as failures:
        assert list(csv.DictReader(failures)) == []
    return rows


@pytest.mark.parametrize("name", ["ingestion", "inbox", "stress"])
def test_scenario_sends_every_request_it_makes_and_judges_each_threshold(
    name: str, api: ApiClient, stack: EmbeddedStack, tmp_path: Path
) -> None:
    # When
    outcome = smoke(name, api, stack, tmp_path)

    # Then
    assert_ran_cleanly(tmp_path, ROUTES[name])
    scenario = CONFIG.scenarios[name]
    assert [verdict.threshold for verdict in outcome.verdicts] == list(scenario.thresholds)
    # a value for each (the stress run's recovery may be "never" on a busy machine: that is timing)
    assert all(
        verdict.value is not None for verdict in outcome.verdicts if verdict.threshold.metric != "recovery_s"
    )
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [item["metric"] for item in summary["thresholds"]] == [t.metric for t in scenario.thresholds]


def test_fanout_delivers_every_accepted_event_to_the_receiver(
    api: ApiClient, stack: EmbeddedStack, tmp_path: Path
) -> None:
    # When
    outcome = smoke("fanout", api, stack, tmp_path)

    # Then
    assert_ran_cleanly(tmp_path, ROUTES["fanout"])
    assert [verdict.threshold for verdict in outcome.verdicts] == list(CONFIG.scenarios["fanout"].thresholds)
    extras = outcome.measured.extras
    accepted = outcome.measured.stats["POST /v1/events"].successes
    assert accepted > 0
    assert extras["accepted_events"] == accepted
    assert extras["delivered_events"] == accepted
    assert extras["refused_deliveries"] == 0
    # the run's subscription is gone afterwards
    assert api.get("/v1/subscriptions").json()["data"] == []


@pytest.fixture
def running_stack(api: ApiClient, stack: EmbeddedStack) -> Iterator[None]:
    """The test stack recorded as `make up` records itself (.triggers/stack.json under TRIGGERS_HOME)."""
    write_state({"pid": os.getpid(), "stage": "local", "api_url": stack.api_url, "api_key": key_of(api)})
    yield
    clear_state()


def test_make_load_runs_the_mixed_workload_and_reports_each_threshold(
    running_stack: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the smoke stage aimed at the running stack
    config = yaml.safe_load(CONFIG_PATH.read_text())
    config["stages"]["smoke"]["target"] = "running"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    directory = tmp_path / "run"

    # When
    code = main(
        [
            "load",
            "mixed",
            "--stage",
            "smoke",
            "--config",
            str(tmp_path / "config.yaml"),
            "--output",
            str(directory),
        ]
    )

    # Then: every route ran cleanly; each seed threshold is printed with its verdict
    out, err = command_output(capsys)
    assert_ran_cleanly(directory, MIXED)
    verdicts = json.loads((directory / "summary.json").read_text())["thresholds"]
    for verdict in verdicts:
        assert f"{'held  ' if verdict['held'] else 'MISSED'}  {verdict['metric']}" in out
    missed = [verdict for verdict in verdicts if not verdict["held"]]
    assert code == (1 if missed else 0), out + err
    if missed:
        assert "threshold(s) missed" in out


def test_an_unknown_scenario_or_stage_is_refused_with_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", "nosuch", "--stage", "smoke"]) == 2
    assert "scenarios: ingestion, inbox, mixed, stress, fanout" in command_output(capsys)[1]
    assert main(["load", "mixed", "--stage", "nosuch"]) == 2
    assert "stages: local, smoke, up, staging, prod" in command_output(capsys)[1]


def test_a_wrong_api_key_fails_every_request_with_the_reason_and_misses_the_error_rate(
    stack: EmbeddedStack, tmp_path: Path
) -> None:
    # Given
    scenario, _, run = CONFIG.choose("ingestion", "smoke")
    target = ApiTarget(stack.api_url, "trg_not_a_key_of_this_stack", loopback_only=True)

    # When
    outcome = run_scenario("ingestion", scenario, "smoke", run, target, tmp_path)

    # Then
    posts = outcome.measured.stats["POST /v1/events"]
    assert posts.requests > 0 and posts.failures == posts.requests
    with (tmp_path / "locust_failures.csv").open() as failures:
        errors = {row["Error"] for row in csv.DictReader(failures)}
    assert errors == {"CatchResponseError('HTTP 401 unauthorized (expected 201)')"}  # locust's spelling
    missed = {verdict.threshold.describe(): verdict.value for verdict in outcome.missed}
    assert missed["error_rate <= 0.001"] == 1.0
    assert "events_per_s >= 1000" in missed  # no event was accepted
