"""What the routes document about their answers: the success body and each problem they can give.

Every route lists exactly the statuses it can answer, no more: an authenticated route can answer
401 and 503 (the key lookup), a route with parameters 422, a route with an id 404, a route with a
body 400 and 413. tests/integration/test_openapi_exact.py reaches every documented response of
every route over HTTP and checks it with schemathesis, so a status listed here that the code
cannot produce fails there, and one the code produces but the route does not list fails the fuzz.
"""

from typing import Any, cast

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel

from ingest.core.models import Problem
from ingest.openapi import component_ref

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"

DESCRIPTIONS: dict[int, str] = {
    400: "Malformed request",
    401: "Missing or unknown API key",
    404: "Not found (also for another tenant's id)",
    413: "Body too large",
    422: "Schema violation",
    503: "A backing store is temporarily unavailable; safe to retry",
}


def ok(model: Any, description: str = "OK") -> OpenAPIResponse:
    """A JSON success body (`model` may be a union of models)."""
    return {"description": description, "content": {JSON: {"model": model}}}


# Responses that carry a secret must not be kept by any cache (RFC 9111 5.2.2.5).
NO_STORE = {"Cache-Control": "no-store"}


def ok_no_store(model: Any, description: str) -> OpenAPIResponse:
    """A JSON success body that carries a secret, answered with `Cache-Control: no-store`."""
    response: dict[str, Any] = {
        **ok(model, description),
        "headers": {
            "Cache-Control": {
                "description": "Always `no-store`: the body carries a secret that no cache may keep",
                "required": True,
                "schema": {"type": "string", "const": "no-store"},
            }
        },
    }
    return cast(OpenAPIResponse, response)


def no_content(description: str) -> OpenAPIResponse:
    """A success without a body (204: RFC 9110 15.3.5)."""
    return {"description": description}


def problem(description: str) -> OpenAPIResponse:
    """An RFC 9457 problem+json answer."""
    return {"description": description, "content": {PROBLEM_JSON: {"model": Problem}}}


def problems(*statuses: int) -> dict[int, OpenAPIResponse]:
    """The problem answers of `statuses`, with their usual descriptions. Answers whose meaning
    depends on the route (409) are added by the route with `problem(...)`."""
    return {status: problem(DESCRIPTIONS[status]) for status in statuses}


def json_body(
    body: type[BaseModel] | dict[str, Any], examples: dict[str, tuple[str, Any]], *, required: bool = True
) -> dict[str, Any]:
    """`openapi_extensions` of a route that parses its own JSON body: a model (a component schema
    that ingest.openapi.finish adds) or a schema, and named examples (`name: (summary, value)`),
    each a body the route accepts (`required=False`: the body may also be left out).
    tests/unit/test_properties_bodies.py corrupts these examples to show that every body route
    refuses what the JSON reader refuses."""
    schema = body if isinstance(body, dict) else component_ref(body)
    media = {
        "schema": schema,
        "examples": {
            name: {"summary": summary, "value": value} for name, (summary, value) in examples.items()
        },
    }
    return {"requestBody": {"required": required, "content": {JSON: media}}}


__all__ = [
    "JSON",
    "NO_STORE",
    "PROBLEM_JSON",
    "json_body",
    "no_content",
    "ok",
    "ok_no_store",
    "problem",
    "problems",
]
