"""`triggers reindex [--tenant T]`: index events again from the events table (see devtools/reindex.py)."""

import argparse

from rich.console import Console

from devtools.console import emit, fail, stderr
from devtools.dlq.redrive import function_environment
from devtools.reindex import ReindexReport, reindex
from devtools.template import Template
from ingest.core.errors import StoreUnavailable


def run(args: argparse.Namespace) -> int:
    from opensearchpy import TransportError

    from ingest.core.opensearch_client import opensearch_client
    from ingest.core.settings import get_settings

    template = Template(args.stage)
    table = args.table or template.physical_name("EventsTable")
    quiet = getattr(args, "json", False)

    def progress(report: ReindexReport) -> None:
        if not quiet:
            stderr(args).print(f"[dim]{report.read} read, {report.indexed} indexed[/]")

    try:
        with function_environment(args.target, template, "IndexerFunction"):
            settings = get_settings()
            report = reindex(
                args.target.client("dynamodb"),
                table,
                opensearch_client(settings.opensearch_endpoint),
                settings.index_alias,
                tenant_id=args.tenant,
                page_size=args.page_size,
                progress=progress,
            )
    except StoreUnavailable as exc:
        return fail(args, exc.detail)
    except TransportError as exc:
        return fail(args, f"OpenSearch failed: {type(exc).__name__} {exc.status_code}")

    def human(out: Console) -> None:
        out.print(
            f"{report.read} event(s) read from {table}: {report.indexed} indexed, "
            f"{report.newer_in_index} already newer in the index"
        )
        for line in report.rejected:
            out.print(f"[red]rejected[/] {line}")
        if report.not_taken:
            out.print(f"[yellow]{len(report.not_taken)} not taken by OpenSearch (busy?): run again[/]")

    emit(args, report.as_json(), human)
    return 0 if report.complete else 1


def positive(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError("between 1 and 1000")
    return value


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser(
        "reindex",
        help="index events again from the events table (new index fields, a restored table)",
        description=(
            "Write every event of the events table (or one tenant's) to the search index at its "
            "rev: documents at the same rev are rewritten with the current document shape, newer "
            "ones are left alone. Safe while the indexer runs, and to run again."
        ),
    )
    parser.add_argument("--tenant", help="only this tenant's events (a Query instead of a Scan)")
    parser.add_argument("--table", help="events table to read, e.g. a restored one (default: the stage's)")
    parser.add_argument("--page-size", type=positive, default=100, help="events per read and per _bulk")
    parser.set_defaults(func=run)
