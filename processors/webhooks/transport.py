"""HTTP POST to a checked address: pinned IP, SNI/certificate checks on the original host,
no redirects, connect/read timeouts, an overall deadline and a capped response read."""

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import urllib3
from urllib3.exceptions import HTTPError

from ingest.core.ssrf import ResolvedTarget

MAX_POOLS = 256
CHUNK_BYTES = 1024


@dataclass(frozen=True)
class TransportSettings:
    connect_timeout: float
    read_timeout: float
    response_cap: int
    max_connections_per_host: int

    @property
    def deadline_seconds(self) -> float:
        return self.connect_timeout + self.read_timeout


@dataclass(frozen=True)
class Response:
    """What came back: a status and at most `response_cap` bytes of body, or an error."""

    status_code: int | None
    latency_ms: int
    body: str = ""
    retry_after: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def failure_kind(self) -> str | None:
        """A loggable summary (never the response body): the error type or the HTTP status."""
        if self.error is not None:
            return self.error.split(":", 1)[0]
        return None if self.ok else f"HTTP {self.status_code}"


PoolKey = tuple[str, str, int, str]


class Sender:
    """Keeps one bounded connection pool per (scheme, address, port, host): the per-host limit."""

    def __init__(self, settings: TransportSettings) -> None:
        self.settings = settings
        self._pools: OrderedDict[PoolKey, urllib3.HTTPConnectionPool] = OrderedDict()
        self._lock = threading.Lock()

    def _pool(self, target: ResolvedTarget) -> urllib3.HTTPConnectionPool:
        key = (target.scheme, target.address, target.port, target.host)
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            timeout = urllib3.Timeout(connect=self.settings.connect_timeout, read=self.settings.read_timeout)
            common = {
                "port": target.port,
                "maxsize": self.settings.max_connections_per_host,
                "block": True,
                "timeout": timeout,
                "retries": False,
            }
            if target.scheme == "https":
                pool = urllib3.HTTPSConnectionPool(
                    target.address,
                    server_hostname=target.host,
                    assert_hostname=target.host,
                    cert_reqs="CERT_REQUIRED",
                    **common,  # type: ignore[arg-type]
                )
            else:
                pool = urllib3.HTTPConnectionPool(target.address, **common)  # type: ignore[arg-type]
            self._pools[key] = pool
            if len(self._pools) > MAX_POOLS:
                _, evicted = self._pools.popitem(last=False)
                evicted.close()
            return pool

    def post(self, target: ResolvedTarget, body: bytes, headers: dict[str, str]) -> Response:
        started = time.monotonic()
        deadline = started + self.settings.deadline_seconds
        pool = self._pool(target)
        try:
            response = pool.urlopen(
                "POST",
                target.path,
                body=body,
                headers={**headers, "host": target.host_header},
                redirect=False,
                retries=False,
                assert_same_host=False,
                preload_content=False,
                pool_timeout=math.ceil(self.settings.deadline_seconds),
            )
        except HTTPError as exc:
            return Response(None, _elapsed_ms(started), error=_describe(exc))
        try:
            data, complete = self._read_capped(response, deadline)
        except HTTPError as exc:
            response.close()
            response.release_conn()
            return Response(response.status, _elapsed_ms(started), error=_describe(exc))
        if not complete:
            response.close()
        response.release_conn()
        return Response(
            response.status,
            _elapsed_ms(started),
            body=data.decode("utf-8", errors="replace"),
            retry_after=response.headers.get("retry-after"),
        )

    def _read_capped(self, response: urllib3.BaseHTTPResponse, deadline: float) -> tuple[bytes, bool]:
        """Up to `response_cap` bytes; complete=False when more remained or the deadline passed."""
        cap = self.settings.response_cap
        data = b""
        while len(data) <= cap:
            if time.monotonic() > deadline:
                return data[:cap], False
            chunk = response.read(min(CHUNK_BYTES, cap + 1 - len(data)))
            if not chunk:
                return data, True
            data += chunk
        return data[:cap], False

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
