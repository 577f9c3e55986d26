"""`triggers audit`: who changed what (the audit trail of ingest/core/audit_table.py).

Reads the stage's audit table directly (an operator's view): one tenant's records with
`--tenant`, every tenant's otherwise; newest first, filtered by `--action` and `--since`/`--until`.
"""

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from devtools.commands.keys import moment, tenant_id
from devtools.console import emit, fail
from devtools.template import Template
from ingest.core.audit_table import ACTIONS, AuditQuery, AuditRecord, list_changes, scan_changes
from ingest.core.errors import TriggersError

PAGE = 100


def _fields(fields: dict[str, Any] | None) -> str:
    if fields is None:
        return "-"
    return " ".join(f"{name}={value}" for name, value in fields.items() if value is not None)


def _records(args: argparse.Namespace) -> list[tuple[str, AuditRecord]]:
    client = args.target.client("dynamodb")
    table = Template(args.stage).physical_name("AuditTable")
    if args.tenant is None:
        return scan_changes(client, table, AuditQuery(args.action, args.since, args.until, args.limit))
    records: list[tuple[str, AuditRecord]] = []
    cursor = None
    while len(records) < args.limit:
        query = AuditQuery(args.action, args.since, args.until, min(PAGE, args.limit - len(records)), cursor)
        page = list_changes(client, table, args.tenant, query)
        records.extend((args.tenant, record) for record in page.data)
        cursor = page.next_cursor
        if cursor is None:
            break
    return records[: args.limit]


def show(args: argparse.Namespace) -> int:
    if args.since and args.until and args.since > args.until:
        return fail(args, "--since is after --until", 2)
    try:
        records = _records(args)
    except TriggersError as exc:
        return fail(args, exc.detail)

    def human(out: Console) -> None:
        table = Table("at", "tenant", "actor", "action", "resource", "before", "after")
        for tenant, record in records:
            table.add_row(
                record.at,
                tenant,
                record.actor,
                record.action,
                f"{record.resource_type} {record.resource_id}",
                _fields(record.before),
                _fields(record.after),
            )
        out.print(table)

    emit(args, [{"tenant_id": tenant, **record.model_dump()} for tenant, record in records], human)
    return 0


def positive(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError("between 1 and 10000")
    return value


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser("audit", help="who changed what: the audit trail, newest first")
    parser.add_argument("--tenant", type=tenant_id, help="only this tenant's records")
    parser.add_argument("--action", choices=ACTIONS, help="only this action")
    parser.add_argument("--since", type=moment, help="at or after (ISO 8601 with offset)")
    parser.add_argument("--until", type=moment, help="at or before (ISO 8601 with offset)")
    parser.add_argument("--limit", type=positive, default=50, help="at most this many records (default 50)")
    parser.set_defaults(func=show)
