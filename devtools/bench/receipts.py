"""What the webhook receivers got: once per (event, subscriber)? When? How long to drain?

`sent` maps each accepted event id to when it was POSTed (epoch seconds); a subscriber's
receipts are (webhook-id, epoch seconds) pairs. The webhook-id of a delivery is its event id.
"""

import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from devtools.receiver import Receiver

Receipts = Sequence[tuple[str | None, float]]


@dataclass
class Tally:
    expected: int
    exactly_once: int = 0
    missing: int = 0
    duplicates: int = 0
    first_at: dict[tuple[str, str], float] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.missing == 0

    def summary(self) -> dict[str, int]:
        return {
            "expected": self.expected,
            "received": len(self.first_at),
            "exactly_once": self.exactly_once,
            "missing": self.missing,
            "duplicates": self.duplicates,
        }


def tally(sent: Mapping[str, float], receipts: Mapping[str, Receipts]) -> Tally:
    """Count, per subscriber, each sent event's receipts; other webhook-ids are ignored.
    A duplicate is every receipt after an event's first one at the same subscriber."""
    result = Tally(expected=len(sent) * len(receipts))
    for subscriber, received in receipts.items():
        counts: Counter[str] = Counter()
        for webhook_id, at in received:
            if webhook_id is None or webhook_id not in sent:
                continue
            counts[webhook_id] += 1
            key = (subscriber, webhook_id)
            result.first_at[key] = min(at, result.first_at.get(key, at))
        result.exactly_once += sum(1 for count in counts.values() if count == 1)
        result.duplicates += sum(count - 1 for count in counts.values())
        result.missing += len(sent) - len(counts)
    return result


def latencies_ms(sent: Mapping[str, float], first_at: Mapping[tuple[str, str], float]) -> list[float]:
    """POST -> first receipt, per (subscriber, event) received."""
    return [(at - sent[event_id]) * 1000 for (_, event_id), at in first_at.items()]


def drain_seconds(last_accepted_at: float, first_at: Iterable[float]) -> float:
    """From the last accepted POST to the last first receipt (0 if everything was already in)."""
    return max([0.0, *((at - last_accepted_at) for at in first_at)])


def rate_within(times: Iterable[float], started: float, ended: float) -> float:
    """Events per second among `times` that fell in [started, ended]."""
    if ended <= started:
        return 0.0
    return sum(1 for at in times if started <= at <= ended) / (ended - started)


def throughput(times: Sequence[float]) -> float:
    """Receipts per second from the first to the last: what the pipeline sustained (0 for fewer
    than two)."""
    if len(times) < 2 or max(times) <= min(times):
        return 0.0
    return (len(times) - 1) / (max(times) - min(times))


def receipts_of(receivers: Mapping[str, Receiver]) -> dict[str, Receipts]:
    return {
        name: [(delivery.webhook_id, delivery.received_at.timestamp()) for delivery in receiver.deliveries]
        for name, receiver in receivers.items()
    }


def wait_for_receipts(
    sent: Mapping[str, float],
    receivers: Mapping[str, Receiver],
    timeout: float,
    grace: float = 0.0,
    every: float = 0.2,
) -> tuple[Tally, bool]:
    """Wait until every sent event reached every receiver (at most `timeout` s), then `grace` s
    more for late duplicates; (the tally, whether everything arrived in time)."""
    deadline = time.monotonic() + timeout
    while True:
        counted = tally(sent, receipts_of(receivers))
        if counted.complete or time.monotonic() >= deadline:
            break
        time.sleep(every)
    if counted.complete and grace > 0:
        time.sleep(grace)
        counted = tally(sent, receipts_of(receivers))
    return counted, counted.complete
