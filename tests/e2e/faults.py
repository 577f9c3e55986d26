"""Fault injection for the e2e suite: an OpenSearch proxy, AWS call failures, a killable runner.

Every fault test ends with `assert_no_loss`, the invariant of devtools/invariant.py.
"""

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, ConnectionClosedError

from devtools.invariant import (
    DEFAULT_QUIET_SECONDS,
    Accepted,
    Outcomes,
    Report,
    Stores,
    Watched,
    check,
    wait_for_invariant,
)
from devtools.receiver import Receiver
from devtools.runner.esm import EsmRunner, Poller
from devtools.stack import EmbeddedStack
from ingest.core.opensearch_client import opensearch_client
from ingest.core.settings import get_settings
from tests.integration.conftest import ApiClient

HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host"})


# ---------------------------------------------------------------------------------------------
# The invariant, as the tests use it.


@dataclass
class Subscribed:
    """A subscription under test and the receiver behind it."""

    api: ApiClient
    document: dict[str, Any]
    receiver: Receiver
    expected: frozenset[str] | None = None

    @property
    def id(self) -> str:
        return str(self.document["id"])

    def watched(self) -> Watched:
        return Watched(
            tenant_id=self.api.tenant_id,
            subscription_id=self.id,
            event_types=tuple(self.document["event_types"]),
            secrets=(str(self.document["secret"]),),
            received=lambda: self.receiver.deliveries,
            expected=self.expected,
        )


def payload_text(n: int) -> str:
    """A payload whose spacing, key order and escapes only survive if its bytes are kept as sent."""
    return f'{{ "n" : {n},"z":"caf\\u00e9",  "a": [1.50, "é"] }}'


def accept(api: ApiClient, event_type: str, count: int) -> list[Accepted]:
    """Post `count` events of one type in one request; the accepted events, in order."""
    payloads = [payload_text(n) for n in range(count)]
    body = "[" + ",".join(f'{{"event_type":{json.dumps(event_type)},"payload":{p}}}' for p in payloads) + "]"
    response = api.post("/v1/events", data=body.encode(), headers={"content-type": "application/json"})
    assert response.status_code == 201, response.text
    return [
        Accepted(api.tenant_id, item["id"], event_type, payload)
        for item, payload in zip(response.json()["data"], payloads, strict=True)
    ]


def stores(stack: EmbeddedStack, aws_client: Callable[[str], Any]) -> Stores:
    settings = get_settings()
    return Stores(
        dynamodb=aws_client("dynamodb"),
        sqs=aws_client("sqs"),
        opensearch=opensearch_client(stack.opensearch_url),
        events_table=settings.events_table,
        deliveries_table=settings.deliveries_table,
        delivery_dlq_url=settings.delivery_dlq_url,
        index_alias=settings.index_alias,
    )


def assert_no_loss(
    stack: EmbeddedStack,
    aws_client: Callable[[str], Any],
    events: list[Accepted],
    subscribed: list[Subscribed],
    *,
    expected: Outcomes,
    timeout: float = 90.0,
    quiet: float = DEFAULT_QUIET_SECONDS,
    receiver_duplicates_allowed: int = 0,
) -> Report:
    """Wait until every event and every (event, subscription) pair is accounted for exactly once,
    with the `expected` outcomes, and nothing more arrives for `quiet` seconds."""
    where = stores(stack, aws_client)
    report = wait_for_invariant(
        lambda: check(
            where,
            events,
            [subscription.watched() for subscription in subscribed],
            expected=expected,
            receiver_duplicates_allowed=receiver_duplicates_allowed,
        ),
        timeout=timeout,
        quiet=quiet,
    )
    assert report.ok, report.describe()
    return report


# ---------------------------------------------------------------------------------------------
# The runner's pollers: find one, record what its handler answers.


def poller_of(stack: EmbeddedStack, handler: str) -> Poller:
    runner = stack.esm_runner
    assert runner is not None
    (poller,) = [poller for poller in runner.pollers if poller.spec.handler == handler]
    return poller


