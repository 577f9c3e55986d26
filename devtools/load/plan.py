"""How many virtual users a run has at each moment: k6-style stages, read by the locust shape.

Pure standard library on purpose: the locustfiles import it inside locust's gevent-patched process,
and the runner and the unit tests import it in ordinary ones.
"""

import json
import math
from dataclasses import dataclass

PLAN_VARIABLE = "TRIGGERS_LOAD_PLAN"


@dataclass(frozen=True)
class Stage:
    """Move linearly from the previous stage's users to `users` over `seconds` (k6's `stages`)."""

    seconds: float
    users: int


@dataclass(frozen=True)
class Plan:
    start_users: int
    stages: tuple[Stage, ...]

    @property
    def total_seconds(self) -> float:
        return sum(stage.seconds for stage in self.stages)

    @property
    def peak_users(self) -> int:
        return max([self.start_users, *(stage.users for stage in self.stages)])

    def users_at(self, elapsed: float) -> int | None:
        """The users wanted `elapsed` seconds into the run; None once the last stage has ended."""
        if elapsed < 0:
            return self.start_users
        previous, began = self.start_users, 0.0
        for stage in self.stages:
            if elapsed < began + stage.seconds:
                progress = (elapsed - began) / stage.seconds
                return max(0, math.floor(previous + (stage.users - previous) * progress + 0.5))
            previous, began = stage.users, began + stage.seconds
        return None

    def to_json(self) -> str:
        return json.dumps(
            {
                "start_users": self.start_users,
                "stages": [[stage.seconds, stage.users] for stage in self.stages],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> "Plan":
        document = json.loads(text)
        return cls(
            start_users=int(document["start_users"]),
            stages=tuple(Stage(float(seconds), int(users)) for seconds, users in document["stages"]),
        )
