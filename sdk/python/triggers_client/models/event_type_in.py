from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.event_type_in_schema_type_0 import EventTypeInSchemaType0


T = TypeVar("T", bound="EventTypeIn")


@_attrs_define
class EventTypeIn:
    """
    Attributes:
        name (str):
        description (str | Unset):  Default: ''.
        schema (EventTypeInSchemaType0 | None | Unset): JSON Schema (draft 2020-12) every payload of this type must
            match; at most 32 KiB, references only within the schema itself. Formats are annotations (not asserted), as
            2020-12 specifies.
        deprecated (bool | Unset):  Default: False.
    """

    name: str
    description: str | Unset = ""
    schema: EventTypeInSchemaType0 | None | Unset = UNSET
    deprecated: bool | Unset = False

    def to_dict(self) -> dict[str, Any]:
        from ..models.event_type_in_schema_type_0 import EventTypeInSchemaType0  # noqa: PLC0415

        name = self.name

        description = self.description

        schema: dict[str, Any] | None | Unset
        if isinstance(self.schema, Unset):
            schema = UNSET
        elif isinstance(self.schema, EventTypeInSchemaType0):
            schema = self.schema.to_dict()
        else:
            schema = self.schema

        deprecated = self.deprecated

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description
        if schema is not UNSET:
            field_dict["schema"] = schema
        if deprecated is not UNSET:
            field_dict["deprecated"] = deprecated

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event_type_in_schema_type_0 import EventTypeInSchemaType0  # noqa: PLC0415

        d = dict(src_dict)
        name = d.pop("name")

        description = d.pop("description", UNSET)

        def _parse_schema(data: object) -> EventTypeInSchemaType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                schema_type_0 = EventTypeInSchemaType0.from_dict(data)

                return schema_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EventTypeInSchemaType0 | None | Unset, data)

        schema = _parse_schema(d.pop("schema", UNSET))

        deprecated = d.pop("deprecated", UNSET)

        event_type_in = cls(
            name=name,
            description=description,
            schema=schema,
            deprecated=deprecated,
        )

        return event_type_in
