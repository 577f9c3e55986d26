"""`GET /v1/audit`: the caller's audit trail, and the one helper routes record their changes with.

Every change a route makes (subscription create, update, delete, disable, enable, rotate-secret,
replay, recover) is recorded with `record(router, ...)` after it succeeded: the actor is the request's
API key id.
Operators' commands (key create and revoke, DLQ redrive) record theirs as `cli:<user>`
(devtools). Reading the trail needs the `audit:read` scope (or `admin`).
"""

from typing import Annotated
from urllib.parse import parse_qsl

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from ingest.core import audit_table
from ingest.core.audit_table import AuditLog, AuditPage, AuditQuery, Fields
from ingest.core.clients import dynamodb_client
from ingest.core.errors import MalformedRequest
from ingest.core.models import IsoDateTime
from ingest.core.runtime import runtime
from ingest.core.settings import ingest_settings
from ingest.responses import JSON, ok, problems

router = APIGatewayHttpRouter()


@runtime.cached
def _audit_log() -> AuditLog:
    settings = ingest_settings()
    return AuditLog(dynamodb_client(), settings.audit_table, settings.audit_retention_days)


def record(
    source: BaseRouter,
    action: str,
    resource_type: str,
    resource_id: str,
    *,
    before: Fields | None = None,
    after: Fields | None = None,
) -> None:
    """Record a change the current request made, as its API key."""
    audit_table.record_change(
        _audit_log(),
        tenant_id=str(source.context["tenant_id"]),
        actor=str(source.context["key_id"]),
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        before=before,
        after=after,
        request_id=source.current_event.raw_event.get("requestContext", {}).get("requestId") or None,
    )


Action = Annotated[
    str | None,
    Query(
        min_length=3,
        max_length=64,
        pattern=audit_table.ACTION_PATTERN,
        description=f"Only this action: {', '.join(f'`{action}`' for action in audit_table.ACTIONS)}",
    ),
]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(min_length=1, max_length=2048)]


@router.get(
    "/v1/audit",
    tags=["audit"],
    summary="Who changed what: the tenant's audit trail, newest first",
    description=(
        "Each change to the tenant's subscriptions (create, update, delete, disable, enable, "
        "rotate-secret, "
        "replay, recover), API keys (create, revoke) and dead-lettered deliveries (redrive), with who "
        "made it "
        "(`actor`: the API key id, or `cli:<user>` for an operator's command), when, and the ids and "
        "status fields before and after (never a secret). Needs the `audit:read` scope (or `admin`). "
        "With `action`, a page may hold fewer than `limit` records while `next_cursor` is not null."
    ),
    operation_id="list_audit_records",
    responses={200: ok(AuditPage), **problems(400, 401, 422, 503)},
)
def list_audit(
    action: Action = None,
    since: Annotated[IsoDateTime | None, Query(description="at or after (ISO 8601 with offset)")] = None,
    until: Annotated[IsoDateTime | None, Query(description="at or before (ISO 8601 with offset)")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response[str]:
    if since and until and since > until:
        raise MalformedRequest("`since` is after `until`")
    settings = ingest_settings()
    page = audit_table.list_changes(
        dynamodb_client(),
        settings.audit_table,
        str(router.context["tenant_id"]),
        AuditQuery(action=action, since=since, until=until, limit=limit, cursor=cursor),
    )
    return Response(status_code=200, content_type=JSON, body=page.model_dump_json())


def refuse_repeated_parameters(raw_query: str, path: str) -> None:
    """On routes that ask for it, a query parameter given twice is a 400 naming it: API Gateway
    would join the values with a comma, and keeping either one silently is a guess. Called by the
    auth middleware, so it also precedes the schema check of the parameters."""
    if path not in SINGLE_VALUED_QUERY_PATHS:
        return
    seen: set[str] = set()
    for name, _ in parse_qsl(raw_query, keep_blank_values=True):
        if name in seen:
            raise MalformedRequest(f"query parameter `{name}` given more than once")
        seen.add(name)


SINGLE_VALUED_QUERY_PATHS = frozenset({"/v1/audit"})
