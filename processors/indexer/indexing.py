"""Mirror a batch of events-table stream records into OpenSearch with one `_bulk` request.

Document id = event id; every write uses `version_type=external` so replays and out-of-order
records never overwrite newer data:

- INSERT/MODIFY index the item with version = its `rev`; a 409 means the index already holds
  that rev or a newer one, which is success.
- REMOVE (DELETE or TTL expiry; NEW_IMAGE records carry only the keys) deletes with
  `DELETE_VERSION`, above any rev: a retried write of the same item that arrives while the
  delete's tombstone is kept conflicts instead of resurrecting it; 404 (already gone) and 409
  (already deleted) are success.

The `batch indexed` log line counts the REMOVE records that were TTL expiries (`expired`: their
`userIdentity` is the DynamoDB service), for the TTL deletion query of docs/operations.md.

A 400 (the strict mapping rejects the document) or an unreadable record is sent with its reason
to the index DLQ and counts as processed, so one bad document never blocks the shard. Anything
else (429, 5xx, a 403 cluster block, the alias missing, transport errors) leaves the record for a
stream retry through `batchItemFailures`.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError
from opensearchpy import OpenSearch, TransportError
from pydantic import ValidationError

from ingest.core.events_table import EventItem
from ingest.core.observability import logger, metrics, tracer
from ingest.core.runtime import runtime
from processors.batch import ItemFailures
from processors.indexer.index import document, ensure_index

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

DELETE_VERSION = 10**18
TTL_PRINCIPAL = "dynamodb.amazonaws.com"
VersionType = Literal["external", "external_gte"]
SUCCESS = {"index": frozenset({200, 201, 409}), "delete": frozenset({200, 404, 409})}
REJECTED = 400


class IndexingDeferred(Exception):
    """The record was not indexed this time; the stream retries it."""


@dataclass(frozen=True)
class Change:
    """One stream record as the index sees it. `item` is None when the event left the table."""

    record: dict[str, Any]
    sequence_number: str
    event_id: str
    item: EventItem | None

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "Change":
        stream = record["dynamodb"]
        if record["eventName"] == "REMOVE":
            return cls(record, stream["SequenceNumber"], stream["Keys"]["event_id"]["S"], None)
        item = EventItem.from_ddb(stream["NewImage"])
        return cls(record, stream["SequenceNumber"], item.event_id, item)

    @property
    def expired(self) -> bool:
        """A REMOVE made by DynamoDB's TTL process rather than by a DeleteItem."""
        identity = self.record.get("userIdentity") or {}
        return (
            self.item is None
            and identity.get("type") == "Service"
            and identity.get("principalId") == TTL_PRINCIPAL
        )

    def actions(self, version_type: VersionType = "external") -> list[dict[str, Any]]:
        """The `_bulk` lines of this change. No `_index`: the request names the alias in its path,
        the one index the domain's access policy lets the indexer write to
        (`rest.action.multi.allow_explicit_index` is false there, so a body naming an index is
        refused). `external_gte` rewrites a document at the same rev (a reindex filling in new
        fields) and still never overwrites a newer one."""
        meta = {"_id": self.event_id, "version_type": version_type}
        if self.item is None:
            return [{"delete": {**meta, "version": DELETE_VERSION}}]
        return [{"index": {**meta, "version": self.item.rev}}, document(self.item)]


@dataclass(frozen=True)
class Rejection:
    record: dict[str, Any]
    event_id: str | None
    status: int | None
    error_type: str
    reason: str


@dataclass
class IndexOutcome:
    """What one bulk did to each record; `deferred.check` raises for those left to a stream retry."""

    deferred: ItemFailures = field(default_factory=ItemFailures)
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("indexed", "deleted", "conflicts", "rejected", "deferred"), 0)
    )

    def defer(self, sequence_number: str) -> None:
        self.deferred.fail(
            sequence_number, IndexingDeferred(f"record {sequence_number} left for a stream retry")
        )
        self.counts["deferred"] += 1


@runtime.cached
def _ensure_index_once(client: OpenSearch, alias: str) -> None:
    """Create the alias on the first batch of a cold start if nothing (init script, stack) did."""
    ensure_index(client, alias)


