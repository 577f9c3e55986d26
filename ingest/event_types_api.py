"""`/v1/event-types`: the tenant's event-type catalog (description, JSON Schema, deprecated).

A type with a schema has every payload `POST /v1/events` accepts for it checked against the
schema (ingest.schemas). Once a tenant's catalog holds a type, its subscriptions may only list
catalog types (or `*`, or the operational types); a tenant without a catalog subscribes to any
type, as before. Deleting a type removes it (there is no archive): subscriptions listing it keep
their deliveries, and its events are no longer checked. See docs/webhooks.md "Event-type catalog".
"""

import json
import re
from collections.abc import Iterable
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from ingest.audit_api import record
from ingest.bodies import parse_json_model, request_text
from ingest.core import event_types_table
from ingest.core.clients import dynamodb_client
from ingest.core.errors import EventTypeNotFound, ValidationFailed
from ingest.core.event_types_table import EventTypeItem
from ingest.core.models import EVENT_TYPE_PATTERN
from ingest.core.observability import logger
from ingest.core.operational import OPERATIONAL_TYPES
from ingest.core.runtime import runtime
from ingest.core.settings import ingest_settings
from ingest.responses import JSON, json_body, no_content, ok, problem, problems
from ingest.schemas import CatalogCache, compile_schema

MAX_DESCRIPTION = 1024
SCHEMA_DESCRIPTION = (
    "JSON Schema (draft 2020-12) every payload of this type must match; at most 32 KiB, references "
    "only within the schema itself. Formats are annotations (not asserted), as 2020-12 specifies."
)

router = APIGatewayHttpRouter()

# Clients may percent-encode the name (`a%3Ab` for `a:b`): API Gateway passes the path as sent, so
# the route decodes it (`~` is there because HTTP clients decode `%7E`; no type name has one).
EventTypeName = Annotated[
    str,
    Path(
        min_length=1,
        max_length=3 * 128,
        pattern=r"^(?:[A-Za-z0-9_.:~\-]|%[0-9A-Fa-f]{2})+$",
        description="Event type name (may be percent-encoded)",
    ),
]
_NAME = re.compile(EVENT_TYPE_PATTERN)


def _decoded(name: str) -> str:
    """The name a path segment spells; one no type can have is a 404 like any unknown name."""
    decoded = unquote(name)
    if len(decoded) > 128 or not _NAME.match(decoded):
        raise EventTypeNotFound(f"no event type {decoded!r}")
    return decoded


def _not_operational(value: str) -> str:
    if value in OPERATIONAL_TYPES:
        raise ValueError(f"{value!r} is an operational event type, reserved for the pipeline")
    return value


class EventTypeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    name: str = Field(min_length=1, max_length=128, pattern=EVENT_TYPE_PATTERN)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    schema_: dict[str, Any] | None = Field(default=None, alias="schema", description=SCHEMA_DESCRIPTION)
    deprecated: StrictBool = False

    _name_not_reserved = field_validator("name")(_not_operational)


