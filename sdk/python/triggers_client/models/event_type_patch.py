from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.event_type_patch_schema_type_0 import EventTypePatchSchemaType0


T = TypeVar("T", bound="EventTypePatch")


@_attrs_define
class EventTypePatch:
    """The members to change; `"schema": null` removes the schema.

    Attributes:
        description (None | str | Unset):
        schema (EventTypePatchSchemaType0 | None | Unset): JSON Schema (draft 2020-12) every payload of this type must
            match; at most 32 KiB, references only within the schema itself. Formats are annotations (not asserted), as
            2020-12 specifies.
        deprecated (bool | None | Unset):
    """

    description: None | str | Unset = UNSET
    schema: EventTypePatchSchemaType0 | None | Unset = UNSET
    deprecated: bool | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.event_type_patch_schema_type_0 import EventTypePatchSchemaType0  # noqa: PLC0415

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        schema: dict[str, Any] | None | Unset
        if isinstance(self.schema, Unset):
            schema = UNSET
        elif isinstance(self.schema, EventTypePatchSchemaType0):
            schema = self.schema.to_dict()
        else:
            schema = self.schema

        deprecated: bool | None | Unset
        if isinstance(self.deprecated, Unset):
            deprecated = UNSET
        else:
            deprecated = self.deprecated

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if description is not UNSET:
            field_dict["description"] = description
        if schema is not UNSET:
            field_dict["schema"] = schema
        if deprecated is not UNSET:
            field_dict["deprecated"] = deprecated

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event_type_patch_schema_type_0 import EventTypePatchSchemaType0  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))

        def _parse_schema(data: object) -> EventTypePatchSchemaType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                schema_type_0 = EventTypePatchSchemaType0.from_dict(data)

                return schema_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EventTypePatchSchemaType0 | None | Unset, data)

        schema = _parse_schema(d.pop("schema", UNSET))

        def _parse_deprecated(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        deprecated = _parse_deprecated(d.pop("deprecated", UNSET))

        event_type_patch = cls(
            description=description,
            schema=schema,
            deprecated=deprecated,
        )

        return event_type_patch
