"""The Python client generated from docs/openapi.json (sdk/python, `triggers_client`) works against the API.

The package is committed and installed in the project's venv; tests/unit/test_sdk_python.py proves
it is what openapi-python-client makes of the document now (`make sdk` regenerates it), with
`--fail-on-warning`, so any part of the document the generator cannot express (OpenAPI 3.1
constructs, problem+json, nullable unions...) fails there.
"""

import importlib
import uuid
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
import triggers_client

from devtools.stack import EmbeddedStack
from ingest.core.api_keys_table import create_api_key


@pytest.fixture(scope="module")
def client_package() -> Callable[[str], ModuleType]:
    """A module of the generated client by its name inside the package (`api.events.list_events`)."""
    return lambda name: importlib.import_module(f"triggers_client.{name}" if name else "triggers_client")


@pytest.fixture
def client(stack: EmbeddedStack, aws_client: Callable[[str], Any]) -> Any:
    """The generated client with a new tenant's key, raising on any status the document lacks."""
    tenant_id = f"client-{uuid.uuid4().hex[:12]}"
    api_key = create_api_key(aws_client("dynamodb"), stack.template.physical_name("ApiKeysTable"), tenant_id)
    return triggers_client.AuthenticatedClient(
        base_url=stack.api_url, token=api_key, raise_on_unexpected_status=True
    )


def test_generated_client_creates_lists_and_deletes_an_event(
    client: Any, client_package: Callable[[str], ModuleType]
) -> None:
    models = client_package("models")
    ingest_events = client_package("api.events.ingest_events")
    list_events = client_package("api.events.list_events")
    get_event = client_package("api.events.get_event")
    delete_event = client_package("api.inbox.delete_event")
    event_type = f"client.{uuid.uuid4().hex[:8]}"

    # Given an event created through the client
    payload = models.EventInPayload.from_dict({"order": {"id": 42}, "note": "café"})
    accepted = ingest_events.sync(client=client, body=models.EventIn(event_type=event_type, payload=payload))
    assert isinstance(accepted, models.AcceptedEvent), accepted

    # When it is listed
    page = list_events.sync(client=client, event_type=event_type, limit=10)

    # Then the list finds it, payload and all
    assert isinstance(page, models.EventPage), page
    assert [event.id for event in page.data] == [accepted.id]
    assert page.data[0].payload.to_dict() == {"order": {"id": 42}, "note": "café"}
    assert page.data[0].status == models.EventOutStatus.PENDING

    # When it is deleted
    deleted = delete_event.sync_detailed(accepted.id, client=client)

    # Then the answer is a 204, and the event is gone from the list and by id (a 404 problem)
    assert deleted.status_code == 204
    assert list_events.sync(client=client, event_type=event_type).data == []
    gone = get_event.sync(accepted.id, client=client)
    assert isinstance(gone, models.Problem)
    assert (gone.status, gone.type_) == (404, "https://triggers.dev/problems/not-found")


def test_generated_client_reads_a_schema_problem_with_its_field_errors(
    client: Any, client_package: Callable[[str], ModuleType]
) -> None:
    models = client_package("models")
    get_event = client_package("api.events.get_event")

    problem = get_event.sync("not-an-id", client=client)

    assert isinstance(problem, models.Problem)
    assert problem.status == 422
    assert [error.field for error in problem.errors] == ["event_id"]
