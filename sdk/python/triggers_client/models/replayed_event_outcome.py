from enum import StrEnum


class ReplayedEventOutcome(StrEnum):
    IN_PROGRESS = "in_progress"
    NOT_FOUND = "not_found"
    NOT_SUBSCRIBED = "not_subscribed"
    QUEUED = "queued"

    def __str__(self) -> str:
        return str(self.value)
