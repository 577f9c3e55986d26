"""The HTTP API: routes, authentication and RFC 9457 error mapping. Routes hold no try/except."""

import json
import re
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError
from aws_lambda_powertools.utilities.typing import LambdaContext

from ingest import idempotency, openapi, scopes, search, search_query
from ingest.audit_api import refuse_repeated_parameters
from ingest.audit_api import router as audit_router
from ingest.bodies import request_text
from ingest.console import is_console_path
from ingest.console import router as console_router
from ingest.core import events_table
from ingest.core.api_keys_table import KEY_PREFIX, ApiKeyInfo, get_api_key, hash_key, key_id
from ingest.core.clients import dynamodb_client
from ingest.core.errors import (
    PROBLEM_BASE,
    MalformedRequest,
    RateLimited,
    SearchUnavailable,
    StoreUnavailable,
    TriggersError,
    Unauthorized,
    field_error,
)
from ingest.core.models import (
    EVENT_ID_PATTERN,
    EVENT_TYPE_PATTERN,
    MAX_BATCH,
    AcceptedBatch,
    AcceptedEvent,
    EventIn,
    EventOut,
    EventPage,
    Health,
    IsoDateTime,
)
from ingest.core.observability import UNMATCHED, RequestRecord, logger, metrics, record_request
from ingest.core.opensearch_client import opensearch_client
from ingest.core.settings import ingest_settings
from ingest.destinations_api import router as destinations_router
from ingest.event_types_api import EventTypeIn, EventTypePatch, catalog_cache
from ingest.event_types_api import router as event_types_router
from ingest.ingestion import parse_events, plan_events, store_events, store_planned
from ingest.keycache import accepted_keys, refused_keys
from ingest.me_api import router as me_router
from ingest.ratelimit import Decision, policy_for, rate_limiter
from ingest.replay_api import RecoverIn, ReplayIn
from ingest.replay_api import router as replay_router
from ingest.responses import JSON, PROBLEM_JSON, json_body, no_content, ok, problem, problems
from ingest.schemas import check_payloads
from ingest.stats_api import router as stats_router
from ingest.subscriptions_api import SubscriptionIn, SubscriptionPatch
from ingest.subscriptions_api import router as subscriptions_router

API_VERSION = "1.0.0"
PUBLIC_PATHS = frozenset({"/health", "/v1/openapi.json"})

app = APIGatewayHttpResolver(enable_validation=True)

EventId = Annotated[
    str, Path(min_length=26, max_length=26, pattern=EVENT_ID_PATTERN, description="Event ULID")
]
EventTypeFilter = Annotated[str | None, Query(max_length=128, pattern=EVENT_TYPE_PATTERN)]
SourceFilter = Annotated[str | None, Query(min_length=1, max_length=256)]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(min_length=1, max_length=2048)]
SearchText = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=search.MAX_QUERY_CHARS,
        pattern=search.QUERY_PATTERN,
        description=(
            "Search (through OpenSearch, a few seconds behind). Terms separated by spaces must all "
            "match; `a OR b` (or `a | b`) matches either; `-term` excludes. A word matches the payload "
            "text or the start of the event type or source (`order` finds `order.created`); "
            '`"blue widget"` is a phrase in the payload text; `pre*` a prefix. Fields: '
            "`payload.customer.id:42` (a payload value at any depth, exact, numbers compared by value; "
            "array positions are left out of the path: `payload.items.sku:A1`), `event_type:order.*`, "
            "`source:shop`, `status:failed` (exact, or a prefix with a final `*`), `payload:word` "
            '(payload text only); quote a value with spaces or `:` (`payload.name:"Blue Co"`). '
            f"At most {search_query.MAX_CLAUSES} terms and {search_query.MAX_QUERY_DEPTH} keys after "
            "`payload.`; "
            "anything else (other fields, `*` not at the end, unbalanced quotes, parentheses) is a "
            "400 `invalid-query`"
        ),
    ),
]


