from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.destination_out_state import DestinationOutState

T = TypeVar("T", bound="DestinationOut")


@_attrs_define
class DestinationOut:
    """
    Attributes:
        host (str): Host name of the target URLs it covers (every subscription to it)
        state (DestinationOutState): `open`: deliveries to the host pause until `open_until`; `half_open`: one probe
            attempt decides; `closed`: deliveries go out
        consecutive_failures (int): Failed attempts to the host since its last success
        open_until (None | str): While open: when the next probe may go out
        last_error (None | str): The last failure (an HTTP status or an error type)
        updated_at (None | str):
    """

    host: str
    state: DestinationOutState
    consecutive_failures: int
    open_until: None | str
    last_error: None | str
    updated_at: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        host = self.host

        state = self.state.value

        consecutive_failures = self.consecutive_failures

        open_until: None | str
        open_until = self.open_until

        last_error: None | str
        last_error = self.last_error

        updated_at: None | str
        updated_at = self.updated_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "host": host,
                "state": state,
                "consecutive_failures": consecutive_failures,
                "open_until": open_until,
                "last_error": last_error,
                "updated_at": updated_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        host = d.pop("host")

        state = DestinationOutState(d.pop("state"))

        consecutive_failures = d.pop("consecutive_failures")

        def _parse_open_until(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        open_until = _parse_open_until(d.pop("open_until"))

        def _parse_last_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        last_error = _parse_last_error(d.pop("last_error"))

        def _parse_updated_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        updated_at = _parse_updated_at(d.pop("updated_at"))

        destination_out = cls(
            host=host,
            state=state,
            consecutive_failures=consecutive_failures,
            open_until=open_until,
            last_error=last_error,
            updated_at=updated_at,
        )

        destination_out.additional_properties = d
        return destination_out

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
