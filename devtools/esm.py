"""The local event source mapping runner: what Lambda's pollers do, for the embedded stack.

One daemon thread per mapping of template.yaml polls its DynamoDB stream or SQS queue on the
moto server with boto3 and invokes the function's handler in-process with a Lambda context,
honouring the mapping's settings (see docs/local-esm-runner.md). Mappings are never created
in moto: moto would invoke Lambdas through Docker and clear the stream.
"""

import importlib
import json
import logging
import math
import os
import resource
import tempfile
import threading
import time
import traceback
import uuid
from abc import ABC, abstractmethod
from base64 import b64encode
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from devtools.cloudwatch import (
    InvocationCapture,
    LogShipper,
    ThreadLocalFormatter,
    log_stream_name,
    thread_local_formatter,
)
from devtools.esm_filters import matches_any, sqs_filter_view, validate
from devtools.lambda_context import LocalLambdaContext, invoked_function
from devtools.mappings import MappingSpec
from devtools.template import ACCOUNT_ID, REGION

_log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]
Say = Callable[[str], None]
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=10)
# get_records returns at most 1,000 records; the buffer holds what was read but not yet processed.
MAX_BUFFERED_RECORDS = 1000


class MappingImportError(RuntimeError):
    """A mapping's handler exists but cannot be imported (a bug to fix, not a module to wait for)."""


@dataclass(frozen=True)
class Tuning:
    """Pacing of the pollers; tests shorten it."""

    poll_interval: float = 0.25  # Lambda polls a stream shard 4 times a second
    retry_base_delay: float = 0.5  # backoff before a failed batch is retried, doubling per retry
    retry_max_delay: float = 10.0
    sqs_wait_seconds: int = 1  # long poll, short enough for a quick shutdown
    stop_timeout: float = 15.0


def load_handler(dotted: str) -> Handler | None:
    """The handler function, or None when its module does not exist (yet)."""
    module_name, _, attribute = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            return None
        raise MappingImportError(f"cannot import {module_name}: {exc}") from exc
    except Exception as exc:
        raise MappingImportError(f"cannot import {module_name}: {exc!r}") from exc
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise MappingImportError(f"{module_name} has no callable {attribute!r}")
    return handler


# ---------------------------------------------------------------------------------------------
# Invocation: one handler call with a Lambda context and Lambda-style logs.


@dataclass
class Invocation:
    request_id: str
    response: Any = None
    error: BaseException | None = None
    timed_out: bool = False

    @property
    def function_error(self) -> bool:
        return self.error is not None or self.timed_out


class HostedFunction(Protocol):
    """What hosting needs of a function: MappingSpec and FunctionSpec both qualify."""

    @property
    def function_name(self) -> str: ...
    @property
    def timeout_seconds(self) -> float: ...
    @property
    def memory_mb(self) -> int: ...
    @property
    def service_name(self) -> str: ...


class FunctionHost:
    """Runs one function's handler in-process and writes its logs as Lambda would."""

    def __init__(self, spec: HostedFunction, handler: Handler, logs: "LambdaLogs") -> None:
        self.spec = spec
        self.handler = handler
        self.logs = logs
        self.log_group = f"/aws/lambda/{spec.function_name}"
        self.log_stream = log_stream_name()

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.spec.function_name}"

    def invoke(self, event: dict[str, Any]) -> Invocation:
        spec = self.spec
        context = LocalLambdaContext(
            function_name=spec.function_name,
            memory_limit_in_mb=spec.memory_mb,
            timeout_seconds=spec.timeout_seconds,
        )
        invocation = Invocation(request_id=context.aws_request_id)
        self._line(f"START RequestId: {invocation.request_id} Version: $LATEST")
        self.logs.formatter.reset_thread(service=spec.service_name)
        started = time.perf_counter()
        token = invoked_function.set(spec.function_name)
        with self.logs.capture.capture(self._handler_line):
            try:
                invocation.response = self.handler(event, context)
            except Exception as exc:
                invocation.error = exc
            finally:
                invoked_function.reset(token)
        elapsed = time.perf_counter() - started
        self.logs.formatter.reset_thread()
        if invocation.error is not None:
            self._line(_error_text(invocation.error))
        elif elapsed > spec.timeout_seconds:
            invocation.timed_out = True
            self._line(f"Task timed out after {spec.timeout_seconds:.2f} seconds")
        duration_ms = elapsed * 1000
        self._line(f"END RequestId: {invocation.request_id}")
        self._line(
            f"REPORT RequestId: {invocation.request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {spec.memory_mb} MB\t"
            f"Max Memory Used: {_max_rss_mb()} MB"
        )
        return invocation

    def _handler_line(self, timestamp_ms: int, line: str) -> None:
        self.logs.ship(self.log_group, self.log_stream, line, timestamp_ms)

    def _line(self, text: str) -> None:
        self.logs.ship(self.log_group, self.log_stream, text)
        self.logs.say(f"[{self.spec.function_name}] {text.splitlines()[0]}")