def _problem(status: int, type_: str, title: str, detail: str, **extensions: Any) -> Response[str]:
    problem = {"type": type_, "title": title, "status": status, "detail": detail}
    request_id = app.current_event.request_context.request_id
    if request_id:
        problem["instance"] = f"urn:request:{request_id}"
    problem.update({key: value for key, value in extensions.items() if value is not None})
    response = Response(status_code=status, content_type=PROBLEM_JSON, body=json.dumps(problem))
    return _with_rate_limit(response)


def _with_rate_limit(response: Response[Any]) -> Response[Any]:
    """The `RateLimit` and `RateLimit-Policy` headers of the request's budget, once it was metered."""
    decision = app.context.get("rate_limit")
    if isinstance(decision, Decision):
        response.headers.update(decision.headers())
    return response


def _json(status: int, body: str) -> Response[str]:
    return Response(status_code=status, content_type=JSON, body=body)


def _tenant() -> str:
    return str(app.context["tenant_id"])


def _count_rejection(reason: str) -> None:
    with single_metric(
        name="EventsRejected", unit=MetricUnit.Count, value=1, namespace=metrics.namespace
    ) as metric:
        metric.add_dimension(name="reason", value=reason)


def _authenticated_key(router: APIGatewayHttpResolver) -> ApiKeyInfo:
    header = router.current_event.headers.get("authorization") or ""
    scheme, _, api_key = header.partition(" ")
    if scheme.lower() != "bearer" or not api_key.strip():
        raise Unauthorized("send `Authorization: Bearer <api key>`")
    # A key refused or read a moment ago is answered from memory (ingest/keycache.py): revocation
    # applies within `api_key_cache_seconds`, expiry on the next request.
    key_hash = hash_key(api_key.strip())
    if key_hash in refused_keys():
        raise Unauthorized("unknown, revoked or expired API key")
    remembered = accepted_keys().get(key_hash)
    key = remembered or get_api_key(dynamodb_client(), ingest_settings().api_keys_table, key_hash)
    refusal = "unknown" if key is None else key.refusal(datetime.now(UTC))
    if key is None or refusal is not None:
        accepted_keys().forget(key_hash)
        refused_keys().add(key_hash)
        raise Unauthorized("API key expired" if refusal == "expired" else f"{refusal} API key")
    if remembered is None:
        accepted_keys().put(key_hash, key)
    return key


def _admit(router: APIGatewayHttpResolver) -> str:
    """Authenticate the request, check its key's scopes against the route, and take it from its
    tenant's rate limit (RateLimited when spent)."""
    key = _authenticated_key(router)
    tenant_id = key.tenant_id
    router.append_context(tenant_id=tenant_id, key_id=key.key_id, api_key=key)
    # The key's id (never the key or its hash) on every later log line of the request.
    logger.append_keys(tenant_id=tenant_id, key_id=key.key_id)
    scopes.require(key.scopes, scopes.needed_scope(router.context.get("_route")))
    refuse_repeated_parameters(router.current_event.raw_query_string, router.current_event.path)
    event = router.current_event
    decision = rate_limiter().check(tenant_id, policy_for(event.http_method, event.path))
    router.append_context(rate_limit=decision)
    if not decision.allowed:
        limit = decision.limit
        raise RateLimited(
            f"this tenant's {limit.policy} requests are limited to {limit.rate:g}/s (bursts of "
            f"{limit.burst}); retry in {decision.retry_after} s",
            decision.headers(),
            **{"violated-policies": [limit.policy]},
        )
    return tenant_id


def is_public(path: str) -> bool:
    """The routes anyone may call: health, the OpenAPI document and the console's static files."""
    return path in PUBLIC_PATHS or is_console_path(path)


