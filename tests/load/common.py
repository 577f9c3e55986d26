"""What every locustfile shares: the API user, the request checks and the planned load shape.

Locust runs these files in its own process (the runner starts it with the repository as the working
directory): `import locust` monkey-patches the standard library with gevent, so nothing here may be
imported by pytest or the runner. The run is described by two environment variables the runner sets:
`TRIGGERS_LOAD_PLAN` (the users over time, devtools/load/plan.py) and `TRIGGERS_LOAD_SETTINGS`
(event type, events per request, pacing, timeout); the key comes in `TRIGGERS_API_KEY`, never on
the command line.
"""

import itertools
import json
import os
from typing import Any, ClassVar

from locust import LoadTestShape, constant_pacing
from locust.contrib.fasthttp import FastHttpUser, ResponseContextManager

from devtools.load.plan import PLAN_VARIABLE, Plan

SETTINGS: dict[str, Any] = json.loads(os.environ.get("TRIGGERS_LOAD_SETTINGS", "{}"))
API_KEY = os.environ.get("TRIGGERS_API_KEY", "")
EVENT_TYPE: str = SETTINGS.get("event_type", "load.test")
EVENTS_PER_REQUEST: int = int(SETTINGS.get("events_per_request", 1))
INBOX_LIMIT: int = int(SETTINGS.get("inbox_limit", 50))
_sequence = itertools.count()


class PlannedShape(LoadTestShape):
    """The users of `TRIGGERS_LOAD_PLAN` at each second; then every user is stopped and the run ends.

    After the plan, the users finish the request they are in (locust's --stop-timeout) and the
    shape waits two more ticks, so that the CSV files (written every second) hold every answer.
    """

    def __init__(self) -> None:
        super().__init__()
        self.plan = Plan.from_json(os.environ[PLAN_VARIABLE])
        self.idle_ticks = 0

    def tick(self) -> tuple[int, float] | None:
        users = self.plan.users_at(self.get_run_time())
        if users is not None:
            # Spawn at once: the plan moves the target every second, which makes the ramp.
            return users, float(max(users, 1))
        if self.runner is not None and self.runner.user_count == 0:
            self.idle_ticks += 1
            if self.idle_ticks > 2:
                return None
        return 0, 100.0


class ApiUser(FastHttpUser):
    """A producer or consumer of one tenant: bearer key, JSON, a fixed pace per user."""

    abstract = True
    default_headers: ClassVar[dict[str, str]] = {"Authorization": f"Bearer {API_KEY}"}
    wait_time = constant_pacing(float(SETTINGS.get("pacing_s", 1.0)))
    network_timeout = float(SETTINGS.get("timeout_s", 10.0))
    connection_timeout = float(SETTINGS.get("timeout_s", 10.0))
    insecure = not SETTINGS.get("verify_tls", True)

    def post_events(self) -> list[str]:
        """POST /v1/events (one event, or a batch when configured); the ids stored, [] on failure."""
        events = [new_event() for _ in range(EVENTS_PER_REQUEST)]
        body: Any = events[0] if EVENTS_PER_REQUEST == 1 else events
        with self.client.post("/v1/events", json=body, name="POST /v1/events", catch_response=True) as answer:
            if not expect(answer, 201):
                return []
            document = answer.json()
            return [item["id"] for item in document["data"]] if "data" in document else [document["id"]]

    def poll_inbox(self) -> None:
        with self.client.get(
            f"/v1/inbox?limit={INBOX_LIMIT}", name="GET /v1/inbox", catch_response=True
        ) as answer:
            expect(answer, 200)

    def ack(self, event_id: str) -> None:
        with self.client.post(
            f"/v1/events/{event_id}/ack", name="POST /v1/events/{id}/ack", catch_response=True
        ) as answer:
            expect(answer, 200)

    def delete(self, event_id: str) -> None:
        with self.client.delete(
            f"/v1/events/{event_id}", name="DELETE /v1/events/{id}", catch_response=True
        ) as answer:
            expect(answer, 204)


def new_event() -> dict[str, Any]:
    return {
        "event_type": EVENT_TYPE,
        "source": "locust",
        "payload": {"seq": next(_sequence), "note": "load test"},
    }


def expect(answer: ResponseContextManager, status: int) -> bool:
    """Count the request as failed unless it got `status`; the failure names what came instead."""
    if answer.status_code == status:
        answer.success()
        return True
    if not answer.status_code:
        answer.failure(f"no answer: {type(answer.error).__name__}")
        return False
    problem = ""
    try:
        document = answer.json()
        if isinstance(document, dict) and isinstance(document.get("type"), str):
            problem = " " + document["type"].rstrip("/").rsplit("/", 1)[-1]
    except ValueError:
        pass
    answer.failure(f"HTTP {answer.status_code}{problem} (expected {status})")
    return False
