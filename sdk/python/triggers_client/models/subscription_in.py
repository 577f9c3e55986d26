from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.subscription_in_ordering import SubscriptionInOrdering
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.subscription_in_filter_type_0 import SubscriptionInFilterType0
    from ..models.subscription_in_headers_type_0 import SubscriptionInHeadersType0
    from ..models.subscription_in_metadata_type_0 import SubscriptionInMetadataType0


T = TypeVar("T", bound="SubscriptionIn")


@_attrs_define
class SubscriptionIn:
    """A subscribe request. `event_types` is deduplicated, order kept; `["*"]` means every type.

    Attributes:
        target_url (str): Absolute http(s) URL; refused when it resolves to a private or internal address, or names a
            port other than 443, 80 and the stage's WEBHOOK_ALLOWED_PORTS
        event_types (list[str]): Event types to deliver; `["*"]` for all
        description (None | str | Unset):
        metadata (None | SubscriptionInMetadataType0 | Unset): Your own labels (string values)
        headers (None | SubscriptionInHeadersType0 | Unset): Request headers sent with every delivery attempt (at most
            10, 4096 bytes of names and values), e.g. `Authorization`. Values are stored encrypted and only shown masked.
            Refused names: hop-by-hop headers (Connection, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-*),
            Host, Content-*, Webhook-*, User-Agent, Expect
        filter_ (None | SubscriptionInFilterType0 | Unset):
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
    description: None | str | Unset = UNSET
    metadata: None | SubscriptionInMetadataType0 | Unset = UNSET
    headers: None | SubscriptionInHeadersType0 | Unset = UNSET
    filter_: None | SubscriptionInFilterType0 | Unset = UNSET
    rate_limit: int | None | Unset = UNSET
    ordering: SubscriptionInOrdering | Unset = SubscriptionInOrdering.NONE

    def to_dict(self) -> dict[str, Any]:
        from ..models.subscription_in_filter_type_0 import SubscriptionInFilterType0  # noqa: PLC0415
        from ..models.subscription_in_headers_type_0 import SubscriptionInHeadersType0  # noqa: PLC0415
        from ..models.subscription_in_metadata_type_0 import SubscriptionInMetadataType0  # noqa: PLC0415

        target_url = self.target_url

        event_types = self.event_types

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        metadata: dict[str, Any] | None | Unset
        if isinstance(self.metadata, Unset):
            metadata = UNSET
        elif isinstance(self.metadata, SubscriptionInMetadataType0):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata

        headers: dict[str, Any] | None | Unset
        if isinstance(self.headers, Unset):
            headers = UNSET
        elif isinstance(self.headers, SubscriptionInHeadersType0):
            headers = self.headers.to_dict()
        else:
            headers = self.headers

        filter_: dict[str, Any] | None | Unset
        if isinstance(self.filter_, Unset):
            filter_ = UNSET
        elif isinstance(self.filter_, SubscriptionInFilterType0):
            filter_ = self.filter_.to_dict()
        else:
            filter_ = self.filter_

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
        if description is not UNSET:
            field_dict["description"] = description
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if headers is not UNSET:
            field_dict["headers"] = headers
        if filter_ is not UNSET:
            field_dict["filter"] = filter_
        if rate_limit is not UNSET:
            field_dict["rate_limit"] = rate_limit
        if ordering is not UNSET:
            field_dict["ordering"] = ordering

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.subscription_in_filter_type_0 import SubscriptionInFilterType0  # noqa: PLC0415
        from ..models.subscription_in_headers_type_0 import SubscriptionInHeadersType0  # noqa: PLC0415
        from ..models.subscription_in_metadata_type_0 import SubscriptionInMetadataType0  # noqa: PLC0415

        d = dict(src_dict)
        target_url = d.pop("target_url")

        event_types = cast(list[str], d.pop("event_types"))

        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))

        def _parse_metadata(data: object) -> None | SubscriptionInMetadataType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                metadata_type_0 = SubscriptionInMetadataType0.from_dict(data)

                return metadata_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SubscriptionInMetadataType0 | Unset, data)

        metadata = _parse_metadata(d.pop("metadata", UNSET))

        def _parse_headers(data: object) -> None | SubscriptionInHeadersType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                headers_type_0 = SubscriptionInHeadersType0.from_dict(data)

                return headers_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SubscriptionInHeadersType0 | Unset, data)

        headers = _parse_headers(d.pop("headers", UNSET))

        def _parse_filter_(data: object) -> None | SubscriptionInFilterType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                filter_type_0 = SubscriptionInFilterType0.from_dict(data)

                return filter_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SubscriptionInFilterType0 | Unset, data)

        filter_ = _parse_filter_(d.pop("filter", UNSET))

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
            description=description,
            metadata=metadata,
            headers=headers,
            filter_=filter_,
            rate_limit=rate_limit,
            ordering=ordering,
        )

        return subscription_in