def authenticate(router: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    if is_public(router.current_event.path):
        return next_middleware(router)
    _admit(router)
    return _with_rate_limit(next_middleware(router))


app.use(middlewares=[authenticate])
app.include_router(subscriptions_router)
app.include_router(replay_router)
app.include_router(destinations_router)
app.include_router(me_router)
app.include_router(stats_router)
app.include_router(console_router)
app.include_router(event_types_router)
app.include_router(audit_router)


@app.exception_handler(TriggersError)
def handle_domain_error(exc: TriggersError) -> Response[str]:
    if exc.status < 500:
        _count_rejection(exc.slug)
        logger.info("request rejected", extra={"problem": exc.slug, "status": exc.status})
    else:
        logger.warning("request failed", extra={"problem": exc.slug, "detail": exc.detail})
    response = _problem(exc.status, exc.type, exc.title, exc.detail, **exc.extensions)
    response.headers.update(exc.headers)
    return response


@app.exception_handler(RequestValidationError)
def handle_validation_error(exc: RequestValidationError) -> Response[str]:
    # Powertools validates parameters before any middleware runs: authenticate first, so an
    # anonymous caller gets 401 rather than a description of the schema.
    if not is_public(app.current_event.path) and "tenant_id" not in app.context:
        try:
            _admit(app)
        except TriggersError as error:
            return handle_domain_error(error)
    errors = [field_error(error, skip=1) for error in exc.errors()]
    _count_rejection("validation-failed")
    return _problem(
        422,
        "https://triggers.dev/problems/validation-failed",
        "Request does not match the schema",
        f"invalid {errors[0]['field']}: {errors[0]['message']}" if errors else "invalid request",
        errors=errors,
    )


@app.exception_handler(IdempotencyPersistenceLayerError)
def handle_idempotency_store_error(exc: IdempotencyPersistenceLayerError) -> Response[str]:
    return handle_domain_error(StoreUnavailable("idempotency store unavailable"))


@lru_cache(maxsize=1)
def _route_methods() -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """Each documented path as a pattern, with the methods it answers."""
    paths: dict[str, dict[str, Any]] = json.loads(openapi_json())["paths"]
    return [
        (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$"), frozenset(item))
        for path, item in paths.items()
    ]


@app.not_found
def handle_not_found(exc: NotFoundError) -> Response[str]:
    path = app.current_event.path
    allowed = sorted(
        {method.upper() for pattern, methods in _route_methods() if pattern.match(path) for method in methods}
    )
    if not allowed:
        return _problem(404, "https://triggers.dev/problems/not-found", "Not found", "no such route")
    response = _problem(
        405,
        "https://triggers.dev/problems/method-not-allowed",
        "Method not allowed",
        f"{app.current_event.http_method} is not allowed here; use {', '.join(allowed)}",
    )
    response.headers["Allow"] = ", ".join(allowed)
    return response


@app.exception_handler(Exception)
def handle_unexpected(exc: Exception) -> Response[str]:
    logger.exception("unhandled error")
    return _problem(500, "https://triggers.dev/problems/internal", "Internal error", "unexpected error")


# The rate-limit headers (draft-ietf-httpapi-ratelimit-headers), on every authenticated response.
RATE_LIMIT_HEADERS: dict[str, dict[str, Any]] = {
    "RateLimit-Policy": {
        "description": (
            'The tenant\'s budget for this kind of request: `"ingest"` (POST /v1/events) or `"management"` '
            "(every other route); `q` requests, refilled in `w` seconds (a token bucket: `q/w` per second)"
        ),
        "required": True,
        "schema": {"type": "string", "example": '"ingest";q=200;w=2'},
    },
    "RateLimit": {
        "description": "Requests left now (`r`, an estimate); seconds until the budget is whole again (`t`)",
        "required": True,
        "schema": {"type": "string", "example": '"ingest";r=0;t=1'},
    },
    "Retry-After": {
        "description": "Seconds to wait before the next request of this kind",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
}


# `[{}]`: the empty requirement, OpenAPI's way to say a route needs no credentials.
PUBLIC: list[dict[str, list[str]]] = [{}]


@app.get(
    "/health",
    tags=["meta"],
    summary="Liveness check (no authentication)",
    operation_id="health",
    security=PUBLIC,
    responses={200: ok(Health)},
)
def health() -> Health:
    return Health(status="ok")


@app.get(
    "/v1/openapi.json",
    tags=["meta"],
    summary="This API's OpenAPI document (no authentication)",
    operation_id="get_openapi_document",
    security=PUBLIC,
    responses={200: {"description": "OpenAPI 3 document", "content": {JSON: {"schema": {"type": "object"}}}}},
)
def openapi_document() -> Response[str]:
    return _json(200, openapi_json())


# `POST /v1/events` parses its own body, to keep each payload's bytes, and reads its own header.
EVENT_OR_BATCH: dict[str, Any] = {
    "oneOf": [
        openapi.component_ref(EventIn),
        {"type": "array", "items": openapi.component_ref(EventIn), "minItems": 1, "maxItems": MAX_BATCH},
    ]
}
IDEMPOTENCY_KEY_HEADER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes a retry safe: same key and body replay the first response (200)",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": idempotency.MAX_KEY_LENGTH,
        "pattern": idempotency.KEY_PATTERN,
    },
}


@app.post(
    "/v1/events",
    tags=["events"],
    summary="Ingest one event, or a JSON array of up to 25",
    description=(
        "Body: an event `{event_type, source?, occurred_at?, payload}` or an array of them. "
        "`payload` is stored exactly as sent. With `Idempotency-Key`, the first attempt fixes the "
        "events' ids: a retry with the same key and body stores, under those ids, whatever an "
        "interrupted attempt (503) left out, and never stores an event twice; it answers 201 if "
        "it stored anything, else 200 with the original ids. A different body is a 409. Without "
        "a key, a 503 may leave part of a batch stored and a retry stores that part again."
    ),
    operation_id="ingest_events",
    responses={
        200: ok(AcceptedEvent | AcceptedBatch, "Replay of an earlier request with the same Idempotency-Key"),
        201: ok(AcceptedEvent | AcceptedBatch, "Stored (a batch returns `{data: [...]}`)"),
        **problems(400, 401, 422),
        409: problem("Idempotency-Key reused with another body, or its first request still running"),
        413: problem("Body or payload too large"),
        503: problem(
            "Storage temporarily unavailable; part of a batch may be stored: retry with the same "
            "Idempotency-Key to store the rest under the same ids"
        ),
    },
    openapi_extensions={
        **json_body(
            EVENT_OR_BATCH,
            {
                "event": (
                    "One event",
                    {
                        "event_type": "order.created",
                        "source": "shop",
                        "occurred_at": "2026-03-01T10:00:00Z",
                        "payload": {"order_id": 1234, "total": 99.5, "lines": [{"sku": "A-1", "qty": 2}]},
                    },
                ),
                "batch": (
                    "A batch (stored whole)",
                    [
                        {"event_type": "order.created", "payload": {"order_id": 1235, "tags": ["new"]}},
                        {"event_type": "order.paid", "payload": {"order_id": 1234, "amount": {"EUR": 99.5}}},
                    ],
                ),
            },
        ),
        "parameters": [IDEMPOTENCY_KEY_HEADER],
    },
)
def post_events() -> Response[str]:
    settings = ingest_settings()
    tenant_id = _tenant()
    body = request_text(app.current_event)
    events, is_batch = parse_events(body, settings)
    check_payloads(catalog_cache(), dynamodb_client(), settings.tenants_table, tenant_id, events, is_batch)
    key = app.current_event.headers.get("idempotency-key")
    if key is None:
        accepted = store_events(dynamodb_client(), settings, tenant_id, events)
        stored = len(accepted)
    else:
        # The ids are decided and recorded under the key first, then written: a retry gets the
        # same ids back and writes only what is missing (ingest.ingestion).
        recorded, replayed = idempotency.run_once(
            table=settings.idempotency_table,
            ttl_seconds=settings.idempotency_ttl_seconds,
            tenant_id=tenant_id,
            key=idempotency.validate_key(key),
            body=body,
            operation=lambda: plan_events(tenant_id, events, settings, datetime.now(UTC)).model_dump(
                mode="json"
            ),
            lambda_context=app.lambda_context,
        )
        plan = AcceptedBatch.model_validate(recorded)
        stored = store_planned(dynamodb_client(), settings, tenant_id, events, plan, retry=replayed)
        accepted = plan.data
    ids = [event.id for event in accepted]
    if stored:
        metrics.add_metric(name="EventsAccepted", unit=MetricUnit.Count, value=stored)
        logger.info("events accepted", extra={"event_ids": ids, "count": stored})
    else:
        logger.info("idempotent replay", extra={"event_ids": ids})
    result = AcceptedBatch(data=accepted).model_dump(mode="json")
    body_out = result if is_batch else result["data"][0]
    return _json(201 if stored else 200, json.dumps(body_out))


@app.get(
    "/v1/events",
    tags=["events"],
    summary="List events, newest first, by type, source and time range; `q` searches them",
    operation_id="list_events",
    responses={
        200: ok(EventPage),
        **problems(400, 401, 422),
        503: problem(f"{SearchUnavailable.title} (with `q`), or storage; safe to retry"),
    },
)
def list_events(
    event_type: EventTypeFilter = None,
    source: SourceFilter = None,
    since: Annotated[
        IsoDateTime | None, Query(description="received at or after (ISO 8601 with offset)")
    ] = None,
    until: Annotated[
        IsoDateTime | None, Query(description="received at or before (ISO 8601 with offset)")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    q: SearchText = None,
) -> Response[str]:
    if since and until and since > until:
        raise MalformedRequest("`since` is after `until`")
    query = events_table.EventQuery(event_type, source, since, until, limit, cursor)
    settings = ingest_settings()
    if q is not None:
        client = opensearch_client(settings.opensearch_endpoint)
        page = search.search_events(client, settings.index_alias, _tenant(), q, query)
    else:
        page = events_table.list_events(dynamodb_client(), settings.events_table, _tenant(), query)
    return _json(200, page.to_json())


@app.get(
    "/v1/events/<event_id>",
    tags=["events"],
    summary="One event, with its payload exactly as received",
    operation_id="get_event",
    responses={200: ok(EventOut), **problems(401, 404, 422, 503)},
)
def get_event(event_id: EventId) -> Response[str]:
    item = events_table.get_event(dynamodb_client(), ingest_settings().events_table, _tenant(), event_id)
    return _json(200, item.to_json())


@app.get(
    "/v1/inbox",
    tags=["inbox"],
    summary="Pending events, oldest first (polling consumers)",
    operation_id="list_inbox",
    responses={200: ok(EventPage), **problems(400, 401, 422, 503)},
)
def inbox(
    event_type: EventTypeFilter = None,
    source: SourceFilter = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response[str]:
    query = events_table.EventQuery(event_type=event_type, source=source, limit=limit, cursor=cursor)
    page = events_table.list_inbox(dynamodb_client(), ingest_settings().events_table, _tenant(), query)
    logger.info(
        "inbox polled", extra={"result_count": len(page.items), "has_more": page.next_cursor is not None}
    )
    return _json(200, page.to_json())


@app.post(
    "/v1/events/<event_id>/ack",
    tags=["inbox"],
    summary="Acknowledge an event: it leaves the inbox",
    operation_id="acknowledge_event",
    responses={200: ok(EventOut), **problems(401, 404, 422, 503)},
)
def acknowledge(event_id: EventId) -> Response[str]:
    item = events_table.set_status(
        dynamodb_client(), ingest_settings().events_table, _tenant(), event_id, "acknowledged"
    )
    logger.info("event acknowledged", extra={"event_id": event_id})
    return _json(200, item.to_json())


@app.delete(
    "/v1/events/<event_id>",
    tags=["inbox"],
    summary="Delete an event",
    operation_id="delete_event",
    responses={204: no_content("Deleted"), **problems(401, 404, 422, 503)},
)
def delete_event(event_id: EventId) -> Response[str]:
    events_table.delete_event(dynamodb_client(), ingest_settings().events_table, _tenant(), event_id)
    logger.info("event deleted", extra={"event_id": event_id})
    return Response(status_code=204, content_type=None, body="")


@lru_cache(maxsize=1)
def route_templates() -> tuple[tuple[re.Pattern[str], str, str], ...]:
    """(pattern, method, template) of every route, as the resolver matches them; the template is
    the OpenAPI path (`/v1/events/{event_id}`): a bounded metric dimension, unlike the raw path.
    Built once: every router is included when this module is imported."""
    routes = app._static_routes + app._dynamic_routes
    return tuple((route.rule, route.method, re.sub(r"<(\w+)>", r"{\1}", route.path)) for route in routes)


def endpoint_of(method: str, path: str) -> str:
    """The route template `path` matches (for `method`, else for any method: a 405), or `unmatched`."""
    matching = [(method_, template) for rule, method_, template in route_templates() if rule.match(path)]
    for method_, template in matching:
        if method_ == method:
            return template
    return matching[0][1] if matching else UNMATCHED


def _presented_key_id(authorization: str) -> str | None:
    """The public id of the bearer token when it is shaped like a key of this API, else None: a
    hash prefix of some other secret pasted into the header is not logged."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return key_id(token) if scheme.lower() == "bearer" and token.startswith(KEY_PREFIX) else None


def _problem_slug(response: dict[str, Any]) -> str | None:
    """The slug of a problem+json answer's `type` (`validation-failed`), else None."""
    if PROBLEM_JSON not in str((response.get("headers") or {}).get("Content-Type", "")):
        return None
    try:
        problem_type = json.loads(response.get("body") or "{}").get("type")
    except (ValueError, AttributeError):
        return None
    return str(problem_type).removeprefix(PROBLEM_BASE) if problem_type else None


def handle_request(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Answer one API Gateway event and record it: the `request` log line and the request metrics
    (ingest.core.observability). After the resolver, so problems, 404/405 and 422 count too."""
    started = time.perf_counter()
    response = app.resolve(event, context)
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    request = app.current_event
    method = request.http_method.upper()
    record_request(
        RequestRecord(
            request_id=request.request_context.request_id,
            # Authentication put the key's id on the logger; a refused key's is worked out here.
            key_id=logger.get_current_keys().get("key_id")
            or _presented_key_id(request.headers.get("authorization") or ""),
            tenant_id=logger.get_current_keys().get("tenant_id"),
            endpoint=endpoint_of(method, request.path),
            method=method,
            status=int(response["statusCode"]),
            latency_ms=latency_ms,
            error_type=_problem_slug(response),
        )
    )
    return response


def openapi_json() -> str:
    """The OpenAPI document, made exact by ingest.openapi (bodies the routes parse themselves,
    parameters, the responses each route can give)."""
    spec = json.loads(
        app.get_openapi_json_schema(
            title="Triggers API",
            version=API_VERSION,
            description="Ingest events; list, search and poll them; subscribe webhooks.",
            security_schemes={"bearerAuth": HTTPBearer()},
            security=[{"bearerAuth": []}],
        )
    )
    # Every authenticated route may answer 429 when its tenant's rate limit is spent.
    spec.setdefault("components", {})["headers"] = RATE_LIMIT_HEADERS
    rate_limited = {
        "description": "The tenant's rate limit for this kind of request is spent; retry after `Retry-After`",
        "headers": {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_LIMIT_HEADERS},
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    # ... and 403 when the key's scopes do not include the one the route needs (ingest.scopes).
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if operation.get("security") != PUBLIC:
                operation.setdefault("responses", {})["429"] = rate_limited
                if (method.upper(), path) in scopes.ANY_VALID_KEY:
                    continue
                needed = scopes.ROUTE_SCOPES.get((method.upper(), path), "admin")
                operation["responses"]["403"] = {
                    "description": f"The API key lacks the `{needed}` scope (or `admin`): "
                    "`insufficient-scope`, naming it in `required_scope`",
                    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                }
                operation["x-required-scope"] = needed
    return openapi.dumps(
        openapi.finish(
            spec,
            body_models=(
                EventIn,
                SubscriptionIn,
                SubscriptionPatch,
                ReplayIn,
                RecoverIn,
                EventTypeIn,
                EventTypePatch,
            ),
        )
    )


__all__ = ["app", "endpoint_of", "handle_request", "openapi_json", "route_templates"]
