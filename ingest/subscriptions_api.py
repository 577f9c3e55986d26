"""Webhook subscription routes (Zapier REST hooks) and delivery history.

The signing secret leaves the API only in the responses of create and rotate-secret; it is
stored encrypted (the API may encrypt with the secrets key, never decrypt: no route needs to).
A second create with the same target URL and event types is a 409 naming the existing id,
so a subscribe retried by Zapier neither duplicates deliveries nor loses the original id.
"""

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any, cast
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from ingest.audit_api import record
from ingest.bodies import parse_json_model, request_text
from ingest.core import (
    custom_headers,
    deliveries_table,
    events_table,
    operational,
    patterns,
    subscriptions_table,
    tenants_table,
)
from ingest.core.clients import dynamodb_client, sqs_client
from ingest.core.credentials import credential_key
from ingest.core.errors import PreconditionFailed, ValidationFailed
from ingest.core.ids import isoformat
from ingest.core.models import EVENT_ID_PATTERN, EVENT_TYPE_PATTERN, SUBSCRIPTION_ID_PATTERN
from ingest.core.observability import logger
from ingest.core.settings import IngestSettings, ingest_settings
from ingest.core.ssrf import BlockedDestination, check_url
from ingest.event_types_api import require_known_types
from ingest.responses import JSON, NO_STORE, json_body, no_content, ok, ok_no_store, problem, problems

MAX_URL_LENGTH = 2048
MAX_EVENT_TYPES = 50
MAX_DESCRIPTION = 256
MAX_DISABLE_REASON = 200
MAX_METADATA_KEYS = subscriptions_table.MERGED["metadata"]
# What the document promises; the validator below and the destination check are stricter.
TARGET_URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#@]+([/?#]\S*)?$"
EventTypeOrAll = Annotated[str, Field(min_length=1, max_length=128, pattern=rf"^\*$|{EVENT_TYPE_PATTERN}")]


def _absolute_http_url(value: str) -> str:
    if any(char.isspace() or not char.isprintable() for char in value):
        raise ValueError("must not contain whitespace or control characters")
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise ValueError(f"not a URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials")
    return value


def _reason_text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    if any(not char.isprintable() for char in value):
        raise ValueError("must not contain control characters")
    return value


def _distinct_types(value: list[str]) -> list[str]:
    distinct = list(dict.fromkeys(value))
    if subscriptions_table.ALL_EVENTS in distinct and len(distinct) > 1:
        raise ValueError('"*" (every type) cannot be combined with other types')
    return distinct


def _header_name(name: str) -> str:
    problem = custom_headers.name_problem(name)
    if problem is not None:
        raise ValueError(problem)
    return name


def _header_value(value: str) -> str:
    problem = custom_headers.value_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# The fields of a subscription a caller sets, shared by create (SubscriptionIn) and PATCH.
