"""Event types' schemas: what compiles, how payload errors are named, and the catalog cache's
freshness (a fake clock: no timing)."""

import json
from typing import Any

import pytest

from ingest.core import event_types_table
from ingest.core.errors import SchemaViolation, ValidationFailed
from ingest.core.event_types_table import EventTypeItem
from ingest.core.models import EventIn
from ingest.schemas import CatalogCache, check_payloads, compile_schema, payload_errors

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Catalog:
    """A stand-in for the tenants table's catalog items, counting reads."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], EventTypeItem] = {}
        self.reads = 0

    def set(self, tenant_id: str, name: str, schema: dict[str, Any] | None) -> None:
        self.items[(tenant_id, name)] = EventTypeItem(
            tenant_id=tenant_id,
            name=name,
            schema_text=None if schema is None else json.dumps(schema),
            created_at="2026-03-01T00:00:00.000Z",
            updated_at="2026-03-01T00:00:00.000Z",
        )

    def get_many(self, client: Any, table: str, tenant_id: str, names: Any) -> dict[str, EventTypeItem]:
        self.reads += 1
        return {name: self.items[(tenant_id, name)] for name in names if (tenant_id, name) in self.items}


@pytest.fixture
def catalog(monkeypatch: pytest.MonkeyPatch) -> Catalog:
    fake = Catalog()
    monkeypatch.setattr(event_types_table, "get_many", fake.get_many)
    return fake


def events(*pairs: tuple[str, dict[str, Any]]) -> list[tuple[EventIn, str]]:
    return [(EventIn(event_type=name, payload=payload), json.dumps(payload)) for name, payload in pairs]


def test_a_cached_schema_is_used_until_its_time_is_up_then_read_again(catalog: Catalog) -> None:
    # Given a type with a schema, cached for 5 s
    clock = Clock()
    cache = CatalogCache(ttl_seconds=5.0, clock=clock)
    catalog.set("t1", "a.b", SCHEMA)
    bad = events(("a.b", {"n": "x"}))
    with pytest.raises(SchemaViolation):
        check_payloads(cache, None, "table", "t1", bad, False)  # type: ignore[arg-type]

    # When the schema is removed elsewhere, the instance keeps it for the rest of the 5 s
    catalog.set("t1", "a.b", None)
    clock.now += 4.9
    with pytest.raises(SchemaViolation):
        check_payloads(cache, None, "table", "t1", bad, False)  # type: ignore[arg-type]
    assert catalog.reads == 1

    # Then after 5 s it reads the catalog again, and the payload passes
    clock.now += 0.1
    check_payloads(cache, None, "table", "t1", bad, False)  # type: ignore[arg-type]
    assert catalog.reads == 2


def test_a_type_not_in_the_catalog_is_remembered_too_and_tenants_are_apart(catalog: Catalog) -> None:
    cache = CatalogCache(ttl_seconds=5.0, clock=Clock())
    catalog.set("t2", "a.b", SCHEMA)

    for _ in range(3):
        check_payloads(cache, None, "table", "t1", events(("a.b", {"n": "x"})), False)  # type: ignore[arg-type]
    with pytest.raises(SchemaViolation):
        check_payloads(cache, None, "table", "t2", events(("a.b", {"n": "x"})), False)  # type: ignore[arg-type]
    assert catalog.reads == 2


def test_the_instance_that_changed_a_type_uses_the_change_at_once(catalog: Catalog) -> None:
    cache = CatalogCache(ttl_seconds=300.0, clock=Clock())
    check_payloads(cache, None, "table", "t1", events(("a.b", {"n": "x"})), False)  # type: ignore[arg-type]
    catalog.set("t1", "a.b", SCHEMA)

    cache.put("t1", "a.b", catalog.items[("t1", "a.b")])

    with pytest.raises(SchemaViolation):
        check_payloads(cache, None, "table", "t1", events(("a.b", {"n": "x"})), False)  # type: ignore[arg-type]


def test_batch_errors_name_the_item_and_the_path(catalog: Catalog) -> None:
    catalog.set(
        "t1", "a.b", {"type": "object", "properties": {"xs": {"type": "array", "items": {"type": "integer"}}}}
    )
    cache = CatalogCache(clock=Clock())
    batch = events(("a.b", {"xs": [1]}), ("c.d", {"xs": ["no"]}), ("a.b", {"xs": [1, "two"]}))

    with pytest.raises(SchemaViolation) as raised:
        check_payloads(cache, None, "table", "t1", batch, True)  # type: ignore[arg-type]

    assert raised.value.extensions["errors"] == [
        {"field": "2.payload.xs.1", "message": '"two" is not of type "integer"'}
    ]
    assert raised.value.status == 422


def test_errors_are_capped_per_event() -> None:
    validator = compile_schema({"type": "object", "additionalProperties": {"type": "integer"}})

    errors = payload_errors(validator, {f"k{n}": "x" for n in range(50)}, ())

    assert len(errors) == 10


@pytest.mark.parametrize(
    "schema", [True, False, {}, SCHEMA, {"$schema": "https://json-schema.org/draft/2020-12/schema"}]
)
def test_2020_12_schemas_compile(schema: Any) -> None:
    compile_schema(schema)


@pytest.mark.parametrize(
    "schema",
    [
        [],
        "object",
        {"type": "nonsense"},
        {"$defs": {"a": {"$ref": "#/$defs/b"}}, "$ref": "#/$defs/a"},
        {"$ref": "file:///etc/passwd"},
        {"$schema": "http://json-schema.org/draft-04/schema#"},
    ],
)
def test_what_is_not_a_usable_2020_12_schema_is_refused(schema: Any) -> None:
    with pytest.raises(ValidationFailed) as raised:
        compile_schema(schema)
    assert raised.value.extensions["errors"][0]["field"] == "schema"


def test_a_stored_schema_that_no_longer_compiles_leaves_its_events_unchecked(catalog: Catalog) -> None:
    # (schemas are checked when stored; a validator upgrade could still refuse one)
    catalog.set("t1", "a.b", {"type": 12})
    cache = CatalogCache(clock=Clock())

    check_payloads(cache, None, "table", "t1", events(("a.b", {"n": "x"})), False)  # type: ignore[arg-type]

    assert catalog.reads == 1
