from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="OutcomeCounts")


@_attrs_define
class OutcomeCounts:
    """
    Attributes:
        succeeded (int | Unset): Attempts answered 2xx Default: 0.
        failed (int | Unset): Attempts answered with another status Default: 0.
        no_response (int | Unset): Attempts without an answer (timeout, refused, reset) Default: 0.
        not_sent (int | Unset): Attempts not sent (open circuit breaker, refused destination) Default: 0.
    """

    succeeded: int | Unset = 0
    failed: int | Unset = 0
    no_response: int | Unset = 0
    not_sent: int | Unset = 0
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        succeeded = self.succeeded

        failed = self.failed

        no_response = self.no_response

        not_sent = self.not_sent

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if succeeded is not UNSET:
            field_dict["succeeded"] = succeeded
        if failed is not UNSET:
            field_dict["failed"] = failed
        if no_response is not UNSET:
            field_dict["no_response"] = no_response
        if not_sent is not UNSET:
            field_dict["not_sent"] = not_sent

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        succeeded = d.pop("succeeded", UNSET)

        failed = d.pop("failed", UNSET)

        no_response = d.pop("no_response", UNSET)

        not_sent = d.pop("not_sent", UNSET)

        outcome_counts = cls(
            succeeded=succeeded,
            failed=failed,
            no_response=no_response,
            not_sent=not_sent,
        )

        outcome_counts.additional_properties = d
        return outcome_counts

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
