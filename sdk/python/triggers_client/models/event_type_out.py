from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.event_type_out_schema_type_0 import EventTypeOutSchemaType0


T = TypeVar("T", bound="EventTypeOut")


@_attrs_define
class EventTypeOut:
    """
    Attributes:
        name (str):
        description (str):
        schema (EventTypeOutSchemaType0 | None): The type's JSON Schema, if any
        deprecated (bool):
        created_at (str):
        updated_at (str):
    """

    name: str
    description: str
    schema: EventTypeOutSchemaType0 | None
    deprecated: bool
    created_at: str
    updated_at: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.event_type_out_schema_type_0 import EventTypeOutSchemaType0  # noqa: PLC0415

        name = self.name

        description = self.description

        schema: dict[str, Any] | None
        if isinstance(self.schema, EventTypeOutSchemaType0):
            schema = self.schema.to_dict()
        else:
            schema = self.schema

        deprecated = self.deprecated

        created_at = self.created_at

        updated_at = self.updated_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "description": description,
                "schema": schema,
                "deprecated": deprecated,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event_type_out_schema_type_0 import EventTypeOutSchemaType0  # noqa: PLC0415

        d = dict(src_dict)
        name = d.pop("name")

        description = d.pop("description")

        def _parse_schema(data: object) -> EventTypeOutSchemaType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                schema_type_0 = EventTypeOutSchemaType0.from_dict(data)

                return schema_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EventTypeOutSchemaType0 | None, data)

        schema = _parse_schema(d.pop("schema"))

        deprecated = d.pop("deprecated")

        created_at = d.pop("created_at")

        updated_at = d.pop("updated_at")

        event_type_out = cls(
            name=name,
            description=description,
            schema=schema,
            deprecated=deprecated,
            created_at=created_at,
            updated_at=updated_at,
        )

        event_type_out.additional_properties = d
        return event_type_out

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
