"""The pipeline's no-loss invariant, checked after a fault test or a soak run.

Every accepted event is in the events table and indexed in OpenSearch at its current `rev`; for
every subscription it matched, exactly one of these holds:

- delivered: the delivery record is `delivered` with exactly one 2xx attempt, and the receiver
  answered 2xx to that webhook-id exactly once;
- dead-lettered: the record is `failed` and the delivery DLQ holds exactly one letter for it with
  its full context (tenant, subscription, target URL, every recorded attempt, the signed envelope);
- gone: the receiver answered 410, the record is `gone` (the subscription is disabled).

Anything else is lost (no record, still in flight, a letter missing) or duplicated (two 2xx
attempts, two 2xx answers at the receiver, two letters, a webhook for a pair nobody expected).
"""

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from devtools.dlq.letters import peek

BATCH_GET_KEYS = 100
MGET_IDS = 500
DLQ_PEEK_LIMIT = 100_000
_deserializer = TypeDeserializer()


@dataclass(frozen=True)
class Accepted:
    """An event the API answered 201 for."""

    tenant_id: str
    event_id: str
    event_type: str


@dataclass(frozen=True)
class Watched:
    """A subscription under test, and how to read every answer its receiver gave: (webhook-id, status)."""

    tenant_id: str
    subscription_id: str
    event_types: tuple[str, ...]
    answers: Callable[[], Sequence[tuple[str | None, int]]]
    # Event ids it must account for; None means every accepted event of its tenant it matches.
    expected: frozenset[str] | None = None

    def matches(self, event: Accepted) -> bool:
        if event.tenant_id != self.tenant_id:
            return False
        if self.expected is not None:
            return event.event_id in self.expected
        return "*" in self.event_types or event.event_type in self.event_types


@dataclass(frozen=True)
class Stores:
    """Where the invariant reads: clients and resource names of one stack."""

    dynamodb: Any
    sqs: Any
    opensearch: Any
    events_table: str
    deliveries_table: str
    delivery_dlq_url: str
    index_alias: str


