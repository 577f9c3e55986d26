"""`triggers send` against the embedded stack: every event accounted for, problems reported by reason."""

import json
from pathlib import Path

import pytest

from devtools.cli import main
from devtools.stack import EmbeddedStack, free_port
from tests.integration.cli_support import cli, command_output, run_json
from tests.integration.conftest import ApiClient


def stored_ids(api: ApiClient, event_type: str) -> set[str]:
    response = api.get("/v1/events", params={"event_type": event_type, "limit": 100})
    assert response.status_code == 200, response.text
    return {event["id"] for event in response.json()["data"]}


def write_events(path: Path, events: list[object]) -> str:
    path.write_text(json.dumps(events))
    return str(path)


def test_generated_events_are_all_accepted_and_stored(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = cli(api, stack, "send", "--count", "30", "--type", "cli.generated", "--concurrency", "4")

    code, summary = run_json(capsys, argv)

    assert code == 0
    assert summary["ok"] is True
    assert (summary["events"], summary["accepted"], summary["requests"]) == (30, 30, 30)
    assert summary["rejected"] == summary["failed"] == summary["not_sent"] == summary["invalid"] == 0
    assert summary["latency_ms"]["p50"] is not None
    assert summary["latency_ms"]["p95"] >= summary["latency_ms"]["p50"]
    assert len(set(summary["event_ids"])) == 30
    assert stored_ids(api, "cli.generated") == set(summary["event_ids"])


def test_a_jsonl_file_goes_out_in_batches(
    api: ApiClient, stack: EmbeddedStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(
        "\n".join(json.dumps({"event_type": "cli.jsonl", "payload": {"n": n}}) for n in range(7)) + "\n"
    )

    code, summary = run_json(capsys, cli(api, stack, "send", str(path), "--batch", "3", "--rate", "1000"))

    assert code == 0
    assert (summary["accepted"], summary["requests"]) == (7, 3)
    assert stored_ids(api, "cli.jsonl") == set(summary["event_ids"])


def test_malformed_and_oversized_events_are_reported_by_reason(
    api: ApiClient, stack: EmbeddedStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a file with a good event, one without event_type, and one with a 100 KB payload
    events = [
        {"event_type": "cli.mixed", "payload": {"ok": True}},
        {"payload": {"no": "type"}},
        {"event_type": "cli.mixed", "payload": {"blob": "x" * 100_000}},
    ]

    # When it is sent
    code, summary = run_json(capsys, cli(api, stack, "send", write_events(tmp_path / "e.json", events)))

    # Then the good one is stored and each bad one is counted under its problem type
    assert code == 1
    assert summary["accepted"] == 1
    assert summary["rejected_by_reason"] == {"422 validation-failed": 1, "413 payload-too-large": 1}
    assert stored_ids(api, "cli.mixed") == set(summary["event_ids"])


def test_lines_that_are_not_json_are_reported_and_the_rest_sent(
    api: ApiClient, stack: EmbeddedStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.jsonl"
    good = json.dumps({"event_type": "cli.lines", "payload": {}})
    path.write_text(f"{good}\n{{broken\n\n{good}\n")

    code, summary = run_json(capsys, cli(api, stack, "send", str(path)))

    assert code == 1
    assert (summary["events"], summary["accepted"], summary["invalid"]) == (3, 2, 1)
    assert summary["invalid_lines"][0]["line"] == 2


def test_an_unknown_key_stops_the_run_and_every_event_is_counted(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "send", "--count", "20", "--concurrency", "2",
        "--api-url", stack.api_url, "--api-key", "trg_unknown", "--endpoint", stack.aws_url,
    ]  # fmt: skip

    code, summary = run_json(capsys, argv)

    assert code == 1
    refused = summary["rejected_by_reason"]["401 unauthorized"]
    assert 1 <= refused <= 2
    assert refused + summary["not_sent"] == 20
    assert summary["accepted"] == 0
    assert "401" in summary["stopped_because"]


def test_resending_with_dedupe_reports_duplicates_and_stores_nothing_twice(
    api: ApiClient, stack: EmbeddedStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_events(
        tmp_path / "e.json", [{"event_type": "cli.dedupe", "payload": {"n": n}} for n in range(4)]
    )
    first_code, first = run_json(capsys, cli(api, stack, "send", path, "--dedupe"))

    code, again = run_json(capsys, cli(api, stack, "send", path, "--dedupe"))

    assert (first_code, first["accepted"]) == (0, 4)
    assert code == 0
    assert (again["accepted"], again["duplicates"]) == (0, 4)
    assert sorted(again["event_ids"]) == sorted(first["event_ids"])
    assert stored_ids(api, "cli.dedupe") == set(first["event_ids"])


def test_an_unreachable_api_is_counted_as_failed_not_lost(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["send", "--count", "5", "--api-url", f"http://127.0.0.1:{free_port()}", "--api-key", "trg_x"]

    code, summary = run_json(capsys, argv)

    assert code == 1
    assert summary["failed_by_error"] == {"ConnectError": 5}
    assert summary["accepted"] == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--batch", "26"], "--batch must be between 1 and 25"), (["missing.json"], "cannot read the events")],
)
def test_bad_options_and_missing_files_are_refused_before_sending(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code = main(cli(api, stack, "send", *argv))

    assert code == 2
    assert message in capsys.readouterr().err


def test_the_human_summary_names_counts_and_latency(
    api: ApiClient, stack: EmbeddedStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_events(tmp_path / "e.json", [{"event_type": "cli.human", "payload": {}}, {"payload": {}}])

    code = main(cli(api, stack, "send", path, "--no-color"))

    assert code == 1
    out = command_output(capsys)[0]
    assert "1/2 accepted" in out
    assert "p50" in out
    assert "rejected: 422 validation-failed" in out
