"""Search of a tenant's events through the OpenSearch alias the indexer writes.

`q` is parsed by `ingest.search_query` into clauses on known fields; the server adds the caller's
tenant_id filter to every query. Results come newest first (event ids are ULIDs) and page with
`search_after`, in the same EventPage shape as the DynamoDB listing.
"""

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from ingest.core.errors import MalformedRequest, SearchUnavailable
from ingest.core.events_table import EventItem, EventPage, EventQuery
from ingest.core.ids import isoformat
from ingest.core.observability import logger
from ingest.search_query import PATHS_FIELD, parse

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

MAX_QUERY_CHARS = 256
# At least one visible character, and no control characters.
QUERY_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
_BAD_CURSOR = "cursor is not one this API issued"


def encode_cursor(tenant_id: str, search_after: list[Any]) -> str:
    plain = {"tenant_id": tenant_id, "search_after": search_after}
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str, tenant_id: str) -> list[str]:
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequest(_BAD_CURSOR) from exc
    if not isinstance(plain, dict) or plain.get("tenant_id") != tenant_id:
        raise MalformedRequest(_BAD_CURSOR)
    after = plain.get("search_after")
    if not isinstance(after, list) or len(after) != 1 or not isinstance(after[0], str):
        raise MalformedRequest(_BAD_CURSOR)
    return after


def search_body(tenant_id: str, text: str, query: EventQuery) -> dict[str, Any]:
    """The OpenSearch request of a search: `text` parsed (InvalidQuery if it cannot be), always
    within the tenant."""
    matches, excluded = parse(text).filters()
    filters: list[dict[str, Any]] = [{"term": {"tenant_id": tenant_id}}]
    if query.event_type is not None:
        filters.append({"term": {"event_type": query.event_type}})
    if query.source is not None:
        filters.append({"term": {"source": query.source}})
    if query.since is not None or query.until is not None:
        bounds = {"gte": query.since, "lte": query.until}
        filters.append(
            {"range": {"received_at": {op: isoformat(at) for op, at in bounds.items() if at is not None}}}
        )
    conditions: dict[str, Any] = {"filter": [*filters, *matches]}
    if excluded:
        conditions["must_not"] = excluded
    body: dict[str, Any] = {
        "query": {"bool": conditions},
        "sort": [{"event_id": "desc"}],
        "size": query.limit + 1,
        "_source": {"excludes": [PATHS_FIELD]},
    }
    if query.cursor:
        body["search_after"] = decode_cursor(query.cursor, tenant_id)
    return body


def search_events(
    client: "OpenSearch", alias: str, tenant_id: str, text: str, query: EventQuery
) -> EventPage:
    """A tenant's events matching `text` (see `ingest.search_query`), newest first, one page at a time."""
    # Imported here, like the client: the API needs OpenSearch only for `q` (docs/decisions.md).
    from opensearchpy import NotFoundError, TransportError

    body = search_body(tenant_id, text, query)
    try:
        response = client.search(index=alias, body=body)
    except NotFoundError:
        logger.warning("search alias missing: nothing indexed yet", extra={"alias": alias})
        return EventPage([], None)
    except TransportError as exc:
        raise SearchUnavailable(f"search failed: {type(exc).__name__} {exc.status_code}") from exc
    hits = response["hits"]["hits"]
    items = [EventItem.model_validate(hit["_source"]) for hit in hits[: query.limit]]
    more = len(hits) > query.limit
    return EventPage(items, encode_cursor(tenant_id, hits[query.limit - 1]["sort"]) if more else None)
