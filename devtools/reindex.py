"""Re-index events from the events table (`triggers reindex`).

For documents indexed before a field was added to the index template (`payload_fields`), and for
a table restored from a backup, whose items the stream never carried. Every item is written with
the indexer's own document and `_bulk` handling, at version = its `rev` with `external_gte`: a
document at the same rev is rewritten (gaining the new fields), a newer one is left alone (409),
so the indexer can keep running and a second run changes nothing but rewrites.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ingest.core.events_table import scan_events
from processors.indexer.index import ensure_index
from processors.indexer.indexing import Change, index_changes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from opensearchpy import OpenSearch


@dataclass
class ReindexReport:
    read: int = 0
    indexed: int = 0
    newer_in_index: int = 0
    rejected: list[str] = field(default_factory=list)
    not_taken: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.rejected and not self.not_taken

    def as_json(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "indexed": self.indexed,
            "newer_in_index": self.newer_in_index,
            "rejected": self.rejected,
            "not_taken": self.not_taken,
        }


def reindex(
    dynamodb: "DynamoDBClient",
    table: str,
    opensearch: "OpenSearch",
    alias: str,
    *,
    tenant_id: str | None = None,
    page_size: int = 100,
    progress: Callable[[ReindexReport], None] | None = None,
) -> ReindexReport:
    """Index every event of `table` (or of one tenant) into `alias`, one `_bulk` per page."""
    report = ReindexReport()
    ensure_index(opensearch, alias)
    for page in scan_events(dynamodb, table, tenant_id, page_size):
        if not page:
            continue
        changes = [
            Change({}, str(position), item.event_id, item) for position, item in enumerate(page, report.read)
        ]
        report.read += len(page)
        outcome, rejections = index_changes(changes, opensearch, alias, version_type="external_gte")
        report.indexed += outcome.counts["indexed"]
        report.newer_in_index += outcome.counts["conflicts"]
        report.rejected += [f"{rejection.event_id}: {rejection.reason}" for rejection in rejections]
        deferred = set(outcome.deferred.errors)
        report.not_taken += [change.event_id for change in changes if change.sequence_number in deferred]
        if progress is not None:
            progress(report)
    return report
