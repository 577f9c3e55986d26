from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.tenant_stats_window import TenantStatsWindow

if TYPE_CHECKING:
    from ..models.bucket import Bucket
    from ..models.latency import Latency
    from ..models.outcome_counts import OutcomeCounts
    from ..models.subscription_summary import SubscriptionSummary
    from ..models.tenant_stats_deliveries import TenantStatsDeliveries


T = TypeVar("T", bound="TenantStats")


@_attrs_define
class TenantStats:
    """
    Attributes:
        attempts (int): Attempts made in the window
        success_rate (float | None): Succeeded attempts / attempts made (not_sent left out), 0..1; null without attempts
        outcomes (OutcomeCounts):
        deliveries (TenantStatsDeliveries): Deliveries with an attempt in the window, by their current state
        latency_ms (Latency):
        series (list[Bucket]): One bucket per `bucket_seconds`, oldest first, every bucket
        window (TenantStatsWindow):
        since (str):
        until (str):
        bucket_seconds (int):
        records_read (int): Delivery records read (at most 5000)
        truncated (bool): More records than the read bound: the numbers cover the newest events' deliveries only
        data (list[SubscriptionSummary]): Each subscription's totals (no series)
    """

    attempts: int
    success_rate: float | None
    outcomes: OutcomeCounts
    deliveries: TenantStatsDeliveries
    latency_ms: Latency
    series: list[Bucket]
    window: TenantStatsWindow
    since: str
    until: str
    bucket_seconds: int
    records_read: int
    truncated: bool
    data: list[SubscriptionSummary]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        attempts = self.attempts

        success_rate: float | None
        success_rate = self.success_rate

        outcomes = self.outcomes.to_dict()

        deliveries = self.deliveries.to_dict()

        latency_ms = self.latency_ms.to_dict()

        series = []
        for series_item_data in self.series:
            series_item = series_item_data.to_dict()
            series.append(series_item)

        window = self.window.value

        since = self.since

        until = self.until

        bucket_seconds = self.bucket_seconds

        records_read = self.records_read

        truncated = self.truncated

        data = []
        for data_item_data in self.data:
            data_item = data_item_data.to_dict()
            data.append(data_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "attempts": attempts,
                "success_rate": success_rate,
                "outcomes": outcomes,
                "deliveries": deliveries,
                "latency_ms": latency_ms,
                "series": series,
                "window": window,
                "since": since,
                "until": until,
                "bucket_seconds": bucket_seconds,
                "records_read": records_read,
                "truncated": truncated,
                "data": data,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.bucket import Bucket  # noqa: PLC0415
        from ..models.latency import Latency  # noqa: PLC0415
        from ..models.outcome_counts import OutcomeCounts  # noqa: PLC0415
        from ..models.subscription_summary import SubscriptionSummary  # noqa: PLC0415
        from ..models.tenant_stats_deliveries import TenantStatsDeliveries  # noqa: PLC0415

        d = dict(src_dict)
        attempts = d.pop("attempts")

        def _parse_success_rate(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        success_rate = _parse_success_rate(d.pop("success_rate"))

        outcomes = OutcomeCounts.from_dict(d.pop("outcomes"))

        deliveries = TenantStatsDeliveries.from_dict(d.pop("deliveries"))

        latency_ms = Latency.from_dict(d.pop("latency_ms"))

        series = []
        _series = d.pop("series")
        for series_item_data in _series:
            series_item = Bucket.from_dict(series_item_data)

            series.append(series_item)

        window = TenantStatsWindow(d.pop("window"))

        since = d.pop("since")

        until = d.pop("until")

        bucket_seconds = d.pop("bucket_seconds")

        records_read = d.pop("records_read")

        truncated = d.pop("truncated")

        data = []
        _data = d.pop("data")
        for data_item_data in _data:
            data_item = SubscriptionSummary.from_dict(data_item_data)

            data.append(data_item)

        tenant_stats = cls(
            attempts=attempts,
            success_rate=success_rate,
            outcomes=outcomes,
            deliveries=deliveries,
            latency_ms=latency_ms,
            series=series,
            window=window,
            since=since,
            until=until,
            bucket_seconds=bucket_seconds,
            records_read=records_read,
            truncated=truncated,
            data=data,
        )

        tenant_stats.additional_properties = d
        return tenant_stats

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
