"""One load test: prepare the tenant's data, run locust headless in a subprocess, judge the thresholds.

Locust monkey-patches the standard library with gevent when it is imported, which breaks boto3, ssl
and threads in the same process, so it always runs as `python -m locust` with the repository as its
working directory; the run is described to it by environment variables (tests/load/common.py). It
writes `report.html` (locust's HTML report: p50/p95/p99, requests/s, charts), `locust_stats.csv`,
`locust_stats_history.csv` (every second), `locust_failures.csv` and `locust.log` into the run's
directory; this module adds `summary.json` with every threshold's verdict.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from triggers_client import AuthenticatedClient

from devtools.api_client import ApiError, connect, ingest, subscribe, unsubscribe
from devtools.load.config import Run, Scenario
from devtools.load.plan import PLAN_VARIABLE
from devtools.load.results import (
    POSTS,
    Measured,
    Verdict,
    breaking_json,
    breaking_point,
    judge,
    read,
    recovery_seconds,
)
from devtools.receiver import CONTROL_PATH, Receiver
from devtools.template import REPO_ROOT

OUTPUT_ROOT = REPO_ROOT / "build" / "load"
CSV_PREFIX = "locust"
REPORT = "report.html"
STARTUP_GRACE_S = 60.0  # locust's own start, on a busy machine
SEED_BATCH = 25
LOOPBACK = "127.0.0.1"


class LoadError(RuntimeError):
    """The run could not be made or measured (not a missed threshold)."""


@dataclass(frozen=True)
class ApiTarget:
    api_url: str
    api_key: str
    loopback_only: bool  # local stages: the load never leaves 127.0.0.1
    verify_tls: bool = True

    def check(self) -> None:
        url = urlsplit(self.api_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise LoadError(f"not an API URL: {self.api_url!r}")
        if self.loopback_only and url.hostname != LOOPBACK:
            raise LoadError(f"a local stage only sends load to {LOOPBACK}, not {url.hostname}")


@dataclass
class Outcome:
    scenario: str
    stage: str
    directory: Path
    measured: Measured
    verdicts: list[Verdict]
    locust_exit_code: int
    notes: list[str] = field(default_factory=list)

    @property
    def missed(self) -> list[Verdict]:
        return [verdict for verdict in self.verdicts if not verdict.held]

    @property
    def report(self) -> Path:
        return self.directory / REPORT

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "stage": self.stage,
            "locust_exit_code": self.locust_exit_code,
            "thresholds": [verdict.to_json() for verdict in self.verdicts],
            "missed": [verdict.threshold.describe() for verdict in self.missed],
            "requests": {
                name: {
                    "requests": row.requests,
                    "failures": row.failures,
                    "p50_ms": row.p50_ms,
                    "p95_ms": row.p95_ms,
                    "p99_ms": row.p99_ms,
                    "requests_per_s": round(row.requests_per_s, 2),
                }
                for name, row in self.measured.stats.items()
            },
            "breaking_point": breaking_json(self.measured.breaking_point),
            "extras": self.measured.extras,
            "notes": self.notes,
        }


def run_directory(scenario: str, stage: str, root: Path = OUTPUT_ROOT) -> Path:
    """`build/load/<scenario>-<stage>-<UTC timestamp>/`, created."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    directory = root / f"{scenario}-{stage}-{stamp}"
    suffix = 1
    while directory.exists():
        suffix += 1
        directory = root / f"{scenario}-{stage}-{stamp}-{suffix}"
    directory.mkdir(parents=True)
    return directory


