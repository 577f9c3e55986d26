"""`triggers keys create | ls | revoke` against the embedded stack."""

import json
import time
import uuid

import pytest

from devtools.stack import EmbeddedStack
from ingest.core.api_keys_table import key_id
from ingest.core.settings import IngestSettings
from tests.integration.cli_support import command_json, command_output, triggers
from tests.integration.conftest import ApiClient

EVENT = {"event_type": "order.created", "payload": {"id": 1}}


def create_key(stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], tenant_id: str) -> dict[str, str]:
    assert triggers(stack, "keys", "create", "--tenant", tenant_id, "--json") == 0
    created: dict[str, str] = command_json(capsys)
    return created


@pytest.fixture
def tenant_id() -> str:
    return f"t-keys-{uuid.uuid4().hex[:10]}"


def test_create_prints_only_the_key_on_stdout(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], tenant_id: str
) -> None:
    assert triggers(stack, "keys", "create", "--tenant", tenant_id) == 0

    out, err = command_output(capsys)
    (api_key,) = out.split()
    assert api_key.startswith("trg_")
    assert key_id(api_key) in err
    assert api_key not in err


def test_create_json_gives_the_key_its_id_and_tenant(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], tenant_id: str
) -> None:
    created = create_key(stack, capsys, tenant_id)

    assert created["tenant_id"] == tenant_id
    assert created["key_id"] == key_id(created["api_key"])
    assert ApiClient(stack.api_url, created["api_key"], tenant_id).get("/v1/events").status_code == 200


@pytest.mark.parametrize("tenant", ["", "   ", "has space", "x" * 257])
def test_create_refuses_a_malformed_tenant(stack: EmbeddedStack, tenant: str) -> None:
    with pytest.raises(SystemExit) as exited:
        triggers(stack, "keys", "create", "--tenant", tenant)

    assert exited.value.code == 2


def test_ls_shows_key_ids_never_keys(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], tenant_id: str
) -> None:
    first, second = create_key(stack, capsys, tenant_id), create_key(stack, capsys, tenant_id)

    assert triggers(stack, "keys", "ls", "--tenant", tenant_id, "--json") == 0

    output = command_output(capsys)[0]
    listed = json.loads(output)
    assert sorted(key["key_id"] for key in listed) == sorted([first["key_id"], second["key_id"]])
    assert all(key["tenant_id"] == tenant_id and key["revoked_at"] is None for key in listed)
    assert first["api_key"] not in output and "key_hash" not in output


@pytest.mark.parametrize("by", ["key", "key_id"])
def test_revoked_key_gets_401_once_the_key_cache_period_has_passed(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], tenant_id: str, by: str
) -> None:
    # Given a key that works, remembered by the API's instances (no request in flight)
    created = create_key(stack, capsys, tenant_id)
    api = ApiClient(stack.api_url, created["api_key"], tenant_id)
    for _ in range(3):
        assert api.post("/v1/events", json=EVENT).status_code == 201

    # When it is revoked by the key itself or by its id
    assert triggers(stack, "keys", "revoke", created["api_key" if by == "key" else "key_id"], "--json") == 0
    revoked = command_json(capsys)
    assert revoked["key_id"] == created["key_id"]
    assert revoked["revoked_at"]

    # Then every request is refused once the stated bound has passed since the revocation (every
    # remembered read happened before it), whichever instance answers
    time.sleep(IngestSettings.model_fields["api_key_cache_seconds"].default)
    assert [api.post("/v1/events", json=EVENT).status_code for _ in range(3)] == [401] * 3
    assert [api.get("/v1/events").status_code for _ in range(3)] == [401] * 3


def test_revoking_one_key_leaves_the_tenants_other_keys_working(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], tenant_id: str
) -> None:
    revoked, kept = create_key(stack, capsys, tenant_id), create_key(stack, capsys, tenant_id)

    assert triggers(stack, "keys", "revoke", revoked["key_id"]) == 0

    assert ApiClient(stack.api_url, kept["api_key"], tenant_id).get("/v1/events").status_code == 200


def test_revoking_twice_keeps_the_first_revocation_time(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], tenant_id: str
) -> None:
    created = create_key(stack, capsys, tenant_id)
    assert triggers(stack, "keys", "revoke", created["key_id"], "--json") == 0
    first = command_json(capsys)

    assert triggers(stack, "keys", "revoke", created["api_key"], "--json") == 0

    assert command_json(capsys)["revoked_at"] == first["revoked_at"]


@pytest.mark.parametrize(
    ("argument", "code"),
    [
        ("trg_" + "x" * 43, 1),  # well-formed, unknown
        ("0123456789abcdef", 1),  # a key id nobody has
        ("abc", 2),  # too short for an id
        ("not-hex-at-all!", 2),
    ],
)
def test_revoking_an_unknown_or_malformed_key_fails_without_changes(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], argument: str, code: int
) -> None:
    assert triggers(stack, "keys", "revoke", argument, "--json") == code

    out, err = command_output(capsys)
    assert out == ""
    assert json.loads(err)["error"]
