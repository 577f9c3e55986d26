from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.latency import Latency
    from ..models.outcome_counts import OutcomeCounts


T = TypeVar("T", bound="SubscriptionSummary")


@_attrs_define
class SubscriptionSummary:
    """
    Attributes:
        subscription_id (str):
        attempts (int):
        success_rate (float | None):
        outcomes (OutcomeCounts):
        latency_ms (Latency):
        records_read (int):
        truncated (bool):
    """

    subscription_id: str
    attempts: int
    success_rate: float | None
    outcomes: OutcomeCounts
    latency_ms: Latency
    records_read: int
    truncated: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        subscription_id = self.subscription_id

        attempts = self.attempts

        success_rate: float | None
        success_rate = self.success_rate

        outcomes = self.outcomes.to_dict()

        latency_ms = self.latency_ms.to_dict()

        records_read = self.records_read

        truncated = self.truncated

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "subscription_id": subscription_id,
                "attempts": attempts,
                "success_rate": success_rate,
                "outcomes": outcomes,
                "latency_ms": latency_ms,
                "records_read": records_read,
                "truncated": truncated,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.latency import Latency  # noqa: PLC0415
        from ..models.outcome_counts import OutcomeCounts  # noqa: PLC0415

        d = dict(src_dict)
        subscription_id = d.pop("subscription_id")

        attempts = d.pop("attempts")

        def _parse_success_rate(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        success_rate = _parse_success_rate(d.pop("success_rate"))

        outcomes = OutcomeCounts.from_dict(d.pop("outcomes"))

        latency_ms = Latency.from_dict(d.pop("latency_ms"))

        records_read = d.pop("records_read")

        truncated = d.pop("truncated")

        subscription_summary = cls(
            subscription_id=subscription_id,
            attempts=attempts,
            success_rate=success_rate,
            outcomes=outcomes,
            latency_ms=latency_ms,
            records_read=records_read,
            truncated=truncated,
        )

        subscription_summary.additional_properties = d
        return subscription_summary

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
