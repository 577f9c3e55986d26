"""Seed 002 §4.2.2, inbox polling: every user reads `GET /v1/inbox` (the runner fills it first)."""

from locust import task

from tests.load.common import ApiUser, PlannedShape  # noqa: F401  # locust finds the shape here


class Poller(ApiUser):
    @task
    def poll(self) -> None:
        self.poll_inbox()
