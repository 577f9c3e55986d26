"""What redriving a letter means, per dead-letter queue.

- `delivery`: reopen the failed delivery and queue its next attempt on the retry queue, so the
  retry function delivers it (same `webhook-id`); refused while the subscription is disabled.
- `retry`: put the retry message back on the retry queue unchanged.
- `index`: re-index the event as it is now in the events table (deleting the document if the
  event is gone), with the indexer's own bulk logic; refused if OpenSearch rejects it again.
- `stream`: re-read the failed batch's records from the shard (while the stream still retains
  them) and re-process them through the same function: in-process on the embedded stack, as the
  ESM runner does, or by invoking the Lambda function on LocalStack and AWS.

Each action returns what it did, or raises RedriveFailed with the reason.
"""

import contextlib
import json
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import httpx
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from devtools.dlq.letters import Kind, Letter, RedriveFailed
from devtools.runner.esm import failed_items, lambda_stream_record
from devtools.runner.filters import matches_any
from devtools.runner.host import FunctionHost, LambdaLogs, load_handler
from devtools.runner.mappings import MappingSpec, load_mappings
from devtools.target import LOCAL_CREDENTIALS, Target
from devtools.template import Template
from ingest.core.errors import DeliveryConflict, EventNotFound, NotFound, TriggersError

InvokeMode = Literal["local", "lambda"]
Say = Callable[[str], None]
# Errors a redrive reports as its failure rather than raising.
REDRIVE_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError, TriggersError)
MAX_EMPTY_READS = 5
NOT_RETAINED = frozenset({"TrimmedDataAccessException", "ResourceNotFoundException", "ValidationException"})


def invoke_mode(target: Target, requested: str) -> InvokeMode:
    """`local` (in-process) for the embedded stack; `lambda` for AWS and LocalStack."""
    if requested == "local":
        return "local"
    if requested == "lambda" or target.endpoint is None:
        return "lambda"
    try:
        health = httpx.get(
            f"{target.endpoint.rstrip('/')}/_localstack/health", timeout=5, follow_redirects=True
        )
        is_localstack = not health.is_error and "services" in health.json()
    except (httpx.HTTPError, httpx.InvalidURL, ValueError):
        is_localstack = False
    return "lambda" if is_localstack else "local"


class Invoker(Protocol):
    def __call__(self, spec: MappingSpec, event: dict[str, Any]) -> Any: ...


class LambdaInvoker:
    """Invoke the deployed function synchronously (AWS, LocalStack)."""

    def __init__(self, lambda_client: Any) -> None:
        self.client = lambda_client

    def __call__(self, spec: MappingSpec, event: dict[str, Any]) -> Any:
        response = self.client.invoke(
            FunctionName=spec.function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps(event).encode(),
        )
        payload = response["Payload"].read().decode(errors="replace")
        if response.get("FunctionError"):
            raise RedriveFailed(f"{spec.function_name} failed ({response['FunctionError']}): {payload[:500]}")
        return json.loads(payload) if payload.strip() else None


class LocalInvoker:
    """Run the function's handler in this process with its deployed environment, as the ESM runner does.

    Its START/END/REPORT lines and logs go to /aws/lambda/<function> like the runner's; the
    handler's own stdout logging goes to stderr so `--json` output stays clean.
    """

    def __init__(self, target: Target, template: Template, say: Say) -> None:
        from devtools.runner.cloudwatch import LogShipper

        self.target = target
        self.template = template
        self.shipper = LogShipper(target.client("logs"))
        self.shipper.start()
        self.logs = LambdaLogs(self.shipper, say)

    def __call__(self, spec: MappingSpec, event: dict[str, Any]) -> Any:
        handler = load_handler(spec.handler)
        if handler is None:
            raise RedriveFailed(f"handler {spec.handler} of {spec.function_name} does not exist")
        with (
            function_environment(self.target, self.template, spec.function_logical_id),
            handler_output_to_stderr(),
            warnings.catch_warnings(),
        ):
            warnings.filterwarnings("ignore", "No application metrics to publish")
            invocation = FunctionHost(spec, handler, self.logs).invoke(event)
        if invocation.function_error:
            error = invocation.error
            detail = "timed out" if error is None else f"{type(error).__name__}: {error}"
            raise RedriveFailed(f"{spec.function_name} failed: {detail}")
        return invocation.response

    def close(self) -> None:
        self.logs.close()
        self.shipper.stop()


