"""Security over real HTTP against the embedded stack: tenant isolation on every documented route,
secrets never logged, request size limits, header injection, SSRF refusals at subscribe time,
and every local server listening on loopback only."""

import ipaddress
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devtools.receiver import Receiver
from devtools.runner.apiserver import MAX_REQUEST_BYTES
from devtools.stack import EmbeddedStack
from ingest.core.settings import Settings
from tests.integration.conftest import ApiClient

MARKER = "payload-marker-0b1d"
PATH_IDS = ("event_id", "subscription_id", "name")


# --- tenant isolation ------------------------------------------------------------------------------


def documented_operations(stack: EmbeddedStack) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path template, operation) for every operation of the document the API serves."""
    document = requests.get(f"{stack.api_url}/v1/openapi.json", timeout=30).json()
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def wait_until(probe: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture
def owner_data(api: ApiClient, receiver: Receiver) -> dict[str, str]:
    """A tenant with an event, a subscription and a real delivery of that event."""
    created = api.post("/v1/subscriptions", json={"target_url": receiver.url, "event_types": ["*"]})
    assert created.status_code == 201, created.text
    subscription = created.json()
    receiver.add_secret(subscription["secret"])
    posted = api.post("/v1/events", json={"event_type": "secret.thing", "payload": {"marker": MARKER}})
    assert posted.status_code == 201, posted.text
    event_id = posted.json()["id"]
    # Wait for the pipeline to finish with them, so that nothing but the intruder could change them.
    wait_until(
        lambda: api.get(f"/v1/events/{event_id}").json()["status"] == "delivered",
        "the owner's event to be delivered",
    )
    event_type = api.post(
        "/v1/event-types", json={"name": "owner.catalog.type", "schema": {"type": "object"}}
    )
    assert event_type.status_code == 201, event_type.text
    return {
        "name": "owner.catalog.type",
        "event_id": event_id,
        "subscription_id": subscription["id"],
        "secret": subscription["secret"],
        "target_url": receiver.url,
    }


def test_another_tenants_ids_are_404_on_every_route_and_change_nothing(
    stack: EmbeddedStack, api: ApiClient, new_tenant: Callable[[], ApiClient], owner_data: dict[str, str]
) -> None:
    # Given another tenant, and every documented operation taking an id
    intruder = new_tenant()
    operations = [
        (method, path, operation)
        for method, path, operation in documented_operations(stack)
        if any(p["in"] == "path" for p in operation.get("parameters", []))
    ]
    assert operations, "the document lists no operation with a path parameter"
    event_before = api.get(f"/v1/events/{owner_data['event_id']}").json()
    subscription_before = api.get(f"/v1/subscriptions/{owner_data['subscription_id']}").json()

    # When the intruder calls each one with the owner's ids
    replies = {}
    for method, template, operation in operations:
        names = [p["name"] for p in operation["parameters"] if p["in"] == "path"]
        assert set(names) <= set(PATH_IDS), f"{method} {template}: teach this test the new path parameter"
        path = template.format(**{name: owner_data[name] for name in names})
        replies[f"{method} {template}"] = intruder.request(method, path)

    # Then each is a plain 404 problem that reveals nothing of the owner's data
    for label, reply in replies.items():
        assert reply.status_code == 404, f"{label}: {reply.status_code} {reply.text}"
        assert reply.headers["content-type"] == "application/problem+json", label
        assert reply.json()["type"] == "https://triggers.dev/problems/not-found", label
        for secret in (MARKER, owner_data["secret"], owner_data["target_url"], api.tenant_id, "secret.thing"):
            assert secret not in reply.text, f"{label} leaks {secret!r}"
    # and the owner's event and subscription are as they were
    assert api.get(f"/v1/events/{owner_data['event_id']}").json() == event_before
    assert api.get(f"/v1/subscriptions/{owner_data['subscription_id']}").json() == subscription_before


def test_list_routes_show_another_tenant_nothing(
    stack: EmbeddedStack, api: ApiClient, new_tenant: Callable[[], ApiClient], owner_data: dict[str, str]
) -> None:
    intruder = new_tenant()
    lists = [
        path
        for method, path, operation in documented_operations(stack)
        if method == "GET" and "{" not in path and operation.get("security") != [{}]
    ]
    assert {"/v1/events", "/v1/inbox", "/v1/subscriptions"} <= set(lists)

    for path in lists:
        reply = intruder.get(path)
        assert reply.status_code == 200, f"{path}: {reply.text}"
        if path == "/v1/me":  # not a list: it names the caller's own tenant
            assert reply.json()["tenant_id"] == intruder.tenant_id != api.tenant_id
        else:
            assert reply.json()["data"] == [], path
        assert owner_data["event_id"] not in reply.text and owner_data["subscription_id"] not in reply.text


# --- secrets in logs -------------------------------------------------------------------------------


def _cloudwatch_messages(logs: Any) -> list[str]:
    messages = []
    for group in logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]:
        paginator = logs.get_paginator("filter_log_events")
        for page in paginator.paginate(logGroupName=group["logGroupName"]):
            messages.extend(event["message"] for event in page["events"])
    return messages


def _files_text(directory: Path) -> str:
    return "\n".join(
        path.read_text(errors="replace") for path in sorted(directory.rglob("*")) if path.is_file()
    )


def test_api_keys_and_webhook_secrets_never_reach_any_log(
    stack: EmbeddedStack,
    api: ApiClient,
    receiver: Receiver,
    aws_client: Callable[[str], Any],
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given requests that carry the key, create and rotate a secret, fail and succeed
    api_key = api.session.headers["Authorization"].split()[1]
    created = api.post("/v1/subscriptions", json={"target_url": receiver.url, "event_types": ["*"]}).json()
    rotated = api.post(f"/v1/subscriptions/{created['id']}/rotate-secret").json()
    near_miss = requests.get(
        f"{stack.api_url}/v1/events", headers={"Authorization": f"Bearer {api_key[:-1]}x"}, timeout=30
    )
    assert near_miss.status_code == 401
    posted = api.post("/v1/events", json={"event_type": "log.scan", "payload": {"marker": MARKER}})
    event_id = posted.json()["id"]

    # When the delivery is recorded and the indexer's line about the event shipped to CloudWatch
    def delivered() -> bool:
        deliveries = api.get(f"/v1/events/{event_id}/deliveries").json()["data"]
        return any(delivery["state"] == "delivered" for delivery in deliveries)

    wait_until(delivered, "the delivery to be recorded")
    logs = aws_client("logs")

    def shipped() -> list[str] | None:
        messages = _cloudwatch_messages(logs)
        return messages if any(event_id in m and "batch indexed" in m for m in messages) else None

    messages = wait_until(shipped, "the indexer's log line for the event")

    # Then no log anywhere (CloudWatch, every log record of this process with all its fields,
    # stdout/stderr, the stack's log files) holds the key, either secret or their key material
    captured = capfd.readouterr()
    records = [json.dumps(record.__dict__, default=str) for record in caplog.records]
    assert any(event_id in line and "webhook attempt" in line for line in records), "delivery logs not seen"
    everything = "\n".join([*messages, *records, captured.out, captured.err, _files_text(stack.state_dir)])
    for secret in (api_key, api_key[:-1], created["secret"], rotated["secret"]):
        assert secret not in everything
        assert secret.removeprefix("whsec_") not in everything


# --- request size limits ---------------------------------------------------------------------------


def _raw_request(stack: EmbeddedStack, head: str) -> bytes:
    """Send only a request head and read what the server answers (it must not wait for the body)."""
    with socket.create_connection(("127.0.0.1", stack.ports.api), timeout=30) as conn:
        conn.sendall(head.encode())
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return reply


def test_declared_body_over_the_server_limit_is_413_without_reading_it(
    stack: EmbeddedStack, api: ApiClient
) -> None:
    api_key = api.session.headers["Authorization"]
    head = (
        "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: {api_key}\r\nContent-Length: {MAX_REQUEST_BYTES + 1}\r\n\r\n"
    )

    reply = _raw_request(stack, head)

    assert reply.startswith(b"HTTP/1.1 413 ")
    assert b"payload-too-large" in reply
    assert api.get("/v1/events").json()["data"] == []


@pytest.mark.parametrize("path", ["/v1/events", "/v1/subscriptions"])
def test_body_over_the_api_limit_is_413_and_stores_nothing(api: ApiClient, path: str) -> None:
    limit = Settings.local().max_body_bytes
    body = '{"event_type": "big", "payload": {"x": "' + "a" * limit + '"}}'

    reply = api.post(path, data=body, headers={"Content-Type": "application/json"})

    assert reply.status_code == 413
    assert reply.json()["type"] == "https://triggers.dev/problems/payload-too-large"
    assert api.get("/v1/events").json()["data"] == []
    assert api.get("/v1/subscriptions").json()["data"] == []


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "PROPFIND"])
def test_any_method_reaches_the_function_which_answers_405(api: ApiClient, method: str) -> None:
    reply = api.request(method, "/v1/events")

    assert reply.status_code == 405
    assert reply.headers["Allow"] == "GET, POST"
    assert api.get("/v1/events").json()["data"] == []


# --- header injection and SSRF at subscribe time --------------------------------------------------


@pytest.mark.parametrize(
    "target_url",
    [
        "http://127.0.0.1:9/hook\r\nX-Injected: 1",
        "http://127.0.0.1:9/hook\nX-Injected: 1",
        "http://127.0.0.1:9/hook\rX-Injected: 1",
        "http://127.0.0.1:9/\r\n\r\nGET /admin HTTP/1.1",
        "http://127.0.0.1:9/hook\tx",
        "http://127.0.0.1:9/hook x",
        "http://127.0.0.1:9/hook\x00",
        "http://127.0.0.1:9/hook\u2028X-Injected: 1",
        "http://127.0.0.1:9/hook\u0085X-Injected: 1",
        "http://127.0.0.1\r\n:9/hook",
    ],
)
def test_control_characters_in_target_url_are_422_and_store_nothing(api: ApiClient, target_url: str) -> None:
    reply = api.post("/v1/subscriptions", json={"target_url": target_url, "event_types": ["*"]})

    assert reply.status_code == 422, reply.text
    assert reply.json()["errors"][0]["field"] == "target_url"
    assert api.get("/v1/subscriptions").json()["data"] == []


def test_extra_fields_such_as_custom_headers_are_refused(api: ApiClient) -> None:
    reply = api.post(
        "/v1/subscriptions",
        json={"target_url": "http://127.0.0.1:9/hook", "event_types": ["*"], "headers": {"X-A": "b\r\nc"}},
    )

    assert reply.status_code == 422
    assert api.get("/v1/subscriptions").json()["data"] == []


@pytest.mark.parametrize("key", ["caf\u00e9", "a\x7fb", "tab\tinside"])
def test_idempotency_key_outside_printable_ascii_is_400_and_stores_nothing(api: ApiClient, key: str) -> None:
    reply = api.post(
        "/v1/events",
        json={"event_type": "a", "payload": {}},
        headers={"Idempotency-Key": key.encode("latin-1")},
    )

    assert reply.status_code == 400, reply.text
    assert api.get("/v1/events").json()["data"] == []


@pytest.mark.parametrize(
    "host",
    [
        "10.0.0.1",
        "169.254.169.254",
        "[fd00:ec2::254]",
        "[::ffff:10.0.0.1]",
        "[::ffff:a9fe:a9fe]",
        "167772161",
        "012.0.0.1",
        "0xa9fea9fe",
        "0",
        "[fe80::1%25eth0]",
    ],
)
def test_internal_destinations_are_refused_at_subscribe_time(api: ApiClient, host: str) -> None:
    reply = api.post("/v1/subscriptions", json={"target_url": f"http://{host}/hook", "event_types": ["*"]})

    assert reply.status_code == 422, reply.text
    assert reply.json()["errors"][0]["field"] == "target_url"
    assert api.get("/v1/subscriptions").json()["data"] == []


# --- loopback only -------------------------------------------------------------------------------


def _listening_sockets() -> dict[int, tuple[str, int]]:
    """Listening TCP sockets of this network namespace by inode: (address, port)."""
    sockets = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], int(fields[9])
            if state != "0A":
                continue
            hex_address, hex_port = local.split(":")
            raw = bytes.fromhex(hex_address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            sockets[inode] = (str(ipaddress.ip_address(packed)), int(hex_port, 16))
    return sockets


def _process_tree(root: int) -> set[int]:
    children: dict[int, set[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, set()).add(int(entry.name))
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo.extend(children.get(pid, set()) - tree)
    return tree


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        for fd in (Path("/proc") / str(pid) / "fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    except OSError:
        pass
    return inodes


def test_every_local_server_listens_on_loopback_only(stack: EmbeddedStack, receiver: Receiver) -> None:
    # Given the stack's processes (this one hosts the API server and the receiver; moto and
    # osmem-server are its children)
    listening = _listening_sockets()
    ours = {
        listening[inode]
        for pid in _process_tree(os.getpid())
        for inode in _socket_inodes(pid)
        if inode in listening
    }

    # Then every listening socket of ours is on loopback, and so is every socket on the known
    # servers' ports (found machine-wide: fault tests may have restarted a server meanwhile)
    assert all(ipaddress.ip_address(address).is_loopback for address, _ in ours), sorted(ours)
    known = {stack.ports.aws, stack.ports.api, stack.ports.opensearch, receiver.port}
    servers = {(address, port) for address, port in listening.values() if port in known}
    assert {port for _, port in servers} == known, servers
    assert all(ipaddress.ip_address(address).is_loopback for address, _ in servers), sorted(servers)


@pytest.mark.parametrize(("family", "address"), [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")])
def test_listening_socket_table_is_read_with_the_right_byte_order(
    family: socket.AddressFamily, address: str
) -> None:
    with socket.socket(family) as listener:
        listener.bind((address, 0))
        listener.listen()
        port = listener.getsockname()[1]

        found = [host for host, p in _listening_sockets().values() if p == port]

    assert found == [address]
