"""Responses that carry a secret are answered with `Cache-Control: no-store`, over real HTTP, and
the document the API serves declares it on every response whose body has a `secret` member (so a
new secret-bearing route is caught here, and schemathesis' header check holds it to it)."""

from typing import Any

import requests

from devtools.stack import EmbeddedStack
from tests.integration.conftest import ApiClient

NO_STORE_HEADER = {"required": True, "schema": {"type": "string", "const": "no-store"}}


def secret_responses(document: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(method, path, status) -> response, for every documented response whose JSON body has `secret`."""
    schemas = document["components"]["schemas"]
    found = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                for media in response.get("content", {}).values():
                    schema = media.get("schema", {})
                    if "$ref" in schema:
                        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
                    if "secret" in schema.get("properties", {}):
                        found[(method.upper(), path, status)] = response
    return found


def test_every_documented_response_carrying_a_secret_declares_no_store(stack: EmbeddedStack) -> None:
    document = requests.get(f"{stack.api_url}/v1/openapi.json", timeout=30).json()

    found = secret_responses(document)

    assert set(found) >= {
        ("POST", "/v1/subscriptions", "201"),
        ("POST", "/v1/subscriptions/{subscription_id}/rotate-secret", "200"),
    }
    for where, response in found.items():
        header = response.get("headers", {}).get("Cache-Control", {})
        assert {name: header.get(name) for name in NO_STORE_HEADER} == NO_STORE_HEADER, where


def test_subscribe_answers_its_secret_with_no_store(api: ApiClient) -> None:
    created = api.post(
        "/v1/subscriptions", json={"target_url": "http://127.0.0.1:9/no-store", "event_types": ["*"]}
    )

    assert created.status_code == 201, created.text
    assert created.json()["secret"].startswith("whsec_")
    assert created.headers["Cache-Control"] == "no-store"


def test_rotate_secret_answers_the_new_secret_with_no_store(api: ApiClient) -> None:
    created = api.post(
        "/v1/subscriptions", json={"target_url": "http://127.0.0.1:9/no-store", "event_types": ["*"]}
    )

    rotated = api.post(f"/v1/subscriptions/{created.json()['id']}/rotate-secret")

    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"] != created.json()["secret"]
    assert rotated.headers["Cache-Control"] == "no-store"
