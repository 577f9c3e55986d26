from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.accepted_event_status import AcceptedEventStatus

T = TypeVar("T", bound="AcceptedEvent")


@_attrs_define
class AcceptedEvent:
    """
    Attributes:
        id (str):
        event_type (str):
        received_at (str): UTC, ISO 8601 with milliseconds
        status (AcceptedEventStatus):
    """

    id: str
    event_type: str
    received_at: str
    status: AcceptedEventStatus
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        event_type = self.event_type

        received_at = self.received_at

        status = self.status.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "event_type": event_type,
                "received_at": received_at,
                "status": status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        event_type = d.pop("event_type")

        received_at = d.pop("received_at")

        status = AcceptedEventStatus(d.pop("status"))

        accepted_event = cls(
            id=id,
            event_type=event_type,
            received_at=received_at,
            status=status,
        )

        accepted_event.additional_properties = d
        return accepted_event

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