def deployed_environment(target: Target, template: Template, logical_id: str) -> dict[str, str]:
    """The function's environment as deployed, else as the template declares it."""
    try:
        configuration = target.client("lambda").get_function_configuration(
            FunctionName=template.physical_name(logical_id)
        )
        variables = configuration.get("Environment", {}).get("Variables", {})
    except (ClientError, BotoCoreError):
        variables = {}
    return dict(variables) or template.function_environment(logical_id)


@contextmanager
def function_environment(target: Target, template: Template, logical_id: str) -> Iterator[None]:
    """os.environ as the function sees it (pointing at the target), restored afterwards."""
    variables = deployed_environment(target, template, logical_id)
    variables.pop("POWERTOOLS_SERVICE_NAME", None)  # the host names the service per invocation
    variables["AWS_DEFAULT_REGION"] = target.region
    if target.endpoint is not None:
        variables["AWS_ENDPOINT_URL"] = target.endpoint
        if "AWS_ACCESS_KEY_ID" not in os.environ and "AWS_PROFILE" not in os.environ:
            variables["AWS_ACCESS_KEY_ID"] = LOCAL_CREDENTIALS["aws_access_key_id"]
            variables["AWS_SECRET_ACCESS_KEY"] = LOCAL_CREDENTIALS["aws_secret_access_key"]
    if target.profile:
        variables["AWS_PROFILE"] = target.profile
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    _forget_cached_clients()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _forget_cached_clients()


def _forget_cached_clients() -> None:
    from ingest.core.runtime import runtime

    runtime.reset()


@contextmanager
def handler_output_to_stderr() -> Iterator[None]:
    """Handler code logs and prints metrics to stdout; a command's stdout is for its own output."""
    from ingest.core.observability import logger

    handler = logger.registered_handler
    stream = handler if isinstance(handler, logging.StreamHandler) else None
    previous = stream.setStream(sys.stderr) if stream is not None else None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if stream is not None and previous is not None:
            stream.setStream(previous)


def read_range(streams: Any, info: dict[str, Any]) -> list[dict[str, Any]]:
    """The records `startSequenceNumber..endSequenceNumber` of the shard, shaped as Lambda delivers them."""
    stream_arn, shard_id = str(info["streamArn"]), str(info["shardId"])
    start, end = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
    span = f"records {start}..{end} of shard {shard_id}"
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn,
            ShardId=shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=str(start),
        ).get("ShardIterator")
        records: list[dict[str, Any]] = []
        empty_reads = 0
        while iterator and empty_reads < MAX_EMPTY_READS:
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            raw_records = response.get("Records", [])
            iterator = response.get("NextShardIterator")
            empty_reads = 0 if raw_records else empty_reads + 1
            for raw in raw_records:
                sequence = int(raw["dynamodb"]["SequenceNumber"])
                if sequence > end:
                    iterator = None
                    break
                if sequence >= start:
                    records.append(lambda_stream_record(raw, stream_arn)[0])
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in NOT_RETAINED:
            raise RedriveFailed(f"{span} are no longer retained by the stream ({code})") from exc
        raise
    sequences = [int(record["dynamodb"]["SequenceNumber"]) for record in records]
    if not sequences or sequences[0] != start:
        raise RedriveFailed(f"{span} are no longer retained by the stream (record {start} is gone)")
    if sequences[-1] != end:
        raise RedriveFailed(f"{span}: the stream has no record {end} (read up to {sequences[-1]})")
    return records


