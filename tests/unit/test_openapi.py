"""The committed OpenAPI document cannot drift from the API, and `triggers openapi` writes it."""

import json
from pathlib import Path

from openapi_spec_validator import validate

from devtools.cli import main
from devtools.commands.openapi import DEFAULT_OUTPUT, document


def test_committed_openapi_document_matches_the_api() -> None:
    assert DEFAULT_OUTPUT.read_text() == document(), (
        "run `uv run triggers openapi` and commit docs/openapi.json"
    )


def test_openapi_command_writes_the_document(tmp_path: Path) -> None:
    output = tmp_path / "openapi.json"

    assert main(["openapi", "--output", str(output)]) == 0

    assert output.read_text() == document()


def test_document_describes_every_route_and_bearer_auth() -> None:
    spec = json.loads(document())

    operations = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert operations == {
        ("/health", "get"),
        ("/v1/openapi.json", "get"),
        ("/v1/events", "post"),
        ("/v1/events", "get"),
        ("/v1/events/{event_id}", "get"),
        ("/v1/events/{event_id}", "delete"),
        ("/v1/events/{event_id}/ack", "post"),
        ("/v1/inbox", "get"),
        ("/v1/events/{event_id}/deliveries", "get"),
        ("/v1/subscriptions", "post"),
        ("/v1/subscriptions", "get"),
        ("/v1/subscriptions/{subscription_id}", "get"),
        ("/v1/subscriptions/{subscription_id}", "delete"),
        ("/v1/subscriptions/{subscription_id}/enable", "post"),
        ("/v1/subscriptions/{subscription_id}/rotate-secret", "post"),
        ("/v1/subscriptions/{subscription_id}/replay", "post"),
        ("/v1/subscriptions/{subscription_id}/deliveries", "get"),
    }
    assert spec["security"] == [{"bearerAuth": []}]
    assert set(spec["paths"]["/v1/events"]["post"]["responses"]) >= {
        "200",
        "201",
        "400",
        "401",
        "409",
        "413",
        "422",
    }


def test_public_routes_are_documented_as_needing_no_credentials() -> None:
    paths = json.loads(document())["paths"]

    assert paths["/health"]["get"]["security"] == [{}]
    assert paths["/v1/openapi.json"]["get"]["security"] == [{}]
    assert "security" not in paths["/v1/events"]["post"]


def test_document_is_valid_openapi() -> None:
    validate(json.loads(document()))


def test_post_events_documents_one_event_or_a_batch_as_request_body() -> None:
    spec = json.loads(document())

    schema = spec["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    event = {"$ref": "#/components/schemas/EventIn"}
    assert schema["oneOf"] == [event, {"type": "array", "items": event, "minItems": 1, "maxItems": 25}]
    assert spec["components"]["schemas"]["EventIn"]["required"] == ["event_type", "payload"]
