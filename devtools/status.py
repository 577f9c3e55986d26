"""What `triggers status` reports: services, queue depths, stream lag and delivery states.

Each part degrades on its own: what cannot be read is reported as unknown, with the reason,
instead of failing the whole report.

Stream lag, embedded stack: the local ESM runner's checkpoint (the last sequence number it
finished, per function and shard, in <state dir>/esm-checkpoints) against the records the stream
holds after it: how many, and how old the oldest is (what AWS calls IteratorAge). LocalStack and
AWS: each mapping's state from `lambda list-event-source-mappings`, and the IteratorAge metric
from CloudWatch when there is one.
"""

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from botocore.exceptions import BotoCoreError, ClientError

from devtools.api_client import api_client, deliveries, destinations, subscriptions
from devtools.api_client import subscription_stats as read_subscription_stats
from devtools.runner.mappings import MappingSpec, load_mappings
from devtools.target import Target
from devtools.template import Template

AwsError = (BotoCoreError, ClientError)
MAX_LAG_RECORDS = 10_000
DELIVERY_PAGE = 100


@dataclass
class Service:
    name: str
    url: str | None
    reachable: bool | None
    detail: str = ""


def probe(name: str, url: str | None, path: str = "/") -> Service:
    """Whether something answers HTTP at `url` (any status counts as reachable)."""
    if not url:
        return Service(name, None, None, "unknown: no URL (not started by `triggers up`?)")
    try:
        response = httpx.get(url.rstrip("/") + path, timeout=3)
    except httpx.HTTPError as exc:
        return Service(name, url, False, type(exc).__name__)
    return Service(name, url, True, f"HTTP {response.status_code}")


@dataclass
class QueueDepth:
    name: str
    visible: int | None = None
    in_flight: int | None = None
    delayed: int | None = None
    error: str | None = None


def queue_depths(sqs: Any, template: Template) -> list[QueueDepth]:
    depths = []
    for properties in template.of_type("AWS::SQS::Queue").values():
        name = str(properties["QueueName"])
        try:
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
        except AwsError as exc:
            depths.append(QueueDepth(name, error=_aws_error(exc)))
            continue
        depths.append(
            QueueDepth(
                name,
                int(attributes.get("ApproximateNumberOfMessages", 0)),
                int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
                int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
            )
        )
    return depths


@dataclass
class StreamLag:
    function: str
    source: str
    state: str
    behind: int | None = None  # records after the checkpoint (None: unknown)
    behind_capped: bool = False
    oldest_age_s: float | None = None  # age of the oldest unprocessed record: IteratorAge
    detail: str = ""


