"""Producer -> events table -> stream -> the real indexer via the ESM runner -> OpenSearch -> search."""

import json
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from devtools.stack import EmbeddedStack
from tests.e2e.conftest import Configure, aws_cli_environment, post_events, wait_until
from tests.integration.conftest import ApiClient

pytestmark = pytest.mark.e2e


def unique_word() -> str:
    return f"okapi{uuid.uuid4().hex[:10]}"


def found(api: ApiClient, word: str) -> list[dict[str, Any]]:
    response = api.get("/v1/events", params={"q": word, "limit": 100})
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def found_exactly(api: ApiClient, word: str, count: int) -> Callable[[], list[dict[str, Any]] | None]:
    def probe() -> list[dict[str, Any]] | None:
        hits = found(api, word)
        return hits if len(hits) == count else None

    return probe


def test_batch_of_25_becomes_searchable_for_its_tenant_only(new_tenant: Callable[[], ApiClient]) -> None:
    # Given two tenants posting the same unique word
    alice, bob = new_tenant(), new_tenant()
    word = unique_word()
    started = time.monotonic()
    batch = [{"event_type": "order.created", "payload": {"n": i, "w": word}} for i in range(25)]
    alice_ids = post_events(alice, batch)
    bob_ids = post_events(bob, [{"event_type": "order.created", "payload": {"w": word}}])

    # Then each eventually finds exactly its own events
    hits = wait_until(found_exactly(alice, word, 25), "25 hits for alice")
    print(f"25 events searchable after {time.monotonic() - started:.1f} s")
    assert {hit["id"] for hit in hits} == set(alice_ids)
    bob_hits = wait_until(lambda: found(bob, word), "bob's hit")
    assert [hit["id"] for hit in bob_hits] == bob_ids


def test_field_scoped_queries_find_each_tenants_own_events_through_the_pipeline(
    new_tenant: Callable[[], ApiClient],
) -> None:
    # Given two tenants posting the same nested payloads through the API (the runner indexes them)
    alice, bob = new_tenant(), new_tenant()
    word = unique_word()
    events = [
        {"event_type": "order.created", "payload": {"w": word, "customer": {"id": 42, "tier": "gold"}}},
        {"event_type": "order.paid", "payload": {"w": word, "customer": {"id": 7, "tier": "gold"}}},
        {"event_type": "refund.created", "payload": {"w": word, "note": "blue widget returned"}},
    ]
    alice_ids = post_events(alice, events)
    bob_ids = post_events(bob, events)
    wait_until(found_exactly(alice, word, 3), "alice's 3 events")
    wait_until(found_exactly(bob, word, 3), "bob's 3 events")

    # Then each query form finds the same events for each tenant, from its own events only
    def hits(api: ApiClient, q: str) -> list[str]:
        return [hit["id"] for hit in found(api, q)]

    for api, (created, paid, refund) in ((alice, alice_ids), (bob, bob_ids)):
        assert hits(api, "payload.customer.id:42") == [created]
        assert hits(api, "event_type:order.* payload.customer.tier:gold") == [paid, created]
        assert hits(api, f'{word} "blue widget"') == [refund]
        assert hits(api, f"{word} -event_type:order.*") == [refund]


def test_acknowledge_and_delete_reach_the_index(api: ApiClient) -> None:
    # Given an indexed event
    word = unique_word()
    (event_id,) = post_events(api, [{"event_type": "order.created", "payload": {"w": word}}])
    wait_until(lambda: found(api, word), "the event in search")

    # When it is acknowledged (a MODIFY record), search shows the new status
    assert api.post(f"/v1/events/{event_id}/ack").status_code == 200

    def acknowledged() -> list[dict[str, Any]] | None:
        hits = found(api, word)
        return hits if hits and hits[0]["status"] == "acknowledged" else None

    hits = wait_until(acknowledged, "status acknowledged in search")
    assert [(hit["id"], hit["rev"]) for hit in hits] == [(event_id, 2)]

    # When it is deleted (a REMOVE record), it leaves the search
    assert api.delete(f"/v1/events/{event_id}").status_code == 204
    wait_until(lambda: found(api, word) == [], "the event gone from search")