TargetUrl = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        json_schema_extra={"format": "uri", "pattern": TARGET_URL_PATTERN},
        description=(
            "Absolute http(s) URL; refused when it resolves to a private or internal address, or names a "
            "port other than 443, 80 and the stage's WEBHOOK_ALLOWED_PORTS"
        ),
    ),
    AfterValidator(_absolute_http_url),
]
EventTypes = Annotated[
    list[EventTypeOrAll],
    Field(min_length=1, max_length=MAX_EVENT_TYPES, description='Event types to deliver; `["*"]` for all'),
    AfterValidator(_distinct_types),
]
Description = Annotated[
    str, Field(min_length=1, max_length=MAX_DESCRIPTION, description="Free text for people")
]
MetadataKey = Annotated[str, Field(min_length=1, max_length=64)]
MetadataValue = Annotated[str, Field(max_length=256)]
HeaderName = Annotated[
    str,
    Field(min_length=1, max_length=custom_headers.MAX_NAME_CHARS, pattern=r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$"),
    AfterValidator(_header_name),
]
HeaderValue = Annotated[
    str, Field(min_length=1, max_length=custom_headers.MAX_VALUE_BYTES), AfterValidator(_header_value)
]
HEADERS_DESCRIPTION = (
    f"Request headers sent with every delivery attempt (at most {custom_headers.MAX_HEADERS}, "
    f"{custom_headers.MAX_TOTAL_BYTES} bytes of names and values), e.g. `Authorization`. Values are "
    "stored encrypted and only shown masked. Refused names: hop-by-hop headers (Connection, "
    "Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-*), Host, Content-*, Webhook-*, "
    "User-Agent, Expect"
)
FILTER_DESCRIPTION = (
    "Content filter: an EventBridge-style event pattern over `event_type`, `source` and `payload` "
    '(e.g. `{"payload": {"amount": [{"numeric": [">", 100]}]}}`); only matching events are '
    "delivered. See docs/webhooks.md"
)
Filter = Annotated[dict[str, Any], Field(description=FILTER_DESCRIPTION)]
RATE_LIMIT_DESCRIPTION = (
    "At most this many deliveries per second to the endpoint (1 to 1000; absent or null: no limit). "
    "Deliveries beyond it wait their turn in the retry queue: deferred, never dropped, not counted "
    "as attempts or failures"
)
ORDERING_DESCRIPTION = (
    '`"strict"`: one delivery in flight, in the order the events were accepted (per tenant); a failing '
    "event holds back the later ones until it is delivered or dead-lettered. "
    '`"none"` (default): deliveries run concurrently and a retried event can arrive after later ones'
)


class SubscriptionIn(BaseModel):
    """A subscribe request. `event_types` is deduplicated, order kept; `["*"]` means every type."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    target_url: TargetUrl
    event_types: EventTypes
    description: Description | None = None
    metadata: dict[MetadataKey, MetadataValue] | None = Field(
        default=None, max_length=MAX_METADATA_KEYS, description="Your own labels (string values)"
    )
    headers: dict[HeaderName, HeaderValue] | None = Field(
        default=None, max_length=custom_headers.MAX_HEADERS, description=HEADERS_DESCRIPTION
    )
    filter: Filter | None = None
    rate_limit: int | None = Field(
        default=None,
        ge=subscriptions_table.MIN_RATE_LIMIT,
        le=subscriptions_table.MAX_RATE_LIMIT,
        strict=True,
        description=RATE_LIMIT_DESCRIPTION,
    )
    ordering: subscriptions_table.Ordering = Field(default="none", description=ORDERING_DESCRIPTION)

    @field_validator("headers")
    @classmethod
    def _header_set(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        problem = value and custom_headers.check_set(
            {name: len(text.encode()) for name, text in value.items()}
        )
        if problem:
            raise ValueError(problem)
        return value

    def fields(self) -> dict[str, Any]:
        """The stored attributes besides those create_subscription takes by name."""
        return self.model_dump(
            exclude={"target_url", "event_types", "headers", "filter", "rate_limit", "ordering"},
            exclude_none=True,
        ) | ({"filter": _filter_text(self.filter)} if self.filter is not None else {})


class SubscriptionPatch(BaseModel):
    """A JSON merge patch (RFC 7396) of a subscription: an absent field is unchanged, `null`
    removes an optional one; `headers` and `metadata` are merged name by name (`null` removes
    that name); `event_types` and `filter` are replaced whole. A new patchable field is one line
    here (and its attribute in SubscriptionItem)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    target_url: TargetUrl | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    metadata: dict[MetadataKey, MetadataValue | None] | None = Field(
        default=None, max_length=MAX_METADATA_KEYS, description="Merged key by key; `null` removes a key"
    )
    headers: dict[HeaderName, HeaderValue | None] | None = Field(
        default=None,
        max_length=custom_headers.MAX_HEADERS,
        description=HEADERS_DESCRIPTION + "; merged name by name, `null` removes one, `headers: null` all",
    )
    filter: Filter | None = None
    rate_limit: int | None = Field(
        default=None,
        ge=subscriptions_table.MIN_RATE_LIMIT,
        le=subscriptions_table.MAX_RATE_LIMIT,
        strict=True,
        description=RATE_LIMIT_DESCRIPTION + "; `null` removes the limit",
    )
    ordering: subscriptions_table.Ordering | None = Field(default=None, description=ORDERING_DESCRIPTION)

    @field_validator("target_url", "event_types", "ordering")
    @classmethod
    def _required(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be removed (null): every subscription has one")
        return value

    @field_validator("headers")
    @classmethod
    def _distinct_headers(cls, value: dict[str, str | None] | None) -> dict[str, str | None] | None:
        # Counts and sizes are checked once merged with the stored headers (subscriptions_table).
        if value and len({name.lower() for name in value}) != len(value):
            raise ValueError("header names are case-insensitive: the same name is given twice")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields sent, as the table stores them (None: remove)."""
        changes = {name: getattr(self, name) for name in self.model_fields_set}
        if changes.get("filter") is not None:
            changes["filter"] = _filter_text(changes["filter"])
        return changes


def _filter_text(pattern: dict[str, Any]) -> str:
    return json.dumps(pattern, separators=(",", ":"), ensure_ascii=False)


def check_filter(pattern: dict[str, Any] | None) -> None:
    """A 422 naming the path of what the pattern grammar refuses."""
    if pattern is None:
        return
    try:
        patterns.check(pattern)
    except patterns.PatternError as exc:
        field = f"filter.{exc.path}" if exc.path else "filter"
        raise ValidationFailed(
            f"invalid {field}: {exc.message}", errors=[{"field": field, "message": exc.message}]
        ) from exc


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    target_url: str
    event_types: list[str]
    status: subscriptions_table.SubscriptionStatus
    disabled_reason: str | None = Field(description="Why deliveries stopped (e.g. the endpoint answered 410)")
    failing_since: str | None = Field(description="Start of the current failure streak, if failing")
    description: str | None
    metadata: dict[str, str]
    headers: dict[str, str] = Field(description="Custom headers, values masked (`Bearer ****abcd`)")
    filter: dict[str, Any] | None = Field(description="The content filter, if any")
    rate_limit: int | None = Field(description=RATE_LIMIT_DESCRIPTION)
    ordering: subscriptions_table.Ordering = Field(description=ORDERING_DESCRIPTION)
    created_at: str
    updated_at: str

    @classmethod
    def from_item(cls, item: subscriptions_table.SubscriptionItem) -> "SubscriptionOut":
        return cls(
            id=item.subscription_id,
            target_url=item.target_url,
            event_types=item.event_types,
            status=item.status,
            disabled_reason=item.disabled_reason,
            failing_since=item.failing_since,
            description=item.description,
            metadata=item.metadata or {},
            headers=item.header_hints(),
            filter=item.content_filter,
            rate_limit=item.rate_limit,
            ordering=item.ordering,
            created_at=item.created_at,
            updated_at=item.updated_at,
        )


class SubscriptionWithSecret(SubscriptionOut):
    """Returned by create and rotate-secret only."""

    secret: str = Field(description="Standard Webhooks signing secret (whsec_…); shown once")
    previous_secret_expires_at: str | None = Field(
        description="Until then deliveries are also signed with the previous secret"
    )

    @classmethod
    def from_issued(cls, issued: subscriptions_table.Issued) -> "SubscriptionWithSecret":
        item = issued.subscription
        expires_at = item.previous_secret_expires_at
        return cls(
            **SubscriptionOut.from_item(item).model_dump(),
            secret=issued.secret,
            previous_secret_expires_at=isoformat(datetime.fromtimestamp(expires_at, UTC))
            if expires_at
            else None,
        )


class SubscriptionList(BaseModel):
    model_config = ConfigDict(defer_build=True)

    data: list[SubscriptionOut]


class DeliveryOut(BaseModel):
    model_config = ConfigDict(defer_build=True)

    event_id: str
    subscription_id: str
    target_url: str
    state: deliveries_table.DeliveryState
    attempts: list[deliveries_table.Attempt]
    attempt_count: int
    next_attempt_at: str | None
    created_at: str
    updated_at: str


class DeliveryPage(BaseModel):
    model_config = ConfigDict(defer_build=True)

    data: list[DeliveryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` to fetch the next page; null at the end")


router = APIGatewayHttpRouter()

SubscriptionId = Annotated[
    str,
    Path(
        min_length=30, max_length=30, pattern=SUBSCRIPTION_ID_PATTERN, description="Subscription id (sub_…)"
    ),
]
EventId = Annotated[
    str, Path(min_length=26, max_length=26, pattern=EVENT_ID_PATTERN, description="Event ULID")
]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(min_length=1, max_length=2048)]


IF_MATCH_HEADER: dict[str, Any] = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": (
        "Change only if the subscription is still at this version: an `ETag` from a GET or an "
        "earlier PATCH (or `*`); otherwise 412 and nothing is written"
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 1024},
}


def _with_etag(model: Any, description: str) -> OpenAPIResponse:
    """A JSON success body with the subscription's `ETag` (what `If-Match` takes)."""
    response: dict[str, Any] = {
        **ok(model, description),
        "headers": {
            "ETag": {
                "description": "The version of the subscription returned; send it as `If-Match` to PATCH",
                "required": True,
                "schema": {"type": "string"},
            }
        },
    }
    return cast(OpenAPIResponse, response)


def etag(item: subscriptions_table.SubscriptionItem) -> str:
    """A strong validator of the subscription as the API shows it (RFC 9110 8.8.3)."""
    digest = hashlib.sha256(SubscriptionOut.from_item(item).model_dump_json().encode()).hexdigest()
    return f'"{digest[:24]}"'


def _if_match(header: str | None, current: str) -> bool:
    """Whether `If-Match` (absent, `*` or a list of entity tags) lets the change through; a weak
    tag never matches (strong comparison, RFC 9110 13.1.1)."""
    if header is None:
        return True
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or current in tags


def _versioned(status: int, item: subscriptions_table.SubscriptionItem) -> Response[str]:
    return Response(
        status_code=status,
        content_type=JSON,
        body=SubscriptionOut.from_item(item).model_dump_json(),
        headers={"ETag": etag(item)},
    )


def _json(status: int, model: BaseModel) -> Response[str]:
    return Response(status_code=status, content_type=JSON, body=model.model_dump_json())


def _with_secret(status: int, model: SubscriptionWithSecret) -> Response[str]:
    """A response carrying a signing secret: never kept by a cache."""
    return Response(
        status_code=status, content_type=JSON, body=model.model_dump_json(), headers=dict(NO_STORE)
    )


def _tenant() -> str:
    return str(router.context["tenant_id"])


def _table() -> str:
    return ingest_settings().subscriptions_table


def audit_fields(item: subscriptions_table.SubscriptionItem) -> dict[str, str | list[str] | None]:
    """What the audit trail keeps of a subscription: ids and status, the target's host only (a
    target URL's path can be a capability, as Zapier's hook URLs are), never a secret."""
    return {
        "subscription_id": item.subscription_id,
        "status": item.status,
        "disabled_reason": item.disabled_reason,
        "target_host": urlsplit(item.target_url).hostname,
        "event_types": item.event_types,
    }


def check_destination(target_url: str, settings: IngestSettings) -> None:
    """The destination (SSRF) check of a target URL, as a 422 naming `target_url`."""
    try:
        check_url(
            target_url,
            allow_loopback=settings.allow_loopback_webhooks,
            require_https=not settings.is_local,
            private_hosts=settings.private_webhook_hosts,
            allowed_ports=settings.allowed_webhook_ports,
        )
    except BlockedDestination as exc:
        raise ValidationFailed(
            f"invalid target_url: {exc}", errors=[{"field": "target_url", "message": str(exc)}]
        ) from exc


def parse_subscription(body: str, settings: IngestSettings) -> SubscriptionIn:
    """Validate a create request: size, JSON, schema, the filter, then the destination (SSRF) check."""
    request = parse_json_model(body, SubscriptionIn, settings.max_body_bytes)
    check_filter(request.filter)
    check_destination(request.target_url, settings)
    return request


def parse_patch(body: str, settings: IngestSettings) -> SubscriptionPatch:
    """Validate a PATCH body like a create: what it sets is checked as a create would check it."""
    request = parse_json_model(body, SubscriptionPatch, settings.max_body_bytes)
    check_filter(request.filter)
    if request.target_url is not None:
        check_destination(request.target_url, settings)
    return request


@router.post(
    "/v1/subscriptions",
    tags=["subscriptions"],
    summary="Subscribe a webhook (Zapier REST hook subscribe)",
    description=(
        'Body: `{"target_url": "https://…", "event_types": ["order.created"]}` (`["*"]` for all), '
        "optionally `description`, `metadata`, `headers` (sent with every delivery, stored encrypted, "
        "shown masked) and a content `filter`. "
        "The response carries the Standard Webhooks signing `secret`: the only time it is shown "
        "(besides rotate-secret). The same target_url and event types again is a 409 whose "
        "`subscription_id` names the existing subscription. A tenant has at most its quota of "
        "subscriptions (100 by default): one more is a 409 `subscription-quota-exceeded` naming the "
        "`limit`; delete one first. Optional: `rate_limit` (deliveries per second, 1 to 1000) and "
        '`ordering` (`"strict"` or `"none"`, see docs/webhooks.md).'
    ),
    operation_id="create_subscription",
    responses={
        201: ok_no_store(SubscriptionWithSecret, "Subscribed"),
        **problems(400, 401, 413, 422, 503),
        409: problem(
            "Same target_url and event_types already subscribed (`duplicate-subscription`, "
            "`subscription_id` names it), or the tenant's subscription quota is reached "
            "(`subscription-quota-exceeded`)"
        ),
    },
    openapi_extensions=json_body(
        SubscriptionIn,
        {
            "some": (
                "Two event types",
                {
                    "target_url": "https://hooks.example.com/zaps/42",
                    "event_types": ["order.created", "order.paid"],
                },
            ),
            "all": (
                "Every event type",
                {"target_url": "https://hooks.example.com/zaps/43", "event_types": ["*"]},
            ),
            "options": (
                "With a description, labels, an auth header and a content filter",
                {
                    "target_url": "https://hooks.example.com/zaps/45",
                    "event_types": ["order.paid"],
                    "description": "Large payments to the finance Zap",
                    "metadata": {"team": "finance"},
                    "headers": {"Authorization": "Bearer 9f8e7d6c5b4a39281706"},
                    "filter": {"payload": {"amount": [{"numeric": [">", 100]}]}},
                },
            ),
            "paced": (
                "At most 5 deliveries a second, in order",
                {
                    "target_url": "https://hooks.example.com/ledger",
                    "event_types": ["order.paid"],
                    "rate_limit": 5,
                    "ordering": "strict",
                },
            ),
        },
    ),
)
def create_subscription() -> Response[str]:
    settings, tenant_id = ingest_settings(), _tenant()
    request = parse_subscription(request_text(router.current_event), settings)
    require_known_types(tenant_id, request.event_types)
    quota = tenants_table.get_limits(dynamodb_client(), settings.tenants_table, tenant_id).max_subscriptions
    issued = subscriptions_table.create_subscription(
        dynamodb_client(),
        settings.subscriptions_table,
        tenant_id,
        request.target_url,
        request.event_types,
        credential_key(settings.secrets_key_id),
        max_subscriptions=settings.max_subscriptions_per_tenant if quota is None else quota,
        fields=request.fields(),
        headers=request.headers,
        rate_limit=request.rate_limit,
        ordering=request.ordering,
    )
    item = issued.subscription
    logger.info(
        "subscription created",
        extra={
            "subscription_id": item.subscription_id,
            "event_types": item.event_types,
            "rate_limit": item.rate_limit,
            "ordering": item.ordering,
        },
    )
    record(router, "subscription.create", "subscription", item.subscription_id, after=audit_fields(item))
    return _with_secret(201, SubscriptionWithSecret.from_issued(issued))


@router.get(
    "/v1/subscriptions",
    tags=["subscriptions"],
    summary="List subscriptions (secrets are never listed)",
    operation_id="list_subscriptions",
    responses={200: ok(SubscriptionList), **problems(401, 503)},
)
def list_subscriptions() -> Response[str]:
    items = subscriptions_table.list_subscriptions(dynamodb_client(), _table(), _tenant())
    return _json(200, SubscriptionList(data=[SubscriptionOut.from_item(item) for item in items]))


@router.get(
    "/v1/subscriptions/<subscription_id>",
    tags=["subscriptions"],
    summary="One subscription (without its secret)",
    operation_id="get_subscription",
    responses={200: _with_etag(SubscriptionOut, "OK"), **problems(401, 404, 422, 503)},
)
def get_subscription(subscription_id: SubscriptionId) -> Response[str]:
    item = subscriptions_table.get_subscription(dynamodb_client(), _table(), _tenant(), subscription_id)
    return _versioned(200, item)


@router.patch(
    "/v1/subscriptions/<subscription_id>",
    tags=["subscriptions"],
    summary="Change a subscription (JSON merge patch); the secret is kept",
    description=(
        "A JSON merge patch (RFC 7396): fields left out are unchanged, `null` removes an optional "
        "field (`description`, `metadata`, `headers`, `filter`; `target_url` and `event_types` "
        "cannot be removed). `headers` and `metadata` are merged name by name (`null` removes one "
        "name); `event_types` and `filter` are replaced whole. A new `target_url` is checked as at "
        "create. The change applies to every event accepted after this call returns (deliveries "
        "already scheduled for retry use the new target and headers too); the signing secret, "
        "status and delivery history are kept. A patch that changes nothing writes nothing. The "
        "new target_url and event_types of another subscription of the tenant is a 409 naming it. "
        "With `If-Match: <ETag>` (from a GET or an earlier PATCH), the change is made only if the "
        "subscription is still at that version, else 412."
    ),
    operation_id="update_subscription",
    responses={
        200: _with_etag(SubscriptionOut, "The subscription as it now is"),
        **problems(400, 401, 404, 413, 422, 503),
        412: problem("`If-Match` names another version than the current one (`precondition-failed`)"),
        409: problem(
            "Another subscription has this target_url and these event_types "
            "(`duplicate-subscription`, `subscription_id` names it)"
        ),
    },
    openapi_extensions={
        "parameters": [IF_MATCH_HEADER],
        **json_body(
            SubscriptionPatch,
            {
                "url": ("Move to another URL", {"target_url": "https://hooks.example.com/zaps/44"}),
                "auth": (
                    "Send a bearer token, drop a label",
                    {"headers": {"Authorization": "Bearer 9f8e7d6c5b4a39281706"}, "metadata": {"team": None}},
                ),
                "filter": (
                    "Only large orders",
                    {
                        "event_types": ["order.created"],
                        "filter": {"payload": {"amount": [{"numeric": [">", 100]}]}},
                    },
                ),
            },
        ),
    },
)
def update_subscription(subscription_id: SubscriptionId) -> Response[str]:
    settings, tenant_id = ingest_settings(), _tenant()
    # A missing or foreign id is a 404 before the body is looked at (its SSRF check resolves DNS).
    current = subscriptions_table.get_subscription(
        dynamodb_client(), settings.subscriptions_table, tenant_id, subscription_id
    )
    if_match = router.current_event.headers.get("if-match")
    if not _if_match(if_match, etag(current)):
        raise PreconditionFailed("the subscription changed since that ETag was read; read it again")
    patch = parse_patch(request_text(router.current_event), settings)
    if patch.event_types is not None:
        require_known_types(tenant_id, patch.event_types)
    item = subscriptions_table.update_subscription(
        dynamodb_client(),
        settings.subscriptions_table,
        tenant_id,
        subscription_id,
        patch.changes(),
        credential_key(settings.secrets_key_id),
        expected_revision=None if if_match is None else current.revision,
    )
    logger.info(
        "subscription updated",
        extra={"subscription_id": subscription_id, "fields": sorted(patch.model_fields_set)},
    )
    if current.ordering == "strict" and item.ordering != "strict":
        # Its held events no longer wait for one another: each gets its next attempt now. The
        # lifecycle machinery (queues, lanes) is imported only when needed (docs/decisions.md).
        from ingest.core import lifecycle

        stores = lifecycle.Stores.of(dynamodb_client(), sqs_client(), settings)
        released = lifecycle.release_lane(stores, subscription_id, datetime.now(UTC))
        logger.info("strict ordering ended: held events released", extra={"released": released})
    if item.revision != current.revision:
        record(
            router,
            "subscription.update",
            "subscription",
            subscription_id,
            before=audit_fields(current),
            after=audit_fields(item),
        )
    return _versioned(200, item)


@router.delete(
    "/v1/subscriptions/<subscription_id>",
    tags=["subscriptions"],
    summary="Unsubscribe (Zapier REST hook unsubscribe)",
    operation_id="delete_subscription",
    responses={204: no_content("Deleted"), **problems(401, 404, 422, 503)},
)
def delete_subscription(subscription_id: SubscriptionId) -> Response[str]:
    before = subscriptions_table.get_subscription(dynamodb_client(), _table(), _tenant(), subscription_id)
    subscriptions_table.delete_subscription(dynamodb_client(), _table(), _tenant(), subscription_id)
    logger.info("subscription deleted", extra={"subscription_id": subscription_id})
    record(router, "subscription.delete", "subscription", subscription_id, before=audit_fields(before))
    return Response(status_code=204, content_type=None, body="")


@router.post(
    "/v1/subscriptions/<subscription_id>/enable",
    tags=["subscriptions"],
    summary="Re-enable a subscription (after a disable, automatic or by hand)",
    operation_id="enable_subscription",
    responses={200: ok(SubscriptionOut), **problems(401, 404, 422, 503)},
)
def enable_subscription(subscription_id: SubscriptionId) -> Response[str]:
    settings, tenant_id = ingest_settings(), _tenant()
    before = subscriptions_table.get_subscription(dynamodb_client(), _table(), tenant_id, subscription_id)
    item = subscriptions_table.enable(dynamodb_client(), _table(), tenant_id, subscription_id)
    logger.info("subscription enabled", extra={"subscription_id": subscription_id})
    if before.status != "active":
        now = datetime.now(UTC)
        operational.emit(
            dynamodb_client(),
            settings.events_table,
            tenant_id,
            operational.SUBSCRIPTION_ENABLED,
            operational.subscription_payload(item, now),
            now=now,
            retention_days=settings.event_retention_days,
        )
    record(
        router,
        "subscription.enable",
        "subscription",
        subscription_id,
        before=audit_fields(before),
        after=audit_fields(item),
    )
    return _json(200, SubscriptionOut.from_item(item))


DisableReason = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_DISABLE_REASON,
        description="Why deliveries stop, for people (shown as `disabled_reason`); default "
        "`disabled by key <key id>`",
    ),
    AfterValidator(_reason_text),
]


