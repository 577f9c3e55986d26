"""The point-in-time recovery drill of the runbook: restore a table to a new one, count, compare.

`plan_drill` decides what a drill does (which table, which new table, which point in time);
`run_drill` does it with a DynamoDB client: checks PITR is on and the point is inside its window,
calls RestoreTableToPointInTime, waits for the new table, counts both tables with `Scan
Select=COUNT` (every page) and compares, then deletes the restored table unless asked to keep it.

A live table keeps changing after the restore point (new events, TTL expiries, deletes), so the
counts of a busy table differ by what changed since; `tolerance` says how many items may differ.
Restoring to the latest restorable time of a quiet table must match exactly.
"""

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

DRILL_SUFFIX = "-drill-"


class DrillError(Exception):
    """The drill could not be made (PITR off, point outside the window, restore refused)."""


@dataclass(frozen=True)
class DrillPlan:
    source: str
    target: str
    restore_time: datetime | None  # None: the latest restorable time
    keep: bool = False
    tolerance: int = 0

    def steps(self) -> list[str]:
        """The AWS calls the drill makes, as `aws` commands (what a dry run prints)."""
        point = (
            f"--restore-date-time {self.restore_time.isoformat()}"
            if self.restore_time
            else "--use-latest-restorable-time"
        )
        steps = [
            f"aws dynamodb describe-continuous-backups --table-name {self.source}",
            f"aws dynamodb restore-table-to-point-in-time --source-table-name {self.source} "
            f"--target-table-name {self.target} {point} --billing-mode-override PAY_PER_REQUEST",
            f"aws dynamodb wait table-exists --table-name {self.target}",
            f"aws dynamodb scan --table-name {self.source} --select COUNT  (every page)",
            f"aws dynamodb scan --table-name {self.target} --select COUNT  (every page)",
        ]
        if not self.keep:
            steps.append(f"aws dynamodb delete-table --table-name {self.target}")
        return steps


@dataclass
class DrillReport:
    source: str
    target: str
    restore_time: str | None
    recovery_period_days: int | None
    source_count: int
    restored_count: int
    restore_seconds: float
    kept: bool
    tolerance: int
    notes: list[str] = field(default_factory=list)

    @property
    def difference(self) -> int:
        return self.source_count - self.restored_count

    @property
    def ok(self) -> bool:
        return abs(self.difference) <= self.tolerance

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "difference": self.difference, "ok": self.ok}


def plan_drill(
    source: str,
    now: datetime,
    restore_time: datetime | None = None,
    *,
    keep: bool = False,
    tolerance: int = 0,
) -> DrillPlan:
    """A drill of `source` into `<source>-drill-<UTC time>` (a name no stack resource has)."""
    if restore_time is not None and restore_time.tzinfo is None:
        raise DrillError("give the restore time with its offset (e.g. 2026-11-10T12:00:00Z)")
    target = f"{source}{DRILL_SUFFIX}{now.astimezone(UTC):%Y%m%d%H%M%S}"
    return DrillPlan(source, target, restore_time, keep=keep, tolerance=tolerance)


def count_items(dynamodb: Any, table: str) -> int:
    """Items in `table`: `Scan Select=COUNT` over every page (a page stops at 1 MB read)."""
    total = 0
    request: dict[str, Any] = {"TableName": table, "Select": "COUNT"}
    while True:
        page = dynamodb.scan(**request)
        total += int(page["Count"])
        if "LastEvaluatedKey" not in page:
            return total
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _recovery_window(dynamodb: Any, plan: DrillPlan) -> int | None:
    """The source's PITR period; DrillError when PITR is off or the point is outside its window."""
    description = dynamodb.describe_continuous_backups(TableName=plan.source)["ContinuousBackupsDescription"]
    pitr = description.get("PointInTimeRecoveryDescription", {})
    if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
        raise DrillError(f"point-in-time recovery is not enabled on {plan.source}")
    earliest, latest = pitr.get("EarliestRestorableDateTime"), pitr.get("LatestRestorableDateTime")
    if plan.restore_time is not None and isinstance(earliest, datetime) and plan.restore_time < earliest:
        raise DrillError(f"{plan.restore_time.isoformat()} is before the earliest restorable time {earliest}")
    if plan.restore_time is not None and isinstance(latest, datetime) and plan.restore_time > latest:
        raise DrillError(f"{plan.restore_time.isoformat()} is after the latest restorable time {latest}")
    period = pitr.get("RecoveryPeriodInDays")
    return None if period is None else int(period)


def run_drill(
    dynamodb: Any,
    plan: DrillPlan,
    *,
    wait_delay: int = 20,
    wait_attempts: int = 180,
    clock: Callable[[], float] = time.monotonic,
) -> DrillReport:
    """Restore, wait, count and compare (see the module). The restored table is deleted unless
    `plan.keep`, also when counting fails."""
    try:
        period = _recovery_window(dynamodb, plan)
        point: dict[str, Any] = (
            {"RestoreDateTime": plan.restore_time} if plan.restore_time else {"UseLatestRestorableTime": True}
        )
        started = clock()
        dynamodb.restore_table_to_point_in_time(
            SourceTableName=plan.source,
            TargetTableName=plan.target,
            BillingModeOverride="PAY_PER_REQUEST",
            **point,
        )
    except (ClientError, BotoCoreError) as exc:
        raise DrillError(f"restore of {plan.source} refused: {exc}") from exc
    try:
        dynamodb.get_waiter("table_exists").wait(
            TableName=plan.target, WaiterConfig={"Delay": wait_delay, "MaxAttempts": wait_attempts}
        )
        restore_seconds = round(clock() - started, 1)
        restored = dynamodb.describe_table(TableName=plan.target)["Table"]
        restored_count = count_items(dynamodb, plan.target)
        source_count = count_items(dynamodb, plan.source)
    finally:
        if not plan.keep:
            dynamodb.delete_table(TableName=plan.target)
    notes = [
        "the restored table has no stream, TTL or PITR of its own: enable them before using it (runbook)"
    ]
    restore_time = restored.get("RestoreSummary", {}).get("RestoreDateTime") or plan.restore_time
    return DrillReport(
        source=plan.source,
        target=plan.target,
        restore_time=restore_time.isoformat() if isinstance(restore_time, datetime) else None,
        recovery_period_days=period,
        source_count=source_count,
        restored_count=restored_count,
        restore_seconds=restore_seconds,
        kept=plan.keep,
        tolerance=plan.tolerance,
        notes=notes,
    )


__all__ = ["DrillError", "DrillPlan", "DrillReport", "count_items", "plan_drill", "run_drill"]
