from enum import StrEnum


class EventOutStatus(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    DELIVERED = "delivered"
    FAILED = "failed"
    PENDING = "pending"

    def __str__(self) -> str:
        return str(self.value)
