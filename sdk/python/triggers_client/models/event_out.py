from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.event_out_status import EventOutStatus

if TYPE_CHECKING:
    from ..models.event_out_payload import EventOutPayload


T = TypeVar("T", bound="EventOut")


@_attrs_define
class EventOut:
    """Documentation of an event as the API returns it (payload is the stored JSON, unchanged).

    Attributes:
        id (str):
        event_type (str):
        source (None | str):
        occurred_at (datetime.datetime | None):
        received_at (datetime.datetime):
        status (EventOutStatus):
        rev (int): Grows by one on every change of the event
        payload (EventOutPayload):
    """

    id: str
    event_type: str
    source: None | str
    occurred_at: datetime.datetime | None
    received_at: datetime.datetime
    status: EventOutStatus
    rev: int
    payload: EventOutPayload
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        event_type = self.event_type

        source: None | str
        source = self.source

        occurred_at: None | str
        if isinstance(self.occurred_at, datetime.datetime):
            occurred_at = self.occurred_at.isoformat()
        else:
            occurred_at = self.occurred_at

        received_at = self.received_at.isoformat()

        status = self.status.value

        rev = self.rev

        payload = self.payload.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "event_type": event_type,
                "source": source,
                "occurred_at": occurred_at,
                "received_at": received_at,
                "status": status,
                "rev": rev,
                "payload": payload,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event_out_payload import EventOutPayload  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        event_type = d.pop("event_type")

        def _parse_source(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        source = _parse_source(d.pop("source"))

        def _parse_occurred_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                occurred_at_type_0 = datetime.datetime.fromisoformat(data)

                return occurred_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        occurred_at = _parse_occurred_at(d.pop("occurred_at"))

        received_at = datetime.datetime.fromisoformat(d.pop("received_at"))

        status = EventOutStatus(d.pop("status"))

        rev = d.pop("rev")

        payload = EventOutPayload.from_dict(d.pop("payload"))

        event_out = cls(
            id=id,
            event_type=event_type,
            source=source,
            occurred_at=occurred_at,
            received_at=received_at,
            status=status,
            rev=rev,
            payload=payload,
        )

        event_out.additional_properties = d
        return event_out

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
