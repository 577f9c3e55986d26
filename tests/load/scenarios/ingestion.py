"""Seed 002 §4.2.1, event ingestion: every user POSTs events (one per request unless configured)."""

from locust import task

from tests.load.common import ApiUser, PlannedShape  # noqa: F401  # locust finds the shape here


class Producer(ApiUser):
    @task
    def create(self) -> None:
        self.post_events()
