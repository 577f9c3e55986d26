"""The search index: its template (index_template.json), versioned index, alias and document shape.

Writers and readers go through the alias (`events`), which points at one versioned index
(`events-v1`). A field added to the template reaches the live index through `ensure_index` (an
additive mapping change; `triggers reindex` fills it in for documents indexed before). A change to
an existing field ships as a new version: create `events-v2`, reindex, move the alias. The
LocalStack init script PUTs the same template body with curl.
"""

import json
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch, RequestError

from ingest.core.events_table import EventItem
from ingest.core.payload_fields import payload_fields

TEMPLATE_PATH = Path(__file__).with_name("index_template.json")
INDEX_VERSION = 1


def versioned_index(alias: str) -> str:
    return f"{alias}-v{INDEX_VERSION}"


def template_body(alias: str) -> dict[str, Any]:
    """The index template, matching the versioned indices of `alias`."""
    body: dict[str, Any] = json.loads(TEMPLATE_PATH.read_text())
    body["index_patterns"] = [f"{alias}-v*"]
    return body


def document(item: EventItem) -> dict[str, Any]:
    """The indexed document of an event: the stored item itself (`payload` stays the producer's
    text), and its payload's `path=value` entries for field-scoped search."""
    return {**item.model_dump(exclude_none=True), "payload_fields": payload_fields(item.payload)}


def ensure_index(client: OpenSearch, alias: str) -> None:
    """Put the template; create the versioned index and the alias unless the alias exists, else
    put the template's mapping on it (fields added since it was created). Idempotent."""
    body = template_body(alias)
    client.indices.put_index_template(name=alias, body=body)
    if client.indices.exists_alias(name=alias):
        client.indices.put_mapping(index=alias, body=body["template"]["mappings"])
        return
    index = versioned_index(alias)
    try:
        client.indices.create(index=index)
    except RequestError as exc:
        if exc.error != "resource_already_exists_exception":
            raise
    client.indices.put_alias(index=index, name=alias, body={"is_write_index": True})