def _error_text(error: BaseException) -> str:
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return f"[ERROR] {type(error).__name__}: {error}\n{trace}"


def _max_rss_mb() -> int:
    """Peak resident memory of this process (every local function shares it), in MB."""
    return math.ceil(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


@dataclass
class LambdaLogs:
    """Shared log plumbing: per-thread Powertools keys, per-invocation capture, shipping."""

    shipper: LogShipper
    say: Say
    formatter: ThreadLocalFormatter = field(init=False)
    capture: InvocationCapture = field(init=False)

    def __post_init__(self) -> None:
        from ingest.core.observability import logger

        self.logger_name = logger.name
        self.formatter = thread_local_formatter(logger)
        self.capture = InvocationCapture(self.formatter)
        logger.addHandler(self.capture)

    def ship(self, group: str, stream: str, message: str, timestamp_ms: int | None = None) -> None:
        self.shipper.put(group, stream, timestamp_ms or int(time.time() * 1000), message)

    def close(self) -> None:
        logging.getLogger(self.logger_name).removeHandler(self.capture)


# ---------------------------------------------------------------------------------------------
# Checkpoints: the last fully processed sequence number per (function, stream, shard).


class CheckpointStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()

    def _path(self, spec: MappingSpec) -> Path:
        return self.directory / f"{spec.function_name}--{spec.source_name}.json"

    def load(self, spec: MappingSpec, stream_arn: str) -> dict[str, str]:
        """Shard id -> sequence number; empty when the checkpoint is of another stream."""
        path = self._path(spec)
        try:
            saved = json.loads(path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError:
            _log.warning("ignoring unreadable checkpoint %s", path)
            return {}
        if saved.get("streamArn") != stream_arn:
            _log.warning(
                "checkpoint %s is for stream %s, now %s: starting at %s",
                path.name,
                saved.get("streamArn"),
                stream_arn,
                spec.starting_position,
            )
            return {}
        return {str(shard): str(sequence) for shard, sequence in saved.get("shards", {}).items()}

    def save(self, spec: MappingSpec, stream_arn: str, shard_id: str, sequence: str) -> None:
        with self._lock:
            shards = self.load(spec, stream_arn)
            shards[shard_id] = sequence
            self.directory.mkdir(parents=True, exist_ok=True)
            content = json.dumps({"streamArn": stream_arn, "shards": shards}, indent=2)
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".checkpoint-")
            try:
                with os.fdopen(handle, "w") as file:
                    file.write(content)
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temporary, self._path(spec))
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise


# ---------------------------------------------------------------------------------------------
# Responses: what a handler's return value means for the batch.


def failed_items(response: Any, identifiers: list[str]) -> list[int]:
    """Sorted indexes of the items a batch response reports as failed; ValueError if unusable."""
    if response is None:
        return []
    if not isinstance(response, dict):
        raise ValueError(f"response is a {type(response).__name__}, not an object")
    failures = response.get("batchItemFailures")
    if failures is None:
        return []
    if not isinstance(failures, list):
        raise ValueError("batchItemFailures is not a list")
    positions = {identifier: index for index, identifier in enumerate(identifiers)}
    failed: set[int] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in positions:
            raise ValueError(f"itemIdentifier {identifier!r} is not in the batch")
        failed.add(positions[identifier])
    return sorted(failed)


