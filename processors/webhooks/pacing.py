"""Per-subscription rate limits: delivery slots reserved in a shared GCRA schedule.

A subscription with `rate_limit` r gets one slot every 1/r seconds, shared by every fanout and
retry instance through one DynamoDB item (ingest/core/pacing_table.py; one conditional write per
reservation, whatever the number of slots). A delivery whose slot is now or past is sent; one whose
slot is in the future is deferred to it through the retry queue, as the same attempt with a
`rate_slot` flag, so the message that comes back is sent without reserving again. A deferral is not
an attempt and not a failure: the retry schedule, the failure streak and auto-disable do not move.

Precision: slots are exact (never two within 1/r seconds of each other), sends are not quite.
SQS delays are whole seconds and the retry function sends a message up to 1 s before it is due
(processors/retry/logic.py EARLY_TOLERANCE), so a deferred delivery goes out between 1 s before
and some time after its slot: over any window of d seconds an endpoint gets at most r * (d + 1) + 1
deliveries sent on time (their slots lie in d + 1 s), plus late ones, which a retry-queue backlog
can bunch. Subscriptions without a rate limit reserve nothing (no read, no write).
"""

import math
from datetime import UTC, datetime

from ingest.core import pacing_table
from ingest.core.subscriptions_table import SubscriptionItem
from processors.webhooks.delivery import Deliverer

MICROS = 1_000_000


def interval_us(rate_limit: int) -> int:
    return max(1, math.ceil(MICROS / rate_limit))


def reserve(deliverer: Deliverer, subscription: SubscriptionItem, count: int) -> list[datetime]:
    """The next `count` slots of a rate-limited subscription, reserved for this caller."""
    assert subscription.rate_limit is not None
    step = interval_us(subscription.rate_limit)
    start = pacing_table.reserve(
        deliverer.dynamodb,
        deliverer.settings.deliveries_table,
        tenant_id=subscription.tenant_id,
        subscription_id=subscription.subscription_id,
        count=count,
        interval_us=step,
        now_us=int(deliverer.clock().timestamp() * MICROS),
    )
    return [datetime.fromtimestamp((start + index * step) / MICROS, UTC) for index in range(count)]
