"""Seed 002 §4.2.3, mixed workload: 70 % create, 20 % inbox, 5 % acknowledge, 5 % delete.

The seed's "event acknowledgment" is `POST /v1/events/{id}/ack` and its "event deletion"
`DELETE /v1/events/{id}`. Each user acknowledges and deletes only events it created itself (two
separate pools, so an ack never meets a deleted event); with none of its own in the pool yet, it
first creates one for it (the create counts show those), so every pick of a task sends its
request: a short smoke run reaches every route.
"""

from collections import deque

from locust import task

from tests.load.common import ApiUser, PlannedShape  # noqa: F401  # locust finds the shape here

POOL = 100


class Consumer(ApiUser):
    def on_start(self) -> None:
        self.to_ack: deque[str] = deque(maxlen=POOL)
        self.to_delete: deque[str] = deque(maxlen=POOL)

    @task(70)
    def create(self) -> None:
        for event_id in self.post_events():
            shorter = self.to_ack if len(self.to_ack) <= len(self.to_delete) else self.to_delete
            shorter.append(event_id)

    @task(20)
    def inbox(self) -> None:
        self.poll_inbox()

    @task(5)
    def acknowledge(self) -> None:
        if event_id := self.own_event(self.to_ack):
            self.ack(event_id)

    @task(5)
    def remove(self) -> None:
        if event_id := self.own_event(self.to_delete):
            self.delete(event_id)

    def own_event(self, pool: deque[str]) -> str | None:
        """The pool's oldest event, created first when the pool is empty (None if that failed)."""
        if not pool:
            pool.extend(self.post_events())
        return pool.popleft() if pool else None