class DisableIn(BaseModel):
    """A disable request: why (optional; kept as the subscription's `disabled_reason`)."""

    model_config = ConfigDict(extra="forbid")

    reason: DisableReason | None = None


def parse_disable(text: str, settings: IngestSettings) -> DisableIn:
    """The optional body of a disable: none at all is the default reason (a body of whitespace
    only is not JSON: a 400, as on every other body route)."""
    if not text:
        return DisableIn()
    return parse_json_model(text, DisableIn, settings.max_body_bytes)


@router.post(
    "/v1/subscriptions/<subscription_id>/disable",
    tags=["subscriptions"],
    summary="Disable a subscription by hand (pause its deliveries); enable resumes them",
    description=(
        "Deliveries stop exactly as after an automatic disable: events accepted after this call "
        "returns are not delivered to it, and its deliveries waiting for a retry are dead-lettered "
        "unsent (`subscription disabled: <reason>`; redrive or replay them once it is enabled "
        "again). A strict-ordering subscription's held events are dead-lettered the same way, at "
        "once. The body is optional: `reason` (1 to "
        f"{MAX_DISABLE_REASON} characters) becomes `disabled_reason`, by default `disabled by key "
        "<key id>`. A subscription already disabled is returned unchanged (its first reason is kept, "
        "nothing is recorded or emitted). A disable that changes the status emits a "
        '`subscription.disabled` operational webhook with `"trigger": "manual"`.'
    ),
    operation_id="disable_subscription",
    responses={200: ok(SubscriptionOut), **problems(400, 401, 404, 413, 422, 503)},
    # An inline schema (not a component listed in ingest.api): the body is optional and small.
    openapi_extensions=json_body(
        DisableIn.model_json_schema(),
        {
            "reason": ("With a reason", {"reason": "receiver down for maintenance until 18:00 UTC"}),
        },
        required=False,
    ),
)
def disable_subscription(subscription_id: SubscriptionId) -> Response[str]:
    settings, tenant_id = ingest_settings(), _tenant()
    # A missing or foreign id is a 404 before the body is looked at.
    before = subscriptions_table.get_subscription(dynamodb_client(), _table(), tenant_id, subscription_id)
    request = parse_disable(request_text(router.current_event), settings)
    reason = request.reason or f"disabled by key {router.context['key_id']}"
    item, changed = subscriptions_table.disable_active(
        dynamodb_client(), _table(), tenant_id, subscription_id, reason
    )
    if not changed:
        logger.info("subscription already disabled", extra={"subscription_id": subscription_id})
        return _json(200, SubscriptionOut.from_item(item))
    logger.info("subscription disabled by hand", extra={"subscription_id": subscription_id})
    now = datetime.now(UTC)
    if item.strict or before.strict:
        # As after an automatic disable, its lane ends now: the head and then each held event are
        # dead-lettered unsent by the retry function. (Imported here, as for PATCH: cold start.)
        from ingest.core import lifecycle

        stores = lifecycle.Stores.of(dynamodb_client(), sqs_client(), settings)
        hurried = lifecycle.hurry_lane_head(stores, subscription_id, now)
        logger.info("strict ordering lane ended by the disable", extra={"head_queued": hurried})
    operational.emit(
        dynamodb_client(),
        settings.events_table,
        tenant_id,
        operational.SUBSCRIPTION_DISABLED,
        operational.subscription_payload(item, now, reason, trigger="manual"),
        now=now,
        retention_days=settings.event_retention_days,
    )
    record(
        router,
        "subscription.disable",
        "subscription",
        subscription_id,
        before=audit_fields(before),
        after=audit_fields(item),
    )
    return _json(200, SubscriptionOut.from_item(item))


