from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="RecoverOut")


@_attrs_define
class RecoverOut:
    """
    Attributes:
        queued (int): Failed or gone deliveries reopened, their next attempt queued
        in_progress (int): Deliveries found failed that were reopened meanwhile (by another recover, a replay or a
            redrive): left alone, so nothing is sent twice
        truncated (bool): More than 500 failed deliveries in the window: call again with `since` = `next_since` for the
            rest
        next_since (None | str): When truncated: where the next call should start
    """

    queued: int
    in_progress: int
    truncated: bool
    next_since: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        queued = self.queued

        in_progress = self.in_progress

        truncated = self.truncated

        next_since: None | str
        next_since = self.next_since

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "queued": queued,
                "in_progress": in_progress,
                "truncated": truncated,
                "next_since": next_since,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        queued = d.pop("queued")

        in_progress = d.pop("in_progress")

        truncated = d.pop("truncated")

        def _parse_next_since(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        next_since = _parse_next_since(d.pop("next_since"))

        recover_out = cls(
            queued=queued,
            in_progress=in_progress,
            truncated=truncated,
            next_since=next_since,
        )

        recover_out.additional_properties = d
        return recover_out

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