@dataclass
class Responses:
    """What a function answered, invocation by invocation: (records in, records failed); an
    invocation that raised (every record failed) counts all its records as failed."""

    calls: list[tuple[int, int]] = field(default_factory=list)

    @property
    def partial_failures(self) -> list[tuple[int, int]]:
        return [(size, failed) for size, failed in self.calls if 0 < failed < size]

    @property
    def failed_invocations(self) -> int:
        return sum(1 for _, failed in self.calls if failed)


def record_responses(poller: Poller, monkeypatch: Any) -> Responses:
    responses = Responses()
    handler = poller.host.handler

    def recording(event: dict[str, Any], context: Any) -> Any:
        size = len(event.get("Records", []))
        try:
            response = handler(event, context)
        except Exception:
            responses.calls.append((size, size))
            raise
        failures = (response or {}).get("batchItemFailures") or []
        responses.calls.append((size, len(failures)))
        return response

    monkeypatch.setattr(poller.host, "handler", recording)
    return responses


# ---------------------------------------------------------------------------------------------
# AWS call failures injected into the handlers' boto3 clients.


@dataclass
class InjectedFailures:
    """Fail `operation` calls whose parameters `when` accepts, while `active`, at most `times` times."""

    when: Callable[[dict[str, Any]], bool]
    times: int | None = None
    active: bool = True
    injected: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if not self.active or not self.when(params):
            return
        with self._lock:
            if self.times is not None and self.injected >= self.times:
                return
            self.injected += 1
        raise ClientError(
            {"Error": {"Code": "InternalServerError", "Message": "injected by the fault suite"}}, model.name
        )


@contextmanager
def failing_calls(client: Any, operation: str, failures: InjectedFailures) -> Iterator[InjectedFailures]:
    """Make `client` raise a ClientError (as a 500 from the service would) for matching calls."""
    service = client.meta.service_model.service_id.hyphenize()
    event = f"before-parameter-build.{service}.{operation}"
    client.meta.events.register(event, failures)
    try:
        yield failures
    finally:
        client.meta.events.unregister(event, failures)