class Redriver:
    """The redrive action for any letter, for one target; `close` when done."""

    def __init__(self, target: Target, template: Template, mode: str = "auto", say: Say = lambda line: None):
        self.target = target
        self.template = template
        self.requested_mode = mode
        self.say = say
        self._clients: dict[str, Any] = {}
        self._invoker: Invoker | None = None
        self._local: LocalInvoker | None = None

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.target.client(service)
        return self._clients[service]

    def queue_url(self, logical_id: str) -> str:
        name = self.template.physical_name(logical_id)
        return str(self.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])

    def __call__(self, letter: Letter) -> str:
        action = {
            Kind.DELIVERY: self.delivery,
            Kind.RETRY: self.retry,
            Kind.INDEX: self.index,
            Kind.STREAM: self.stream,
        }[letter.queue.kind]
        return action(letter)

    def close(self) -> None:
        if self._local is not None:
            self._local.close()

    # -- delivery DLQ and retry-queue DLQ -----------------------------------------------------

    def delivery(self, letter: Letter) -> str:
        from devtools.audit import cli_actor, cli_audit_log
        from ingest.core import lifecycle
        from ingest.core.deliveries_table import get_delivery
        from ingest.core.queues import DeadLetter
        from ingest.core.subscriptions_table import get_subscription

        try:
            dead = DeadLetter.model_validate_json(letter.body)
        except ValidationError as exc:
            raise RedriveFailed(f"not a delivery letter ({exc.error_count()} validation errors)") from exc
        dynamodb = self.client("dynamodb")
        try:
            subscription = get_subscription(
                dynamodb,
                self.template.physical_name("SubscriptionsTable"),
                dead.tenant_id,
                dead.subscription_id,
            )
        except NotFound as exc:
            raise RedriveFailed(f"subscription {dead.subscription_id} no longer exists") from exc
        if subscription.status != "active":
            raise RedriveFailed(
                f"subscription {dead.subscription_id} is disabled ({subscription.disabled_reason}):"
                " enable it first"
            )
        stores = lifecycle.Stores(
            dynamodb=dynamodb,
            sqs=self.client("sqs"),
            events_table=self.template.physical_name("EventsTable"),
            deliveries_table=self.template.physical_name("DeliveriesTable"),
            retry_queue_url=self.queue_url("RetryQueue"),
        )
        try:
            delivery = get_delivery(dynamodb, stores.deliveries_table, dead.event_id, dead.subscription_id)
            message = lifecycle.redrive(
                stores,
                delivery,
                tenant_id=dead.tenant_id,
                now=datetime.now(UTC),
                audit=cli_audit_log(dynamodb, self.template),
                actor=cli_actor(),
            )
        except NotFound as exc:
            raise RedriveFailed(f"delivery {dead.event_id}/{dead.subscription_id} no longer exists") from exc
        except DeliveryConflict:
            if delivery.state == "delivered":
                return "already delivered; nothing resent"
            raise RedriveFailed(f"delivery is {delivery.state}, not failed") from None
        return f"attempt {message.attempt} queued for the retry function"

    def retry(self, letter: Letter) -> str:
        from ingest.core.queues import RetryMessage

        try:
            RetryMessage.model_validate_json(letter.body)
        except ValidationError as exc:
            raise RedriveFailed(f"not a retry message ({exc.error_count()} validation errors)") from exc
        self.client("sqs").send_message(QueueUrl=self.queue_url("RetryQueue"), MessageBody=letter.body)
        return "back on the retry queue"

    # -- index DLQ ----------------------------------------------------------------------------

    def index(self, letter: Letter) -> str:
        from ingest.core.events_table import get_event
        from ingest.core.opensearch_client import opensearch_client
        from ingest.core.settings import get_settings
        from processors.indexer.indexing import Change, index_changes

        data = letter.data if isinstance(letter.data, dict) else {}
        record: dict[str, Any] = data["record"] if isinstance(data.get("record"), dict) else {}
        stream = record.get("dynamodb") or {}
        image = stream.get("Keys") or stream.get("NewImage") or {}
        event_id = data.get("event_id") or (image.get("event_id") or {}).get("S")
        tenant_id = (image.get("tenant_id") or {}).get("S")
        if not event_id or not tenant_id:
            raise RedriveFailed("the letter does not name an event (tenant_id and event_id)")
        try:
            item = get_event(
                self.client("dynamodb"), self.template.physical_name("EventsTable"), tenant_id, event_id
            )
        except EventNotFound:
            item = None
        change = Change(record, str(stream.get("SequenceNumber", "0")), event_id, item)
        with function_environment(self.target, self.template, "IndexerFunction"), handler_output_to_stderr():
            settings = get_settings()
            outcome, rejections = index_changes(
                [change], opensearch_client(settings.opensearch_endpoint), settings.index_alias
            )
        if rejections:
            raise RedriveFailed(f"OpenSearch rejected event {event_id} again: {rejections[0].reason}")
        if outcome.deferred:
            raise RedriveFailed(f"OpenSearch did not take event {event_id} (unavailable?); try again later")
        if item is None:
            return f"event {event_id} is gone from the table: document deleted"
        if outcome.counts["conflicts"]:
            return f"event {event_id} rev {item.rev}: the index already had it or newer"
        return f"event {event_id} rev {item.rev} indexed"

    # -- stream OnFailure queue ---------------------------------------------------------------

    def stream(self, letter: Letter) -> str:
        data = letter.data if isinstance(letter.data, dict) else {}
        info = data.get("DDBStreamBatchInfo")
        function_arn = str((data.get("requestContext") or {}).get("functionArn", ""))
        if not isinstance(info, dict) or not function_arn:
            raise RedriveFailed("not a stream OnFailure record (no DDBStreamBatchInfo / functionArn)")
        function_name = function_arn.rsplit(":", 1)[-1]
        spec = next(
            (
                spec
                for spec in self._specs()
                if spec.function_name == function_name and spec.source_kind == "DynamoDB"
            ),
            None,
        )
        if spec is None:
            raise RedriveFailed(
                f"{function_name} has no stream mapping in template.yaml (stage {self.template.stage})"
            )
        try:
            records = read_range(self.client("dynamodbstreams"), info)
        except KeyError as exc:
            raise RedriveFailed(f"DDBStreamBatchInfo lacks {exc}") from exc
        matched = [record for record in records if matches_any(spec.filter_patterns, record)]
        invoker = self._invoker_for()
        for start in range(0, len(matched), spec.batch_size):
            batch = matched[start : start + spec.batch_size]
            response = invoker(spec, {"Records": batch})
            if not spec.reports_batch_item_failures:
                continue
            identifiers = [record["dynamodb"]["SequenceNumber"] for record in batch]
            try:
                failed = failed_items(response, identifiers)
            except ValueError as exc:
                raise RedriveFailed(f"{spec.function_name} gave an unusable response: {exc}") from exc
            if failed:
                sequences = ", ".join(identifiers[index] for index in failed)
                raise RedriveFailed(f"{spec.function_name} failed records {sequences} again")
        span = f"{info['startSequenceNumber']}..{info['endSequenceNumber']}"
        return f"{len(matched)} record(s) {span} re-processed by {spec.function_name}"

    def _specs(self) -> list[MappingSpec]:
        return load_mappings(self.template)

    def _invoker_for(self) -> Invoker:
        if self._invoker is None:
            if invoke_mode(self.target, self.requested_mode) == "lambda":
                self._invoker = LambdaInvoker(self.client("lambda"))
            else:
                self._local = LocalInvoker(self.target, self.template, self.say)
                self._invoker = self._local
        return self._invoker