def _iso(epoch_seconds: float, milliseconds: bool = False) -> str:
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    if milliseconds:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_safe(value: Any) -> Any:
    """boto3 gives binary attributes as bytes; Lambda events carry them base64-encoded."""
    if isinstance(value, bytes | bytearray):
        return b64encode(value).decode()
    if isinstance(value, dict):
        return {key: _json_safe(inner) for key, inner in value.items()}
    if isinstance(value, list | set | tuple):
        return [_json_safe(inner) for inner in value]
    return value


# ---------------------------------------------------------------------------------------------
# DynamoDB Streams.


def lambda_stream_record(raw: dict[str, Any], stream_arn: str) -> tuple[dict[str, Any], float]:
    """A DynamoDB Streams GetRecords record as Lambda delivers it, and its creation time (epoch s)."""
    stream_record = dict(raw["dynamodb"])
    created = stream_record.get("ApproximateCreationDateTime")
    created_at = created.timestamp() if isinstance(created, datetime) else float(created or time.time())
    stream_record["ApproximateCreationDateTime"] = float(int(created_at))
    record = _json_safe(
        {
            "eventID": raw["eventID"],
            "eventName": raw["eventName"],
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": raw.get("awsRegion", REGION),
            "dynamodb": stream_record,
            "eventSourceARN": stream_arn,
        }
    )
    return record, created_at


@dataclass
class Buffered:
    record: dict[str, Any]
    sequence: int
    created: float  # epoch seconds
    matched: bool
    read_at: float  # monotonic


@dataclass
class ShardConsumer:
    """Reads one shard, batches matching records and processes them in order."""

    poller: "StreamPoller"
    stream_arn: str
    shard_id: str
    iterator: str | None
    checkpoint: str | None = None
    buffer: deque[Buffered] = field(default_factory=deque)
    next_read_at: float = 0.0
    retry_at: float = 0.0
    retries: int = 0
    invocations: int = 0
    batch_limit: int | None = None
    last_invocation: Invocation | None = None

    @property
    def finished(self) -> bool:
        return self.iterator is None and not self.buffer

    def step(self) -> bool:
        """Do one unit of work; False when there was nothing to do yet."""
        did_read = self._read()
        self._drop_unmatched_head()
        now = time.monotonic()
        if now < self.retry_at:
            return did_read
        batch = self._batch()
        if not batch:
            return did_read
        spec = self.poller.spec
        window = spec.maximum_batching_window_seconds
        if (
            len(batch) < min(spec.batch_size, self.batch_limit or spec.batch_size)
            and self.iterator is not None
            and now - batch[0].read_at < window
        ):
            return did_read
        self._process(batch)
        return True

    def _read(self) -> bool:
        if self.iterator is None or len(self.buffer) >= MAX_BUFFERED_RECORDS:
            return False
        if time.monotonic() < self.next_read_at:
            return False
        streams = self.poller.clients.streams
        response = streams.get_records(ShardIterator=self.iterator, Limit=MAX_BUFFERED_RECORDS)
        records = response.get("Records", [])
        next_iterator = response.get("NextShardIterator")
        # An empty read leaves the position unchanged; reusing the iterator keeps moto from
        # storing a new iterator object for every idle poll (it never expires them).
        if records or next_iterator is None:
            self.iterator = next_iterator
        now = time.monotonic()
        for raw in records:
            self.buffer.append(self.poller.buffered(raw, self.stream_arn, now))
        self.next_read_at = now if records else now + self.poller.tuning.poll_interval
        return bool(records)

    def _drop_unmatched_head(self) -> None:
        last: Buffered | None = None
        while self.buffer and not self.buffer[0].matched:
            last = self.buffer.popleft()
        if last is not None:
            self._commit(last.sequence)

    def _batch(self) -> list[Buffered]:
        size = min(self.poller.spec.batch_size, self.batch_limit or self.poller.spec.batch_size)
        batch: list[Buffered] = []
        for item in self.buffer:
            if item.matched:
                batch.append(item)
                if len(batch) == size:
                    break
        return batch

    def _process(self, batch: list[Buffered]) -> None:
        spec = self.poller.spec
        if spec.maximum_record_age_seconds >= 0:
            oldest_allowed = time.time() - spec.maximum_record_age_seconds
            expired = [index for index, item in enumerate(batch) if item.created < oldest_allowed]
            if expired:
                self._discard(batch[: expired[-1] + 1], "RecordAgeExceeded")
                return
        invocation = self.poller.host.invoke({"Records": [item.record for item in batch]})
        self.invocations += 1
        self.last_invocation = invocation
        if invocation.function_error:
            if spec.bisect_batch_on_function_error and len(batch) > 1:
                self.batch_limit = len(batch) // 2
                return
            self._retry_or_discard(batch)
            return
        failed: list[int] = []
        if spec.reports_batch_item_failures:
            identifiers = [item.record["dynamodb"]["SequenceNumber"] for item in batch]
            try:
                failed = failed_items(invocation.response, identifiers)
            except ValueError as exc:
                self.poller.say(f"[{spec.function_name}] unusable batch response ({exc}): whole batch failed")
                self._retry_or_discard(batch)
                return
        if not failed:
            self._advance(batch[-1].sequence)
            self._reset()
            return
        first_failed = failed[0]
        if first_failed > 0:
            self._advance(batch[first_failed - 1].sequence)
        self._retry_or_discard(batch[first_failed:])

    def _retry_or_discard(self, batch: list[Buffered]) -> None:
        spec = self.poller.spec
        self.retries += 1
        if 0 <= spec.maximum_retry_attempts < self.retries:
            self._discard(batch, "RetryAttemptsExhausted")
            return
        tuning = self.poller.tuning
        delay = min(tuning.retry_max_delay, tuning.retry_base_delay * 2 ** (self.retries - 1))
        self.retry_at = time.monotonic() + delay

    def _discard(self, batch: list[Buffered], condition: str) -> None:
        self.poller.send_failure(self, batch, condition)
        self._advance(batch[-1].sequence)
        self._reset()

    def _reset(self) -> None:
        self.retries = 0
        self.invocations = 0
        self.batch_limit = None
        self.retry_at = 0.0
        self.last_invocation = None

    def _advance(self, sequence: int) -> None:
        while self.buffer and self.buffer[0].sequence <= sequence:
            self.buffer.popleft()
        self._commit(sequence)

    def _commit(self, sequence: int) -> None:
        self.checkpoint = str(sequence)
        self.poller.checkpoints.save(self.poller.spec, self.stream_arn, self.shard_id, self.checkpoint)


