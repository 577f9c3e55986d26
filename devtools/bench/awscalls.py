"""What the handlers ask of DynamoDB (and how long they wait for it and for their webhooks).

`CallLog` hooks a boto3 client's event system (`before-parameter-build` / `after-call` /
`after-call-error`, so nothing about the requests changes) and records every call: operation,
tables, the function that made it (`devtools.runner.lambda_context.invoked_function`, set by the local
function host and by the bench around in-process invocations), thread, start and end, error code,
and for writes the items they touch. `SendLog` times outgoing urllib3 requests to given ports (the
webhook receivers). From those records come the write requests per delivery, the consumed write
capacity and the per-phase profile of a handler.

Consumed write capacity is computed from item sizes by DynamoDB's rules (item size = attribute
names + values; 1 WCU per started KB, at least 1; transactional writes count twice), because the
moto server answers ConsumedCapacity with a constant when asked, and the handlers do not ask. An
update's size is the item as the response returned it (`ReturnValues=ALL_NEW`) or as the table holds
it after the run; items here only grow, so that is the larger of before and after, as DynamoDB
charges. Writes to global secondary indexes are not counted.
"""

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import urllib3

from devtools.bench.core import Figure
from devtools.runner.lambda_context import invoked_function

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
READ_OPERATIONS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})
KB = 1024
BATCH_GET_LIMIT = 100


def attribute_size(value: Mapping[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB's size rules (wire format, e.g. {"S": "x"})."""
    ((kind, data),) = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "N":
        return number_size(str(data))
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(item).encode()) for item in data)
    if kind == "NS":
        return sum(number_size(str(item)) for item in data)
    if kind == "BS":
        return sum(len(item) for item in data)
    if kind == "L":
        return 3 + sum(1 + attribute_size(item) for item in data)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + attribute_size(item) for name, item in data.items())
    raise ValueError(f"not a DynamoDB attribute type: {kind}")


def number_size(text: str) -> int:
    """A number's size: one byte per two significant digits, plus one."""
    digits = Decimal(text).normalize().as_tuple().digits
    significant = len(digits) if any(digits) else 1
    return math.ceil(significant / 2) + 1


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def write_units(size_bytes: int, transactional: bool = False) -> int:
    """WCU of one item write: 1 per started KB, at least 1; twice that in a transaction."""
    units = max(1, math.ceil(size_bytes / KB))
    return units * 2 if transactional else units


@dataclass(frozen=True)
class Target:
    """One item a write request touches: its table, key (JSON, for a later read) or known size."""

    table: str
    key: str | None
    size: int | None = None
    transactional: bool = False
    strings: frozenset[str] = frozenset()


def _key_json(key: Mapping[str, Any]) -> str:
    return json.dumps(key, sort_keys=True)


def _strings(item: Mapping[str, Mapping[str, Any]]) -> frozenset[str]:
    """The top-level string values of a key or item (to tell whose item a write touched)."""
    return frozenset(str(value["S"]) for value in item.values() if "S" in value)


def _put(table: str, item: Mapping[str, Any], transactional: bool = False) -> Target:
    return Target(table, None, item_size(item), transactional, _strings(item))


def _keyed(table: str, key: Mapping[str, Any], transactional: bool = False) -> Target:
    return Target(table, _key_json(key), None, transactional, _strings(key))


def write_targets(operation: str, params: Mapping[str, Any]) -> list[Target]:
    """The items a write request touches, with the size of those the request carries whole."""
    table = str(params.get("TableName", ""))
    if operation == "PutItem":
        return [_put(table, params["Item"])]
    if operation in ("UpdateItem", "DeleteItem"):
        return [_keyed(table, params["Key"])]
    if operation == "BatchWriteItem":
        targets = []
        for name, requests in params.get("RequestItems", {}).items():
            for request in requests:
                if "PutRequest" in request:
                    targets.append(_put(name, request["PutRequest"]["Item"]))
                else:
                    targets.append(_keyed(name, request["DeleteRequest"]["Key"]))
        return targets
    if operation == "TransactWriteItems":
        targets = []
        for entry in params.get("TransactItems", []):
            ((kind, action),) = entry.items()
            if kind == "Put":
                targets.append(_put(action["TableName"], action["Item"], True))
            else:
                targets.append(_keyed(action["TableName"], action["Key"], True))
        return targets
    return []