def tail(stack: EmbeddedStack, group: str) -> str:
    result = subprocess.run(
        ["awslocal", "logs", "tail", group, "--since", "1h"],
        env=aws_cli_environment(stack.ports.aws),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return result.stdout


def test_indexer_invocations_are_visible_with_awslocal_logs_tail(
    stack: EmbeddedStack, api: ApiClient
) -> None:
    # Given events indexed by the real indexer
    word = unique_word()
    (event_id,) = post_events(api, [{"event_type": "order.created", "payload": {"w": word}}])
    wait_until(lambda: found(api, word), "the event in search")

    # Then the AWS CLI shows the indexer's invocations and its JSON lines, naming the event
    group = f"/aws/lambda/{stack.template.physical_name('IndexerFunction')}"

    def logged_line(text: str) -> dict[str, Any] | None:
        lines = [line for line in text.splitlines() if "batch indexed" in line and event_id in line]
        return json.loads(lines[0][lines[0].index("{") :]) if lines else None

    # (lines are shipped in batches: the invocation's REPORT line can follow its JSON line a batch later)
    def logs() -> str | None:
        text = tail(stack, group)
        logged = logged_line(text)
        return text if logged and f"REPORT RequestId: {logged['function_request_id']}" in text else None

    output = wait_until(logs, "the indexer's logs", every=1.0)
    assert "START RequestId:" in output
    logged = logged_line(output)
    assert logged is not None
    assert logged["function_name"] == stack.template.physical_name("IndexerFunction")
    assert f"START RequestId: {logged['function_request_id']}" in output
    assert f"REPORT RequestId: {logged['function_request_id']}" in output


class ThrottlingProxy:
    """Forwards to OpenSearch, answering 429 to the first `throttle` `_bulk` requests."""

    def __init__(self, upstream: str, throttle: int) -> None:
        self.upstream = upstream
        self.remaining = throttle
        self.throttled = 0
        self.bulks = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "ThrottlingProxy":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _throttle(self, path: str) -> bool:
        if "_bulk" not in path:
            return False
        with self._lock:
            self.bulks += 1
            if self.remaining > 0:
                self.remaining -= 1
                self.throttled += 1
                return True
            return False

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                if self._is_throttled():
                    error = {"type": "es_rejected_execution_exception", "reason": "throttled"}
                    payload = json.dumps({"error": error, "status": 429}).encode()
                    self._reply(429, payload, "application/json")
                    return
                skip = {"host", "content-length"}
                headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                upstream = requests.request(
                    self.command, proxy.upstream + self.path, data=body, headers=headers, timeout=30
                )
                self._reply(upstream.status_code, upstream.content, upstream.headers.get("content-type"))

            def _is_throttled(self) -> bool:
                return self.command == "POST" and proxy._throttle(self.path)

            def _reply(self, status: int, payload: bytes, content_type: str | None) -> None:
                self.send_response(status)
                if content_type:
                    self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        return Handler


@pytest.fixture
def throttling_proxy(stack: EmbeddedStack, configure: Configure) -> Iterator[ThrottlingProxy]:
    with ThrottlingProxy(stack.opensearch_url, throttle=2) as proxy:
        configure(OPENSEARCH_ENDPOINT=proxy.url)
        yield proxy
        configure(OPENSEARCH_ENDPOINT=stack.opensearch_url)


def test_events_throttled_by_opensearch_are_indexed_once_it_recovers(
    api: ApiClient, throttling_proxy: ThrottlingProxy
) -> None:
    # Given OpenSearch answering 429 to the next two bulk requests
    word = unique_word()

    # When events are posted
    event_ids = post_events(api, [{"event_type": "order.created", "payload": {"w": word}} for _ in range(5)])

    # Then the runner retries the failed records and all of them become searchable
    hits = wait_until(found_exactly(api, word, 5), "5 hits after throttling")
    assert {hit["id"] for hit in hits} == set(event_ids)
    assert throttling_proxy.throttled == 2
    assert throttling_proxy.bulks > 2
