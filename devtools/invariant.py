"""The pipeline's no-loss invariant, checked after a fault test or a soak run.

Every accepted event is in the events table with the payload text its producer sent, and indexed
in OpenSearch at its current `rev`; for every subscription it matched, exactly one of these holds:

- delivered: the delivery record is `delivered` with exactly one 2xx attempt, and the receiver
  answered 2xx to that webhook-id exactly once (or as many more times as the caller allows);
- dead-lettered: the record is `failed` and the delivery DLQ holds exactly one letter for it with
  its full context (tenant, subscription, target URL, every recorded attempt, the signed envelope
  byte for byte);
- gone: the receiver answered 410, the record is `gone` (the subscription is disabled).

Every request a receiver got for a pair carries the envelope of its event byte for byte
(`{"id","type","timestamp","data"}`, the producer's payload text spliced in unchanged) and a
Standard Webhooks signature made with one of the subscription's secrets (either one while a
secret is being rotated), timestamped when it was sent.

Anything else is lost (no record, still in flight, a letter missing), duplicated (two 2xx
attempts, more 2xx answers at the receiver than allowed, two letters), malformed (other bytes, a
bad signature) or unexpected (a request or a letter for a pair nobody expected). On top of that
the outcomes must add up to the numbers the caller expects (`Outcomes`), and `wait_for_invariant`
only passes once all of this stayed true, with nothing more arriving, for a quiet period.
"""

import hmac
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from standardwebhooks import Webhook

from devtools.dlq.letters import peek
from devtools.receiver import Delivery
from ingest.core import batching

MGET_IDS = 500
DLQ_PEEK_LIMIT = 100_000
# As `standardwebhooks` verifies: a signature's timestamp within 5 minutes of its arrival.
SIGNATURE_TOLERANCE = timedelta(minutes=5)
DEFAULT_QUIET_SECONDS = 2.0
_deserializer = TypeDeserializer()


@dataclass(frozen=True)
class Accepted:
    """An event the API answered 201 for, with its payload as the exact JSON text the producer sent."""

    tenant_id: str
    event_id: str
    event_type: str
    payload: str


@dataclass(frozen=True)
class Watched:
    """A subscription under test: its signing secrets, and every request its receiver got."""

    tenant_id: str
    subscription_id: str
    event_types: tuple[str, ...]
    secrets: tuple[str, ...]
    received: Callable[[], Sequence[Delivery]]
    # Event ids it must account for; None means every accepted event of its tenant it matches.
    expected: frozenset[str] | None = None

    def matches(self, event: Accepted) -> bool:
        if event.tenant_id != self.tenant_id:
            return False
        if self.expected is not None:
            return event.event_id in self.expected
        return "*" in self.event_types or event.event_type in self.event_types


@dataclass(frozen=True)
class Outcomes:
    """How many (event, subscription) pairs a run must end delivered, dead-lettered and gone."""

    delivered: int = 0
    dead_lettered: int = 0
    gone: int = 0

    def __post_init__(self) -> None:
        if min(self.delivered, self.dead_lettered, self.gone) < 0:
            raise ValueError("expected outcome counts must not be negative")

    def counts(self) -> Counter[str]:
        counts = {"delivered": self.delivered, "dead-lettered": self.dead_lettered, "gone": self.gone}
        return Counter({name: count for name, count in counts.items() if count})


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


@dataclass(frozen=True)
class Observed:
    """What a check saw arrive so far; any change restarts the quiet period."""

    requests: int = 0
    records: int = 0
    attempts: int = 0
    letters: int = 0

    def __str__(self) -> str:
        return (
            f"{self.requests} requests at the receivers, {self.records} delivery records with "
            f"{self.attempts} attempts, {self.letters} DLQ letters"
        )


