"""The one client of the ingest HTTP API for devtools: authentication, problem+json errors, calls.

Every command that calls the API goes through here (`subscribe`, `search`, `replay`, `status`,
and `send` with its concurrent client), as does `triggers soak`. `triggers search` and
`triggers replay` find events through `GET /v1/events?q=`; a replay then posts their ids, at
most 100 per request, to `POST /v1/subscriptions/{id}/replay`, where the server checks the
subscription's tenant, status and event types (ingest/core/lifecycle.py).
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from devtools.target import Target
from ingest.core.ids import isoformat

PAGE_SIZE = 100
REPLAY_CHUNK = 100
_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
NO_API_KEY = "no API key: pass --api-key, set TRIGGERS_API_KEY, or start `triggers up`"


class ApiError(Exception):
    """The API answered with an error (problem+json when it can) or could not be reached."""

    def __init__(self, message: str, status: int | None = None, problem: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.problem = problem


def _auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def api_client(target: Target, timeout: float = 30.0) -> httpx.Client:
    """A client for the API the target names, with its key; ApiError when there is no key."""
    if not target.api_key:
        raise ApiError(NO_API_KEY)
    return connect(target.api_url, target.api_key, timeout)


def connect(api_url: str, api_key: str, timeout: float = 30.0) -> httpx.Client:
    return httpx.Client(base_url=api_url, headers=_auth(api_key), timeout=timeout)


def async_api_client(api_url: str, api_key: str, timeout: float, connections: int) -> httpx.AsyncClient:
    """The concurrent client of `triggers send`: at most `connections` requests in flight."""
    return httpx.AsyncClient(
        base_url=api_url,
        headers=_auth(api_key),
        timeout=timeout,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


def problem_type(response: httpx.Response) -> str | None:
    """The last part of a problem+json `type` (`validation-failed`), if the body has one."""
    try:
        document = response.json()
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("type"), str):
        return str(document["type"]).rstrip("/").rsplit("/", 1)[-1]
    return None


def problem_slug(response: httpx.Response) -> str:
    """The problem type's last part, else `http-<status>`."""
    return problem_type(response) or f"http-{response.status_code}"


def _error(response: httpx.Response) -> ApiError:
    try:
        document = response.json()
    except ValueError:
        document = None
    detail = document.get("detail") if isinstance(document, dict) else None
    return ApiError(
        f"HTTP {response.status_code} {problem_slug(response)}: {detail or response.text[:200]}",
        status=response.status_code,
        problem=problem_slug(response),
    )


def call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    """One API call; the JSON body of a 2xx answer, else ApiError."""
    try:
        response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise ApiError(f"cannot reach the API at {client.base_url}: {type(exc).__name__}") from exc
    if response.is_success:
        return response.json() if response.content else None
    raise _error(response)


def subscribe(client: httpx.Client, target_url: str, event_types: list[str]) -> dict[str, Any]:
    """Create a subscription; the API's answer, with the signing secret (shown once)."""
    subscription: dict[str, Any] = call(
        client, "POST", "/v1/subscriptions", json={"target_url": target_url, "event_types": event_types}
    )
    return subscription


def parse_since(text: str, now: datetime) -> datetime:
    """`15m`, `2h`, `7d`, `1w` ago, or an ISO 8601 time (UTC when it has no offset)."""
    match = _DURATION.match(text.strip())
    if match:
        return now - timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(
            f"not a time or duration: {text!r} (use e.g. 2h, 7d or 2026-01-31T12:00:00Z)"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class SearchQuery:
    text: str
    event_type: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def params(self) -> dict[str, str]:
        params = {"q": self.text}
        if self.event_type:
            params["event_type"] = self.event_type
        if self.source:
            params["source"] = self.source
        if self.since:
            params["since"] = isoformat(self.since)
        if self.until:
            params["until"] = isoformat(self.until)
        return params


@dataclass
class SearchResult:
    events: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None


def search(
    client: httpx.Client, query: SearchQuery, limit: int | None, cursor: str | None = None
) -> SearchResult:
    """Up to `limit` matching events (all with None), newest first, following the API's cursor."""
    result = SearchResult(next_cursor=cursor)
    while True:
        wanted = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(result.events))
        params = {**query.params(), "limit": str(wanted)}
        if result.next_cursor:
            params["cursor"] = result.next_cursor
        page = call(client, "GET", "/v1/events", params=params)
        result.events.extend(page["data"])
        result.next_cursor = page.get("next_cursor")
        if result.next_cursor is None or (limit is not None and len(result.events) >= limit):
            return result


def subscription_path(subscription_id: str) -> str:
    return f"/v1/subscriptions/{quote(subscription_id, safe='')}"


def iter_chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def replay(
    client: httpx.Client,
    subscription_id: str,
    event_ids: list[str],
    progress: Callable[[int], None] = lambda done: None,
) -> list[dict[str, Any]]:
    """Replay `event_ids` to the subscription; the server's outcome for each event, in order."""
    outcomes: list[dict[str, Any]] = []
    for chunk in iter_chunks(event_ids, REPLAY_CHUNK):
        answer = call(
            client, "POST", subscription_path(subscription_id) + "/replay", json={"event_ids": chunk}
        )
        outcomes.extend(answer["data"])
        progress(len(chunk))
    return outcomes
