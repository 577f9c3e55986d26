"""Lambda-style logs for in-process invocations: capture per invocation, ship to CloudWatch Logs.

Every function hosted by the local stack logs through the one Powertools logger of
`ingest.core.observability`, from several threads at once. Two things make that look like
separate Lambda functions:

- `ThreadLocalFormatter` gives each thread its own set of appended keys, so `service`,
  the Lambda context keys and correlation ids set by one invocation never reach another;
- `InvocationCapture` (a logging.Handler) sends each record logged on a thread that is
  running an invocation to that invocation's log stream, formatted by Powertools.

`LogShipper` puts those lines into `/aws/lambda/<function>` on the moto server from a
background thread, so `awslocal logs tail --follow` shows them within about a second.
"""

import logging
import queue
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter, clear_context_keys
from botocore.exceptions import BotoCoreError, ClientError

_log = logging.getLogger(__name__)

# put_log_events limits: 10,000 events and 1 MiB (+26 bytes per event) per call.
MAX_EVENTS_PER_PUT = 10_000
MAX_BYTES_PER_PUT = 1_000_000


# State lives in context variables, per invocation rather than per thread: a handler's worker
# threads run in a copy of the invoking thread's context (processors submit with
# contextvars.copy_context().run), so their lines carry the invocation's keys and reach its log
# stream, as they would in a Lambda execution environment. One set of variables per instance.


class ThreadLocalFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter whose appended keys belong to the calling invocation's context."""

    def __init__(self, base: LambdaPowertoolsFormatter) -> None:
        shared = dict(base.log_format)
        self.__dict__.update({key: value for key, value in base.__dict__.items() if key != "log_format"})
        self._shared = shared
        self._keys: ContextVar[dict[str, Any] | None] = ContextVar(f"log_keys_{id(self)}", default=None)
        self._service: ContextVar[str | None] = ContextVar(f"log_service_{id(self)}", default=None)

    @property
    def log_format(self) -> dict[str, Any]:
        keys = self._keys.get()
        if keys is None:
            keys = dict(self._shared)
            self._keys.set(keys)
        return keys

    @log_format.setter
    def log_format(self, value: dict[str, Any]) -> None:
        self._keys.set(value)

    def reset_thread(self, service: str | None = None) -> None:
        """Start this context over from the shared keys (a new invocation), logging as `service`."""
        self._keys.set(dict(self._shared))
        self._service.set(service)
        clear_context_keys()

    def _extract_log_keys(self, log_record: logging.LogRecord) -> dict[str, Any]:
        # The function's service wins even over `clear_state=True`, which restores the
        # logger's import-time service; in Lambda that would be the function's own.
        keys = super()._extract_log_keys(log_record)
        service = self._service.get()
        if service:
            keys["service"] = service
        return keys


def thread_local_formatter(logger: Logger) -> ThreadLocalFormatter:
    """Install (once) and return a ThreadLocalFormatter on the Powertools logger's handler."""
    handler = logger.registered_handler
    formatter = handler.formatter
    if isinstance(formatter, ThreadLocalFormatter):
        return formatter
    if not isinstance(formatter, LambdaPowertoolsFormatter):
        raise TypeError(f"logger {logger.name} does not use the Powertools formatter")
    local = ThreadLocalFormatter(formatter)
    handler.setFormatter(local)
    return local


class InvocationCapture(logging.Handler):
    """Sends each line logged in an invocation's context (its thread and its workers) to its sink."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self._sink: ContextVar[Callable[[int, str], None] | None] = ContextVar(
            f"log_sink_{id(self)}", default=None
        )

    @contextmanager
    def capture(self, sink: Callable[[int, str], None]) -> Iterator[None]:
        """Within the block, lines logged in this context go to `sink(timestamp_ms, line)`."""
        token = self._sink.set(sink)
        try:
            yield
        finally:
            self._sink.reset(token)

    def emit(self, record: logging.LogRecord) -> None:
        sink = self._sink.get()
        if sink is None:
            return
        try:
            sink(int(record.created * 1000), self.format(record))
        except Exception:  # logging handlers must not raise into the caller
            self.handleError(record)


def log_stream_name() -> str:
    """A Lambda-like stream name, one per runner instance: `2026/11/25/[$LATEST]<hex>`."""
    return f"{time.strftime('%Y/%m/%d', time.gmtime())}/[$LATEST]{uuid.uuid4().hex}"


class LogShipper:
    """Ships (group, stream, timestamp_ms, message) lines to CloudWatch Logs in batches."""

    def __init__(self, logs_client: Any, flush_interval: float = 0.3) -> None:
        self._client = logs_client
        self._flush_interval = flush_interval
        self._queue: queue.Queue[tuple[str, str, int, str]] = queue.Queue()
        self._stop = threading.Event()
        self._created: set[tuple[str, str]] = set()
        self._thread = threading.Thread(target=self._run, name="esm-log-shipper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def put(self, group: str, stream: str, timestamp_ms: int, message: str) -> None:
        self._queue.put((group, stream, timestamp_ms, message))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._stop.wait(self._flush_interval)
            self.flush()
        self.flush()

    def flush(self) -> None:
        pending: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
        while True:
            try:
                group, stream, timestamp, message = self._queue.get_nowait()
            except queue.Empty:
                break
            pending[(group, stream)].append((timestamp, message))
        for (group, stream), events in pending.items():
            try:
                self._put(group, stream, events)
            except (BotoCoreError, ClientError):
                _log.exception("could not ship %d log lines to %s", len(events), group)

    def _put(self, group: str, stream: str, events: list[tuple[int, str]]) -> None:
        self._ensure(group, stream)
        events.sort(key=lambda event: event[0])
        for chunk in _chunks(events):
            self._client.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[{"timestamp": timestamp, "message": message} for timestamp, message in chunk],
            )

    def _ensure(self, group: str, stream: str) -> None:
        if (group, stream) in self._created:
            return
        for create in (
            lambda: self._client.create_log_group(logGroupName=group),
            lambda: self._client.create_log_stream(logGroupName=group, logStreamName=stream),
        ):
            _create_if_missing(create)
        self._created.add((group, stream))


def _create_if_missing(create: Callable[[], Any]) -> None:
    try:
        create()
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise


def _chunks(events: list[tuple[int, str]]) -> Iterator[list[tuple[int, str]]]:
    chunk: list[tuple[int, str]] = []
    size = 0
    for event in events:
        event_size = len(event[1].encode()) + 26
        if chunk and (len(chunk) >= MAX_EVENTS_PER_PUT or size + event_size > MAX_BYTES_PER_PUT):
            yield chunk
            chunk, size = [], 0
        chunk.append(event)
        size += event_size
    if chunk:
        yield chunk
