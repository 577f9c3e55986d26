"""The local API server: HTTP requests become API Gateway HTTP API (payload v2) events.

It does what `sam local start-api` does for the ingest function, in-process: build the event,
call the handler with a Lambda-like context, and turn its proxy response back into HTTP.
"""

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from devtools.lambda_context import LocalLambdaContext
from devtools.template import ACCOUNT_ID

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
    ) -> None:
        super().__init__(address, _RequestHandler)
        self.handler = handler
        self.function_name = function_name
        self.timeout_seconds = timeout_seconds
        self.access_log = access_log
        # Powertools' resolver keeps the current event on the module-level `app`, as one Lambda
        # execution environment does: invocations run one at a time, like a single instance.
        self._invoke_lock = threading.Lock()

    def invoke(self, event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        started = time.monotonic()
        try:
            with self._invoke_lock:
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
