"""Webhook fan-out: every user POSTs events of this run's type, to which one subscription listens.

The runner subscribes a receiver (devtools/receiver.py: locally one it starts, on a deployed stage
the one TRIGGERS_LOAD_RECEIVER_URL names), and after the run waits for it to count one delivery per
accepted event.
"""

from locust import task

from tests.load.common import ApiUser, PlannedShape  # noqa: F401  # locust finds the shape here


class Producer(ApiUser):
    @task
    def create(self) -> None:
        self.post_events()