def _tables(operation: str, params: Mapping[str, Any]) -> tuple[str, ...]:
    if "TableName" in params:
        return (str(params["TableName"]),)
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return tuple(sorted(params.get("RequestItems", {})))
    if operation in ("TransactWriteItems", "TransactGetItems"):
        return tuple(
            sorted({next(iter(entry.values()))["TableName"] for entry in params.get("TransactItems", [])})
        )
    return ()


@dataclass
class Call:
    service: str
    operation: str
    tables: tuple[str, ...]
    function: str | None
    thread: int
    started: float
    ended: float = math.nan
    error: str | None = None
    targets: list[Target] = field(default_factory=list)

    @property
    def is_write(self) -> bool:
        return self.service == "dynamodb" and self.operation in WRITE_OPERATIONS

    @property
    def is_read(self) -> bool:
        return self.service == "dynamodb" and self.operation in READ_OPERATIONS

    @property
    def phase(self) -> str:
        if self.is_write:
            return "dynamodb writes"
        if self.is_read:
            return "dynamodb reads"
        return f"{self.service} calls"


_CALL_KEY = "triggers_bench_call"


class CallLog:
    """Every call made through the clients it is attached to, in order."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self._calls: list[Call] = []
        self._lock = threading.Lock()
        self._attached: list[tuple[Any, str]] = []

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def mark(self) -> int:
        """A position to count from (`since`)."""
        with self._lock:
            return len(self._calls)

    def since(self, mark: int) -> list[Call]:
        with self._lock:
            return self._calls[mark:]

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_id.hyphenize()
        events = client.meta.events
        unique = f"triggers-bench-{id(self)}"
        events.register(f"before-parameter-build.{service}", self._before, unique_id=f"{unique}-before")
        events.register(f"after-call.{service}", self._after, unique_id=f"{unique}-after")
        events.register(f"after-call-error.{service}", self._failed, unique_id=f"{unique}-error")
        self._attached.append((client, service))

    def detach(self) -> None:
        unique = f"triggers-bench-{id(self)}"
        for client, service in self._attached:
            events = client.meta.events
            events.unregister(f"before-parameter-build.{service}", unique_id=f"{unique}-before")
            events.unregister(f"after-call.{service}", unique_id=f"{unique}-after")
            events.unregister(f"after-call-error.{service}", unique_id=f"{unique}-error")
        self._attached.clear()

    def _before(self, params: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        operation = model.name
        service = model.service_model.service_id.hyphenize()
        call = Call(
            service=service,
            operation=operation,
            tables=_tables(operation, params) if service == "dynamodb" else (),
            function=invoked_function.get(),
            thread=threading.get_ident(),
            started=self.clock(),
            targets=write_targets(operation, params)
            if service == "dynamodb" and operation in WRITE_OPERATIONS
            else [],
        )
        context[_CALL_KEY] = call
        with self._lock:
            self._calls.append(call)

    def _after(
        self, http_response: Any, parsed: Mapping[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        call: Call | None = context.get(_CALL_KEY)
        if call is None:
            return
        call.ended = self.clock()
        if http_response.status_code >= 300:
            call.error = str(parsed.get("Error", {}).get("Code") or http_response.status_code)
        attributes = parsed.get("Attributes")
        if call.operation == "UpdateItem" and attributes and call.targets:
            target = call.targets[0]
            call.targets = [
                Target(target.table, target.key, item_size(attributes), target.transactional, target.strings)
            ]

    def _failed(self, exception: BaseException, context: dict[str, Any], **_: Any) -> None:
        call: Call | None = context.get(_CALL_KEY)
        if call is not None:
            call.ended = self.clock()
            call.error = type(exception).__name__

    @contextmanager
    def attached(self, *clients: Any) -> Iterator["CallLog"]:
        for client in clients:
            self.attach(client)
        try:
            yield self
        finally:
            self.detach()


def writes_of(
    calls: Iterable[Call], functions: Sequence[str] | None = None, touching: Set[str] | None = None
) -> list[Call]:
    """The DynamoDB write requests among `calls`: only those of `functions`, and only those whose
    items' keys (or put items' string attributes) include one of `touching`, when given."""
    return [
        call
        for call in calls
        if call.is_write
        and (functions is None or call.function in functions)
        and (touching is None or any(target.strings & touching for target in call.targets))
    ]


def write_breakdown(writes: Sequence[Call]) -> dict[str, Any]:
    """How many write requests, by operation, by table, by operation and table, by function."""
    return {
        "requests": len(writes),
        "by_operation": dict(Counter(call.operation for call in writes).most_common()),
        "by_table": dict(Counter(table for call in writes for table in call.tables).most_common()),
        "by_operation_and_table": dict(
            Counter(f"{call.operation} {table}" for call in writes for table in call.tables).most_common()
        ),
        "by_function": dict(Counter(call.function or "unattributed" for call in writes).most_common()),
        "failed": dict(Counter(call.error for call in writes if call.error).most_common()),
    }


def unsized(writes: Iterable[Call]) -> set[tuple[str, str]]:
    """(table, key) of the items whose size must be read from the table."""
    return {
        (target.table, target.key)
        for call in writes
        for target in call.targets
        if target.size is None and target.key is not None
    }


def consumed_wcu(writes: Iterable[Call], sizes: Mapping[tuple[str, str], int]) -> dict[str, Any]:
    """Write capacity units of `writes`, total and by table. An item not found (deleted) counts 1."""
    by_table: Counter[str] = Counter()
    for call in writes:
        for target in call.targets:
            size = target.size
            if size is None:
                size = sizes.get((target.table, target.key or ""), 0)
            by_table[target.table] += write_units(size, target.transactional)
    return {"total": sum(by_table.values()), "by_table": dict(by_table.most_common())}


def read_sizes(client: "DynamoDBClient", keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The current size of each item (BatchGetItem, 100 keys a call); missing items are left out."""
    pending = sorted(set(keys))
    sizes: dict[tuple[str, str], int] = {}
    for start in range(0, len(pending), BATCH_GET_LIMIT):
        chunk = pending[start : start + BATCH_GET_LIMIT]
        request: dict[str, Any] = {}
        for table, key in chunk:
            request.setdefault(table, {"Keys": []})["Keys"].append(json.loads(key))
        while request:
            response = client.batch_get_item(RequestItems=request)
            for table, items in response.get("Responses", {}).items():
                key_names = _key_names(request[table]["Keys"])
                for item in items:
                    key = _key_json({name: item[name] for name in key_names})
                    sizes[(table, key)] = item_size(item)
            request = dict(response.get("UnprocessedKeys") or {})
    return sizes


