from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.replayed_event_outcome import ReplayedEventOutcome

T = TypeVar("T", bound="ReplayedEvent")


@_attrs_define
class ReplayedEvent:
    """
    Attributes:
        event_id (str):
        outcome (ReplayedEventOutcome): `queued`: a new delivery attempt is on the retry queue; `in_progress`: the
            delivery is still pending or retrying, left alone; `not_found`: no such event for this tenant; `not_subscribed`:
            the subscription does not take this event type (nothing sent)
        previous_attempts (int): Attempts the delivery had before this replay
    """

    event_id: str
    outcome: ReplayedEventOutcome
    previous_attempts: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        event_id = self.event_id

        outcome = self.outcome.value

        previous_attempts = self.previous_attempts

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "event_id": event_id,
                "outcome": outcome,
                "previous_attempts": previous_attempts,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        event_id = d.pop("event_id")

        outcome = ReplayedEventOutcome(d.pop("outcome"))

        previous_attempts = d.pop("previous_attempts")

        replayed_event = cls(
            event_id=event_id,
            outcome=outcome,
            previous_attempts=previous_attempts,
        )

        replayed_event.additional_properties = d
        return replayed_event

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
