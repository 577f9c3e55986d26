"""`GET /v1/destinations`: the circuit breakers of the caller's destination hosts.

A breaker exists for each host (the host name of a subscription's target URL) one of the
tenant's deliveries failed to reach; it is keyed by (tenant, host), so another tenant's failures
to a shared host never show, nor pause, here. See docs/webhooks.md "Circuit breaker".
"""

from datetime import UTC, datetime
from typing import Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from ingest.core import breakers_table
from ingest.core.breakers_table import BreakerItem
from ingest.core.clients import dynamodb_client
from ingest.core.ids import isoformat
from ingest.core.settings import ingest_settings
from ingest.responses import JSON, ok, problems

router = APIGatewayHttpRouter()

BreakerState = Literal["closed", "open", "half_open"]


class DestinationOut(BaseModel):
    model_config = ConfigDict(defer_build=True)

    host: str = Field(description="Host name of the target URLs it covers (every subscription to it)")
    state: BreakerState = Field(
        description="`open`: deliveries to the host pause until `open_until`; `half_open`: one probe "
        "attempt decides; `closed`: deliveries go out"
    )
    consecutive_failures: int = Field(description="Failed attempts to the host since its last success")
    open_until: str | None = Field(description="While open: when the next probe may go out")
    last_error: str | None = Field(description="The last failure (an HTTP status or an error type)")
    updated_at: str | None

    @classmethod
    def from_item(cls, item: BreakerItem, now: datetime) -> "DestinationOut":
        if item.open_until is None:
            state: BreakerState = "closed"
        else:
            state = "open" if item.is_open(now) else "half_open"
        return cls(
            host=item.host,
            state=state,
            consecutive_failures=item.consecutive_failures,
            open_until=None
            if item.open_until is None
            else isoformat(datetime.fromtimestamp(item.open_until, UTC)),
            last_error=item.last_error,
            updated_at=item.updated_at,
        )


class DestinationList(BaseModel):
    model_config = ConfigDict(defer_build=True)

    data: list[DestinationOut]


@router.get(
    "/v1/destinations",
    tags=["subscriptions"],
    summary="Destination hosts and their circuit breakers",
    description=(
        "Every host one of your deliveries failed to reach, with its circuit breaker: after "
        "consecutive failed attempts (no response, timeout, 5xx, 429) deliveries to the host pause "
        "across your subscriptions to it and resume after a successful probe."
    ),
    operation_id="list_destinations",
    responses={200: ok(DestinationList), **problems(401, 503)},
)
def list_destinations() -> Response[str]:
    table, tenant_id = ingest_settings().subscriptions_table, str(router.context["tenant_id"])
    items = breakers_table.list_for_tenant(dynamodb_client(), table, tenant_id)
    now = datetime.now(UTC)
    body = DestinationList(data=[DestinationOut.from_item(item, now) for item in items])
    return Response(status_code=200, content_type=JSON, body=body.model_dump_json())
