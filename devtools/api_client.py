"""The CLI's client of the ingest HTTP API: the generated SDK (sdk/python, `triggers_client`) made strict.

Every command that calls the API goes through here (`subscribe`, `subscriptions`, `search`, `replay`,
`status`, and `send` with its concurrent client), as do `triggers soak` and `triggers load`. The calls are
the SDK's generated operations; this module only adds what a CLI wants on top: one exception,
`ApiError`, for every answer that is not a documented success (with the problem+json type, detail
and field errors in its message) and for an API that cannot be reached.

`triggers search` and `triggers replay` find events through `GET /v1/events?q=`; a replay then
posts their ids, at most 100 per request, to `POST /v1/subscriptions/{id}/replay`, where the server
checks the subscription's tenant, status and event types (ingest/core/lifecycle.py).
"""

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from triggers_client import AuthenticatedClient
from triggers_client.api.events import ingest_events, list_events
from triggers_client.api.subscriptions import (
    create_subscription,
    delete_subscription,
    disable_subscription,
    enable_subscription,
    get_subscription,
    get_subscription_stats,
    list_destinations,
    list_subscription_deliveries,
    list_subscriptions,
    replay_events,
)
from triggers_client.models import (
    AcceptedBatch,
    AcceptedEvent,
    DeliveryPage,
    DestinationOut,
    DisableSubscriptionDisableIn,
    EventIn,
    GetSubscriptionStatsWindow,
    Problem,
    ReplayedEvent,
    ReplayIn,
    SubscriptionIn,
    SubscriptionOut,
)
from triggers_client.types import UNSET, Response

from devtools.target import Target

PAGE_SIZE = 100
REPLAY_CHUNK = 100
_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
NO_API_KEY = "no API key: pass --api-key, set TRIGGERS_API_KEY, or start `triggers up`"
T = TypeVar("T")


class ApiError(Exception):
    """The API answered with an error (problem+json when it can) or could not be reached."""

    def __init__(self, message: str, status: int | None = None, problem: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.problem = problem


def api_client(target: Target, timeout: float = 30.0) -> AuthenticatedClient:
    """A client for the API the target names, with its key; ApiError when there is no key."""
    if not target.api_key:
        raise ApiError(NO_API_KEY)
    return connect(target.api_url, target.api_key, timeout)


def connect(
    api_url: str, api_key: str, timeout: float = 30.0, headers: dict[str, str] | None = None
) -> AuthenticatedClient:
    """The SDK's client for `api_url` with `api_key`, for the operations below (synchronous only).

    Any answer other than a 2xx raises ApiError as it arrives (a response hook), before the
    generated code parses it: a documented error is a problem+json document, but a gateway or
    proxy in front of the API may answer with anything.
    """
    return AuthenticatedClient(
        base_url=api_url,
        token=api_key,
        timeout=httpx.Timeout(timeout),
        headers=headers or {},
        httpx_args={"event_hooks": {"response": [_raise_for_error]}},
    )


def async_api_client(api_url: str, api_key: str, timeout: float, connections: int) -> AuthenticatedClient:
    """The concurrent client of `triggers send`: at most `connections` requests in flight.

    `send` posts each input's JSON text as it is (a malformed event is the server's to reject and
    count), so it uses the client's `httpx.AsyncClient` directly rather than the typed operation,
    which would build `EventIn` models from the input first.
    """
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return AuthenticatedClient(
        base_url=api_url, token=api_key, timeout=httpx.Timeout(timeout), httpx_args={"limits": limits}
    )


def problem_type(response: httpx.Response) -> str | None:
    """The last part of a problem+json `type` (`validation-failed`), if the body has one."""
    return _problem_type(response.content)


def _problem_type(content: bytes) -> str | None:
    try:
        document = json.loads(content)
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("type"), str):
        return str(document["type"]).rstrip("/").rsplit("/", 1)[-1]
    return None


def _raise_for_error(response: httpx.Response) -> None:
    if not response.is_success:
        response.read()
        raise _error(response.status_code, response.content)


def _error(status: int, content: bytes) -> ApiError:
    """`HTTP 422 validation-failed: <detail> (<field>: <message>; ...)` from a problem+json answer."""
    slug = _problem_type(content) or f"http-{status}"
    try:
        problem: Problem | None = Problem.from_dict(json.loads(content))
    except (ValueError, KeyError, TypeError, AttributeError):
        problem = None
    if problem is None:
        reason = content.decode("utf-8", "replace")[:200]
    else:
        reason = problem.detail
        if problem.errors:
            reason += " (" + "; ".join(f"{error.field}: {error.message}" for error in problem.errors) + ")"
    return ApiError(f"HTTP {status} {slug}: {reason}", status=status, problem=slug)


