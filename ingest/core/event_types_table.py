"""Data access for the event-type catalog: one item per (tenant, event type).

The items live in the tenants table under the tenant's partition with the sort key
`type#<name>`, beside its `limits` and `bucket#…` records (the same place the breakers take in the
subscriptions table). Attributes: `name`, `description`, `schema` (the JSON Schema as the JSON
text it was given in, absent when the type has none), `deprecated`, `created_at`, `updated_at`.
"""

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from ingest.core.batching import batch_get
from ingest.core.errors import DuplicateEventType, EventTypeNotFound, StoreUnavailable
from ingest.core.ids import isoformat

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TYPE_PREFIX = "type#"

_deserializer = TypeDeserializer()


class EventTypeItem(BaseModel):
    """One catalog entry as stored."""

    tenant_id: str
    name: str
    description: str = ""
    schema_text: str | None = None
    deprecated: bool = False
    created_at: str
    updated_at: str

    @property
    def schema_document(self) -> dict[str, Any] | None:
        return None if self.schema_text is None else json.loads(self.schema_text)

    @classmethod
    def from_ddb(cls, item: dict[str, Any]) -> "EventTypeItem":
        values = {name: _deserializer.deserialize(value) for name, value in item.items()}
        return cls(
            tenant_id=str(values["tenant_id"]),
            name=str(values["name"]),
            description=str(values.get("description", "")),
            schema_text=values.get("schema"),
            deprecated=bool(values.get("deprecated", False)),
            created_at=str(values["created_at"]),
            updated_at=str(values["updated_at"]),
        )

    def to_ddb(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "tenant_id": {"S": self.tenant_id},
            "record": {"S": TYPE_PREFIX + self.name},
            "name": {"S": self.name},
            "description": {"S": self.description},
            "deprecated": {"BOOL": self.deprecated},
            "created_at": {"S": self.created_at},
            "updated_at": {"S": self.updated_at},
        }
        if self.schema_text is not None:
            item["schema"] = {"S": self.schema_text}
        return item


def _key(tenant_id: str, name: str) -> dict[str, Any]:
    return {"tenant_id": {"S": tenant_id}, "record": {"S": TYPE_PREFIX + name}}


def _unavailable(operation: str, exc: Exception) -> StoreUnavailable:
    return StoreUnavailable(f"event types {operation} failed: {type(exc).__name__}")


def create(
    client: "DynamoDBClient",
    table: str,
    tenant_id: str,
    name: str,
    *,
    description: str,
    schema_text: str | None,
    deprecated: bool,
) -> EventTypeItem:
    """Add a type to the tenant's catalog; DuplicateEventType when it is there already."""
    stamp = isoformat(datetime.now(UTC))
    item = EventTypeItem(
        tenant_id=tenant_id,
        name=name,
        description=description,
        schema_text=schema_text,
        deprecated=deprecated,
        created_at=stamp,
        updated_at=stamp,
    )
    try:
        client.put_item(
            TableName=table,
            Item=item.to_ddb(),
            ConditionExpression="attribute_not_exists(#record)",
            ExpressionAttributeNames={"#record": "record"},
        )
    except client.exceptions.ConditionalCheckFailedException as exc:
        raise DuplicateEventType(f"event type {name!r} already exists", name=name) from exc
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("write", exc) from exc
    return item


def get(client: "DynamoDBClient", table: str, tenant_id: str, name: str) -> EventTypeItem:
    try:
        response = client.get_item(TableName=table, Key=_key(tenant_id, name), ConsistentRead=True)
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("read", exc) from exc
    if "Item" not in response:
        raise EventTypeNotFound(f"no event type {name!r}")
    return EventTypeItem.from_ddb(response["Item"])


def get_many(
    client: "DynamoDBClient", table: str, tenant_id: str, names: Iterable[str]
) -> dict[str, EventTypeItem]:
    """The catalog entries among `names` (one consistent BatchGetItem; absent names are left out)."""
    keys = [_key(tenant_id, name) for name in dict.fromkeys(names)]
    found = batch_get(client, table, keys, "event types")
    return {item.name: item for item in map(EventTypeItem.from_ddb, found)}


def list_types(
    client: "DynamoDBClient", table: str, tenant_id: str, *, names_only: bool = False
) -> list[EventTypeItem]:
    """The tenant's whole catalog, by name (without schemas when `names_only`)."""
    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "tenant_id = :tenant AND begins_with(#record, :prefix)",
        "ExpressionAttributeNames": {"#record": "record"},
        "ExpressionAttributeValues": {":tenant": {"S": tenant_id}, ":prefix": {"S": TYPE_PREFIX}},
        "ConsistentRead": True,
    }
    if names_only:
        params["ProjectionExpression"] = "tenant_id, #name, created_at, updated_at"
        params["ExpressionAttributeNames"]["#name"] = "name"
    items: list[EventTypeItem] = []
    try:
        for page in client.get_paginator("query").paginate(**params):
            items.extend(EventTypeItem.from_ddb(item) for item in page.get("Items", []))
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("query", exc) from exc
    return items


def update(
    client: "DynamoDBClient",
    table: str,
    tenant_id: str,
    name: str,
    *,
    description: str | None = None,
    schema_text: str | None = None,
    remove_schema: bool = False,
    deprecated: bool | None = None,
) -> EventTypeItem:
    """Change the given members of an existing type (EventTypeNotFound when there is none)."""
    assignments = ["updated_at = :now"]
    values: dict[str, Any] = {":now": {"S": isoformat(datetime.now(UTC))}}
    names = {"#record": "record"}
    if description is not None:
        assignments.append("#description = :description")
        names["#description"] = "description"
        values[":description"] = {"S": description}
    if schema_text is not None:
        assignments.append("#schema = :schema")
        values[":schema"] = {"S": schema_text}
        names["#schema"] = "schema"
    if deprecated is not None:
        assignments.append("#deprecated = :deprecated")
        names["#deprecated"] = "deprecated"
        values[":deprecated"] = {"BOOL": deprecated}
    expression = "SET " + ", ".join(assignments)
    if remove_schema:
        expression += " REMOVE #schema"
        names["#schema"] = "schema"
    try:
        response = client.update_item(
            TableName=table,
            Key=_key(tenant_id, name),
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(#record)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
    except client.exceptions.ConditionalCheckFailedException as exc:
        raise EventTypeNotFound(f"no event type {name!r}") from exc
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("write", exc) from exc
    return EventTypeItem.from_ddb(response["Attributes"])


def delete(client: "DynamoDBClient", table: str, tenant_id: str, name: str) -> None:
    try:
        client.delete_item(
            TableName=table,
            Key=_key(tenant_id, name),
            ConditionExpression="attribute_exists(#record)",
            ExpressionAttributeNames={"#record": "record"},
        )
    except client.exceptions.ConditionalCheckFailedException as exc:
        raise EventTypeNotFound(f"no event type {name!r}") from exc
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("delete", exc) from exc
