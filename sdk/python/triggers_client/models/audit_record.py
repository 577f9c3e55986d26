from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.audit_record_after_type_0 import AuditRecordAfterType0
    from ..models.audit_record_before_type_0 import AuditRecordBeforeType0


T = TypeVar("T", bound="AuditRecord")


@_attrs_define
class AuditRecord:
    """One recorded change, as stored and as `GET /v1/audit` returns it.

    Attributes:
        id (str): Record id (a ULID: records sort by time)
        at (str): When the change was made (UTC)
        actor (str): Who made it: an API key id (16 hex), `cli:<user>` (an operator's command) or `system:<function>`
        action (str): What was done, e.g. `subscription.create`, `api_key.revoke`
        resource_type (str): `subscription`, `api_key`, `delivery`
        resource_id (str):
        before (AuditRecordBeforeType0 | None): The resource's ids and status fields before (null: created)
        after (AuditRecordAfterType0 | None): The same fields after (null: deleted)
        request_id (None | str): The API request that made the change, if any
    """

    id: str
    at: str
    actor: str
    action: str
    resource_type: str
    resource_id: str
    before: AuditRecordBeforeType0 | None
    after: AuditRecordAfterType0 | None
    request_id: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.audit_record_after_type_0 import AuditRecordAfterType0  # noqa: PLC0415
        from ..models.audit_record_before_type_0 import AuditRecordBeforeType0  # noqa: PLC0415

        id = self.id

        at = self.at

        actor = self.actor

        action = self.action

        resource_type = self.resource_type

        resource_id = self.resource_id

        before: dict[str, Any] | None
        if isinstance(self.before, AuditRecordBeforeType0):
            before = self.before.to_dict()
        else:
            before = self.before

        after: dict[str, Any] | None
        if isinstance(self.after, AuditRecordAfterType0):
            after = self.after.to_dict()
        else:
            after = self.after

        request_id: None | str
        request_id = self.request_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "at": at,
                "actor": actor,
                "action": action,
                "resource_type": resource_type,
                "resource_id": resource_id,
                "before": before,
                "after": after,
                "request_id": request_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.audit_record_after_type_0 import AuditRecordAfterType0  # noqa: PLC0415
        from ..models.audit_record_before_type_0 import AuditRecordBeforeType0  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        at = d.pop("at")

        actor = d.pop("actor")

        action = d.pop("action")

        resource_type = d.pop("resource_type")

        resource_id = d.pop("resource_id")

        def _parse_before(data: object) -> AuditRecordBeforeType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                before_type_0 = AuditRecordBeforeType0.from_dict(data)

                return before_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(AuditRecordBeforeType0 | None, data)

        before = _parse_before(d.pop("before"))

        def _parse_after(data: object) -> AuditRecordAfterType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                after_type_0 = AuditRecordAfterType0.from_dict(data)

                return after_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(AuditRecordAfterType0 | None, data)

        after = _parse_after(d.pop("after"))

        def _parse_request_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        request_id = _parse_request_id(d.pop("request_id"))

        audit_record = cls(
            id=id,
            at=at,
            actor=actor,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            before=before,
            after=after,
            request_id=request_id,
        )

        audit_record.additional_properties = d
        return audit_record

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
