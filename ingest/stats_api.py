"""Delivery statistics routes: per subscription and for the whole tenant (ingest.core.delivery_stats)."""

from datetime import UTC, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from ingest.core import delivery_stats, subscriptions_table
from ingest.core.clients import dynamodb_client
from ingest.core.delivery_stats import Latency, OutcomeCounts, StatsReport, Window
from ingest.core.models import SUBSCRIPTION_ID_PATTERN
from ingest.core.settings import ingest_settings
from ingest.responses import JSON, ok, problems

router = APIGatewayHttpRouter()

SubscriptionId = Annotated[
    str,
    Path(
        min_length=30, max_length=30, pattern=SUBSCRIPTION_ID_PATTERN, description="Subscription id (sub_…)"
    ),
]
WindowParam = Annotated[
    Window,
    Query(description="`1h` (one-minute buckets) or `24h` (15-minute buckets), ending now"),
]
BOUND = (
    f"At most {delivery_stats.MAX_ITEMS} delivery records are read (newest events first); beyond "
    "that `truncated` is true and the numbers cover the newest only."
)


class SubscriptionStats(StatsReport):
    subscription_id: str


class SubscriptionSummary(BaseModel):
    model_config = ConfigDict(defer_build=True)

    subscription_id: str
    attempts: int
    success_rate: float | None
    outcomes: OutcomeCounts
    latency_ms: Latency
    records_read: int
    truncated: bool


class TenantStats(StatsReport):
    data: list[SubscriptionSummary] = Field(description="Each subscription's totals (no series)")


def _tenant() -> str:
    return str(router.context["tenant_id"])


def _json(model: BaseModel) -> Response[str]:
    return Response(status_code=200, content_type=JSON, body=model.model_dump_json())


@router.get(
    "/v1/subscriptions/<subscription_id>/stats",
    tags=["subscriptions"],
    summary="A subscription's delivery success rate, outcomes and latency percentiles, per minute",
    description=(
        "Computed from the delivery records: the attempts made in the window (of deliveries of "
        "events accepted since one window before it). " + BOUND
    ),
    operation_id="get_subscription_stats",
    responses={200: ok(SubscriptionStats), **problems(401, 404, 422, 503)},
)
def subscription_stats(subscription_id: SubscriptionId, window: WindowParam = "1h") -> Response[str]:
    settings, tenant_id = ingest_settings(), _tenant()
    subscriptions_table.get_subscription(
        dynamodb_client(), settings.subscriptions_table, tenant_id, subscription_id
    )
    stats, _ = delivery_stats.report(
        dynamodb_client(), settings.deliveries_table, tenant_id, [subscription_id], window, datetime.now(UTC)
    )
    return _json(SubscriptionStats(**stats.model_dump(), subscription_id=subscription_id))


@router.get(
    "/v1/stats",
    tags=["subscriptions"],
    summary="The tenant's delivery statistics: all subscriptions together, and each one's totals",
    description=(
        "Computed from the delivery records of every subscription of the tenant. "
        + BOUND
        + " The bound is shared evenly by the subscriptions."
    ),
    operation_id="get_tenant_stats",
    responses={200: ok(TenantStats), **problems(401, 422, 503)},
)
def tenant_stats(window: WindowParam = "1h") -> Response[str]:
    settings, tenant_id = ingest_settings(), _tenant()
    subscriptions = subscriptions_table.list_subscriptions(
        dynamodb_client(), settings.subscriptions_table, tenant_id
    )
    ids = [subscription.subscription_id for subscription in subscriptions]
    overall, each = delivery_stats.report(
        dynamodb_client(), settings.deliveries_table, tenant_id, ids, window, datetime.now(UTC)
    )
    summaries = [
        SubscriptionSummary(subscription_id=subscription_id, **stats.model_dump())
        for subscription_id, stats in each.items()
    ]
    return _json(TenantStats(**overall.model_dump(), data=summaries))
