"""The API's OpenAPI document: what Powertools generates from the routes, made exact.

Powertools infers the parameters and takes the responses each route declares. What it cannot
know, or states wrongly for this API, is settled here, on the generated document:

- request bodies that routes parse themselves (to keep payload bytes, to answer 413 before
  parsing) are declared by the routes as `$ref`s; their models are added as components;
- a query or header parameter is text or absent, never `null`: `anyOf [X, null]` becomes `X`;
- Powertools adds a JSON 422 (`HTTPValidationError`) to every route; this API answers schema
  violations with problem+json, and a route without parameters or body never answers 422, so the
  routes declare their own 422 and the generic one is dropped where it remains;
- a 204 has no body (RFC 9110 15.3.5), whatever the handler's return type suggests;
- component schemas nothing refers to any more are dropped, and responses are listed by status.
"""

import json
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

COMPONENT_REF = "#/components/schemas/"
GENERIC_422_SCHEMA = {"$ref": COMPONENT_REF + "HTTPValidationError"}


def component_ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": COMPONENT_REF + model.__name__}


def add_components(spec: dict[str, Any], models: Iterable[type[BaseModel]]) -> None:
    """Each model as a component schema under its class name, nested models beside it."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for model in models:
        schema = model.model_json_schema(ref_template=COMPONENT_REF + "{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema


def _operations(spec: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for item in spec["paths"].values():
        yield from item.values()


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    options = schema.get("anyOf")
    if not isinstance(options, list) or {"type": "null"} not in options:
        return schema
    rest = [option for option in options if option != {"type": "null"}]
    annotations = {
        key: value for key, value in schema.items() if key != "anyOf" and (key, value) != ("default", None)
    }
    if len(rest) == 1:
        return {**rest[0], **annotations}
    return {"anyOf": rest, **annotations}


def _is_generic_422(response: dict[str, Any]) -> bool:
    return any(media.get("schema") == GENERIC_422_SCHEMA for media in response.get("content", {}).values())


def _referenced(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["$ref"]} if isinstance(value.get("$ref"), str) else set()
        return found.union(*(_referenced(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(_referenced(item) for item in value))
    return set()


def _prune_components(spec: dict[str, Any]) -> None:
    schemas: dict[str, Any] = spec.get("components", {}).get("schemas", {})
    reachable: set[str] = set()
    refs = _referenced({key: value for key, value in spec.items() if key != "components"})
    while refs:
        names = {ref.removeprefix(COMPONENT_REF) for ref in refs if ref.startswith(COMPONENT_REF)} - reachable
        reachable |= names
        refs = _referenced([schemas[name] for name in names if name in schemas])
    for name in [name for name in schemas if name not in reachable]:
        del schemas[name]


def finish(spec: dict[str, Any], body_models: Iterable[type[BaseModel]]) -> dict[str, Any]:
    """The generated document made exact (see the module docstring); changed in place and returned."""
    add_components(spec, body_models)
    for operation in _operations(spec):
        for parameter in operation.get("parameters", []):
            if parameter.get("in") in ("query", "header") and "schema" in parameter:
                parameter["schema"] = _without_null(parameter["schema"])
        responses: dict[str, Any] = operation.get("responses", {})
        if "422" in responses and _is_generic_422(responses["422"]):
            del responses["422"]
        responses.get("204", {}).pop("content", None)
        operation["responses"] = dict(sorted(responses.items()))
    _prune_components(spec)
    return spec


def dumps(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2, ensure_ascii=False)


__all__ = ["add_components", "component_ref", "dumps", "finish"]