@dataclass
class Clients:
    dynamodb: Any
    streams: Any
    sqs: Any

    @classmethod
    def for_endpoint(cls, endpoint: str) -> "Clients":
        return cls(
            dynamodb=local_client("dynamodb", endpoint),
            streams=local_client("dynamodbstreams", endpoint),
            sqs=local_client("sqs", endpoint),
        )


def local_client(service: str, endpoint: str) -> Any:
    """A boto3 client for the local stack (its fake credentials; never real ones)."""
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - moto's fake credentials
        config=_CLIENT_CONFIG,
    )


class Poller(ABC):
    """A mapping's daemon thread: runs `_poll` until stopped, surviving its own errors."""

    def __init__(
        self,
        spec: MappingSpec,
        host: FunctionHost,
        clients: Clients,
        stop: threading.Event,
        tuning: Tuning,
        say: Say,
    ) -> None:
        self.spec = spec
        self.host = host
        self.clients = clients
        self.stop = stop
        self.tuning = tuning
        self.say = say
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"esm-{spec.function_name}", daemon=True)
        self._failures = 0

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                self._poll()
            except Exception as exc:
                self._failures += 1
                if self._failures == 1:
                    _log.exception("esm: poller of %s failed; restarting it", self.spec.function_name)
                    self.say(f"[{self.spec.function_name}] poller error (see log); retrying every second")
                else:
                    _log.debug("esm: poller of %s still failing: %r", self.spec.function_name, exc)
                self.stop.wait(1.0)

    def _polling(self) -> None:
        """The poller has its source: ready, and no longer failing."""
        if self._failures:
            self.say(f"[{self.spec.function_name}] poller recovered after {self._failures} failures")
            self._failures = 0
        self.ready.set()

    @abstractmethod
    def _poll(self) -> None:
        """Poll the source and invoke the function until `stop` is set."""


