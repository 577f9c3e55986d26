from enum import StrEnum


class SubscriptionOutOrdering(StrEnum):
    NONE = "none"
    STRICT = "strict"

    def __str__(self) -> str:
        return str(self.value)