@dataclass
class Report:
    events: int = 0
    pairs: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    expected: Counter[str] = field(default_factory=Counter)
    observed: Observed = field(default_factory=Observed)
    missing_events: list[str] = field(default_factory=list)
    not_indexed: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    miscounted: list[str] = field(default_factory=list)
    unsettled: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(problems for _, problems in self._problems())

    def _problems(self) -> list[tuple[str, list[str]]]:
        return [
            ("missing from the events table", self.missing_events),
            ("not indexed at their current rev", self.not_indexed),
            ("lost", self.lost),
            ("duplicated", self.duplicated),
            ("malformed (body bytes, signature or stored payload)", self.malformed),
            ("unexpected (no matching subscription)", self.unexpected),
            ("outcome counts", self.miscounted),
            ("not quiet", self.unsettled),
        ]

    def summary(self) -> str:
        return (
            f"{self.events} events, {self.pairs} (event, subscription) pairs: {_counts(self.outcomes)} "
            f"(expected {_counts(self.expected)}); missing from table {len(self.missing_events)}, "
            f"not indexed {len(self.not_indexed)}, lost {len(self.lost)}, duplicated {len(self.duplicated)}, "
            f"malformed {len(self.malformed)}, unexpected {len(self.unexpected)}; {self.observed}"
        )

    def describe(self, limit: int = 20) -> str:
        lines = [self.summary()]
        for title, problems in self._problems():
            if problems:
                lines.append(f"{title}:")
                lines += [f"  {problem}" for problem in problems[:limit]]
                if len(problems) > limit:
                    lines.append(f"  ... and {len(problems) - limit} more")
        return "\n".join(lines)


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items()) if count) or "none"


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def batch_get(dynamodb: Any, table: str, keys: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every existing item of `keys` (plain values), read consistently."""
    typed = [{name: {"S": value} for name, value in key.items()} for key in keys]
    return [
        {name: _deserializer.deserialize(value) for name, value in item.items()}
        for item in batching.batch_get(dynamodb, table, typed, table)
    ]


def indexed_versions(opensearch: Any, alias: str, event_ids: Sequence[str]) -> dict[str, int]:
    """Event id -> external version of its document, for the documents that exist."""
    versions: dict[str, int] = {}
    for chunk in _chunks(event_ids, MGET_IDS):
        response = opensearch.mget(index=alias, body={"ids": list(chunk)}, _source=False)
        for document in response["docs"]:
            if document.get("found"):
                versions[document["_id"]] = int(document["_version"])
    return versions


@dataclass(frozen=True)
class Letter:
    """A delivery DLQ message: its parsed body and the body's text as sent."""

    body: dict[str, Any]
    text: str


def dead_letters(sqs: Any, queue_url: str, event_ids: set[str]) -> dict[tuple[str, str], list[Letter]]:
    """The delivery DLQ's letters of `event_ids` by (event, subscription), left in the queue."""
    letters: dict[tuple[str, str], list[Letter]] = defaultdict(list)
    for message in peek(sqs, queue_url, DLQ_PEEK_LIMIT):
        body = json.loads(message["Body"])
        if body.get("event_id") in event_ids:
            letters[(body["event_id"], body.get("subscription_id", ""))].append(Letter(body, message["Body"]))
    return letters


def envelope(event: Accepted, item: Mapping[str, Any]) -> bytes:
    """The body every webhook of `event` must carry: its stored time, the producer's payload text."""
    meta = {
        "id": event.event_id,
        "type": event.event_type,
        "timestamp": item.get("occurred_at") or item.get("received_at"),
    }
    return (json.dumps(meta, separators=(",", ":"))[:-1] + ',"data":' + event.payload + "}").encode()


def signature_valid(delivery: Delivery, secrets: Sequence[str]) -> bool:
    """Whether one of `secrets` signed the request, timestamped within the tolerance of its arrival.

    `Webhook.verify` measures the tolerance from now, which would reject a soak's early deliveries by
    the time it is checked; so the library signs what was received and the signatures are compared.
    """
    headers = delivery.headers
    msg_id, timestamp, offered = (
        headers.get("webhook-id"),
        headers.get("webhook-timestamp"),
        headers.get("webhook-signature"),
    )
    if not (msg_id and timestamp and offered):
        return False
    try:
        signed_at = datetime.fromtimestamp(int(timestamp), UTC)
        text = delivery.body.decode()
    except (ValueError, OverflowError):
        return False
    if abs(delivery.received_at - signed_at) > SIGNATURE_TOLERANCE + timedelta(seconds=1):
        return False
    signatures = [part.split(",", 1)[1] for part in offered.split() if part.startswith("v1,")]
    for secret in secrets:
        expected = Webhook(secret).sign(msg_id, signed_at, text).split(",", 1)[1]
        if any(hmac.compare_digest(expected, signature) for signature in signatures):
            return True
    return False


def _request_problem(delivery: Delivery, body: bytes | None, secrets: Sequence[str]) -> str | None:
    at = f"request at {delivery.received_at:%H:%M:%S.%f} answered {delivery.status}"
    if body is not None and delivery.body != body:
        return f"{at}: body is not the envelope ({delivery.body[:80]!r}, expected {body[:80]!r})"
    if not signature_valid(delivery, secrets):
        return f"{at}: no valid signature with the subscription's secret(s)"
    return None


def _letter_problem(
    letter: Letter, record: dict[str, Any], event: Accepted, body: bytes | None
) -> str | None:
    if letter.body.get("tenant_id") != event.tenant_id:
        return "letter names another tenant"
    if letter.body.get("target_url") != record.get("target_url"):
        return "letter lacks the target URL"
    if body is not None and body.decode() not in letter.text:
        return "letter lacks the signed envelope byte for byte"
    in_letter, in_record = len(letter.body.get("attempts") or []), len(record.get("attempts") or [])
    if in_letter != in_record:
        return f"letter has {in_letter} attempts, the record {in_record}"
    return None


def _successes(record: dict[str, Any]) -> int:
    return sum(1 for attempt in record.get("attempts") or [] if _is_2xx(attempt.get("status_code") or 0))


def _is_2xx(status: int) -> bool:
    return 200 <= status < 300


def matching_pairs(events: Sequence[Accepted], watched: Sequence[Watched]) -> list[tuple[Accepted, Watched]]:
    """Every (event, subscription) pair that must be accounted for."""
    return [(event, sub) for event in events for sub in watched if sub.matches(event)]


def check(
    stores: Stores,
    events: Sequence[Accepted],
    watched: Sequence[Watched],
    *,
    expected: Outcomes,
    receiver_duplicates_allowed: int = 0,
) -> Report:
    """The invariant now, with the outcomes the run must end with.

    `receiver_duplicates_allowed` is how many more 2xx answers than one a receiver may have given
    to a webhook-id (at-least-once after a crash between sending and recording); the delivery
    record must still show one success.
    """
    report = Report(events=len(events), expected=expected.counts())
    event_ids = [event.event_id for event in events]
    # Each store is read before the one upstream of it, so that work in flight shows as not done
    # yet (and is checked again) rather than as a contradiction: index before table, delivery
    # records before DLQ letters (sent first) and before the receivers' requests (made first).
    versions = indexed_versions(stores.opensearch, stores.index_alias, event_ids)
    stored = {
        item["event_id"]: item
        for item in batch_get(
            stores.dynamodb,
            stores.events_table,
            [{"tenant_id": event.tenant_id, "event_id": event.event_id} for event in events],
        )
    }
    bodies: dict[str, bytes] = {}
    for event in events:
        item = stored.get(event.event_id)
        if item is None:
            report.missing_events.append(event.event_id)
            continue
        bodies[event.event_id] = envelope(event, item)
        if item.get("payload") != event.payload:
            report.malformed.append(f"{event.event_id}: the events table holds another payload than was sent")
        if versions.get(event.event_id) != int(item["rev"]):
            report.not_indexed.append(
                f"{event.event_id}: index version {versions.get(event.event_id)}, table rev {item['rev']}"
            )

    pairs = matching_pairs(events, watched)
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
    received = {sub.subscription_id: _by_webhook_id(sub.received()) for sub in watched}
    report.observed = Observed(
        requests=sum(len(requests) for by_id in received.values() for requests in by_id.values()),
        records=len(records),
        attempts=sum(len(record.get("attempts") or []) for record in records.values()),
        letters=sum(len(found) for found in letters.values()),
    )
    for event, sub in pairs:
        key = (event.event_id, sub.subscription_id)
        name = f"{event.event_id} -> {sub.subscription_id}"
        requests = received[sub.subscription_id].get(event.event_id, [])
        body = bodies.get(event.event_id)
        outcome, problem, duplicate = _pair_outcome(
            records.get(key), letters.get(key, []), requests, event, body, receiver_duplicates_allowed
        )
        report.outcomes[outcome] += 1
        if duplicate:
            report.duplicated.append(f"{name}: {duplicate}")
        if problem:
            report.lost.append(f"{name}: {problem}")
        report.malformed += [
            f"{name}: {malformed}"
            for delivery in requests
            if (malformed := _request_problem(delivery, body, sub.secrets)) is not None
        ]

    expected_pairs = {(event.event_id, sub.subscription_id) for event, sub in pairs}
    for sub in watched:
        for webhook_id, requests in received[sub.subscription_id].items():
            if (webhook_id, sub.subscription_id) not in expected_pairs:
                statuses = ", ".join(str(delivery.status) for delivery in requests)
                report.unexpected.append(
                    f"{webhook_id or '(no webhook-id)'} -> {sub.subscription_id}: "
                    f"{len(requests)} request(s) answered {statuses}, but no accepted event of it matches"
                )
    for (event_id, subscription_id), found in sorted(letters.items()):
        if (event_id, subscription_id) not in expected_pairs:
            report.unexpected.append(
                f"{event_id} -> {subscription_id}: {len(found)} DLQ letter(s), but it matches no subscription"
            )
    if report.outcomes != report.expected:
        report.miscounted.append(f"outcomes {_counts(report.outcomes)}, expected {_counts(report.expected)}")
    return report


def _by_webhook_id(requests: Sequence[Delivery]) -> dict[str, list[Delivery]]:
    by_id: dict[str, list[Delivery]] = defaultdict(list)
    for delivery in requests:
        by_id[delivery.webhook_id or ""].append(delivery)
    return by_id


def _pair_outcome(
    record: dict[str, Any] | None,
    letters: list[Letter],
    requests: list[Delivery],
    event: Accepted,
    body: bytes | None,
    receiver_duplicates_allowed: int,
) -> tuple[str, str | None, str | None]:
    """(outcome, why it is lost or None, why it is duplicated or None) of one (event, subscription)."""
    statuses = [delivery.status for delivery in requests]
    answered_2xx = sum(1 for status in statuses if _is_2xx(status))
    duplicate = None
    if answered_2xx > 1 + receiver_duplicates_allowed:
        duplicate = f"the receiver answered 2xx {answered_2xx} times"
        if receiver_duplicates_allowed:
            duplicate += f" (at most {1 + receiver_duplicates_allowed} allowed)"
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
        return "dead-lettered", _letter_problem(letters[0], record, event, body), duplicate
    if state == "gone":
        if 410 not in statuses:
            return state, "gone without a 410 from the receiver", duplicate
        return state, None, duplicate
    return state, f"still {state} after {len(record.get('attempts') or [])} attempts", duplicate


def wait_for_invariant(
    probe: Callable[[], Report],
    timeout: float,
    every: float = 1.0,
    quiet: float = DEFAULT_QUIET_SECONDS,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Report:
    """Check until the invariant held, with nothing new observed, for `quiet` seconds.

    Gives up after `timeout` seconds with the last report; one that was OK but not yet for the
    whole quiet period is marked unsettled, so a late duplicate cannot slip through a lucky check.
    """
    deadline = clock() + timeout
    ok_since: float | None = None
    seen: Observed | None = None
    while True:
        report = probe()
        now = clock()
        if not report.ok:
            ok_since, seen = None, None
        elif ok_since is None or report.observed != seen:
            ok_since, seen = now, report.observed
        if ok_since is not None and now - ok_since >= quiet:
            return report
        if now > deadline:
            if ok_since is not None:
                report.unsettled.append(
                    f"OK for {now - ok_since:.1f} s of the {quiet:g} s quiet period when the "
                    f"{timeout:g} s ran out (still changing: {report.observed})"
                )
            return report
        sleep(every)
