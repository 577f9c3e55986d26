"""The committed OpenAPI document cannot drift from the API, and `triggers openapi` writes it."""

import json
import re
from pathlib import Path

from openapi_spec_validator import validate

from devtools.apidoc import BEGIN, END, splice
from devtools.cli import main
from devtools.commands.openapi import DEFAULT_MARKDOWN, DEFAULT_OUTPUT, api_page, document


def test_committed_openapi_document_matches_the_api() -> None:
    assert DEFAULT_OUTPUT.read_text() == document(), (
        "run `uv run triggers openapi` and commit docs/openapi.json"
    )


def test_committed_api_reference_matches_the_document() -> None:
    page = DEFAULT_MARKDOWN.read_text()

    assert page == api_page(page), "run `uv run triggers openapi` and commit docs/api.md"


def test_openapi_command_writes_the_document_and_the_route_reference(tmp_path: Path) -> None:
    output, markdown = tmp_path / "openapi.json", tmp_path / "api.md"
    markdown.write_text(f"# API\n\nprose kept\n\n{BEGIN}\nstale\n{END}\n\nmore prose\n")

    assert main(["openapi", "--output", str(output), "--markdown", str(markdown)]) == 0

    page = markdown.read_text()
    assert output.read_text() == document()
    assert page.startswith("# API\n\nprose kept\n\n") and page.endswith("\n\nmore prose\n")
    assert "stale" not in page


def test_route_reference_has_every_operation_with_a_curl_example() -> None:
    spec = json.loads(document())
    page = splice("", spec)

    for path, item in spec["paths"].items():
        for method in item:
            assert f"### `{method.upper()} {path}`" in page
    assert page.count("```sh\ncurl -sS") == sum(len(item) for item in spec["paths"].values())
    assert '-H "Authorization: Bearer $KEY"' not in page.split("### `GET /health`")[1].split("###")[0]


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
        ("/v1/subscriptions/{subscription_id}", "patch"),
        ("/v1/me", "get"),
        ("/v1/subscriptions/{subscription_id}/enable", "post"),
        ("/v1/subscriptions/{subscription_id}/disable", "post"),
        ("/v1/subscriptions/{subscription_id}/rotate-secret", "post"),
        ("/v1/subscriptions/{subscription_id}/replay", "post"),
        ("/v1/subscriptions/{subscription_id}/deliveries", "get"),
        ("/v1/subscriptions/{subscription_id}/stats", "get"),
        ("/v1/stats", "get"),
        ("/v1/destinations", "get"),
        ("/v1/subscriptions/{subscription_id}/recover", "post"),
        ("/v1/event-types", "post"),
        ("/v1/event-types", "get"),
        ("/v1/event-types/{name}", "get"),
        ("/v1/event-types/{name}", "patch"),
        ("/v1/event-types/{name}", "delete"),
        ("/v1/audit", "get"),
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


def test_the_resolver_routes_exactly_the_documented_operations() -> None:
    from ingest.api import app

    # Powertools keeps its routes (those of included routers too) in these two lists; a route with
    # `include_in_schema=False`, or one added to the document by hand, shows up here.
    routed = {
        (route.method.lower(), re.sub(r"<(\w+)>", r"{\1}", route.path))
        for route in [*app._static_routes, *app._dynamic_routes]
    }
    documented = {(method, path) for path, item in json.loads(document())["paths"].items() for method in item}
    # The web console's static files (docs/console.md) are pages, not API operations.
    console = {("get", "/console"), ("get", "/console/"), ("get", "/console/{name}")}

    assert console <= routed
    assert sorted(routed - documented - console) == [], "routed but not in the document"
    assert sorted(documented - routed) == [], "in the document but not routed"


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


def test_no_content_response_declares_no_body() -> None:
    spec = json.loads(document())

    no_content = [
        (path, method, response)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        for status, response in operation.get("responses", {}).items()
        if status == "204"
    ]

    assert no_content
    assert [(path, method) for path, method, response in no_content if "content" in response] == []