class EventTypePatch(BaseModel):
    """The members to change; `"schema": null` removes the schema."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    schema_: dict[str, Any] | None = Field(default=None, alias="schema", description=SCHEMA_DESCRIPTION)
    deprecated: StrictBool | None = None

    @model_validator(mode="after")
    def _something(self) -> "EventTypePatch":
        if not self.model_fields_set:
            raise ValueError("give at least one of description, schema, deprecated")
        for name in ("description", "deprecated"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class EventTypeOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, defer_build=True)

    name: str
    description: str
    schema_: dict[str, Any] | None = Field(alias="schema", description="The type's JSON Schema, if any")
    deprecated: bool
    created_at: str
    updated_at: str

    @classmethod
    def from_item(cls, item: EventTypeItem) -> "EventTypeOut":
        return cls(
            name=item.name,
            description=item.description,
            schema_=item.schema_document,
            deprecated=item.deprecated,
            created_at=item.created_at,
            updated_at=item.updated_at,
        )


class EventTypeList(BaseModel):
    model_config = ConfigDict(defer_build=True)

    data: list[EventTypeOut]


@runtime.cached
def catalog_cache() -> CatalogCache:
    return CatalogCache(ttl_seconds=ingest_settings().event_type_cache_seconds)


def _tenant() -> str:
    return str(router.context["tenant_id"])


def _json(status: int, model: BaseModel) -> Response[str]:
    return Response(status_code=status, content_type=JSON, body=model.model_dump_json(by_alias=True))


def _audit_fields(item: EventTypeItem) -> dict[str, bool]:
    """What the audit trail keeps of a type: its flags, not its schema or description."""
    return {"has_schema": item.schema_text is not None, "deprecated": item.deprecated}


def _schema_text(schema: dict[str, Any]) -> str:
    compile_schema(schema)
    return json.dumps(schema, separators=(",", ":"), ensure_ascii=False)


def require_known_types(tenant_id: str, event_types: Iterable[str]) -> None:
    """A subscription's types must be in the tenant's catalog once it has one (422 naming them)."""
    wanted = [name for name in event_types if name != "*" and name not in OPERATIONAL_TYPES]
    if not wanted:
        return
    settings = ingest_settings()
    catalog = {
        item.name
        for item in event_types_table.list_types(
            dynamodb_client(), settings.tenants_table, tenant_id, names_only=True
        )
    }
    unknown = [name for name in wanted if name not in catalog]
    if catalog and unknown:
        raise ValidationFailed(
            f"invalid event_types: not in the event-type catalog: {', '.join(unknown)}",
            errors=[
                {"field": "event_types", "message": f"{name!r} is not in the event-type catalog"}
                for name in unknown
            ],
        )


@router.post(
    "/v1/event-types",
    tags=["event-types"],
    summary="Add an event type to the catalog",
    description=(
        'Body: `{"name": "order.created", "description": "…", "schema": {…}, "deprecated": false}`. '
        "With a `schema`, `POST /v1/events` refuses payloads of this type that do not match it (422 "
        "`schema-violation`, one error per failing path). An invalid schema is a 422 naming the problem. "
        "The operational types (`subscription.disabled`, `subscription.enabled`, `delivery.exhausted`) "
        "are reserved."
    ),
    operation_id="create_event_type",
    responses={
        201: ok(EventTypeOut, "Created"),
        **problems(400, 401, 413, 422, 503),
        409: problem("An event type with this name already exists (`duplicate-event-type`)"),
    },
    openapi_extensions=json_body(
        EventTypeIn,
        {
            "schema": (
                "With a schema",
                {
                    "name": "invoice.created",
                    "description": "An invoice was issued",
                    "schema": {
                        "type": "object",
                        "required": ["invoice_id"],
                        "properties": {"invoice_id": {"type": "integer"}},
                    },
                },
            ),
            "plain": ("Without a schema", {"name": "invoice.paid"}),
        },
    ),
)
def create_event_type() -> Response[str]:
    settings, tenant_id = ingest_settings(), _tenant()
    request = parse_json_model(request_text(router.current_event), EventTypeIn, settings.max_body_bytes)
    item = event_types_table.create(
        dynamodb_client(),
        settings.tenants_table,
        tenant_id,
        request.name,
        description=request.description,
        schema_text=None if request.schema_ is None else _schema_text(request.schema_),
        deprecated=request.deprecated,
    )
    catalog_cache().put(tenant_id, item.name, item)
    record(router, "event_type.create", "event_type", item.name, after=_audit_fields(item))
    logger.info(
        "event type created", extra={"event_type": item.name, "has_schema": item.schema_text is not None}
    )
    return _json(201, EventTypeOut.from_item(item))


@router.get(
    "/v1/event-types",
    tags=["event-types"],
    summary="The event-type catalog, by name",
    operation_id="list_event_types",
    responses={200: ok(EventTypeList), **problems(401, 503)},
)
def list_event_types() -> Response[str]:
    items = event_types_table.list_types(dynamodb_client(), ingest_settings().tenants_table, _tenant())
    return _json(200, EventTypeList(data=[EventTypeOut.from_item(item) for item in items]))


@router.get(
    "/v1/event-types/<name>",
    tags=["event-types"],
    summary="One event type, with its schema",
    operation_id="get_event_type",
    responses={200: ok(EventTypeOut), **problems(401, 404, 422, 503)},
)
def get_event_type(name: EventTypeName) -> Response[str]:
    name = _decoded(name)
    item = event_types_table.get(dynamodb_client(), ingest_settings().tenants_table, _tenant(), name)
    return _json(200, EventTypeOut.from_item(item))


@router.patch(
    "/v1/event-types/<name>",
    tags=["event-types"],
    summary="Change an event type's description, schema or deprecated flag",
    description=(
        'Only the members given change; `"schema": null` removes the schema. A new schema applies to '
        "events accepted a few seconds after the call returns (docs/guarantees.md)."
    ),
    operation_id="update_event_type",
    responses={200: ok(EventTypeOut), **problems(400, 401, 404, 413, 422, 503)},
    openapi_extensions=json_body(
        EventTypePatch,
        {
            "deprecate": ("Deprecate", {"deprecated": True}),
            "drop_schema": ("Remove the schema", {"schema": None}),
        },
    ),
)
def update_event_type(name: EventTypeName) -> Response[str]:
    settings, tenant_id, name = ingest_settings(), _tenant(), _decoded(name)
    # Another tenant's (or no) type is a 404 whatever the body says.
    before = event_types_table.get(dynamodb_client(), settings.tenants_table, tenant_id, name)
    request = parse_json_model(request_text(router.current_event), EventTypePatch, settings.max_body_bytes)
    changes_schema = "schema_" in request.model_fields_set
    item = event_types_table.update(
        dynamodb_client(),
        settings.tenants_table,
        tenant_id,
        name,
        description=request.description,
        schema_text=_schema_text(request.schema_) if changes_schema and request.schema_ is not None else None,
        remove_schema=changes_schema and request.schema_ is None,
        deprecated=request.deprecated,
    )
    catalog_cache().put(tenant_id, name, item)
    record(
        router,
        "event_type.update",
        "event_type",
        name,
        before=_audit_fields(before),
        after=_audit_fields(item),
    )
    logger.info("event type updated", extra={"event_type": name, "changed": sorted(request.model_fields_set)})
    return _json(200, EventTypeOut.from_item(item))


@router.delete(
    "/v1/event-types/<name>",
    tags=["event-types"],
    summary="Remove an event type from the catalog",
    description="Its events are no longer checked against a schema; subscriptions listing it keep it.",
    operation_id="delete_event_type",
    responses={204: no_content("Deleted"), **problems(401, 404, 422, 503)},
)
def delete_event_type(name: EventTypeName) -> Response[str]:
    tenant_id, name = _tenant(), _decoded(name)
    event_types_table.delete(dynamodb_client(), ingest_settings().tenants_table, tenant_id, name)
    catalog_cache().put(tenant_id, name, None)
    record(router, "event_type.delete", "event_type", name)
    logger.info("event type deleted", extra={"event_type": name})
    return Response(status_code=204, content_type=None, body="")
