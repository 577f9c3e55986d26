from enum import StrEnum


class DeliveryOutState(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"
    GONE = "gone"
    HELD = "held"
    PENDING = "pending"
    RETRYING = "retrying"

    def __str__(self) -> str:
        return str(self.value)
