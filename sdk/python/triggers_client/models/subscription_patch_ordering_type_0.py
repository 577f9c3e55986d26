from enum import StrEnum


class SubscriptionPatchOrderingType0(StrEnum):
    NONE = "none"
    STRICT = "strict"

    def __str__(self) -> str:
        return str(self.value)
