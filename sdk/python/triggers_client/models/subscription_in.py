from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="SubscriptionIn")


@_attrs_define
class SubscriptionIn:
    """A subscribe request. `event_types` is deduplicated, order kept; `["*"]` means every type.

    Attributes:
        target_url (str): Absolute http(s) URL; refused when it resolves to a private or internal address
        event_types (list[str]):
    """

    target_url: str
    event_types: list[str]

    def to_dict(self) -> dict[str, Any]:
        target_url = self.target_url

        event_types = self.event_types

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "target_url": target_url,
                "event_types": event_types,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        target_url = d.pop("target_url")

        event_types = cast(list[str], d.pop("event_types"))

        subscription_in = cls(
            target_url=target_url,
            event_types=event_types,
        )

        return subscription_in
