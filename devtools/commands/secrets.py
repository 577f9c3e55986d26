"""`triggers secrets migrate [--dry-run]`: encrypt the webhook signing secrets stored in plaintext.

For subscriptions created before secrets were encrypted (docs/operations.md, "Encrypting stored
signing secrets"). Safe to run any number of times, and while the stack serves traffic.
"""

import argparse

from rich.console import Console

from devtools.console import emit, fail, stderr
from devtools.secrets_migration import MigrationReport, migrate
from devtools.template import Template
from ingest.core.credentials import CredentialKey
from ingest.core.errors import TriggersError


def run_migrate(args: argparse.Namespace) -> int:
    template = Template(args.stage)
    table = template.physical_name("SubscriptionsTable")
    key = CredentialKey(args.target.client("kms"), args.key_id or str(template.ref("SecretsKeyAlias")))
    notes = stderr(args)

    def progress(report: MigrationReport) -> None:
        notes.print(f"[dim]{report.plaintext} found, {report.encrypted} encrypted ...[/dim]")

    try:
        report = migrate(args.target.client("dynamodb"), table, key, dry_run=args.dry_run, progress=progress)
    except TriggersError as exc:
        return fail(args, exc.detail)

    def human(out: Console) -> None:
        if report.dry_run:
            out.print(
                f"[bold]dry run[/]: {report.plaintext} subscription(s) in {table} hold a plaintext secret; "
                f"a run would encrypt them with {report.key}. Nothing was written."
            )
            return
        out.print(
            f"{report.plaintext} subscription(s) held a plaintext secret in {table}: "
            f"[green]{report.encrypted} encrypted[/] with {report.key}, "
            f"{report.skipped} changed by another writer meanwhile (nothing to do)."
        )
        if report.complete:
            out.print("No plaintext secret is left; running this again finds nothing to do.")

    emit(args, report.as_dict(), human)
    if not report.complete:
        return fail(args, f"stopped early: {report.error}. Run the command again to resume.")
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    secrets = commands.add_parser(
        "secrets", help="manage subscribers' stored credentials (webhook signing secrets)"
    ).add_subparsers(dest="secrets_command", required=True, metavar="ACTION")
    migrate_parser = secrets.add_parser(
        "migrate",
        help="encrypt signing secrets stored in plaintext with the secrets KMS key (idempotent, resumable)",
        description=__doc__,
    )
    migrate_parser.add_argument(
        "--dry-run", action="store_true", help="count the plaintext secrets; change nothing"
    )
    migrate_parser.add_argument(
        "--key-id",
        help="KMS key id, ARN or alias to encrypt with (default: the stage's alias/triggers-<stage>-secrets)",
    )
    migrate_parser.set_defaults(func=run_migrate)
