"""Event types' JSON Schemas (draft 2020-12): checked when a type is created or changed, and
applied to every payload of that type `POST /v1/events` accepts.

Validation uses jsonschema-rs (docs/decisions.md, "Event-type catalog"): a compiled validator
per schema, kept with the catalog entry it came from. Schemas are refused when they are not a
2020-12 schema (`$schema`, when given, must name 2020-12), do not compile (an unknown `$ref`, an
invalid `pattern`), or are larger than MAX_SCHEMA_BYTES. References are resolved offline: a
schema can only refer into itself (or the 2020-12 meta-schemas), never make the API fetch a URL.

The catalog is cached per function instance (`CatalogCache`): an entry, or the absence of one,
is used for at most `ttl_seconds` after it was read, so a schema created, changed or deleted
applies to every event accepted `ttl_seconds` after the call returned, and at once on the
instance that served the call (docs/guarantees.md).
"""

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from ingest.core import event_types_table
from ingest.core.errors import SchemaViolation, ValidationFailed
from ingest.core.event_types_table import EventTypeItem
from ingest.core.models import EventIn
from ingest.core.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
MAX_SCHEMA_BYTES = 32 * 1024
# At most this many payload errors are reported per event (the first ones found).
MAX_ERRORS_PER_EVENT = 10


def compile_schema(schema: Any, field_name: str = "schema") -> jsonschema_rs.Validator:
    """A validator for `schema`, or ValidationFailed naming what is wrong with it."""

    def refuse(message: str) -> ValidationFailed:
        return ValidationFailed(
            f"invalid {field_name}: {message}", errors=[{"field": field_name, "message": message}]
        )

    if not isinstance(schema, dict | bool):
        raise refuse("must be a JSON Schema (an object or a boolean)")
    if len(json.dumps(schema, separators=(",", ":")).encode()) > MAX_SCHEMA_BYTES:
        raise refuse(f"exceeds {MAX_SCHEMA_BYTES} bytes")
    declared = schema.get("$schema") if isinstance(schema, dict) else None
    if declared is not None and str(declared).rstrip("#") != DRAFT_2020_12:
        raise refuse(f"only JSON Schema draft 2020-12 is supported (`$schema`: {DRAFT_2020_12})")
    try:
        jsonschema_rs.meta.validate(schema)
    except jsonschema_rs.ValidationError as exc:
        where = "/".join(str(part) for part in exc.instance_path)
        raise refuse(f"not a valid draft 2020-12 schema at `/{where}`: {exc.message}") from exc
    try:
        return jsonschema_rs.Draft202012Validator(schema, offline=True)
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as exc:
        message = getattr(exc, "message", None) or str(exc).splitlines()[0]
        raise refuse(f"cannot be compiled: {message}") from exc


def payload_errors(
    validator: jsonschema_rs.Validator, payload: Any, prefix: Sequence[Any]
) -> list[dict[str, str]]:
    """The schema violations of one payload as API field errors (`0.payload.lines.1.qty`)."""
    errors: list[dict[str, str]] = []
    try:
        for error in validator.iter_errors(payload):
            path = ".".join(str(part) for part in (*prefix, "payload", *error.instance_path))
            errors.append({"field": path, "message": error.message})
            if len(errors) >= MAX_ERRORS_PER_EVENT:
                break
    except (ValueError, OverflowError) as exc:  # a number the validator cannot represent
        errors.append({"field": ".".join(str(part) for part in (*prefix, "payload")), "message": str(exc)})
    return errors


@dataclass(frozen=True)
class Entry:
    """A catalog entry as the ingest path needs it: its validator, if the type has a schema."""

    validator: jsonschema_rs.Validator | None
    read_at: float


@dataclass
class CatalogCache:
    """Per instance: (tenant, type) → its compiled schema (or none), kept for `ttl_seconds`."""

    ttl_seconds: float = 5.0
    max_entries: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _entries: OrderedDict[tuple[str, str], Entry] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def validators(
        self, client: "DynamoDBClient", table: str, tenant_id: str, names: Iterable[str]
    ) -> dict[str, jsonschema_rs.Validator]:
        """The validators of the types among `names` that have a schema; one read for those not
        cached (or cached too long ago)."""
        now = self.clock()
        wanted = list(dict.fromkeys(names))
        found: dict[str, Entry] = {}
        with self._lock:
            for name in wanted:
                entry = self._entries.get((tenant_id, name))
                if entry is not None and now - entry.read_at < self.ttl_seconds:
                    found[name] = entry
        missing = [name for name in wanted if name not in found]
        if missing:
            items = event_types_table.get_many(client, table, tenant_id, missing)
            for name in missing:
                found[name] = self.put(tenant_id, name, items.get(name), now)
        return {name: entry.validator for name, entry in found.items() if entry.validator is not None}

    def put(self, tenant_id: str, name: str, item: EventTypeItem | None, now: float | None = None) -> Entry:
        """Remember `item` (None: the type is not in the catalog) as just read."""
        validator = None
        if item is not None and item.schema_text is not None:
            try:
                validator = jsonschema_rs.Draft202012Validator(json.loads(item.schema_text), offline=True)
            except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as exc:
                # Checked when it was stored; a validator upgrade could still refuse it. Events of
                # the type are then accepted unchecked, loudly, rather than all refused.
                logger.error(
                    "stored event-type schema does not compile; payloads not checked",
                    extra={"tenant_id": tenant_id, "event_type": name, "error": str(exc).splitlines()[0]},
                )
        entry = Entry(validator, self.clock() if now is None else now)
        with self._lock:
            self._entries[(tenant_id, name)] = entry
            self._entries.move_to_end((tenant_id, name))
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def check_payloads(
    cache: CatalogCache,
    client: "DynamoDBClient",
    table: str,
    tenant_id: str,
    events: Sequence[tuple[EventIn, str]],
    is_batch: bool,
) -> None:
    """SchemaViolation naming every failing path when a payload does not match its type's schema."""
    validators = cache.validators(client, table, tenant_id, (event.event_type for event, _ in events))
    if not validators:
        return
    errors: list[dict[str, str]] = []
    for position, (event, _) in enumerate(events):
        validator = validators.get(event.event_type)
        if validator is not None:
            errors.extend(payload_errors(validator, event.payload, (position,) if is_batch else ()))
    if errors:
        raise SchemaViolation(
            f"{len(errors)} schema violation(s): {errors[0]['field']}: {errors[0]['message']}", errors=errors
        )
