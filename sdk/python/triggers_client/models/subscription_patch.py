from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.subscription_patch_ordering_type_0 import SubscriptionPatchOrderingType0
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.subscription_patch_filter_type_0 import SubscriptionPatchFilterType0
    from ..models.subscription_patch_headers_type_0 import SubscriptionPatchHeadersType0
    from ..models.subscription_patch_metadata_type_0 import SubscriptionPatchMetadataType0


T = TypeVar("T", bound="SubscriptionPatch")


@_attrs_define
class SubscriptionPatch:
    """A JSON merge patch (RFC 7396) of a subscription: an absent field is unchanged, `null`
    removes an optional one; `headers` and `metadata` are merged name by name (`null` removes
    that name); `event_types` and `filter` are replaced whole. A new patchable field is one line
    here (and its attribute in SubscriptionItem).

        Attributes:
            target_url (None | str | Unset):
            event_types (list[str] | None | Unset):
            description (None | str | Unset):
            metadata (None | SubscriptionPatchMetadataType0 | Unset): Merged key by key; `null` removes a key
            headers (None | SubscriptionPatchHeadersType0 | Unset): Request headers sent with every delivery attempt (at
                most 10, 4096 bytes of names and values), e.g. `Authorization`. Values are stored encrypted and only shown
                masked. Refused names: hop-by-hop headers (Connection, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade,
                Proxy-*), Host, Content-*, Webhook-*, User-Agent, Expect; merged name by name, `null` removes one, `headers:
                null` all
            filter_ (None | SubscriptionPatchFilterType0 | Unset):
            rate_limit (int | None | Unset): At most this many deliveries per second to the endpoint (1 to 1000; absent or
                null: no limit). Deliveries beyond it wait their turn in the retry queue: deferred, never dropped, not counted
                as attempts or failures; `null` removes the limit
            ordering (None | SubscriptionPatchOrderingType0 | Unset): `"strict"`: one delivery in flight, in the order the
                events were accepted (per tenant); a failing event holds back the later ones until it is delivered or dead-
                lettered. `"none"` (default): deliveries run concurrently and a retried event can arrive after later ones
    """

    target_url: None | str | Unset = UNSET
    event_types: list[str] | None | Unset = UNSET
    description: None | str | Unset = UNSET
    metadata: None | SubscriptionPatchMetadataType0 | Unset = UNSET
    headers: None | SubscriptionPatchHeadersType0 | Unset = UNSET
    filter_: None | SubscriptionPatchFilterType0 | Unset = UNSET
    rate_limit: int | None | Unset = UNSET
    ordering: None | SubscriptionPatchOrderingType0 | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.subscription_patch_filter_type_0 import SubscriptionPatchFilterType0  # noqa: PLC0415
        from ..models.subscription_patch_headers_type_0 import SubscriptionPatchHeadersType0  # noqa: PLC0415
        from ..models.subscription_patch_metadata_type_0 import SubscriptionPatchMetadataType0  # noqa: PLC0415

        target_url: None | str | Unset
        if isinstance(self.target_url, Unset):
            target_url = UNSET
        else:
            target_url = self.target_url

        event_types: list[str] | None | Unset
        if isinstance(self.event_types, Unset):
            event_types = UNSET
        elif isinstance(self.event_types, list):
            event_types = self.event_types

        else:
            event_types = self.event_types

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        metadata: dict[str, Any] | None | Unset
        if isinstance(self.metadata, Unset):
            metadata = UNSET
        elif isinstance(self.metadata, SubscriptionPatchMetadataType0):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata

        headers: dict[str, Any] | None | Unset
        if isinstance(self.headers, Unset):
            headers = UNSET
        elif isinstance(self.headers, SubscriptionPatchHeadersType0):
            headers = self.headers.to_dict()
        else:
            headers = self.headers

        filter_: dict[str, Any] | None | Unset
        if isinstance(self.filter_, Unset):
            filter_ = UNSET
        elif isinstance(self.filter_, SubscriptionPatchFilterType0):
            filter_ = self.filter_.to_dict()
        else:
            filter_ = self.filter_

        rate_limit: int | None | Unset
        if isinstance(self.rate_limit, Unset):
            rate_limit = UNSET
        else:
            rate_limit = self.rate_limit

        ordering: None | str | Unset
        if isinstance(self.ordering, Unset):
            ordering = UNSET
        elif isinstance(self.ordering, SubscriptionPatchOrderingType0):
            ordering = self.ordering.value
        else:
            ordering = self.ordering

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if target_url is not UNSET:
            field_dict["target_url"] = target_url
        if event_types is not UNSET:
            field_dict["event_types"] = event_types
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
        from ..models.subscription_patch_filter_type_0 import SubscriptionPatchFilterType0  # noqa: PLC0415
        from ..models.subscription_patch_headers_type_0 import SubscriptionPatchHeadersType0  # noqa: PLC0415
        from ..models.subscription_patch_metadata_type_0 import SubscriptionPatchMetadataType0  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_target_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        target_url = _parse_target_url(d.pop("target_url", UNSET))

        def _parse_event_types(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                event_types_type_0 = cast(list[str], data)

                return event_types_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        event_types = _parse_event_types(d.pop("event_types", UNSET))

        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))

        def _parse_metadata(data: object) -> None | SubscriptionPatchMetadataType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                metadata_type_0 = SubscriptionPatchMetadataType0.from_dict(data)

                return metadata_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SubscriptionPatchMetadataType0 | Unset, data)

        metadata = _parse_metadata(d.pop("metadata", UNSET))

        def _parse_headers(data: object) -> None | SubscriptionPatchHeadersType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                headers_type_0 = SubscriptionPatchHeadersType0.from_dict(data)

                return headers_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SubscriptionPatchHeadersType0 | Unset, data)

        headers = _parse_headers(d.pop("headers", UNSET))

        def _parse_filter_(data: object) -> None | SubscriptionPatchFilterType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                filter_type_0 = SubscriptionPatchFilterType0.from_dict(data)

                return filter_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SubscriptionPatchFilterType0 | Unset, data)

        filter_ = _parse_filter_(d.pop("filter", UNSET))

        def _parse_rate_limit(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        rate_limit = _parse_rate_limit(d.pop("rate_limit", UNSET))

        def _parse_ordering(data: object) -> None | SubscriptionPatchOrderingType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                ordering_type_0 = SubscriptionPatchOrderingType0(data)

                return ordering_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SubscriptionPatchOrderingType0 | Unset, data)

        ordering = _parse_ordering(d.pop("ordering", UNSET))

        subscription_patch = cls(
            target_url=target_url,
            event_types=event_types,
            description=description,
            metadata=metadata,
            headers=headers,
            filter_=filter_,
            rate_limit=rate_limit,
            ordering=ordering,
        )

        return subscription_patch
