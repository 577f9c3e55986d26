"""The local Lambda host: one function's handler run in-process, as Lambda runs it.

`FunctionHost.invoke` builds a Lambda context, calls the handler, and writes the
`START`/`END`/`REPORT` lines and the handler's JSON logs to `/aws/lambda/<function>` in
CloudWatch Logs. The ESM runner (devtools/runner/esm.py), the local API server
(devtools/runner/apiserver.py) and `triggers dlq redrive` host their functions through it.
"""

import importlib
import logging
import math
import resource
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import boto3
from botocore.config import Config

from devtools.runner.cloudwatch import (
    InvocationCapture,
    LogShipper,
    ThreadLocalFormatter,
    log_stream_name,
    thread_local_formatter,
)
from devtools.runner.lambda_context import LocalLambdaContext, invoked_function
from devtools.template import ACCOUNT_ID, REGION

Handler = Callable[[dict[str, Any], Any], Any]
Say = Callable[[str], None]
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=10)


class MappingImportError(RuntimeError):
    """A mapping's handler exists but cannot be imported (a bug to fix, not a module to wait for)."""


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