@tracer.capture_method(capture_response=False)
def index_batch(
    records: Sequence[dict[str, Any]], client: OpenSearch, sqs: "SQSClient", alias: str, dlq_url: str
) -> IndexOutcome:
    outcome = IndexOutcome()
    changes: list[Change] = []
    rejections: list[Rejection] = []
    for record in records:
        try:
            changes.append(Change.from_record(record))
        except (KeyError, TypeError, ValidationError) as exc:
            reason = f"unreadable stream record: {type(exc).__name__}"
            rejections.append(Rejection(record, None, None, "unreadable_record", reason))
    if changes:
        _bulk(changes, client, alias, outcome, rejections)
    if rejections:
        _dead_letter(rejections, sqs, dlq_url, outcome)
    for name, value in outcome.counts.items():
        if value:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    logger.info(
        "batch indexed",
        extra={
            "records": len(records),
            "event_ids": [change.event_id for change in changes],
            "expired": sum(change.expired for change in changes),
            **outcome.counts,
        },
    )
    return outcome


def index_changes(
    changes: list[Change], client: OpenSearch, alias: str, version_type: VersionType = "external"
) -> tuple[IndexOutcome, list[Rejection]]:
    """One `_bulk` of `changes` without dead-lettering: for re-indexing what the index DLQ holds,
    or the events table (`triggers reindex`, with `external_gte`)."""
    outcome = IndexOutcome()
    rejections: list[Rejection] = []
    _bulk(changes, client, alias, outcome, rejections, version_type)
    return outcome, rejections


def _bulk(
    changes: list[Change],
    client: OpenSearch,
    alias: str,
    outcome: IndexOutcome,
    rejections: list[Rejection],
    version_type: VersionType = "external",
) -> None:
    body = [line for change in changes for line in change.actions(version_type)]
    try:
        _ensure_index_once(client, alias)
        response = client.bulk(body=body, index=alias, require_alias=True)
    except TransportError as exc:
        logger.warning("OpenSearch request failed", extra={"status": exc.status_code, "error": exc.error})
        for change in changes:
            outcome.defer(change.sequence_number)
        return
    for change, entry in zip(changes, response["items"], strict=True):
        ((operation, result),) = entry.items()
        status = int(result["status"])
        error = result.get("error") or {}
        log_keys = {"event_id": change.event_id, "status": status, "error_type": error.get("type")}
        if status in SUCCESS[operation]:
            if status == 409:
                outcome.counts["conflicts"] += 1
                logger.info(
                    "version conflict: the index already has this change or a newer one", extra=log_keys
                )
            else:
                outcome.counts["indexed" if operation == "index" else "deleted"] += 1
        elif status == REJECTED:
            error_type = str(error.get("type"))
            reason = f"{error_type}: {error.get('reason')}"
            rejections.append(Rejection(change.record, change.event_id, status, error_type, reason))
        else:
            if error.get("type") == "index_not_found_exception":
                _ensure_index_once.cache_clear()
            outcome.defer(change.sequence_number)
            logger.warning("indexing deferred", extra=log_keys)


def _dead_letter(rejections: list[Rejection], sqs: "SQSClient", dlq_url: str, outcome: IndexOutcome) -> None:
    """Send rejected records with their reason to the index DLQ; a record that cannot be sent is deferred."""
    entries: list[SendMessageBatchRequestEntryTypeDef] = [
        {
            "Id": str(position),
            "MessageBody": json.dumps(
                {
                    "reason": rejection.reason,
                    "status": rejection.status,
                    "event_id": rejection.event_id,
                    "record": rejection.record,
                }
            ),
        }
        for position, rejection in enumerate(rejections)
    ]
    try:
        failed = {
            entry["Id"]
            for entry in sqs.send_message_batch(QueueUrl=dlq_url, Entries=entries).get("Failed", [])
        }
    except (ClientError, BotoCoreError) as exc:
        logger.error("index DLQ unavailable", extra={"error": type(exc).__name__})
        failed = {entry["Id"] for entry in entries}
    for position, rejection in enumerate(rejections):
        log_keys = {
            "event_id": rejection.event_id,
            "status": rejection.status,
            "error_type": rejection.error_type,
        }
        if str(position) in failed:
            outcome.defer(rejection.record["dynamodb"]["SequenceNumber"])
            logger.error("rejected document not dead-lettered; deferred", extra=log_keys)
        else:
            outcome.counts["rejected"] += 1
            logger.warning("document rejected; sent to the index DLQ", extra=log_keys)