def _key_names(keys: Sequence[Mapping[str, Any]]) -> list[str]:
    return sorted(keys[0]) if keys else []


def write_cost(writes: Sequence[Call], deliveries: int, client: "DynamoDBClient") -> dict[str, Any]:
    """Write requests and WCU per webhook delivered, with their breakdown."""
    wcu = consumed_wcu(writes, read_sizes(client, unsized(writes)))
    return {
        "deliveries": deliveries,
        "write_requests": len(writes),
        "write_requests_per_delivery": round(len(writes) / deliveries, 3) if deliveries else None,
        "wcu": wcu["total"],
        "wcu_per_delivery": round(wcu["total"] / deliveries, 3) if deliveries else None,
        "wcu_by_table": wcu["by_table"],
        "wcu_method": "computed from item sizes (1 WCU per started KB, transactions x2; GSI writes "
        "not counted): moto returns no real ConsumedCapacity",
        **{f"writes_{key}": value for key, value in write_breakdown(writes).items() if key != "requests"},
    }


@dataclass(frozen=True)
class Interval:
    phase: str
    started: float
    ended: float


class SendLog:
    """Times urllib3 requests to `ports` (the webhook receivers) while `patched` is active."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.intervals: list[Interval] = []
        self._lock = threading.Lock()

    @contextmanager
    def patched(self, ports: Iterable[int]) -> Iterator["SendLog"]:
        watched = set(ports)
        pool_class = urllib3.connectionpool.HTTPConnectionPool
        original = pool_class.urlopen
        log = self

        def urlopen(pool: Any, *args: Any, **kwargs: Any) -> Any:
            if pool.port not in watched:
                return original(pool, *args, **kwargs)
            started = log.clock()
            try:
                return original(pool, *args, **kwargs)
            finally:
                with log._lock:
                    log.intervals.append(Interval("webhook sends", started, log.clock()))

        pool_class.urlopen = urlopen  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            pool_class.urlopen = original  # type: ignore[method-assign]


def union_seconds(intervals: Iterable[tuple[float, float]]) -> float:
    """How long at least one of the intervals was open."""
    total, end = 0.0, -math.inf
    for started, ended in sorted(intervals):
        if ended <= end:
            continue
        total += ended - max(started, end)
        end = ended
    return total


def phase_profile(intervals: Sequence[Interval], wall_seconds: float) -> dict[str, Any]:
    """Per phase: calls, their summed seconds over all threads, mean, and the wall time with at
    least one in flight; and the wall time with none in flight (the handler's own work)."""
    phases: dict[str, Any] = {}
    for phase in sorted({interval.phase for interval in intervals}):
        own = [interval for interval in intervals if interval.phase == phase]
        summed = sum(interval.ended - interval.started for interval in own)
        phases[phase] = {
            "calls": len(own),
            "call_s": round(summed, 3),
            "mean_ms": round(summed / len(own) * 1000, 1),
            "wall_s": round(union_seconds((i.started, i.ended) for i in own), 3),
        }
    in_flight = union_seconds((interval.started, interval.ended) for interval in intervals)
    return {
        "wall_s": round(wall_seconds, 3),
        "phases": phases,
        "none_in_flight_s": round(max(0.0, wall_seconds - in_flight), 3),
    }


def call_intervals(calls: Iterable[Call]) -> list[Interval]:
    return [Interval(call.phase, call.started, call.ended) for call in calls if math.isfinite(call.ended)]


WRITES_PER_DELIVERY_TARGET = 1.2


def write_figures(scenario: str, what: str, cost: Mapping[str, Any]) -> list[Figure]:
    """Rows for the write requests and the WCU of `cost` (see `write_cost`) against deliveries."""
    deliveries = float(cost["deliveries"])
    return [
        Figure(
            scenario=scenario,
            name=f"{what}: DynamoDB write requests of fanout + retry",
            unit="requests",
            measured=float(cost["write_requests"]),
            baseline=deliveries,
            baseline_name="webhooks delivered (one write each)",
            better="lower",
            target=1 / WRITES_PER_DELIVERY_TARGET,
            target_text=f"≤ {WRITES_PER_DELIVERY_TARGET:g} per delivery",
            details=dict(cost),
        ),
        Figure(
            scenario=scenario,
            name=f"{what}: consumed WCU of those writes (from item sizes)",
            unit="WCU",
            measured=float(cost["wcu"]),
            baseline=deliveries,
            baseline_name="webhooks delivered (1 WCU each: one write of ≤ 1 KB)",
            better="lower",
            details={key: cost[key] for key in ("wcu_per_delivery", "wcu_by_table", "wcu_method")},
        ),
    ]
