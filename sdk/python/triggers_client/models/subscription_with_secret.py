from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.subscription_with_secret_ordering import SubscriptionWithSecretOrdering
from ..models.subscription_with_secret_status import SubscriptionWithSecretStatus

if TYPE_CHECKING:
    from ..models.subscription_with_secret_filter_type_0 import SubscriptionWithSecretFilterType0
    from ..models.subscription_with_secret_headers import SubscriptionWithSecretHeaders
    from ..models.subscription_with_secret_metadata import SubscriptionWithSecretMetadata


T = TypeVar("T", bound="SubscriptionWithSecret")


@_attrs_define
class SubscriptionWithSecret:
    """Returned by create and rotate-secret only.

    Attributes:
        id (str):
        target_url (str):
        event_types (list[str]):
        status (SubscriptionWithSecretStatus):
        disabled_reason (None | str): Why deliveries stopped (e.g. the endpoint answered 410)
        failing_since (None | str): Start of the current failure streak, if failing
        description (None | str):
        metadata (SubscriptionWithSecretMetadata):
        headers (SubscriptionWithSecretHeaders): Custom headers, values masked (`Bearer ****abcd`)
        filter_ (None | SubscriptionWithSecretFilterType0): The content filter, if any
        rate_limit (int | None): At most this many deliveries per second to the endpoint (1 to 1000; absent or null: no
            limit). Deliveries beyond it wait their turn in the retry queue: deferred, never dropped, not counted as
            attempts or failures
        ordering (SubscriptionWithSecretOrdering): `"strict"`: one delivery in flight, in the order the events were
            accepted (per tenant); a failing event holds back the later ones until it is delivered or dead-lettered.
            `"none"` (default): deliveries run concurrently and a retried event can arrive after later ones
        created_at (str):
        updated_at (str):
        secret (str): Standard Webhooks signing secret (whsec_…); shown once
        previous_secret_expires_at (None | str): Until then deliveries are also signed with the previous secret
    """

    id: str
    target_url: str
    event_types: list[str]
    status: SubscriptionWithSecretStatus
    disabled_reason: None | str
    failing_since: None | str
    description: None | str
    metadata: SubscriptionWithSecretMetadata
    headers: SubscriptionWithSecretHeaders
    filter_: None | SubscriptionWithSecretFilterType0
    rate_limit: int | None
    ordering: SubscriptionWithSecretOrdering
    created_at: str
    updated_at: str
    secret: str
    previous_secret_expires_at: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.subscription_with_secret_filter_type_0 import SubscriptionWithSecretFilterType0  # noqa: PLC0415

        id = self.id

        target_url = self.target_url

        event_types = self.event_types

        status = self.status.value

        disabled_reason: None | str
        disabled_reason = self.disabled_reason

        failing_since: None | str
        failing_since = self.failing_since

        description: None | str
        description = self.description

        metadata = self.metadata.to_dict()

        headers = self.headers.to_dict()

        filter_: dict[str, Any] | None
        if isinstance(self.filter_, SubscriptionWithSecretFilterType0):
            filter_ = self.filter_.to_dict()
        else:
            filter_ = self.filter_

        rate_limit: int | None
        rate_limit = self.rate_limit

        ordering = self.ordering.value

        created_at = self.created_at

        updated_at = self.updated_at

        secret = self.secret

        previous_secret_expires_at: None | str
        previous_secret_expires_at = self.previous_secret_expires_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "target_url": target_url,
                "event_types": event_types,
                "status": status,
                "disabled_reason": disabled_reason,
                "failing_since": failing_since,
                "description": description,
                "metadata": metadata,
                "headers": headers,
                "filter": filter_,
                "rate_limit": rate_limit,
                "ordering": ordering,
                "created_at": created_at,
                "updated_at": updated_at,
                "secret": secret,
                "previous_secret_expires_at": previous_secret_expires_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.subscription_with_secret_filter_type_0 import SubscriptionWithSecretFilterType0  # noqa: PLC0415
        from ..models.subscription_with_secret_headers import SubscriptionWithSecretHeaders  # noqa: PLC0415
        from ..models.subscription_with_secret_metadata import SubscriptionWithSecretMetadata  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        target_url = d.pop("target_url")

        event_types = cast(list[str], d.pop("event_types"))

        status = SubscriptionWithSecretStatus(d.pop("status"))

        def _parse_disabled_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        disabled_reason = _parse_disabled_reason(d.pop("disabled_reason"))

        def _parse_failing_since(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        failing_since = _parse_failing_since(d.pop("failing_since"))

        def _parse_description(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        description = _parse_description(d.pop("description"))

        metadata = SubscriptionWithSecretMetadata.from_dict(d.pop("metadata"))

        headers = SubscriptionWithSecretHeaders.from_dict(d.pop("headers"))

        def _parse_filter_(data: object) -> None | SubscriptionWithSecretFilterType0:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                filter_type_0 = SubscriptionWithSecretFilterType0.from_dict(data)

                return filter_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SubscriptionWithSecretFilterType0, data)

        filter_ = _parse_filter_(d.pop("filter"))

        def _parse_rate_limit(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        rate_limit = _parse_rate_limit(d.pop("rate_limit"))

        ordering = SubscriptionWithSecretOrdering(d.pop("ordering"))

        created_at = d.pop("created_at")

        updated_at = d.pop("updated_at")

        secret = d.pop("secret")

        def _parse_previous_secret_expires_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        previous_secret_expires_at = _parse_previous_secret_expires_at(d.pop("previous_secret_expires_at"))

        subscription_with_secret = cls(
            id=id,
            target_url=target_url,
            event_types=event_types,
            status=status,
            disabled_reason=disabled_reason,
            failing_since=failing_since,
            description=description,
            metadata=metadata,
            headers=headers,
            filter_=filter_,
            rate_limit=rate_limit,
            ordering=ordering,
            created_at=created_at,
            updated_at=updated_at,
            secret=secret,
            previous_secret_expires_at=previous_secret_expires_at,
        )

        subscription_with_secret.additional_properties = d
        return subscription_with_secret

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
