from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Me")


@_attrs_define
class Me:
    """
    Attributes:
        tenant_id (str):
        key_id (str): Names the key (the start of its SHA-256); never the key itself
        key_hint (None | str): The key's first characters (`trg_abcd`)
        created_at (None | str): When the key was created
    """

    tenant_id: str
    key_id: str
    key_hint: None | str
    created_at: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        tenant_id = self.tenant_id

        key_id = self.key_id

        key_hint: None | str
        key_hint = self.key_hint

        created_at: None | str
        created_at = self.created_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "tenant_id": tenant_id,
                "key_id": key_id,
                "key_hint": key_hint,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        tenant_id = d.pop("tenant_id")

        key_id = d.pop("key_id")

        def _parse_key_hint(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        key_hint = _parse_key_hint(d.pop("key_hint"))

        def _parse_created_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        created_at = _parse_created_at(d.pop("created_at"))

        me = cls(
            tenant_id=tenant_id,
            key_id=key_id,
            key_hint=key_hint,
            created_at=created_at,
        )

        me.additional_properties = d
        return me

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
