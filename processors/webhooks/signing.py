"""Standard Webhooks envelope and signature headers (thin wrapper over `standardwebhooks`)."""

from collections.abc import Sequence
from datetime import datetime
from math import floor

from standardwebhooks import Webhook

from ingest.core.events_table import EventItem
from ingest.core.rawjson import with_raw_member

USER_AGENT = "Triggers-Webhooks/1.0"


def envelope(event: EventItem) -> str:
    """`{"id","type","timestamp","data"}` with the producer's payload text spliced in unchanged."""
    meta = {
        "id": event.event_id,
        "type": event.event_type,
        "timestamp": event.occurred_at or event.received_at,
    }
    return with_raw_member(meta, "data", event.payload)


def signed_headers(msg_id: str, body: str, secrets: Sequence[str], at: datetime) -> dict[str, str]:
    """Headers of one attempt: one `v1,<sig>` per secret (two while a secret is being rotated)."""
    signatures = " ".join(Webhook(secret).sign(msg_id, at, body) for secret in secrets)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(floor(at.timestamp())),
        "webhook-signature": signatures,
    }