@dataclass
class Report:
    events: int = 0
    pairs: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    missing_events: list[str] = field(default_factory=list)
    not_indexed: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing_events or self.not_indexed or self.lost or self.duplicated)

    def summary(self) -> str:
        outcomes = ", ".join(f"{name} {count}" for name, count in sorted(self.outcomes.items()))
        return (
            f"{self.events} events, {self.pairs} (event, subscription) pairs: {outcomes or 'none'}; "
            f"missing from table {len(self.missing_events)}, not indexed {len(self.not_indexed)}, "
            f"lost {len(self.lost)}, duplicated {len(self.duplicated)}"
        )

    def describe(self, limit: int = 20) -> str:
        lines = [self.summary()]
        for title, problems in (
            ("missing from the events table", self.missing_events),
            ("not indexed at their current rev", self.not_indexed),
            ("lost", self.lost),
            ("duplicated", self.duplicated),
        ):
            if problems:
                lines.append(f"{title}:")
                lines += [f"  {problem}" for problem in problems[:limit]]
                if len(problems) > limit:
                    lines.append(f"  ... and {len(problems) - limit} more")
        return "\n".join(lines)


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def batch_get(dynamodb: Any, table: str, keys: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every existing item of `keys` (plain values), read consistently, retrying unprocessed keys."""
    found: list[dict[str, Any]] = []
    for chunk in _chunks(keys, BATCH_GET_KEYS):
        request: dict[str, Any] = {
            table: {
                "Keys": [{name: {"S": value} for name, value in key.items()} for key in chunk],
                "ConsistentRead": True,
            }
        }
        while request:
            response = dynamodb.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table, []):
                found.append({name: _deserializer.deserialize(value) for name, value in item.items()})
            request = response.get("UnprocessedKeys") or {}
    return found


def indexed_versions(opensearch: Any, alias: str, event_ids: Sequence[str]) -> dict[str, int]:
    """Event id -> external version of its document, for the documents that exist."""
    versions: dict[str, int] = {}
    for chunk in _chunks(event_ids, MGET_IDS):
        response = opensearch.mget(index=alias, body={"ids": list(chunk)}, _source=False)
        for document in response["docs"]:
            if document.get("found"):
                versions[document["_id"]] = int(document["_version"])
    return versions


def dead_letters(
    sqs: Any, queue_url: str, event_ids: set[str]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The delivery DLQ's letters of `event_ids` by (event, subscription), left in the queue."""
    letters: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for message in peek(sqs, queue_url, DLQ_PEEK_LIMIT):
        letter = json.loads(message["Body"])
        if letter.get("event_id") in event_ids:
            letters[(letter["event_id"], letter.get("subscription_id", ""))].append(letter)
    return letters


def _letter_problem(letter: dict[str, Any], record: dict[str, Any], event: Accepted) -> str | None:
    envelope = letter.get("envelope") or {}
    if letter.get("tenant_id") != event.tenant_id:
        return "letter names another tenant"
    if letter.get("target_url") != record.get("target_url"):
        return "letter lacks the target URL"
    if envelope.get("id") != event.event_id or envelope.get("type") != event.event_type:
        return "letter lacks the signed envelope"
    in_letter, in_record = len(letter.get("attempts") or []), len(record.get("attempts") or [])
    if in_letter != in_record:
        return f"letter has {in_letter} attempts, the record {in_record}"
    return None


def _successes(record: dict[str, Any]) -> int:
    return sum(
        1 for attempt in record.get("attempts") or [] if 200 <= (attempt.get("status_code") or 0) < 300
    )


def check(
    stores: Stores,
    events: Sequence[Accepted],
    watched: Sequence[Watched],
    *,
    receiver_duplicates_allowed: bool = False,
) -> Report:
    """The invariant now. With `receiver_duplicates_allowed`, a receiver may have answered 2xx to
    the same webhook-id more than once (at-least-once after a crash between sending and recording);
    the delivery record must still show one success."""
    report = Report(events=len(events))
    event_ids = [event.event_id for event in events]
    # Each store is read before the one upstream of it, so that work in flight shows as not done
    # yet (and is checked again) rather than as a contradiction: index before table, delivery
    # records before DLQ letters (sent first) and before the receivers' answers (given first).
    versions = indexed_versions(stores.opensearch, stores.index_alias, event_ids)
    stored = {
        item["event_id"]: item
        for item in batch_get(
            stores.dynamodb,
            stores.events_table,
            [{"tenant_id": event.tenant_id, "event_id": event.event_id} for event in events],
        )
    }
    for event in events:
        item = stored.get(event.event_id)
        if item is None:
            report.missing_events.append(event.event_id)
        elif versions.get(event.event_id) != int(item["rev"]):
            report.not_indexed.append(
                f"{event.event_id}: index version {versions.get(event.event_id)}, table rev {item['rev']}"
            )

    pairs = [(event, sub) for event in events for sub in watched if sub.matches(event)]
    report.pairs = len(pairs)
    records = {
        (item["event_id"], item["subscription_id"]): item
        for item in batch_get(
            stores.dynamodb,
            stores.deliveries_table,
            [{"event_id": event.event_id, "subscription_id": sub.subscription_id} for event, sub in pairs],
        )
    }
    letters = dead_letters(stores.sqs, stores.delivery_dlq_url, set(event_ids))
    answers = {sub.subscription_id: _answers_by_id(sub.answers()) for sub in watched}
    for event, sub in pairs:
        key = (event.event_id, sub.subscription_id)
        name = f"{event.event_id} -> {sub.subscription_id}"
        statuses = answers[sub.subscription_id].get(event.event_id, [])
        outcome, problem, duplicate = _pair_outcome(
            records.get(key), letters.get(key, []), statuses, event, receiver_duplicates_allowed
        )
        report.outcomes[outcome] += 1
        if duplicate:
            report.duplicated.append(f"{name}: {duplicate}")
        if problem:
            report.lost.append(f"{name}: {problem}")
    expected = {(event.event_id, sub.subscription_id) for event, sub in pairs}
    for sub in watched:
        for webhook_id, statuses in answers[sub.subscription_id].items():
            if (webhook_id, sub.subscription_id) not in expected and any(_is_2xx(s) for s in statuses):
                report.duplicated.append(f"{webhook_id} -> {sub.subscription_id}: delivered but not expected")
    return report


def _is_2xx(status: int) -> bool:
    return 200 <= status < 300


def _answers_by_id(answers: Sequence[tuple[str | None, int]]) -> dict[str, list[int]]:
    by_id: dict[str, list[int]] = defaultdict(list)
    for webhook_id, status in answers:
        by_id[webhook_id or ""].append(status)
    return by_id


def _pair_outcome(
    record: dict[str, Any] | None,
    letters: list[dict[str, Any]],
    statuses: list[int],
    event: Accepted,
    receiver_duplicates_allowed: bool,
) -> tuple[str, str | None, str | None]:
    """(outcome, why it is lost or None, why it is duplicated or None) of one (event, subscription)."""
    answered_2xx = sum(1 for status in statuses if _is_2xx(status))
    duplicate = None
    if answered_2xx > 1 and not receiver_duplicates_allowed:
        duplicate = f"the receiver answered 2xx {answered_2xx} times"
    if len(letters) > 1:
        duplicate = f"{len(letters)} DLQ letters"
    if record is None:
        return "missing", "no delivery record", duplicate
    state = record.get("state", "pending")
    if state == "delivered":
        successes = _successes(record)
        if successes > 1:
            duplicate = f"{successes} successful attempts recorded"
        if letters:
            duplicate = "delivered and also dead-lettered"
        if successes == 0:
            return state, "state delivered without a 2xx attempt", duplicate
        if answered_2xx == 0:
            return state, "the receiver never answered 2xx to its webhook-id", duplicate
        return state, None, duplicate
    if state == "failed":
        if not letters:
            return "dead-lettered", "failed but no DLQ letter", duplicate
        problem = _letter_problem(letters[0], record, event)
        return "dead-lettered", problem, duplicate
    if state == "gone":
        if 410 not in statuses:
            return state, "gone without a 410 from the receiver", duplicate
        return state, None, duplicate
    return state, f"still {state} after {len(record.get('attempts') or [])} attempts", duplicate


def wait_for_invariant(probe: Callable[[], Report], timeout: float, every: float = 1.0) -> Report:
    """Check until the invariant holds or `timeout` seconds pass; the last report either way."""
    deadline = time.monotonic() + timeout
    while True:
        report = probe()
        if report.ok or time.monotonic() > deadline:
            return report
        time.sleep(every)
