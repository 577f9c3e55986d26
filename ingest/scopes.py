"""What each route needs a key to be allowed to do: one table, checked by the auth middleware.

A key carries scopes (ingest/core/api_keys_table.py); `admin` implies every other. A route
missing from this table needs `admin` (deny by default), and tests/unit/test_scopes.py proves
that no route of the resolver is missing. `ROUTE_SCOPES` is keyed by method and the route's
OpenAPI path, as the resolver names the route it matched.
"""

from typing import Any

from ingest.core.api_keys_table import ADMIN, Scope, allows
from ingest.core.errors import InsufficientScope

EVENTS_WRITE: Scope = "events:write"
EVENTS_READ: Scope = "events:read"
SUBSCRIPTIONS: Scope = "subscriptions:manage"
AUDIT_READ: Scope = "audit:read"

# Routes any valid key may call whatever its scopes: who the key is (a connection test).
ANY_VALID_KEY: frozenset[tuple[str, str]] = frozenset({("GET", "/v1/me")})

ROUTE_SCOPES: dict[tuple[str, str], Scope] = {
    ("POST", "/v1/events"): EVENTS_WRITE,
    ("GET", "/v1/events"): EVENTS_READ,
    ("GET", "/v1/events/{event_id}"): EVENTS_READ,
    ("GET", "/v1/events/{event_id}/deliveries"): EVENTS_READ,
    ("GET", "/v1/inbox"): EVENTS_READ,
    # Acknowledging and deleting change the event: a polling consumer holds both event scopes.
    ("POST", "/v1/events/{event_id}/ack"): EVENTS_WRITE,
    ("DELETE", "/v1/events/{event_id}"): EVENTS_WRITE,
    ("POST", "/v1/subscriptions"): SUBSCRIPTIONS,
    ("GET", "/v1/subscriptions"): SUBSCRIPTIONS,
    ("GET", "/v1/subscriptions/{subscription_id}"): SUBSCRIPTIONS,
    ("PATCH", "/v1/subscriptions/{subscription_id}"): SUBSCRIPTIONS,
    ("DELETE", "/v1/subscriptions/{subscription_id}"): SUBSCRIPTIONS,
    ("POST", "/v1/subscriptions/{subscription_id}/enable"): SUBSCRIPTIONS,
    ("POST", "/v1/subscriptions/{subscription_id}/disable"): SUBSCRIPTIONS,
    ("POST", "/v1/subscriptions/{subscription_id}/rotate-secret"): SUBSCRIPTIONS,
    ("POST", "/v1/subscriptions/{subscription_id}/replay"): SUBSCRIPTIONS,
    ("POST", "/v1/subscriptions/{subscription_id}/recover"): SUBSCRIPTIONS,
    ("GET", "/v1/subscriptions/{subscription_id}/deliveries"): SUBSCRIPTIONS,
    ("GET", "/v1/destinations"): SUBSCRIPTIONS,
    # Delivery statistics of the tenant's subscriptions (one, or all of them).
    ("GET", "/v1/subscriptions/{subscription_id}/stats"): SUBSCRIPTIONS,
    ("GET", "/v1/stats"): SUBSCRIPTIONS,
    ("GET", "/v1/audit"): AUDIT_READ,
    # The event-type catalog: any event reader may read it; changing it changes what ingest
    # accepts for every producer of the tenant, so only `admin` keys may.
    ("GET", "/v1/event-types"): EVENTS_READ,
    ("GET", "/v1/event-types/{name}"): EVENTS_READ,
    ("POST", "/v1/event-types"): ADMIN,
    ("PATCH", "/v1/event-types/{name}"): ADMIN,
    ("DELETE", "/v1/event-types/{name}"): ADMIN,
}


def needed_scope(route: Any) -> Scope | None:
    """The scope the matched route needs (`admin` when unclassified); None when no route matched
    (the request becomes a 404/405, which any valid key may get)."""
    if route is None:
        return None
    if (str(route.method).upper(), str(route.openapi_path)) in ANY_VALID_KEY:
        return None
    return ROUTE_SCOPES.get((str(route.method).upper(), str(route.openapi_path)), ADMIN)


def require(granted: tuple[str, ...], needed: Scope | None) -> None:
    """InsufficientScope unless a key with `granted` scopes may call a route needing `needed`."""
    if needed is None or allows(granted, needed):
        return
    raise InsufficientScope(
        f"this API key's scopes ({', '.join(granted)}) do not include {needed!r}, which this route needs",
        required_scope=needed,
    )


__all__ = ["ANY_VALID_KEY", "ROUTE_SCOPES", "needed_scope", "require"]
