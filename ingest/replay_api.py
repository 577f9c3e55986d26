"""`POST /v1/subscriptions/{id}/replay`: deliver chosen events to one subscription again.

The caller names the events (the CLI's `triggers replay` finds them with a search). Each
delivery is reopened and its next attempt queued (ingest.core.lifecycle); the retry function
makes the attempt, as Svix's recovery pushes a task to its worker.
"""

from datetime import UTC, datetime
from typing import Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from ingest.audit_api import record
from ingest.bodies import parse_json_model, request_text
from ingest.core import lifecycle, subscriptions_table
from ingest.core.clients import dynamodb_client, sqs_client
from ingest.core.errors import SubscriptionDisabled
from ingest.core.models import EventId
from ingest.core.observability import logger
from ingest.core.settings import IngestSettings, ingest_settings
from ingest.responses import JSON, json_body, ok, problem, problems
from ingest.subscriptions_api import SubscriptionId

MAX_REPLAY_EVENTS = 100

router = APIGatewayHttpRouter()


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_ids: list[EventId] = Field(min_length=1, max_length=MAX_REPLAY_EVENTS)


class ReplayedEvent(BaseModel):
    event_id: str
    outcome: Literal["queued", "in_progress", "not_found", "not_subscribed"] = Field(
        description=(
            "`queued`: a new delivery attempt is on the retry queue; `in_progress`: the delivery is "
            "still pending or retrying, left alone; `not_found`: no such event for this tenant; "
            "`not_subscribed`: the subscription does not take this event type (nothing sent)"
        )
    )
    previous_attempts: int = Field(description="Attempts the delivery had before this replay")


class ReplayOut(BaseModel):
    data: list[ReplayedEvent]


def parse_replay(body: str, settings: IngestSettings) -> list[str]:
    """Event ids of a replay request, duplicates removed, order kept."""
    request = parse_json_model(body, ReplayIn, settings.max_body_bytes)
    return list(dict.fromkeys(request.event_ids))


@router.post(
    "/v1/subscriptions/<subscription_id>/replay",
    tags=["subscriptions"],
    summary="Deliver events to this subscription again (same webhook-id, new attempt)",
    description=(
        f'Body: `{{"event_ids": ["01J…", …]}}` (1 to {MAX_REPLAY_EVENTS}). Each event of this tenant whose '
        "type the subscription takes gets a new delivery attempt through the retry queue, with the "
        "usual retries and DLQ; its attempt history is kept. An event never delivered to this "
        "subscription is delivered for the first time. A delivery still pending or retrying is left "
        "alone (`in_progress`), so a repeated replay sends nothing twice."
    ),
    operation_id="replay_events",
    responses={
        202: ok(ReplayOut, "Outcome per event"),
        **problems(400, 401, 413, 422, 503),
        404: problem("No such subscription for this tenant"),
        409: problem("The subscription is disabled: enable it first"),
    },
    openapi_extensions=json_body(
        ReplayIn,
        {
            "events": (
                "Two events",
                {"event_ids": ["01JDQ5V8X3K9T2W7M4N6P8R0SA", "01JDQ5V8X3K9T2W7M4N6P8R0SB"]},
            )
        },
    ),
)
def replay(subscription_id: SubscriptionId) -> Response[str]:
    settings = ingest_settings()
    tenant_id = str(router.context["tenant_id"])
    # Another tenant's subscription is a 404 whatever the body says.
    subscription = subscriptions_table.get_subscription(
        dynamodb_client(), settings.subscriptions_table, tenant_id, subscription_id
    )
    event_ids = parse_replay(request_text(router.current_event), settings)
    if subscription.status != "active":
        raise SubscriptionDisabled(
            f"subscription {subscription_id} is disabled ({subscription.disabled_reason}); "
            "enable it before replaying"
        )
    stores = lifecycle.Stores.of(dynamodb_client(), sqs_client(), settings)
    results = lifecycle.replay_events(stores, subscription, event_ids, datetime.now(UTC))
    outcomes: dict[str, int] = {}
    for result in results:
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
    logger.info("replay requested", extra={"subscription_id": subscription_id, "outcomes": outcomes})
    record(
        router,
        "subscription.replay",
        "subscription",
        subscription_id,
        after={
            "queued_event_ids": [result.event_id for result in results if result.outcome == "queued"],
            **{f"{outcome}_count": count for outcome, count in sorted(outcomes.items())},
        },
    )
    body = ReplayOut(
        data=[
            ReplayedEvent(
                event_id=result.event_id,
                outcome=result.outcome,
                previous_attempts=result.previous_attempts,
            )
            for result in results
        ]
    )
    return Response(status_code=202, content_type=JSON, body=body.model_dump_json())