@router.post(
    "/v1/subscriptions/<subscription_id>/rotate-secret",
    tags=["subscriptions"],
    summary="Issue a new signing secret; the previous one keeps signing for 24 h",
    description=(
        "The new `secret` is shown once. Until `previous_secret_expires_at`, deliveries carry "
        "signatures with both secrets, so the receiver can switch at any time in that window."
    ),
    operation_id="rotate_subscription_secret",
    responses={200: ok_no_store(SubscriptionWithSecret, "The new secret"), **problems(401, 404, 422, 503)},
)
def rotate_secret(subscription_id: SubscriptionId) -> Response[str]:
    settings = ingest_settings()
    issued = subscriptions_table.rotate_secret(
        dynamodb_client(),
        settings.subscriptions_table,
        _tenant(),
        subscription_id,
        datetime.now(UTC),
        credential_key(settings.secrets_key_id),
    )
    logger.info("subscription secret rotated", extra={"subscription_id": subscription_id})
    rotated = issued.subscription
    expires_at = rotated.previous_secret_expires_at
    record(
        router,
        "subscription.rotate_secret",
        "subscription",
        subscription_id,
        after={
            **audit_fields(rotated),
            "grace_period_ends_at": isoformat(datetime.fromtimestamp(expires_at, UTC))
            if expires_at
            else None,
        },
    )
    return _with_secret(200, SubscriptionWithSecret.from_issued(issued))