def _aws_error(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", type(exc).__name__))
    return type(exc).__name__


def stream_mappings(template: Template) -> list[MappingSpec]:
    return [spec for spec in load_mappings(template) if spec.source_kind == "DynamoDB"]


def embedded_lag(
    dynamodb: Any, streams: Any, spec: MappingSpec, checkpoint_dir: Path, now: datetime
) -> StreamLag:
    """Records of the source stream after the runner's checkpoint, summed over shards."""
    lag = StreamLag(spec.function_name, spec.source_name, "local runner")
    try:
        stream_arn = dynamodb.describe_table(TableName=spec.source_name)["Table"]["LatestStreamArn"]
        shards = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    except (*AwsError, KeyError) as exc:
        lag.detail = f"unknown: cannot read the stream ({_aws_error(exc)})"
        return lag
    saved = _checkpoints(checkpoint_dir / f"{spec.function_name}--{spec.source_name}.json", stream_arn)
    if not saved:
        lag.detail = "no checkpoint yet: the runner has not finished a batch on this stream"
    behind, oldest = 0, None
    for shard in shards:
        checkpoint = saved.get(shard["ShardId"])
        try:
            count, created = _records_after(streams, stream_arn, shard["ShardId"], checkpoint)
        except AwsError as exc:
            lag.detail = f"unknown: {_aws_error(exc)}"
            return lag
        behind += count
        if created is not None and (oldest is None or created < oldest):
            oldest = created
    lag.behind = min(behind, MAX_LAG_RECORDS)
    lag.behind_capped = behind >= MAX_LAG_RECORDS
    lag.oldest_age_s = round((now - oldest).total_seconds(), 1) if oldest is not None else 0.0
    return lag


def _checkpoints(path: Path, stream_arn: str) -> dict[str, str]:
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(saved, dict) or saved.get("streamArn") != stream_arn:
        return {}
    return {str(shard): str(sequence) for shard, sequence in saved.get("shards", {}).items()}


def _records_after(
    streams: Any, stream_arn: str, shard_id: str, checkpoint: str | None
) -> tuple[int, datetime | None]:
    position: dict[str, str] = (
        {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": checkpoint}
        if checkpoint
        else {"ShardIteratorType": "TRIM_HORIZON"}
    )
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard_id, **position).get(
        "ShardIterator"
    )
    count, oldest = 0, None
    while iterator and count < MAX_LAG_RECORDS:
        response = streams.get_records(ShardIterator=iterator, Limit=1000)
        records = response.get("Records", [])
        if not records:
            break
        if oldest is None:
            created = records[0]["dynamodb"].get("ApproximateCreationDateTime")
            if isinstance(created, datetime):
                oldest = created if created.tzinfo else created.replace(tzinfo=UTC)
            elif created is not None:
                oldest = datetime.fromtimestamp(float(created), UTC)
        count += len(records)
        iterator = response.get("NextShardIterator")
    return count, oldest


def remote_lag(lambda_client: Any, cloudwatch: Any, spec: MappingSpec, now: datetime) -> StreamLag:
    """The mapping as Lambda reports it, and the IteratorAge metric of the last five minutes."""
    lag = StreamLag(spec.function_name, spec.source_name, "unknown")
    try:
        mappings = lambda_client.list_event_source_mappings(FunctionName=spec.function_name)[
            "EventSourceMappings"
        ]
    except AwsError as exc:
        lag.detail = f"unknown: cannot list event source mappings ({_aws_error(exc)})"
        return lag
    mine = [
        mapping
        for mapping in mappings
        if ":table/" + spec.source_name + "/" in mapping.get("EventSourceArn", "")
    ]
    if not mine:
        lag.state = "missing"
        lag.detail = "no event source mapping for this stream on the endpoint"
        return lag
    mapping = mine[0]
    lag.state = str(mapping.get("State", "unknown"))
    lag.detail = str(mapping.get("LastProcessingResult", ""))
    try:
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Lambda",
            MetricName="IteratorAge",
            Dimensions=[{"Name": "FunctionName", "Value": spec.function_name}],
            StartTime=now - timedelta(minutes=5),
            EndTime=now,
            Period=60,
            Statistics=["Maximum"],
        )["Datapoints"]
    except AwsError as exc:
        lag.detail = f"{lag.detail}; IteratorAge unknown ({_aws_error(exc)})".lstrip("; ")
        return lag
    if points:
        latest = max(points, key=lambda point: point["Timestamp"])
        lag.oldest_age_s = round(float(latest["Maximum"]) / 1000, 1)
    else:
        lag.detail = f"{lag.detail}; no IteratorAge datapoints in the last 5 min".lstrip("; ")
    return lag


@dataclass
class SubscriptionState:
    id: str
    target_url: str
    event_types: list[str]
    status: str
    disabled_reason: str | None
    deliveries: dict[str, int] = field(default_factory=dict)
    counted: int = 0
    truncated: bool = False


def subscription_states(target: Target, max_deliveries: int) -> list[SubscriptionState]:
    """Each subscription of the API key's tenant, with its deliveries counted by state."""
    states = []
    with api_client(target) as client:
        for item in subscriptions(client):
            state = SubscriptionState(
                item.id, item.target_url, item.event_types, item.status.value, item.disabled_reason
            )
            counts: Counter[str] = Counter()
            cursor: str | None = None
            while True:
                page = deliveries(client, item.id, DELIVERY_PAGE, cursor)
                counts.update(delivery.state.value for delivery in page.data)
                state.counted += len(page.data)
                cursor = page.next_cursor
                if cursor is None:
                    break
                if state.counted >= max_deliveries:
                    state.truncated = True
                    break
            state.deliveries = dict(counts)
            states.append(state)
    return states


def subscription_stats(target: Target, subscription_id: str, window: str) -> dict[str, Any]:
    """`GET /v1/subscriptions/{id}/stats`: success rate, outcomes and latency from the delivery records."""
    with api_client(target) as client:
        return read_subscription_stats(client, subscription_id, window)


def open_breakers(target: Target) -> list[dict[str, Any]]:
    """The API key's tenant's destination hosts whose circuit breaker is open or half-open."""
    with api_client(target) as client:
        hosts = destinations(client)
    return [host.to_dict() for host in hosts if host.state.value != "closed"]


def as_dicts(items: list[Any]) -> list[dict[str, Any]]:
    return [asdict(item) for item in items]