class StreamPoller(Poller):
    def __init__(self, *args: Any, checkpoints: CheckpointStore, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.checkpoints = checkpoints
        self._sqs_urls: dict[str, str] = {}

    def _poll(self) -> None:
        table = self.clients.dynamodb.describe_table(TableName=self.spec.source_name)["Table"]
        stream_arn = table.get("LatestStreamArn")
        if not stream_arn:
            raise RuntimeError(f"table {self.spec.source_name} has no stream")
        known: set[str] = set()
        consumers = self._new_consumers(stream_arn, known, self.spec.starting_position or "LATEST")
        self._polling()
        while not self.stop.is_set():
            busy = False
            for consumer in consumers:
                busy = consumer.step() or busy
                if self.stop.is_set():
                    return
            if any(consumer.finished for consumer in consumers):
                consumers = [consumer for consumer in consumers if not consumer.finished]
                consumers += self._new_consumers(stream_arn, known, "TRIM_HORIZON")
            if not busy:
                self.stop.wait(self.tuning.poll_interval)

    def _new_consumers(self, stream_arn: str, known: set[str], position: str) -> list[ShardConsumer]:
        """Consumers for shards not seen yet (moto has one shard; AWS rolls shards over).

        `position` applies to shards without a checkpoint: the starting position at start-up,
        TRIM_HORIZON for children of a closed shard.
        """
        shards = self.clients.streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
        saved = self.checkpoints.load(self.spec, stream_arn)
        consumers: list[ShardConsumer] = []
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id in known:
                continue
            known.add(shard_id)
            checkpoint = saved.get(shard_id)
            iterator = self._iterator(stream_arn, shard_id, checkpoint, position)
            consumers.append(ShardConsumer(self, stream_arn, shard_id, iterator, checkpoint))
        return consumers

    def _iterator(self, stream_arn: str, shard_id: str, checkpoint: str | None, position: str) -> str:
        streams = self.clients.streams
        if checkpoint is not None:
            try:
                return str(
                    streams.get_shard_iterator(
                        StreamArn=stream_arn,
                        ShardId=shard_id,
                        ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                        SequenceNumber=checkpoint,
                    )["ShardIterator"]
                )
            except ClientError as exc:
                _log.warning("checkpoint %s of %s unusable (%s)", checkpoint, shard_id, exc)
        return str(
            streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType=position)[
                "ShardIterator"
            ]
        )

    def buffered(self, raw: dict[str, Any], stream_arn: str, read_at: float) -> Buffered:
        """A stream record as Lambda delivers it, and whether the mapping's filters take it."""
        record, created_at = lambda_stream_record(raw, stream_arn)
        return Buffered(
            record=record,
            sequence=int(record["dynamodb"]["SequenceNumber"]),
            created=created_at,
            matched=matches_any(self.spec.filter_patterns, record),
            read_at=read_at,
        )

    def send_failure(self, consumer: ShardConsumer, batch: list[Buffered], condition: str) -> None:
        """Send the AWS-shaped invocation record of a discarded batch to the OnFailure queue."""
        invocation = consumer.last_invocation
        response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if invocation is not None and invocation.function_error:
            response_context["functionError"] = "Unhandled"
        message = {
            "requestContext": {
                "requestId": invocation.request_id if invocation else str(uuid.uuid4()),
                "functionArn": self.host.function_arn,
                "condition": condition,
                "approximateInvokeCount": consumer.invocations,
            },
            "responseContext": response_context,
            "version": "1.0",
            "timestamp": _iso(time.time(), milliseconds=True),
            "DDBStreamBatchInfo": {
                "shardId": consumer.shard_id,
                "startSequenceNumber": str(batch[0].sequence),
                "endSequenceNumber": str(batch[-1].sequence),
                "approximateArrivalOfFirstRecord": _iso(batch[0].created),
                "approximateArrivalOfLastRecord": _iso(batch[-1].created),
                "batchSize": len(batch),
                "streamArn": consumer.stream_arn,
            },
        }
        self.say(
            f"[{self.spec.function_name}] {condition}: records {batch[0].sequence}..{batch[-1].sequence}"
            f" -> {self.spec.on_failure_arn or 'dropped (no OnFailure destination)'}"
        )
        if self.spec.on_failure_arn:
            self.clients.sqs.send_message(
                QueueUrl=self._queue_url(self.spec.on_failure_arn), MessageBody=json.dumps(message)
            )

    def _queue_url(self, arn: str) -> str:
        if arn not in self._sqs_urls:
            _, _, _, _, account, name = arn.split(":", 5)
            self._sqs_urls[arn] = self.clients.sqs.get_queue_url(
                QueueName=name, QueueOwnerAWSAccountId=account
            )["QueueUrl"]
        return self._sqs_urls[arn]


