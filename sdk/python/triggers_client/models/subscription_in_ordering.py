from enum import StrEnum


class SubscriptionInOrdering(StrEnum):
    NONE = "none"
    STRICT = "strict"

    def __str__(self) -> str:
        return str(self.value)
