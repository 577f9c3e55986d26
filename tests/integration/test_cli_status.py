"""`triggers status` against the embedded stack, as if it had been started by `triggers up`."""

import os
from pathlib import Path
from typing import Any

import pytest

from devtools import target as target_module
from devtools.cli import main
from devtools.receiver import Receiver
from devtools.stack import EmbeddedStack, free_port
from tests.e2e.conftest import post_events, recorded_delivery, subscribe, wait_until
from tests.integration.cli_support import cli, command_output, key_of, run_json
from tests.integration.conftest import ApiClient


@pytest.fixture
def up_state(stack: EmbeddedStack, api: ApiClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The state file `triggers up` writes, describing the test stack."""
    path = tmp_path / "stack.json"
    target_module.write_state(
        {
            "pid": os.getpid(),
            "stage": stack.stage,
            "aws_url": stack.aws_url,
            "api_url": stack.api_url,
            "opensearch_url": stack.opensearch_url,
            "api_key": key_of(api),
            "tenant": api.tenant_id,
            "logs": str(stack.state_dir),
        },
        path,
    )
    monkeypatch.setattr(target_module, "STATE_FILE", path)


def status(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, Any]:
    return run_json(capsys, argv)


@pytest.mark.usefixtures("up_state")
def test_status_reports_services_and_queue_depths(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = status(capsys, cli(api, stack, "status", "--no-deliveries"))

    assert code == 0
    assert report["stack"]["running"] is True
    assert report["stack"]["embedded"] is True
    assert {service["name"]: service["reachable"] for service in report["services"]} == {
        "aws": True,
        "api": True,
        "opensearch": True,
    }
    queues = {queue["name"]: queue for queue in report["queues"]}
    assert "triggers-local-delivery-retry" in queues
    assert "triggers-local-delivery-dlq" in queues
    assert all(queue["error"] is None and queue["visible"] >= 0 for queue in queues.values())


@pytest.mark.usefixtures("up_state")
def test_status_stream_lag_reaches_zero_once_the_runner_caught_up(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given events just written to the stream
    post_events(api, [{"event_type": "cli.status", "payload": {"n": n}} for n in range(3)])

    # Then each stream mapping's lag is known, and drops to zero records behind
    def caught_up() -> list[dict[str, Any]] | None:
        _, report = status(capsys, cli(api, stack, "status", "--no-deliveries"))
        lags = report["streams"]
        return lags if all(lag["behind"] == 0 for lag in lags) else None

    lags = wait_until(caught_up, "the ESM runner to catch up", timeout=90, every=1)
    assert {lag["function"] for lag in lags} == {"triggers-local-fanout", "triggers-local-indexer"}
    assert all(lag["state"] == "local runner" and lag["oldest_age_s"] == 0.0 for lag in lags)


@pytest.mark.usefixtures("up_state")
def test_status_counts_each_subscriptions_deliveries_by_state(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    with Receiver() as receiver:
        subscription = subscribe(api, receiver.url, ["cli.status"])
        post_events(api, [{"event_type": "cli.status", "payload": {"n": n}} for n in range(3)])
        receiver.wait_for(3, timeout=60)

        def counted() -> dict[str, Any] | None:
            _, report = status(capsys, cli(api, stack, "status"))
            (mine,) = report["subscriptions"]
            return mine if mine["deliveries"] == {"delivered": 3} else None

        mine = wait_until(counted, "three delivered deliveries")
    assert mine["id"] == subscription["id"]
    assert mine["status"] == "active"


def test_status_without_a_running_up_says_what_is_unknown(
    api: ApiClient,
    stack: EmbeddedStack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(target_module, "STATE_FILE", tmp_path / "absent.json")

    code, report = status(capsys, cli(api, stack, "status", "--no-deliveries"))

    assert code == 0
    assert report["stack"]["running"] is False
    assert {lag["state"] for lag in report["streams"]} == {"missing"}
    assert any("no running `triggers up`" in line for line in report["unknown"])
    opensearch = next(service for service in report["services"] if service["name"] == "opensearch")
    assert opensearch["reachable"] is None


def test_status_exits_1_when_the_api_is_down(
    stack: EmbeddedStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(target_module, "STATE_FILE", tmp_path / "absent.json")
    argv = [
        "status",
        "--api-url",
        f"http://127.0.0.1:{free_port()}",
        "--api-key",
        "trg_x",
        "--endpoint",
        stack.aws_url,
    ]

    code, report = status(capsys, argv)

    assert code == 1
    api = next(service for service in report["services"] if service["name"] == "api")
    assert api["reachable"] is False
    assert any(line.startswith("deliveries:") for line in report["unknown"])


def test_status_exits_1_when_the_aws_endpoint_is_down(
    api: ApiClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(target_module, "STATE_FILE", tmp_path / "absent.json")
    argv = [
        "status",
        "--no-deliveries",
        "--api-url",
        api.base_url,
        "--endpoint",
        f"http://127.0.0.1:{free_port()}",
    ]

    code, report = status(capsys, argv)

    assert code == 1
    assert report["services"][0] == {**report["services"][0], "name": "aws", "reachable": False}
    assert (report["queues"], report["streams"]) == ([], [])
    assert "queues and stream lag: the AWS endpoint does not answer" in report["unknown"]


@pytest.mark.usefixtures("up_state")
def test_status_renders_tables_for_people(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(cli(api, stack, "status", "--no-color"))

    assert code == 0
    out = command_output(capsys)[0]
    assert "triggers up running" in out
    assert "stream lag" in out
    assert "triggers-local-delivery-dlq" in out
    assert "subscriptions" in out


@pytest.mark.usefixtures("up_state")
def test_status_of_a_subscription_shows_its_delivery_stats(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a subscription with three deliveries recorded
    with Receiver() as receiver:
        subscription = subscribe(api, receiver.url, ["cli.stats"])
        event_ids = post_events(api, [{"event_type": "cli.stats", "payload": {"n": n}} for n in range(3)])
        for event_id in event_ids:
            recorded_delivery(api, event_id, subscription["id"], state="delivered")

    # When status is asked about it
    code, report = status(
        capsys, cli(api, stack, "status", "--no-deliveries", "--subscription", subscription["id"])
    )
    main(
        cli(api, stack, "status", "--no-deliveries", "--subscription", subscription["id"], "--window", "24h")
    )
    human, _ = command_output(capsys)

    # Then it shows the numbers of the stats route, in JSON and for people
    assert code == 0
    stats = report["stats"]
    assert stats["subscription_id"] == subscription["id"] and stats["window"] == "1h"
    assert stats["outcomes"]["succeeded"] == 3 and stats["success_rate"] == 1.0
    assert f"deliveries of {subscription['id']}, last 24h" in human
    assert "success rate 100.0% of 3 attempts" in human


@pytest.mark.usefixtures("up_state")
def test_status_of_another_tenants_subscription_exits_1(
    api: ApiClient, new_tenant: Any, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    other = subscribe(new_tenant(), "http://127.0.0.1:9/other", ["cli.stats"])

    code, report = status(capsys, cli(api, stack, "status", "--no-deliveries", "--subscription", other["id"]))

    assert code == 1
    assert report["stats"] is None
    assert any(
        (other["id"] in line and "404" in line) or "not found" in line.lower() for line in report["unknown"]
    )
