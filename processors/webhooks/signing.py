"""Standard Webhooks envelope and signature headers (thin wrapper over `standardwebhooks`), and
the signing secrets they are made with and the subscriber's custom headers, decrypted from the
subscription (ingest/core/credentials.py)."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from math import floor

from standardwebhooks import Webhook

from ingest.core.credentials import CredentialCache, CredentialKey, CredentialUnreadable
from ingest.core.events_table import EventItem
from ingest.core.observability import logger
from ingest.core.rawjson import with_raw_member
from ingest.core.subscriptions_table import SubscriptionItem

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


@dataclass
class SigningSecrets:
    """A subscription's signing secrets in plaintext: decrypted with the secrets key under the
    subscription's context, cached per ciphertext (a warm batch makes no KMS call)."""

    key: CredentialKey
    cache: CredentialCache = field(default_factory=CredentialCache)

    def of(self, subscription: SubscriptionItem, at: datetime) -> list[str]:
        """The current secret, and the previous one during its grace period.

        Raises CredentialUnreadable when the current one cannot be decrypted (nothing can be
        signed) and CredentialUnavailable when KMS fails (the pipeline retries). A previous secret
        that cannot be decrypted is left out: the current one still signs.
        """
        context = subscription.encryption_context
        current, *previous = subscription.signing_secrets(at)
        secrets = [self.cache.reveal(self.key, current, context)]
        for stored in previous:
            try:
                secrets.append(self.cache.reveal(self.key, stored, context))
            except CredentialUnreadable as exc:
                logger.error(
                    "previous signing secret cannot be decrypted; signing with the current one",
                    extra={"subscription_id": subscription.subscription_id, "error": exc.detail},
                )
        return secrets

    def headers_of(self, subscription: SubscriptionItem) -> dict[str, str]:
        """The subscription's custom headers in plaintext, decrypted like its secrets (cached per
        ciphertext). Raises CredentialUnreadable when one cannot be decrypted (nothing is sent
        without it), CredentialUnavailable when KMS fails."""
        context = subscription.encryption_context
        return {
            name: self.cache.reveal(self.key, stored, context)
            for name, stored in subscription.header_credentials().items()
        }