# ---------------------------------------------------------------------------------------------
# SQS.


class QueuePoller(Poller):
    def _poll(self) -> None:
        sqs = self.clients.sqs
        queue_url = sqs.get_queue_url(QueueName=self.spec.source_name)["QueueUrl"]
        self._polling()
        while not self.stop.is_set():
            messages = self._receive_batch(queue_url)
            if messages:
                self._process(queue_url, messages)

    def _receive_batch(self, queue_url: str) -> list[dict[str, Any]]:
        """Up to BatchSize messages, waiting at most the batching window after the first."""
        spec = self.spec
        messages: list[dict[str, Any]] = []
        first_at = 0.0
        while len(messages) < spec.batch_size and not self.stop.is_set():
            if messages and time.monotonic() - first_at >= spec.maximum_batching_window_seconds:
                break
            response = self.clients.sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=min(10, spec.batch_size - len(messages)),
                WaitTimeSeconds=0 if messages else self.tuning.sqs_wait_seconds,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received = response.get("Messages", [])
            if received and not messages:
                first_at = time.monotonic()
            messages += received
            if messages and not received:
                self.stop.wait(self.tuning.poll_interval)
        return messages

    def _process(self, queue_url: str, messages: list[dict[str, Any]]) -> None:
        """Invoke with the matching messages; delete successes and, as Lambda does, non-matches."""
        records = [self._record(message) for message in messages]
        selected: list[dict[str, Any]] = []
        done: list[dict[str, Any]] = []
        for record in records:
            matched = matches_any(self.spec.filter_patterns, sqs_filter_view(record))
            (selected if matched else done).append(record)
        if selected:
            done += self._succeeded(selected, self.host.invoke({"Records": selected}))
        self._delete(queue_url, done)

    def _succeeded(self, records: list[dict[str, Any]], invocation: Invocation) -> list[dict[str, Any]]:
        """The records to delete; the rest reappear after their visibility timeout."""
        if invocation.function_error:
            return []
        if not self.spec.reports_batch_item_failures:
            return records
        try:
            failed = set(failed_items(invocation.response, [record["messageId"] for record in records]))
        except ValueError as exc:
            self.say(f"[{self.spec.function_name}] unusable batch response ({exc}): whole batch failed")
            return []
        return [record for index, record in enumerate(records) if index not in failed]

    def _delete(self, queue_url: str, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), 10):
            chunk = records[start : start + 10]
            self.clients.sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": record["receiptHandle"]}
                    for index, record in enumerate(chunk)
                ],
            )

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message.get("Body", ""),
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {
                name: _message_attribute(attribute)
                for name, attribute in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody"),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.spec.source_arn,
            "awsRegion": REGION,
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return dict(_json_safe(record))


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """An SQS message attribute as Lambda's SQS event spells it."""
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = value["BinaryValue"]
    attribute["stringListValues"] = value.get("StringListValues", [])
    attribute["binaryListValues"] = value.get("BinaryListValues", [])
    attribute["dataType"] = value["DataType"]
    return attribute


# ---------------------------------------------------------------------------------------------
# The runner.


class EsmRunner:
    """Starts a poller per enabled mapping whose handler exists; stops them all."""

    def __init__(
        self,
        specs: list[MappingSpec],
        aws_endpoint: str,
        state_dir: Path,
        say: Say = lambda line: None,
        tuning: Tuning | None = None,
        logs_client: Any = None,
    ) -> None:
        self.specs = specs
        self.aws_endpoint = aws_endpoint
        self.checkpoints = CheckpointStore(state_dir / "esm-checkpoints")
        self.say = say
        self.tuning = tuning or Tuning()
        self._logs_client = logs_client
        self._stop = threading.Event()
        self.pollers: list[Poller] = []
        self.skipped: list[MappingSpec] = []
        self._shipper: LogShipper | None = None
        self._logs: LambdaLogs | None = None
        self._handlers: list[tuple[MappingSpec, Handler]] = []

    def start(self) -> "EsmRunner":
        handlers: list[tuple[MappingSpec, Handler]] = []
        for spec in self.specs:
            if not spec.enabled:
                self.say(f"esm: {spec.function_name} <- {spec.source_name} is disabled in the template")
                continue
            for pattern in spec.filter_patterns:
                validate(pattern)
            handler = load_handler(spec.handler)
            if handler is None:
                _log.warning(
                    "esm: WARNING %s does not exist; mapping %s <- %s not started",
                    spec.handler,
                    spec.function_name,
                    spec.source_name,
                )
                self.skipped.append(spec)
                continue
            handlers.append((spec, handler))
        logs_client = self._logs_client or local_client("logs", self.aws_endpoint)
        self._shipper = LogShipper(logs_client)
        self._shipper.start()
        self._logs = LambdaLogs(self._shipper, self.say)
        self._handlers = handlers
        self._start_pollers()
        return self

    def _start_pollers(self) -> None:
        assert self._logs is not None
        clients = Clients.for_endpoint(self.aws_endpoint)
        for spec, handler in self._handlers:
            host = FunctionHost(spec, handler, self._logs)
            poller: Poller
            if spec.source_kind == "DynamoDB":
                if spec.parallelization_factor > 1:
                    self.say(
                        f"esm: {spec.function_name}: ParallelizationFactor {spec.parallelization_factor}"
                        " runs as 1 locally (one batch per shard at a time)"
                    )
                poller = StreamPoller(
                    spec, host, clients, self._stop, self.tuning, self.say, checkpoints=self.checkpoints
                )
            else:
                poller = QueuePoller(spec, host, clients, self._stop, self.tuning, self.say)
            self.pollers.append(poller)
            poller.thread.start()
            self.say(f"esm: {spec.function_name} <- {spec.source_kind} {spec.source_name}")

    def host(self, spec: HostedFunction, handler: Handler) -> FunctionHost:
        """Host another function (not behind a mapping) with the same Lambda-style logs."""
        if self._logs is None:
            raise RuntimeError("start the runner before hosting functions on it")
        return FunctionHost(spec, handler, self._logs)

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """Whether every poller has its stream/queue position (LATEST starts from then)."""
        deadline = time.monotonic() + timeout
        return all(poller.ready.wait(max(0.0, deadline - time.monotonic())) for poller in self.pollers)

    def pause(self) -> None:
        """Stop polling once in-flight invocations end; hosted functions keep logging. Checkpoints stay."""
        self._stop.set()
        deadline = time.monotonic() + self.tuning.stop_timeout
        for poller in self.pollers:
            poller.thread.join(max(0.0, deadline - time.monotonic()))
            if poller.thread.is_alive():
                _log.warning("esm: %s still running its invocation at stop", poller.spec.function_name)
        self.pollers.clear()

    def resume(self) -> None:
        """Poll again after `pause`, from the checkpoints (as Lambda does after its pollers restart)."""
        self._stop = threading.Event()
        self._start_pollers()

    def stop(self) -> None:
        self.pause()
        if self._logs is not None:
            self._logs.close()
        if self._shipper is not None:
            self._shipper.stop()


def wait_for_idle_streams(state_dir: Path, quiet_seconds: float = 2.0, timeout: float = 120.0) -> bool:
    """Wait until no stream mapping has moved its checkpoint for `quiet_seconds` (the pollers have
    caught up with the table); False if they were still busy at `timeout`."""
    directory = state_dir / "esm-checkpoints"
    deadline = time.monotonic() + timeout
    last: dict[str, str] = {}
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        current = {path.name: path.read_text() for path in directory.glob("*.json")}
        if current != last:
            last, quiet_since = current, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_seconds:
            return True
        time.sleep(0.2)
    return False
