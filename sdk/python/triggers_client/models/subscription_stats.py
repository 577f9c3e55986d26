from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.subscription_stats_window import SubscriptionStatsWindow

if TYPE_CHECKING:
    from ..models.bucket import Bucket
    from ..models.latency import Latency
    from ..models.outcome_counts import OutcomeCounts
    from ..models.subscription_stats_deliveries import SubscriptionStatsDeliveries


T = TypeVar("T", bound="SubscriptionStats")


@_attrs_define
class SubscriptionStats:
    """
    Attributes:
        attempts (int): Attempts made in the window
        success_rate (float | None): Succeeded attempts / attempts made (not_sent left out), 0..1; null without attempts
        outcomes (OutcomeCounts):
        deliveries (SubscriptionStatsDeliveries): Deliveries with an attempt in the window, by their current state
        latency_ms (Latency):
        series (list[Bucket]): One bucket per `bucket_seconds`, oldest first, every bucket
        window (SubscriptionStatsWindow):
        since (str):
        until (str):
        bucket_seconds (int):
        records_read (int): Delivery records read (at most 5000)
        truncated (bool): More records than the read bound: the numbers cover the newest events' deliveries only
        subscription_id (str):
    """

    attempts: int
    success_rate: float | None
    outcomes: OutcomeCounts
    deliveries: SubscriptionStatsDeliveries
    latency_ms: Latency
    series: list[Bucket]
    window: SubscriptionStatsWindow
    since: str
    until: str
    bucket_seconds: int
    records_read: int
    truncated: bool
    subscription_id: str
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

        subscription_id = self.subscription_id

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
                "subscription_id": subscription_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.bucket import Bucket  # noqa: PLC0415
        from ..models.latency import Latency  # noqa: PLC0415
        from ..models.outcome_counts import OutcomeCounts  # noqa: PLC0415
        from ..models.subscription_stats_deliveries import SubscriptionStatsDeliveries  # noqa: PLC0415

        d = dict(src_dict)
        attempts = d.pop("attempts")

        def _parse_success_rate(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        success_rate = _parse_success_rate(d.pop("success_rate"))

        outcomes = OutcomeCounts.from_dict(d.pop("outcomes"))

        deliveries = SubscriptionStatsDeliveries.from_dict(d.pop("deliveries"))

        latency_ms = Latency.from_dict(d.pop("latency_ms"))

        series = []
        _series = d.pop("series")
        for series_item_data in _series:
            series_item = Bucket.from_dict(series_item_data)

            series.append(series_item)

        window = SubscriptionStatsWindow(d.pop("window"))

        since = d.pop("since")

        until = d.pop("until")

        bucket_seconds = d.pop("bucket_seconds")

        records_read = d.pop("records_read")

        truncated = d.pop("truncated")

        subscription_id = d.pop("subscription_id")

        subscription_stats = cls(
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
            subscription_id=subscription_id,
        )

        subscription_stats.additional_properties = d
        return subscription_stats

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