@router.get(
    "/v1/subscriptions/<subscription_id>/deliveries",
    tags=["subscriptions"],
    summary="A subscription's deliveries, newest event first, with every attempt",
    operation_id="list_subscription_deliveries",
    responses={200: ok(DeliveryPage), **problems(400, 401, 404, 422, 503)},
)
def subscription_deliveries(
    subscription_id: SubscriptionId, limit: Limit = 50, cursor: Cursor = None
) -> Response[str]:
    settings, tenant_id = ingest_settings(), _tenant()
    subscriptions_table.get_subscription(
        dynamodb_client(), settings.subscriptions_table, tenant_id, subscription_id
    )
    items, next_cursor = deliveries_table.list_for_subscription(
        dynamodb_client(), settings.deliveries_table, tenant_id, subscription_id, limit, cursor
    )
    return _json(200, DeliveryPage(data=[_delivery(item) for item in items], next_cursor=next_cursor))


@router.get(
    "/v1/events/<event_id>/deliveries",
    tags=["events"],
    summary="An event's deliveries (one per subscription), with every attempt",
    operation_id="list_event_deliveries",
    responses={200: ok(DeliveryPage), **problems(401, 404, 422, 503)},
)
def event_deliveries(event_id: EventId) -> Response[str]:
    settings, tenant_id = ingest_settings(), _tenant()
    events_table.get_event(dynamodb_client(), settings.events_table, tenant_id, event_id)
    items = deliveries_table.list_for_event(dynamodb_client(), settings.deliveries_table, tenant_id, event_id)
    return _json(200, DeliveryPage(data=[_delivery(item) for item in items], next_cursor=None))


def _delivery(item: deliveries_table.DeliveryItem) -> DeliveryOut:
    fields: dict[str, Any] = item.model_dump(exclude={"tenant_id", "expires_at"})
    return DeliveryOut.model_validate(fields)
