"""A local webhook receiver: verifies Standard Webhooks signatures, records deliveries, injects faults.

Used by `triggers receiver` and, as a class, by tests:

    with Receiver(secrets=[secret], faults=Faults(fail_rate=0.3)) as receiver:
        ...subscribe receiver.url, send events...
        deliveries = receiver.wait_for(3)

Scripts (devtools/scripts/smoke.sh) steer a running receiver over HTTP on its control path:
`GET /_receiver` (counts and current faults), `PUT /_receiver/faults` (a JSON object with the
fields of `Faults`; `{}` heals it) and `POST /_receiver/secrets` (`{"secret": "whsec_..."}`).
"""

import json
import random
import re
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

MAX_BODY_BYTES = 1024 * 1024
CONTROL_PATH = "/_receiver"
MAX_CONTROL_BYTES = 4096
SUMMARY_CHARS = 120
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_HOST = "127.0.0.1"
# How containers (LocalStack's Lambda functions) name the Docker host: built into Docker Desktop,
# added on Linux by LAMBDA_DOCKER_FLAGS in localstack/docker-compose.yml.
CONTAINER_HOST = "host.docker.internal"


def register_secret(target_url: str, secret: str, timeout: float = 2.0) -> bool:
    """Tell a `triggers receiver` behind `target_url` (on this machine) to verify with `secret`.

    A `host.docker.internal` URL (how LocalStack's functions reach this machine) is this machine's
    receiver too: it is told through 127.0.0.1 on the same port. False when the URL is not on this
    machine or nothing there answers as a receiver.
    """
    url = urlsplit(target_url)
    if url.scheme != "http" or url.hostname not in LOOPBACK_HOSTS | {CONTAINER_HOST}:
        return False
    netloc = f"127.0.0.1:{url.port or 80}" if url.hostname == CONTAINER_HOST else url.netloc
    request = urllib.request.Request(  # http to this machine only, checked above
        f"http://{netloc}{CONTROL_PATH}/secrets",
        data=json.dumps({"secret": secret}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return 200 <= response.status < 300
    except (OSError, ValueError):
        return False


def runs_in_containers(api_url: str) -> bool:
    """Whether the API is LocalStack's: its functions then run in containers, not on this machine."""
    host = urlsplit(api_url).hostname or ""
    return host == "localhost.localstack.cloud" or host.endswith(".localhost.localstack.cloud")


def container_target(target_url: str, api_url: str) -> str | None:
    """The URL to subscribe instead, when the functions cannot reach `target_url`.

    On LocalStack (function URL API) a loopback target is the function's own container; the Docker
    host, where `triggers receiver` runs, is host.docker.internal.
    """
    url = urlsplit(target_url)
    if not runs_in_containers(api_url) or url.hostname not in LOOPBACK_HOSTS:
        return None
    port = f":{url.port}" if url.port else ""
    return url._replace(netloc=f"{CONTAINER_HOST}{port}").geturl()


def parse_duration(text: str) -> float:
    """`200ms`, `1.5s` or a bare number of milliseconds, in seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (use e.g. 200ms or 1.5s)")
    value, unit = float(match.group(1)), match.group(2) or "ms"
    return value / 1000 if unit == "ms" else value


@dataclass(frozen=True)
class Faults:
    """How the receiver misbehaves. A bad signature is answered 401 regardless."""

    status: int | None = None
    fail_rate: float = 0.0
    latency: float = 0.0
    gone: bool = False
    # At most this many `fail_rate` failures per webhook-id (then 2xx): flaky, but never dead.
    max_failures_per_id: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ValueError("fail_rate must be between 0 and 1")
        if self.max_failures_per_id is not None and self.max_failures_per_id < 0:
            raise ValueError("max_failures_per_id must not be negative")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError("status must be an HTTP status code")
        if self.latency < 0:
            raise ValueError("latency must not be negative")


@dataclass(frozen=True)
class Delivery:
    """One request the receiver got, and what it answered."""

    webhook_id: str | None
    event_type: str | None
    verified: bool | None
    status: int
    body: bytes
    headers: dict[str, str]
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def json(self) -> Any:
        return json.loads(self.body)

    def summary(self) -> str:
        verified = {True: "yes", False: "NO", None: "n/a"}[self.verified]
        text = self.body.decode(errors="replace")
        if len(text) > SUMMARY_CHARS:
            text = text[:SUMMARY_CHARS] + "…"
        return (
            f"{self.received_at:%H:%M:%S} -> {self.status} id={self.webhook_id} type={self.event_type} "
            f"verified={verified} bytes={len(self.body)} {text}"
        )


class Receiver:
    """An HTTP server, on 127.0.0.1 unless told otherwise, that takes webhook POSTs (any path).

    `host` other than loopback (e.g. 0.0.0.0) is for LocalStack only: its Lambda containers on
    Linux reach the Docker host at its bridge address, not at 127.0.0.1.
    """

    def __init__(
        self,
        secrets: Sequence[str] = (),
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        faults: Faults | None = None,
        say: Callable[[str], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.webhooks = [Webhook(secret) for secret in secrets]
        self.faults = faults or Faults()
        self._say = say
        self._rng = rng or random.Random()  # fault injection, not cryptography
        self._deliveries: list[Delivery] = []
        self._failures: dict[str | None, int] = {}
        self._failures_lock = threading.Lock()
        self._changed = threading.Condition()
        self.host = host
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """How this machine reaches it (127.0.0.1 when it listens on every interface)."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}/webhook"

    @property
    def container_url(self) -> str:
        """How LocalStack's Lambda containers reach it (when it listens where they can)."""
        return f"http://{CONTAINER_HOST}:{self.port}/webhook"

    @property
    def loopback_only(self) -> bool:
        return self.host in LOOPBACK_HOSTS

    @property
    def deliveries(self) -> list[Delivery]:
        with self._changed:
            return list(self._deliveries)

    def start(self) -> "Receiver":
        self._thread = threading.Thread(target=self._server.serve_forever, name="receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> "Receiver":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Delivery]:
        """Block until at least `count` deliveries arrived; raise TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._deliveries) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(self._deliveries)} of {count} deliveries after {timeout} s")
                self._changed.wait(remaining)
            return list(self._deliveries)

    def add_secret(self, secret: str) -> None:
        """Also verify with `secret` (a receiver is often started before its subscription exists)."""
        self.webhooks.append(Webhook(secret))

    def verify(self, body: bytes, headers: dict[str, str]) -> bool | None:
        """True if any configured secret verifies the signature; None when no secret is configured."""
        if not self.webhooks:
            return None
        for webhook in self.webhooks:
            try:
                webhook.verify(body, headers, json_parse=False)
            except (WebhookVerificationError, ValueError):
                continue
            return True
        return False

    def status(self) -> dict[str, Any]:
        """Counts of what arrived so far and the faults in force (the control endpoint's answer)."""
        deliveries = self.deliveries
        by_status: dict[str, int] = {}
        for delivery in deliveries:
            by_status[str(delivery.status)] = by_status.get(str(delivery.status), 0) + 1
        return {
            "deliveries": len(deliveries),
            "verified": sum(1 for delivery in deliveries if delivery.verified),
            "unique_webhook_ids": len({delivery.webhook_id for delivery in deliveries}),
            "by_status": by_status,
            "faults": asdict(self.faults),
        }

    def answer(
        self, verified: bool | None, faults: Faults | None = None, webhook_id: str | None = None
    ) -> int:
        """The status for a delivery: 401 bad signature, 410 gone, 500 at `fail_rate`, else `status`/200.

        `faults` are the ones in force when the request arrived (default: the current ones).
        """
        faults = faults or self.faults
        if verified is False:
            return HTTPStatus.UNAUTHORIZED.value
        if faults.gone:
            return HTTPStatus.GONE.value
        if faults.fail_rate and self._fails(faults, webhook_id):
            return HTTPStatus.INTERNAL_SERVER_ERROR.value
        return faults.status or HTTPStatus.OK.value

    def _fails(self, faults: Faults, webhook_id: str | None) -> bool:
        with self._failures_lock:
            failed = self._failures.get(webhook_id, 0)
            if faults.max_failures_per_id is not None and failed >= faults.max_failures_per_id:
                return False
            if self._rng.random() >= faults.fail_rate:
                return False
            self._failures[webhook_id] = failed + 1
            return True

    def _record(self, delivery: Delivery) -> None:
        with self._changed:
            self._deliveries.append(delivery)
            self._changed.notify_all()
        if self._say is not None:
            self._say(delivery.summary())

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in two writes; without TCP_NODELAY delayed ACKs add ~40 ms each.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                if self.path.rstrip("/") != CONTROL_PATH:
                    self._reply(HTTPStatus.NOT_FOUND, {"error": f"webhooks are POSTed; GET {CONTROL_PATH}"})
                    return
                self._reply(HTTPStatus.OK, receiver.status())

            def do_PUT(self) -> None:
                if self.path.rstrip("/") != f"{CONTROL_PATH}/faults":
                    self._reply(HTTPStatus.NOT_FOUND, {"error": f"PUT {CONTROL_PATH}/faults"})
                    return
                document = self._control_document()
                if document is None:
                    return
                try:
                    receiver.faults = Faults(**document)
                except (TypeError, ValueError) as exc:
                    self._reply(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
                    return
                self._reply(HTTPStatus.OK, receiver.status())

            def _control_document(self) -> dict[str, Any] | None:
                length = _content_length(self.headers.get("content-length"))
                if length is None or length > MAX_CONTROL_BYTES:
                    self._reply(HTTPStatus.BAD_REQUEST, {"error": "bad content-length"}, close=True)
                    return None
                try:
                    document = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    document = None
                if not isinstance(document, dict):
                    self._reply(HTTPStatus.BAD_REQUEST, {"error": "expected a JSON object"})
                    return None
                return document

            def _add_secret(self) -> None:
                document = self._control_document()
                if document is None:
                    return
                try:
                    receiver.add_secret(str(document["secret"]))
                except (KeyError, ValueError, TypeError) as exc:
                    self._reply(
                        HTTPStatus.BAD_REQUEST, {"error": f"expected {{'secret': 'whsec_...'}}: {exc}"}
                    )
                    return
                self._reply(HTTPStatus.OK, receiver.status())

            def do_POST(self) -> None:
                if self.path.rstrip("/") == f"{CONTROL_PATH}/secrets":
                    self._add_secret()
                    return
                length = _content_length(self.headers.get("content-length"))
                if length is None:
                    self._reply(HTTPStatus.BAD_REQUEST, {"error": "bad content-length"}, close=True)
                    return
                if length > MAX_BODY_BYTES:
                    self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "body too large"}, close=True)
                    return
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                # A request that hangs is answered as the faults were when it arrived.
                faults = receiver.faults
                if faults.latency:
                    time.sleep(faults.latency)
                verified = receiver.verify(body, headers)
                status = receiver.answer(verified, faults, headers.get("webhook-id"))
                receiver._record(
                    Delivery(
                        webhook_id=headers.get("webhook-id"),
                        event_type=_event_type(body),
                        verified=verified,
                        status=status,
                        body=body,
                        headers=headers,
                    )
                )
                self._reply(status, {"status": status, "verified": verified})

            def _reply(self, status: int, document: dict[str, Any], *, close: bool = False) -> None:
                payload = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                if close:
                    self.send_header("connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Silenced: each delivery is reported once through `say`."""

        return Handler


def _content_length(header: str | None) -> int | None:
    if header is None:
        return 0
    return int(header) if header.strip().isdigit() else None


def _event_type(body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    value = document.get("type") if isinstance(document, dict) else None
    return value if isinstance(value, str) else None
