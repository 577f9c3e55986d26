from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.latency import Latency
    from ..models.outcome_counts import OutcomeCounts


T = TypeVar("T", bound="Bucket")


@_attrs_define
class Bucket:
    """
    Attributes:
        start (str): Start of the bucket (ISO 8601, UTC)
        attempts (OutcomeCounts):
        latency_ms (Latency):
    """

    start: str
    attempts: OutcomeCounts
    latency_ms: Latency
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        start = self.start

        attempts = self.attempts.to_dict()

        latency_ms = self.latency_ms.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "start": start,
                "attempts": attempts,
                "latency_ms": latency_ms,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.latency import Latency  # noqa: PLC0415
        from ..models.outcome_counts import OutcomeCounts  # noqa: PLC0415

        d = dict(src_dict)
        start = d.pop("start")

        attempts = OutcomeCounts.from_dict(d.pop("attempts"))

        latency_ms = Latency.from_dict(d.pop("latency_ms"))

        bucket = cls(
            start=start,
            attempts=attempts,
            latency_ms=latency_ms,
        )

        bucket.additional_properties = d
        return bucket

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
