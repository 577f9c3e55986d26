"""`triggers restore-drill`: restore a table to a new one at a point in time and compare item counts."""

import argparse
from datetime import UTC, datetime

from rich.console import Console

from devtools.console import emit, fail
from devtools.restore_drill import DrillError, DrillPlan, plan_drill, run_drill
from devtools.template import Template


def _table_name(template: Template, table: str) -> str:
    """A logical id of template.yaml (`EventsTable`) or a physical table name."""
    if template.resources.get(table, {}).get("Type") == "AWS::DynamoDB::Table":
        return template.physical_name(table)
    return table


def _print_plan(args: argparse.Namespace, plan: DrillPlan, reason: str) -> int:
    data = {
        "dry_run": True,
        "reason": reason,
        "source": plan.source,
        "target": plan.target,
        "steps": plan.steps(),
    }

    def human(out: Console) -> None:
        out.print(f"[bold]dry run[/] ({reason}): the drill would run")
        for step in plan.steps():
            out.print(f"  {step}")
        out.print("and report both counts, their difference and the restore time.")

    emit(args, data, human)
    return 0


def run(args: argparse.Namespace) -> int:
    template = Template(args.stage)
    try:
        plan = plan_drill(
            _table_name(template, args.table),
            datetime.now(UTC),
            args.at,
            keep=args.keep,
            tolerance=args.tolerance,
        )
    except DrillError as exc:
        return fail(args, str(exc))
    if args.target.is_local:
        # Emulators keep no continuous backups: moto copies the table as it is now, whatever the time.
        return _print_plan(args, plan, "a local stack keeps no point-in-time backups")
    if args.dry_run:
        return _print_plan(args, plan, "--dry-run")
    try:
        report = run_drill(args.target.client("dynamodb"), plan)
    except DrillError as exc:
        return fail(args, str(exc))

    def human(out: Console) -> None:
        verdict = "[green]counts match[/]" if report.ok else "[red]counts differ[/]"
        out.print(
            f"{report.source} restored to {report.target} (point {report.restore_time or 'latest'}) "
            f"in {report.restore_seconds} s"
        )
        out.print(
            f"items: {report.source_count} in the source now, {report.restored_count} restored "
            f"(difference {report.difference}, tolerance {report.tolerance}): {verdict}"
        )
        out.print("restored table kept" if report.kept else "restored table deleted")
        for note in report.notes:
            out.print(f"[dim]{note}[/]")

    emit(args, report.as_json(), human)
    return 0 if report.ok else 1


def instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("an ISO 8601 time, e.g. 2026-11-10T12:00:00Z") from exc
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("give the time with its offset (Z or +01:00)")
    return value


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser(
        "restore-drill",
        help="PITR drill: restore a table to a new one, compare item counts, clean up",
        description=(
            "Restore a table (point-in-time recovery) to `<table>-drill-<time>`, wait until it is "
            "active, count the items of both (Scan Select=COUNT) and report; the restored table is "
            "deleted afterwards unless --keep. Exits 1 when the counts differ by more than "
            "--tolerance (a busy table changes after the restore point). On a local stack (no "
            "continuous backups there) and with --dry-run it prints the calls it would make."
        ),
    )
    parser.add_argument("--table", default="EventsTable", help="logical id in template.yaml, or a table name")
    parser.add_argument(
        "--at", type=instant, help="point in time to restore (default: the latest restorable)"
    )
    parser.add_argument("--tolerance", type=int, default=0, help="items the counts may differ by")
    parser.add_argument("--keep", action="store_true", help="keep the restored table (default: delete it)")
    parser.add_argument("--dry-run", action="store_true", help="print the calls without making them")
    parser.set_defaults(func=run)
