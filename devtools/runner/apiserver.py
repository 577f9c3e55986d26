"""The local API server: HTTP requests become API Gateway HTTP API (payload v2) events.

It does what `sam local start-api` does for the ingest function, in-process: build the event,
call the handler with a Lambda-like context, and turn its proxy response back into HTTP.
"""

import base64
import json
import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from devtools.runner.lambda_context import LocalLambdaContext
from devtools.runner.mappings import FunctionSpec
from devtools.template import ACCOUNT_ID

if TYPE_CHECKING:
    from devtools.runner.host import FunctionHost, Invocation

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
# API Gateway rejects bodies over 10 MB; a synchronous Lambda invoke caps the event at 6 MB.
MAX_REQUEST_BYTES = 6 * 1024 * 1024
TEXT_TYPES = ("application/json", "application/problem+json", "text/", "application/x-www-form-urlencoded")


def http_api_event(
    method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str
) -> dict[str, Any]:
    """An API Gateway HTTP API payload v2 event for the `ANY /{proxy+}` route."""
    parts = urlsplit(target)
    query: dict[str, list[str]] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        query.setdefault(key, []).append(value)
    lowered = {key.lower(): value for key, value in headers.items()}
    content_type = lowered.get("content-type", "")
    is_text = not body or content_type.startswith(TEXT_TYPES) or not content_type
    try:
        text_body = body.decode() if is_text else None
    except UnicodeDecodeError:
        text_body = None
    now = datetime.now(UTC)
    return {
        "version": "2.0",
        "routeKey": "ANY /{proxy+}",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "cookies": [c.strip() for c in lowered["cookie"].split(";")] if "cookie" in lowered else None,
        "headers": lowered,
        "queryStringParameters": {key: ",".join(values) for key, values in query.items()} or None,
        "pathParameters": {"proxy": parts.path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "ANY /{proxy+}",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "body": (text_body if text_body is not None else base64.b64encode(body).decode()) if body else None,
        "isBase64Encoded": bool(body) and text_body is None,
    }


class _RequestHandler(BaseHTTPRequestHandler):
    server: "LocalApiServer"
    protocol_version = "HTTP/1.1"
    # Without TCP_NODELAY, headers and body leave in two segments and delayed ACKs add ~40 ms.
    disable_nagle_algorithm = True

    def _dispatch(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_REQUEST_BYTES:
            self._reply(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                {"content-type": "application/problem+json"},
                json.dumps(
                    {
                        "type": "https://triggers.dev/problems/payload-too-large",
                        "title": "Payload too large",
                        "status": 413,
                        "detail": f"request exceeds {MAX_REQUEST_BYTES} bytes",
                    }
                ).encode(),
            )
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        headers = {key: ", ".join(self.headers.get_all(key) or []) for key in self.headers}
        event = http_api_event(self.command, self.path, headers, body, self.client_address[0])
        context = LocalLambdaContext(self.server.function_name, timeout_seconds=self.server.timeout_seconds)
        response = self.server.invoke(event, context)
        payload = response.get("body") or ""
        raw = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
        headers_out = {key.lower(): str(value) for key, value in (response.get("headers") or {}).items()}
        self._reply(int(response.get("statusCode", 200)), headers_out, raw, response.get("cookies") or [])

    def _reply(
        self, status: int, headers: dict[str, str], body: bytes, cookies: list[str] | None = None
    ) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key not in ("content-length", "connection"):
                self.send_header(key, value)
        for cookie in cookies or []:
            self.send_header("set-cookie", cookie)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def __getattr__(self, name: str) -> Callable[[], None]:
        # `ANY /{proxy+}` hands every method to the function, which answers 405 for the ones it lacks.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        self.server.access_log(f"{self.address_string()} {format % args}")


class LocalApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: Handler,
        function_name: str,
        timeout_seconds: float = 10.0,
        access_log: Callable[[str], None] = lambda line: None,
        concurrency: int = 1,
    ) -> None:
        super().__init__(address, _RequestHandler)
        self.handler = handler
        self.function_name = function_name
        self.timeout_seconds = timeout_seconds
        self.access_log = access_log
        # Powertools' resolver keeps the current event on the module-level `app`, as one Lambda
        # execution environment does: an in-process handler runs one invocation at a time. A
        # handler backed by `ExecutionEnvironments` takes as many at once as it has environments.
        self._slots = threading.BoundedSemaphore(concurrency)

    def invoke(self, event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        started = time.monotonic()
        try:
            with self._slots:
                return self.handler(event, context)
        finally:
            elapsed = (time.monotonic() - started) * 1000
            self.access_log(
                f"{event['requestContext']['http']['method']} {event['rawPath']} {elapsed:.1f} ms"
            )

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="local-api", daemon=True)
        thread.start()
        return thread


def gateway_response(invocation: "Invocation") -> dict[str, Any]:
    """The proxy response of an invocation; what API Gateway answers when the function failed."""
    if invocation.function_error or not isinstance(invocation.response, dict):
        return {
            "statusCode": 500,
            "headers": {"content-type": "application/json"},
            "body": '{"message":"Internal Server Error"}',
        }
    return invocation.response


class ExecutionEnvironments:
    """`count` worker processes hosting one function: Lambda's concurrent execution environments.

    Each process imports the handler once (its own Powertools resolver, logger and clients), runs
    one invocation at a time and ships its Lambda-style logs to CloudWatch Logs on the AWS
    endpoint. Processes are spawned (not forked: the stack's threads hold locks) and inherit the
    environment the stack configured; the main module must therefore be safe to import (an
    `if __name__ == "__main__"` guard, as console scripts and pytest have). Pass `invoke` as a
    LocalApiServer handler with `concurrency=count`.
    """

    def __init__(self, function: FunctionSpec, aws_endpoint: str, count: int) -> None:
        self.count = count
        self._pids: list[int] = []
        self._pool = ProcessPoolExecutor(
            max_workers=count,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_environment,
            initargs=(function, aws_endpoint),
        )

    def start(self, timeout: float = 120.0) -> "ExecutionEnvironments":
        """Spawn every environment and wait until each has imported its handler (the cold starts)."""
        deadline = time.monotonic() + timeout
        ready: set[int] = set()
        while len(ready) < self.count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(ready)} of {self.count} execution environments ready")
            futures = [self._pool.submit(_environment_pid) for _ in range(self.count)]
            ready.update(future.result(timeout=max(1.0, deadline - time.monotonic())) for future in futures)
        self._pids = sorted(ready)
        return self

    @property
    def pids(self) -> list[int]:
        """The environments' process ids, once started."""
        return list(self._pids)

    def invoke(self, event: dict[str, Any], _context: Any) -> dict[str, Any]:
        return self._pool.submit(_invoke_in_environment, event).result()

    def stop(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


_environment: "FunctionHost | None" = None


def _start_environment(function: FunctionSpec, aws_endpoint: str) -> None:
    from devtools.runner.cloudwatch import LogShipper
    from devtools.runner.host import FunctionHost, LambdaLogs, load_handler, local_client

    global _environment
    handler = load_handler(function.handler)
    if handler is None:
        raise RuntimeError(f"handler {function.handler} does not exist")
    shipper = LogShipper(local_client("logs", aws_endpoint))
    shipper.start()
    _environment = FunctionHost(function, handler, LambdaLogs(shipper, say=lambda line: None))


def _environment_pid() -> int:
    time.sleep(0.05)  # hold this environment so the next submissions start the others
    return os.getpid()


def _invoke_in_environment(event: dict[str, Any]) -> dict[str, Any]:
    if _environment is None:
        raise RuntimeError("execution environment not started")
    return gateway_response(_environment.invoke(event))
