from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.subscription_in_ordering import SubscriptionInOrdering
from ..types import UNSET, Unset

T = TypeVar("T", bound="SubscriptionIn")


@_attrs_define
class SubscriptionIn:
    """A subscribe request. `event_types` is deduplicated, order kept; `["*"]` means every type.

    Attributes:
        target_url (str): Absolute http(s) URL; refused when it resolves to a private or internal address, or names a
            port other than 443, 80 and the stage's WEBHOOK_ALLOWED_PORTS
        event_types (list[str]):
        rate_limit (int | None | Unset): At most this many deliveries per second to the endpoint (1 to 1000; absent or
            null: no limit). Deliveries beyond it wait their turn in the retry queue: deferred, never dropped, not counted
            as attempts or failures
        ordering (SubscriptionInOrdering | Unset): `"strict"`: one delivery in flight, in the order the events were
            accepted (per tenant); a failing event holds back the later ones until it is delivered or dead-lettered.
            `"none"` (default): deliveries run concurrently and a retried event can arrive after later ones Default:
            SubscriptionInOrdering.NONE.
    """

    target_url: str
    event_types: list[str]
    rate_limit: int | None | Unset = UNSET
    ordering: SubscriptionInOrdering | Unset = SubscriptionInOrdering.NONE

    def to_dict(self) -> dict[str, Any]:
        target_url = self.target_url

        event_types = self.event_types

        rate_limit: int | None | Unset
        if isinstance(self.rate_limit, Unset):
            rate_limit = UNSET
        else:
            rate_limit = self.rate_limit

        ordering: str | Unset = UNSET
        if not isinstance(self.ordering, Unset):
            ordering = self.ordering.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "target_url": target_url,
                "event_types": event_types,
            }
        )
        if rate_limit is not UNSET:
            field_dict["rate_limit"] = rate_limit
        if ordering is not UNSET:
            field_dict["ordering"] = ordering

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        target_url = d.pop("target_url")

        event_types = cast(list[str], d.pop("event_types"))

        def _parse_rate_limit(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        rate_limit = _parse_rate_limit(d.pop("rate_limit", UNSET))

        _ordering = d.pop("ordering", UNSET)
        ordering: SubscriptionInOrdering | Unset
        if isinstance(_ordering, Unset):
            ordering = UNSET
        else:
            ordering = SubscriptionInOrdering(_ordering)

        subscription_in = cls(
            target_url=target_url,
            event_types=event_types,
            rate_limit=rate_limit,
            ordering=ordering,
        )

        return subscription_in