class ReceiverCounter:
    """A `triggers receiver` (devtools/receiver.py) seen through its control path: secrets and counts."""

    def __init__(self, webhook_url: str, verify_tls: bool = True) -> None:
        url = urlsplit(webhook_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise LoadError(f"not a receiver URL: {webhook_url!r}")
        self.webhook_url = webhook_url
        self._control = httpx.Client(base_url=f"{url.scheme}://{url.netloc}", timeout=10.0, verify=verify_tls)

    def close(self) -> None:
        self._control.close()

    def register(self, secret: str) -> None:
        """Let it verify this run's signatures (it answers 401 to a signature it cannot check)."""
        try:
            answer = self._control.post(f"{CONTROL_PATH}/secrets", json={"secret": secret})
        except httpx.HTTPError as exc:
            raise LoadError(f"the receiver at {self.webhook_url} cannot be reached: {exc}") from exc
        if not answer.is_success:
            raise LoadError(
                f"{self.webhook_url} is not a `triggers receiver` (POST {CONTROL_PATH}/secrets answered "
                f"{answer.status_code})"
            )

    def counts(self) -> dict[str, int]:
        """Deliveries so far, distinct webhook-ids so far, and the answers other than 2xx."""
        try:
            status = self._control.get(CONTROL_PATH).raise_for_status().json()
        except (httpx.HTTPError, ValueError) as exc:
            raise LoadError(f"cannot read the receiver's counts at {self.webhook_url}: {exc}") from exc
        refused = sum(count for code, count in status["by_status"].items() if not code.startswith("2"))
        return {
            "deliveries": status["deliveries"],
            "unique": status["unique_webhook_ids"],
            "refused": refused,
        }


@contextmanager
def local_receiver() -> Iterator[str]:
    """A receiver on an ephemeral 127.0.0.1 port for the run; its webhook URL."""
    with Receiver() as receiver:
        yield receiver.url


def run_scenario(
    name: str,
    scenario: Scenario,
    stage: str,
    run: Run,
    target: ApiTarget,
    directory: Path,
    *,
    receiver_url: str | None = None,
    say: Callable[[str], None] = lambda line: None,
) -> Outcome:
    """Run `scenario` as `run` says against `target`; the verdicts. LoadError if it cannot be run."""
    target.check()
    plan = run.plan
    event_type = f"load.{name}.{uuid.uuid4().hex[:12]}"  # this run's events only
    notes: list[str] = []
    headers = {"User-Agent": "triggers-load"}
    with connect(target.api_url, target.api_key, timeout=scenario.timeout_s, headers=headers) as client:
        if scenario.seed_events:
            say(f"posting {scenario.seed_events} events for the inbox first")
            _seed(client, event_type, scenario.seed_events)
        counter: ReceiverCounter | None = None
        subscription: dict[str, Any] | None = None
        if scenario.subscribe:
            if receiver_url is None:
                raise LoadError(f"{name} needs a receiver URL")
            counter = ReceiverCounter(receiver_url, verify_tls=target.verify_tls)
            try:
                subscription = subscribe(client, receiver_url, [event_type])
            except ApiError as exc:
                counter.close()
                raise LoadError(f"cannot subscribe {receiver_url}: {exc}") from exc
            counter.register(subscription["secret"])
            say(f"subscribed {receiver_url} to {event_type} ({subscription['id']})")
        try:
            before = counter.counts() if counter else None
            say(
                f"locust: {name} on {stage}, {plan.start_users} -> {plan.peak_users} users, "
                f"{plan.total_seconds:.0f} s ({target.api_url})"
            )
            exit_code = _locust(scenario, run, target, directory, event_type)
            ended = time.monotonic()
            try:
                measured = read(directory / CSV_PREFIX)
            except (OSError, KeyError, ValueError) as exc:
                raise LoadError(
                    f"locust wrote no statistics (exit code {exit_code}; see locust.log): {exc}"
                ) from exc
            if counter is not None and before is not None:
                _drain(measured, counter, before, scenario, ended, say)
        finally:
            if subscription is not None:
                try:
                    unsubscribe(client, subscription["id"])
                except ApiError as exc:
                    notes.append(f"subscription {subscription['id']} was not deleted: {exc}")
            if counter is not None:
                counter.close()
    if scenario.breaking is not None:
        measured.breaking_point = breaking_point(measured.history, scenario.breaking)
        measured.extras["recovery_s"] = recovery_seconds(
            measured.history, scenario.breaking, plan.stages[-1].users
        )
        if measured.breaking_point is None:
            notes.append(f"no breaking point up to {plan.peak_users} users")
    verdicts = judge(measured, scenario.thresholds, plan.peak_users, scenario.events_per_request)
    outcome = Outcome(name, stage, directory, measured, verdicts, exit_code, notes)
    summary = {
        **outcome.to_json(),
        "seed": scenario.seed,
        "description": scenario.description,
        "api_url": target.api_url,
        "event_type": event_type,
        "plan": json.loads(plan.to_json()),
    }
    (directory / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return outcome


def _seed(client: AuthenticatedClient, event_type: str, count: int) -> None:
    for start in range(0, count, SEED_BATCH):
        batch = [
            {"event_type": event_type, "source": "locust", "payload": {"seed": index}}
            for index in range(start, min(count, start + SEED_BATCH))
        ]
        try:
            ingest(client, batch)
        except ApiError as exc:
            raise LoadError(f"cannot post the inbox's events: {exc}") from exc


def _locust(scenario: Scenario, run: Run, target: ApiTarget, directory: Path, event_type: str) -> int:
    """Run locust to the end of the plan (bounded); its exit code (1 when any request failed)."""
    plan = run.plan
    settings = {
        "event_type": event_type,
        "events_per_request": scenario.events_per_request,
        "pacing_s": scenario.pacing_s,
        "timeout_s": scenario.timeout_s,
        "inbox_limit": scenario.inbox_limit,
        "verify_tls": target.verify_tls,
    }
    environment = {
        **os.environ,
        "TRIGGERS_API_KEY": target.api_key,
        PLAN_VARIABLE: plan.to_json(),
        "TRIGGERS_LOAD_SETTINGS": json.dumps(settings),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable,
        "-m",
        "locust",
        "--locustfile",
        str(scenario.locustfile_path),
        "--headless",
        "--host",
        target.api_url,
        "--csv",
        str(directory / CSV_PREFIX),
        "--csv-full-history",
        "--html",
        str(directory / REPORT),
        "--only-summary",
        "--stop-timeout",
        f"{scenario.timeout_s:g}",
    ]
    if run.equal_weights:
        command.append("--equal-weights")
    deadline = plan.total_seconds + scenario.timeout_s + STARTUP_GRACE_S
    with (directory / "locust.log").open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            return process.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)  # locust writes its reports on Ctrl-C
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            raise LoadError(f"locust was still running {deadline:.0f} s after it started; stopped") from None
        except BaseException:
            process.kill()
            process.wait()
            raise


def _drain(
    measured: Measured,
    counter: ReceiverCounter,
    before: dict[str, int],
    scenario: Scenario,
    ended: float,
    say: Callable[[str], None],
) -> None:
    """Wait until the receiver has one delivery per accepted event; record drain_s and delivered_ratio."""
    posts = measured.row(POSTS)
    accepted = posts.successes * scenario.events_per_request if posts else 0
    say(f"waiting for the receiver to get {accepted} events (at most {scenario.drain_timeout_s:g} s)")
    deadline = ended + scenario.drain_timeout_s
    while True:
        now = counter.counts()
        delivered = now["unique"] - before["unique"]
        if delivered >= accepted or time.monotonic() >= deadline:
            break
        time.sleep(0.25)
    drained = delivered >= accepted
    measured.extras.update(
        drain_s=round(time.monotonic() - ended, 2) if drained else None,
        delivered_ratio=delivered / accepted if accepted else None,
        accepted_events=float(accepted),
        delivered_events=float(delivered),
        duplicate_deliveries=float(now["deliveries"] - before["deliveries"] - delivered),
        refused_deliveries=float(now["refused"] - before["refused"]),
    )