@contextmanager
def _reaching(client: AuthenticatedClient) -> Iterator[None]:
    """Transport errors and unreadable answers as ApiError (error statuses raise it already)."""
    url = client.get_httpx_client().base_url
    try:
        yield
    except httpx.HTTPError as exc:
        raise ApiError(f"cannot reach the API at {url}: {type(exc).__name__}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise ApiError(f"unreadable answer from the API at {url}: {type(exc).__name__}: {exc}") from exc


def _success(response: Response[Problem | T]) -> T:
    """The parsed body of a documented 2xx answer; ApiError for anything else."""
    parsed = response.parsed
    if parsed is None or isinstance(parsed, Problem):
        raise _error(int(response.status_code), response.content)
    return parsed


def call(client: AuthenticatedClient, method: str, path: str, **kwargs: Any) -> Any:
    """A route by method and path (httpx's `params=`, `json=`...); the JSON of a 2xx answer, else ApiError.

    For a route the generated SDK does not have yet, until `make sdk` regenerates it from the
    document; use the typed operation when there is one.
    """
    with _reaching(client):
        response = client.get_httpx_client().request(method, path, **kwargs)
        return response.json() if response.content else None


def subscription_path(subscription_id: str) -> str:
    return f"/v1/subscriptions/{quote(subscription_id, safe='')}"


def subscribe(client: AuthenticatedClient, target_url: str, event_types: list[str]) -> dict[str, Any]:
    """Create a subscription; the API's answer as it sent it, with the signing secret (shown once)."""
    body = SubscriptionIn(target_url=target_url, event_types=event_types)
    with _reaching(client):
        response = create_subscription.sync_detailed(client=client, body=body)
    _success(response)
    answer: dict[str, Any] = json.loads(response.content)
    return answer


def subscription(client: AuthenticatedClient, subscription_id: str) -> SubscriptionOut:
    with _reaching(client):
        return _success(get_subscription.sync_detailed(subscription_id, client=client))


def subscriptions(client: AuthenticatedClient) -> list[SubscriptionOut]:
    """The tenant's subscriptions (the API answers them all in one page)."""
    with _reaching(client):
        return _success(list_subscriptions.sync_detailed(client=client)).data


def unsubscribe(client: AuthenticatedClient, subscription_id: str) -> None:
    with _reaching(client):
        response = delete_subscription.sync_detailed(subscription_id, client=client)
    if response.status_code != HTTPStatus.NO_CONTENT:
        raise _error(int(response.status_code), response.content)


def disable(client: AuthenticatedClient, subscription_id: str, reason: str | None = None) -> SubscriptionOut:
    """Stop a subscription's deliveries; one already disabled comes back unchanged (its first reason)."""
    body = UNSET if reason is None else DisableSubscriptionDisableIn(reason=reason)
    with _reaching(client):
        return _success(disable_subscription.sync_detailed(subscription_id, client=client, body=body))


def enable(client: AuthenticatedClient, subscription_id: str) -> SubscriptionOut:
    """Resume a disabled subscription's deliveries (an active one comes back unchanged)."""
    with _reaching(client):
        return _success(enable_subscription.sync_detailed(subscription_id, client=client))


def deliveries(
    client: AuthenticatedClient, subscription_id: str, limit: int, cursor: str | None = None
) -> DeliveryPage:
    """One page of a subscription's deliveries."""
    with _reaching(client):
        response = list_subscription_deliveries.sync_detailed(
            subscription_id, client=client, limit=limit, cursor=cursor or UNSET
        )
    return _success(response)


def subscription_stats(client: AuthenticatedClient, subscription_id: str, window: str) -> dict[str, Any]:
    """A subscription's delivery statistics over `window` (`1h` or `24h`), as the API answered them."""
    with _reaching(client):
        response = get_subscription_stats.sync_detailed(
            subscription_id, client=client, window=GetSubscriptionStatsWindow(window)
        )
    stats: dict[str, Any] = _success(response).to_dict()
    return stats


def destinations(client: AuthenticatedClient) -> list[DestinationOut]:
    """The tenant's destination hosts with their circuit breaker's state."""
    with _reaching(client):
        return _success(list_destinations.sync_detailed(client=client)).data


def ingest(client: AuthenticatedClient, events: list[dict[str, Any]]) -> list[str]:
    """Post up to 25 events in one request; their ids."""
    body = [EventIn.from_dict(event) for event in events]
    with _reaching(client):
        response = ingest_events.sync_detailed(client=client, body=body)
    accepted = response.parsed
    if not isinstance(accepted, AcceptedBatch | AcceptedEvent):
        raise _error(int(response.status_code), response.content)
    return [item.id for item in accepted.data] if isinstance(accepted, AcceptedBatch) else [accepted.id]


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


@dataclass
class SearchResult:
    events: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None


def search(
    client: AuthenticatedClient, query: SearchQuery, limit: int | None, cursor: str | None = None
) -> SearchResult:
    """Up to `limit` matching events (all with None), newest first, following the API's cursor.

    The events are the API's JSON as it sent it (its timestamps' format and all), for the CLI to print.
    """
    result = SearchResult(next_cursor=cursor)
    while True:
        wanted = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(result.events))
        with _reaching(client):
            response = list_events.sync_detailed(
                client=client,
                q=query.text,
                event_type=query.event_type or UNSET,
                source=query.source or UNSET,
                since=query.since or UNSET,
                until=query.until or UNSET,
                limit=wanted,
                cursor=result.next_cursor or UNSET,
            )
        page = _success(response)
        result.events.extend(json.loads(response.content)["data"])
        result.next_cursor = page.next_cursor
        if result.next_cursor is None or (limit is not None and len(result.events) >= limit):
            return result


def iter_chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def replay(
    client: AuthenticatedClient,
    subscription_id: str,
    event_ids: list[str],
    progress: Callable[[int], None] = lambda done: None,
) -> list[ReplayedEvent]:
    """Replay `event_ids` to the subscription; the server's outcome for each event, in order."""
    outcomes: list[ReplayedEvent] = []
    for chunk in iter_chunks(event_ids, REPLAY_CHUNK):
        with _reaching(client):
            response = replay_events.sync_detailed(
                subscription_id, client=client, body=ReplayIn(event_ids=chunk)
            )
        outcomes.extend(_success(response).data)
        progress(len(chunk))
    return outcomes
