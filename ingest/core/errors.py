"""Domain exceptions. The API maps each to an RFC 9457 problem with a stable `type`."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError

PROBLEM_BASE = "https://triggers.dev/problems/"


class TriggersError(Exception):
    """Base of every error the API turns into a problem+json response."""

    status: int = 500
    slug: str = "internal"
    title: str = "Internal error"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    @property
    def type(self) -> str:
        return PROBLEM_BASE + self.slug

    @property
    def headers(self) -> dict[str, str]:
        """Response headers that go with the problem (none by default)."""
        return {}


class MalformedRequest(TriggersError):
    status, slug, title = 400, "malformed-request", "Malformed request"


class InvalidQuery(MalformedRequest):
    """A search query (`q`) outside the documented syntax: a 400 that says what is wrong."""

    slug, title = "invalid-query", "Invalid search query"


class Unauthorized(TriggersError):
    status, slug, title = 401, "unauthorized", "Missing or unknown API key"


class InsufficientScope(TriggersError):
    """The key is valid but its scopes do not allow this route; `required_scope` names the one needed."""

    status, slug, title = 403, "insufficient-scope", "API key lacks the scope this route needs"


class NotFound(TriggersError):
    """Missing, or another tenant's: the API answers both the same way."""

    status, slug, title = 404, "not-found", "Not found"


class EventNotFound(NotFound):
    pass


class SubscriptionNotFound(NotFound):
    pass


class ApiKeyNotFound(NotFound):
    pass


class IdempotencyConflict(TriggersError):
    status, slug, title = 409, "idempotency-conflict", "Idempotency key reused"


class DuplicateSubscription(TriggersError):
    status, slug, title = 409, "duplicate-subscription", "Subscription already exists"


class SubscriptionQuotaExceeded(TriggersError):
    """The tenant has as many subscriptions as its quota allows: delete one, or raise the quota."""

    status, slug, title = 409, "subscription-quota-exceeded", "Subscription quota reached"


class PreconditionFailed(TriggersError):
    """`If-Match` names another version than the current one: read it again, then change it."""

    status, slug, title = 412, "precondition-failed", "The resource changed"


class RateLimited(TriggersError):
    """The tenant's rate limit for this kind of request is spent; `headers` say when to retry."""

    status, slug, title = 429, "rate-limited", "Too many requests"

    def __init__(self, detail: str, headers: dict[str, str], **extensions: Any) -> None:
        super().__init__(detail, **extensions)
        self._headers = headers

    @property
    def headers(self) -> dict[str, str]:
        return dict(self._headers)


class PayloadTooLarge(TriggersError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class ValidationFailed(TriggersError):
    status, slug, title = 422, "validation-failed", "Request does not match the schema"

    @classmethod
    def from_pydantic(
        cls, exc: "ValidationError", prefix: tuple[Any, ...] = (), skip: int = 0
    ) -> "ValidationFailed":
        """One `{field, message}` per error, the field a dotted path (`prefix` first, `skip` parts
        of each location dropped); the detail names the first."""
        errors = [field_error(error, prefix, skip) for error in exc.errors(include_url=False)]
        return cls(f"invalid {errors[0]['field']}: {errors[0]['message']}", errors=errors)


def field_error(error: Any, prefix: tuple[Any, ...] = (), skip: int = 0) -> dict[str, Any]:
    """A pydantic error as the API reports it: `{field: "a.0.b", message}`."""
    # A map key's own error is located at `map.<key>.[key]`: the key names it well enough.
    path = ".".join(str(part) for part in (*prefix, *error["loc"][skip:]) if part != "[key]")
    fallback = str(error["loc"][0]) if error["loc"] else "body"
    return {"field": path or fallback, "message": error["msg"]}


class BatchTooLarge(ValidationFailed):
    slug, title = "batch-too-large", "Too many events in one request"


class StoreUnavailable(TriggersError):
    status, slug, title = 503, "store-unavailable", "Storage temporarily unavailable"


class DeliveryNotFound(NotFound):
    """No delivery record for this (event, subscription)."""


class DeliveryConflict(TriggersError):
    """Another writer recorded this delivery attempt first (stream retry or duplicated message)."""

    status, slug, title = 409, "delivery-conflict", "Delivery already moved on"


class QueueUnavailable(StoreUnavailable):
    """An SQS send failed (retry queue or delivery DLQ)."""

    slug, title = "queue-unavailable", "Queue temporarily unavailable"


class SearchUnavailable(TriggersError):
    status, slug, title = 503, "search-unavailable", "Search temporarily unavailable"


class SubscriptionDisabled(TriggersError):
    """The subscription is disabled: enable it before replaying events to it."""

    status, slug, title = 409, "subscription-disabled", "Subscription is disabled"


class EventTypeNotFound(NotFound):
    pass


class DuplicateEventType(TriggersError):
    status, slug, title = 409, "duplicate-event-type", "Event type already exists"


class SchemaViolation(ValidationFailed):
    """A payload does not match its event type's JSON Schema (`errors` name the failing paths)."""

    slug, title = "schema-violation", "Payload does not match the event type's schema"
