"""`POST /v1/subscriptions/{id}/replay`: deliver chosen events to one subscription again.

The caller names the events (the CLI's `triggers replay` finds them with a search). Each
delivery is reopened and its next attempt queued (ingest.core.lifecycle); the retry function
makes the attempt, as Svix's recovery pushes a task to its worker.
"""

from datetime import UTC, datetime, timedelta
from typing import Literal, Self

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator
from ulid import ULID

from ingest.audit_api import record
from ingest.bodies import parse_json_model, request_text
from ingest.core import subscriptions_table
from ingest.core.clients import dynamodb_client, sqs_client
from ingest.core.errors import SubscriptionDisabled
from ingest.core.events_table import EPOCH
from ingest.core.ids import highest_id_at, isoformat, lowest_id_at
from ingest.core.models import EventId, IsoDateTime
from ingest.core.observability import logger
from ingest.core.settings import IngestSettings, ingest_settings
from ingest.responses import JSON, json_body, ok, problem, problems
from ingest.subscriptions_api import SubscriptionId

MAX_REPLAY_EVENTS = 100
MAX_RECOVER_WINDOW = timedelta(days=14)
MAX_RECOVER_DELIVERIES = 500

router = APIGatewayHttpRouter()


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    event_ids: list[EventId] = Field(min_length=1, max_length=MAX_REPLAY_EVENTS)


class ReplayedEvent(BaseModel):
    model_config = ConfigDict(defer_build=True)

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
    model_config = ConfigDict(defer_build=True)

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
    # Imported here: the replay machinery (deliveries, queues, lanes) is for these two routes only.
    from ingest.core import lifecycle

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


class RecoverIn(BaseModel):
    """The window of events (by receipt time) whose failed deliveries are sent again."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    since: IsoDateTime = Field(description="Events received at or after (ISO 8601 with offset)")
    until: IsoDateTime | None = Field(
        default=None, description="Events received at or before (default: now); at most 14 days after `since`"
    )

    @model_validator(mode="after")
    def _bounded_window(self) -> Self:
        until = self.until or datetime.now(UTC)
        if self.since >= until:
            raise ValueError("`since` must be before `until` (and before now)")
        if until - self.since > MAX_RECOVER_WINDOW:
            raise ValueError(f"the window is at most {MAX_RECOVER_WINDOW.days} days")
        return self


class RecoverOut(BaseModel):
    model_config = ConfigDict(defer_build=True)

    queued: int = Field(description="Failed or gone deliveries reopened, their next attempt queued")
    in_progress: int = Field(
        description="Deliveries found failed that were reopened meanwhile (by another recover, a replay "
        "or a redrive): left alone, so nothing is sent twice"
    )
    truncated: bool = Field(
        description=f"More than {MAX_RECOVER_DELIVERIES} failed deliveries in the window: call again "
        "with `since` = `next_since` for the rest"
    )
    next_since: str | None = Field(description="When truncated: where the next call should start")


@router.post(
    "/v1/subscriptions/<subscription_id>/recover",
    tags=["subscriptions"],
    summary="Send every failed delivery of a time window again (same webhook-id)",
    description=(
        'Body: `{"since": "2026-03-01T00:00:00Z", "until": "…"}` (`until` defaults to now; the '
        "window is at most 14 days). Every delivery of this subscription that failed for good "
        "(dead-lettered, or refused with 410) for an event received in the window is reopened and "
        "attempted again through the retry queue, with the usual retries and DLQ, under the "
        "event's id as `webhook-id`. A delivery already reopened (by an earlier recover still "
        f"retrying, a replay, a redrive) is left alone: calling twice sends nothing twice. At most "
        f"{MAX_RECOVER_DELIVERIES} deliveries per call, oldest first; `truncated` says to call again "
        "from `next_since`."
    ),
    operation_id="recover_subscription",
    responses={
        202: ok(RecoverOut, "Counts of deliveries queued and left alone"),
        **problems(400, 401, 413, 422, 503),
        404: problem("No such subscription for this tenant"),
        409: problem("The subscription is disabled: enable it first"),
    },
    openapi_extensions=json_body(
        RecoverIn,
        {
            "day": ("A day", {"since": "2026-03-01T00:00:00Z", "until": "2026-03-02T00:00:00Z"}),
        },
    ),
)
def recover(subscription_id: SubscriptionId) -> Response[str]:
    settings = ingest_settings()
    tenant_id = str(router.context["tenant_id"])
    subscription = subscriptions_table.get_subscription(
        dynamodb_client(), settings.subscriptions_table, tenant_id, subscription_id
    )
    request = parse_json_model(request_text(router.current_event), RecoverIn, settings.max_body_bytes)
    if subscription.status != "active":
        raise SubscriptionDisabled(
            f"subscription {subscription_id} is disabled ({subscription.disabled_reason}); "
            "enable it before recovering"
        )
    now = datetime.now(UTC)
    until = min(request.until or now, now)
    from ingest.core import lifecycle

    stores = lifecycle.Stores.of(dynamodb_client(), sqs_client(), settings)
    result = lifecycle.recover(
        stores,
        subscription,
        # ULIDs cannot encode times before the epoch: such a bound means "from the beginning".
        low_event_id=lowest_id_at(max(request.since, EPOCH)),
        high_event_id=highest_id_at(max(until, EPOCH)),
        limit=MAX_RECOVER_DELIVERIES,
        now=now,
    )
    next_since = None
    if result.truncated and result.last_event_id is not None:
        next_since = isoformat(ULID.from_str(result.last_event_id).datetime)
    logger.info(
        "recover requested",
        extra={
            "subscription_id": subscription_id,
            "since": isoformat(request.since),
            "until": isoformat(until),
            "queued": result.queued,
            "in_progress": result.in_progress,
            "truncated": result.truncated,
        },
    )
    record(
        router,
        "subscription.recover",
        "subscription",
        subscription_id,
        after={
            "since": isoformat(request.since),
            "until": isoformat(until),
            "queued_count": result.queued,
            "in_progress_count": result.in_progress,
            "truncated": result.truncated,
        },
    )
    body = RecoverOut(
        queued=result.queued,
        in_progress=result.in_progress,
        truncated=result.truncated,
        next_since=next_since,
    )
    return Response(status_code=202, content_type=JSON, body=body.model_dump_json())
