"""Request and response models at the API edge."""

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

EventStatus = Literal["pending", "delivered", "acknowledged", "failed"]

EVENT_TYPE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"
# A ULID as issued: Crockford base32, upper case, 48-bit time first (so at most 7ZZZ…).
EVENT_ID_PATTERN = r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$"
SUBSCRIPTION_ID_PATTERN = r"^sub_[0-7][0-9A-HJKMNP-TV-Z]{25}$"
EventId = Annotated[
    str, Field(min_length=26, max_length=26, pattern=EVENT_ID_PATTERN, description="Event ULID")
]
TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$"
MAX_BATCH = 25
# The operational event types (ingest.core.operational), reserved for the pipeline.
OPERATIONAL_TYPES = frozenset({"subscription.disabled", "subscription.enabled", "delivery.exhausted"})
_UNIX_TIME = re.compile(r"[+-]?\d+(\.\d*)?")


def _iso_text(value: Any) -> Any:
    # pydantic reads numbers and numeric strings as Unix times; the contract is ISO 8601 text.
    if isinstance(value, int | float) or (isinstance(value, str) and _UNIX_TIME.fullmatch(value.strip())):
        raise ValueError("must be an ISO 8601 date-time with an offset")
    return value


IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_text)]


class EventIn(BaseModel):
    """One event as a producer posts it. `payload` is kept as the exact JSON text sent."""

    model_config = ConfigDict(extra="forbid")

    event_type: str = Field(min_length=1, max_length=128, pattern=EVENT_TYPE_PATTERN)
    source: str | None = Field(default=None, min_length=1, max_length=256)
    occurred_at: IsoDateTime | None = None
    payload: dict[str, Any]

    @field_validator("event_type")
    @classmethod
    def _not_operational(cls, value: str) -> str:
        # The pipeline's own notifications (ingest.core.operational): a producer cannot forge them.
        if value in OPERATIONAL_TYPES:
            raise ValueError(f"{value!r} is an operational event type, reserved for the pipeline")
        return value


class AcceptedEvent(BaseModel):
    id: str
    event_type: str
    received_at: str = Field(description="UTC, ISO 8601 with milliseconds")
    status: EventStatus


class AcceptedBatch(BaseModel):
    data: list[AcceptedEvent]


class EventOut(BaseModel):
    """Documentation of an event as the API returns it (payload is the stored JSON, unchanged)."""

    model_config = ConfigDict(defer_build=True)

    id: str
    event_type: str
    source: str | None
    occurred_at: datetime | None
    received_at: datetime
    status: EventStatus
    rev: int = Field(description="Grows by one on every change of the event")
    payload: dict[str, Any]


class EventPage(BaseModel):
    model_config = ConfigDict(defer_build=True)

    data: list[EventOut]
    next_cursor: str | None = Field(description="Pass as `cursor` to fetch the next page; null at the end")


def _left_out_when_absent(schema: dict[str, Any]) -> None:
    # A member the API leaves out rather than sending null: documented without `null` or a default.
    schema.pop("default", None)


class FieldError(BaseModel):
    model_config = ConfigDict(defer_build=True)

    field: str = Field(
        description="Dotted path of the offending member or parameter (`target_url`, `3.payload`: "
        "item 3 of a batch, `limit`)"
    )
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details. The members after `detail` are present only where they apply."""

    model_config = ConfigDict(defer_build=True)

    type: str = Field(description="Stable URI of the kind of problem: `https://triggers.dev/problems/<slug>`")
    title: str
    status: int
    detail: str
    instance: str | SkipJsonSchema[None] = Field(
        default=None, description="`urn:request:<request id>`", json_schema_extra=_left_out_when_absent
    )
    errors: list[FieldError] | SkipJsonSchema[None] = Field(
        default=None, description="Schema violations, one per field", json_schema_extra=_left_out_when_absent
    )
    limit_bytes: int | SkipJsonSchema[None] = Field(
        default=None,
        description="The limit a payload exceeded (`payload-too-large`)",
        json_schema_extra=_left_out_when_absent,
    )
    subscription_id: str | SkipJsonSchema[None] = Field(
        default=None,
        description="The subscription that already exists (`duplicate-subscription`)",
        json_schema_extra=_left_out_when_absent,
    )
    required_scope: str | SkipJsonSchema[None] = Field(
        default=None,
        description="The scope the route needs and the key lacks (`insufficient-scope`)",
        json_schema_extra=_left_out_when_absent,
    )


class Health(BaseModel):
    status: Literal["ok"]
