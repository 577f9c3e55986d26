"""The PITR restore drill (devtools/restore_drill.py, `triggers restore-drill`) against moto in-process.

moto implements RestoreTableToPointInTime (it copies the table as it is at the call, whatever the
point) and DescribeContinuousBackups, so the drill's real path runs here; the local stage gets a dry run.
"""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devtools.cli import main
from devtools.restore_drill import DrillError, DrillReport, count_items, plan_drill, run_drill
from ingest.core.settings import get_settings

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_target_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "TRIGGERS_API_URL", "TRIGGERS_API_KEY", "STAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("devtools.target.STATE_FILE", tmp_path / "absent.json")


def put_items(dynamodb: Any, table: str, count: int, tenant: str = "t1") -> None:
    """`count` items keyed like the table's (tenant_id + its sort key)."""
    (sort_key,) = [
        k["AttributeName"]
        for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
        if k["KeyType"] == "RANGE"
    ]
    for number in range(count):
        dynamodb.put_item(
            TableName=table, Item={"tenant_id": {"S": tenant}, sort_key: {"S": f"{tenant}-{number:04}"}}
        )


def tables(dynamodb: Any) -> set[str]:
    return set(dynamodb.list_tables()["TableNames"])


def test_drill_restores_counts_and_deletes_the_restored_table(dynamodb: Any) -> None:
    # Given an events table with 7 items
    events = get_settings().events_table
    put_items(dynamodb, events, 7)
    before = tables(dynamodb)

    # When the drill runs
    report = run_drill(dynamodb, plan_drill(events, NOW), wait_delay=1)

    # Then both counts are 7, and the restored table is gone again
    assert (report.source_count, report.restored_count, report.difference, report.ok) == (7, 7, 0, True)
    assert report.target == f"{events}-drill-20261201093000"
    assert report.recovery_period_days == 35
    assert tables(dynamodb) == before


def test_a_kept_restored_table_holds_the_items(dynamodb: Any) -> None:
    events = get_settings().events_table
    put_items(dynamodb, events, 3)

    report = run_drill(dynamodb, plan_drill(events, NOW, keep=True), wait_delay=1)

    assert report.kept
    assert count_items(dynamodb, report.target) == 3


class WritesAfterRestore:
    """A client whose source table gets `extra` items right after the restore call (live traffic)."""

    def __init__(self, dynamodb: Any, extra: int) -> None:
        self.dynamodb, self.extra = dynamodb, extra

    def __getattr__(self, name: str) -> Any:
        return getattr(self.dynamodb, name)

    def restore_table_to_point_in_time(self, **request: Any) -> Any:
        response = self.dynamodb.restore_table_to_point_in_time(**request)
        put_items(self.dynamodb, request["SourceTableName"], self.extra, tenant="late")
        return response


@pytest.mark.parametrize(("tolerance", "ok"), [(0, False), (2, True)])
def test_writes_after_the_restore_point_show_as_a_difference(dynamodb: Any, tolerance: int, ok: bool) -> None:
    events = get_settings().events_table
    put_items(dynamodb, events, 4)

    report = run_drill(
        WritesAfterRestore(dynamodb, 2), plan_drill(events, NOW, tolerance=tolerance), wait_delay=1
    )

    assert (report.source_count, report.restored_count, report.difference) == (6, 4, 2)
    assert report.ok is ok


def test_a_table_without_pitr_is_refused(dynamodb: Any) -> None:
    idempotency = get_settings().idempotency_table

    with pytest.raises(DrillError, match="not enabled"):
        run_drill(dynamodb, plan_drill(idempotency, NOW), wait_delay=1)
    assert not any("-drill-" in name for name in tables(dynamodb))


def test_a_point_before_the_recovery_window_is_refused(dynamodb: Any) -> None:
    events = get_settings().events_table
    long_ago = datetime.now(UTC) - timedelta(days=40)

    with pytest.raises(DrillError, match="before the earliest restorable time"):
        run_drill(dynamodb, plan_drill(events, NOW, long_ago), wait_delay=1)


def test_a_point_without_offset_is_refused() -> None:
    with pytest.raises(DrillError, match="offset"):
        plan_drill("t", NOW, datetime(2026, 11, 10, 12))


class Pages:
    def __init__(self, *counts: int) -> None:
        self.counts, self.requests = list(counts), []  # type: ignore[var-annotated]

    def scan(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        page: dict[str, Any] = {"Count": self.counts.pop(0)}
        if self.counts:
            page["LastEvaluatedKey"] = {"k": {"S": str(len(self.counts))}}
        return page


def test_counting_reads_every_page() -> None:
    client = Pages(1000, 1000, 17)

    assert count_items(client, "t") == 2017
    assert [request.get("ExclusiveStartKey") for request in client.requests] == [
        None,
        {"k": {"S": "2"}},
        {"k": {"S": "1"}},
    ]
    assert {request["Select"] for request in client.requests} == {"COUNT"}


@pytest.mark.parametrize(
    ("source", "restored", "tolerance", "ok"), [(5, 5, 0, True), (5, 4, 0, False), (4, 5, 1, True)]
)
def test_the_verdict_compares_the_counts_within_the_tolerance(
    source: int, restored: int, tolerance: int, ok: bool
) -> None:
    report = DrillReport("s", "t", None, 35, source, restored, 1.0, False, tolerance)

    assert report.ok is ok
    assert report.as_json()["difference"] == source - restored


def test_on_the_local_stage_the_command_prints_what_it_would_do(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--json", "restore-drill", "--at", "2026-11-10T12:00:00Z"])

    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["dry_run"] is True
    assert out["source"] == "triggers-local-events"
    assert out["steps"][1].startswith(
        "aws dynamodb restore-table-to-point-in-time --source-table-name triggers-local-events "
        "--target-table-name triggers-local-events-drill-"
    )
    assert "--restore-date-time 2026-11-10T12:00:00+00:00" in out["steps"][1]
    assert out["steps"][-1].startswith("aws dynamodb delete-table")


def test_against_aws_the_command_runs_the_drill(dynamodb: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # moto in-process stands for AWS (`--endpoint aws`: boto3's own endpoints, which mock_aws serves)
    put_items(dynamodb, get_settings().subscriptions_table, 2)

    code = main(
        ["--endpoint", "aws", "--stage", "test", "--json", "restore-drill", "--table", "SubscriptionsTable"]
    )

    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (report["source"], report["source_count"], report["restored_count"]) == (
        "triggers-test-subscriptions",
        2,
        2,
    )
    assert not any("-drill-" in name for name in tables(dynamodb))