@contextmanager
def losing_responses(client: Any, operation: str, failures: InjectedFailures) -> Iterator[InjectedFailures]:
    """Let matching `client` calls reach the service and commit, then lose their answer (the client
    sees a closed connection, as when a network fails after the write)."""
    service = client.meta.service_model.service_id.hyphenize()

    def before(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        context["lose_response"] = failures.active and failures.when(params)

    def after(model: Any, context: dict[str, Any], **_: Any) -> None:
        if not context.pop("lose_response", False):
            return
        with failures._lock:
            if failures.times is not None and failures.injected >= failures.times:
                return
            failures.injected += 1
        raise ConnectionClosedError(endpoint_url="the response, lost after the write committed")

    client.meta.events.register(f"before-parameter-build.{service}.{operation}", before)
    client.meta.events.register(f"after-call.{service}.{operation}", after)
    try:
        yield failures
    finally:
        client.meta.events.unregister(f"before-parameter-build.{service}.{operation}", before)
        client.meta.events.unregister(f"after-call.{service}.{operation}", after)


@contextmanager
def unprocessed_items(
    client: Any, table: str, hold_back: int, failures: InjectedFailures
) -> Iterator[InjectedFailures]:
    """Make matching `client` BatchWriteItem calls to `table` write all but their last `hold_back`
    items and answer those as UnprocessedItems, as DynamoDB does when a partition is throttled
    (a call holding back everything it was asked to write never reaches the service)."""
    service = client.meta.service_model.service_id.hyphenize()

    def before(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        requests = params.get("RequestItems", {}).get(table)
        if not requests or not failures.active or not failures.when(params):
            return
        with failures._lock:
            if failures.times is not None and failures.injected >= failures.times:
                return
            failures.injected += 1
        kept, held = requests[:-hold_back], requests[-hold_back:]
        context["held_back"] = held
        if kept:
            params["RequestItems"] = {**params["RequestItems"], table: kept}
        else:
            context["held_back_all"] = True

    def short_circuit(context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if context.get("held_back_all"):
            return AWSResponse("", 200, {}, None), {}
        return None

    def after(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        held = context.pop("held_back", None)
        context.pop("held_back_all", None)
        if held:
            parsed.setdefault("UnprocessedItems", {}).setdefault(table, []).extend(held)

    events = (
        (f"before-parameter-build.{service}.BatchWriteItem", before),
        (f"before-call.{service}.BatchWriteItem", short_circuit),
        (f"after-call.{service}.BatchWriteItem", after),
    )
    for event, handler in events:
        client.meta.events.register(event, handler)
    try:
        yield failures
    finally:
        for event, handler in events:
            client.meta.events.unregister(event, handler)


# ---------------------------------------------------------------------------------------------
# OpenSearch behind a proxy that can throttle or go away.


class OpenSearchProxy:
    """A reverse proxy on 127.0.0.1 in front of osmem: passes, throttles `_bulk` items, or is down."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.throttle_bulk = False
        self.throttled = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        """Listen (again, on the same port once it had one)."""
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler_class())
        server.daemon_threads = True
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="opensearch-proxy", daemon=True)
        self._thread.start()

    def down(self) -> None:
        """Stop listening: connections are refused, as with a node that is down."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        assert self._thread is not None
        self._thread.join()
        self._server = None

    def _throttled_bulk(self, body: bytes) -> bytes:
        """A `_bulk` answer with every item rejected 429, as a saturated cluster gives."""
        items = []
        lines = [line for line in body.splitlines() if line.strip()]
        index = 0
        while index < len(lines):
            ((operation, meta),) = json.loads(lines[index]).items()
            index += 1 if operation == "delete" else 2
            error = {"type": "es_rejected_execution_exception", "reason": "injected: queue full"}
            items.append(
                {
                    operation: {
                        "_index": meta.get("_index"),
                        "_id": meta.get("_id"),
                        "status": 429,
                        "error": error,
                    }
                }
            )
        self.throttled += 1
        return json.dumps({"took": 1, "errors": True, "items": items}).encode()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                if proxy.throttle_bulk and self.path.split("?")[0].endswith("/_bulk"):
                    self._reply(200, proxy._throttled_bulk(body), "application/json")
                    return
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    response = upstream.getresponse()
                    payload = response.read()
                    self._reply(
                        response.status, payload, response.getheader("content-type", "application/json")
                    )
                finally:
                    upstream.close()

            def _reply(self, status: int, payload: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        return Handler


# ---------------------------------------------------------------------------------------------
# The ESM runner in a child process, so that it can be killed mid-batch.

RUNNER_CHILD = """
import sys, threading
from pathlib import Path
from devtools.runner.esm import EsmRunner
from devtools.runner.mappings import load_mappings
from devtools.template import Template

aws_url, state_dir, stage = sys.argv[1:4]
runner = EsmRunner(load_mappings(Template(stage, aws_endpoint=aws_url)), aws_url, Path(state_dir)).start()
print("ready" if runner.wait_ready() else "not ready", flush=True)
threading.Event().wait()
"""


@contextmanager
def runner_in_child_process(stack: EmbeddedStack) -> Iterator[subprocess.Popen[str]]:
    """Hand the event source mappings to a child process (same checkpoints) until the block ends.

    The stack's own pollers pause first and resume, from the checkpoints, afterwards.
    """
    runner: EsmRunner | None = stack.esm_runner
    assert runner is not None
    runner.pause()
    child = subprocess.Popen(
        [sys.executable, "-c", RUNNER_CHILD, stack.aws_url, str(stack.state_dir), stack.stage],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ),
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        yield child
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        runner.resume()
