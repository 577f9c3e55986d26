"""Signing secrets at rest, against the embedded stack: the API stores only KMS ciphertext (moto's
KMS, the key template.yaml declares), bound to its owner, and `triggers secrets migrate` encrypts
what was stored before."""

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from devtools.stack import EmbeddedStack
from ingest.core import subscriptions_table
from ingest.core.credentials import CredentialKey, CredentialUnreadable
from tests.integration.cli_support import command_json, command_output, triggers
from tests.integration.conftest import ApiClient
from tests.secret_scan import leaks, scan_all

URL = "http://127.0.0.1:9/hook"


@pytest.fixture
def table(stack: EmbeddedStack) -> str:
    return stack.template.physical_name("SubscriptionsTable")


@pytest.fixture
def key(stack: EmbeddedStack, aws_client: Callable[[str], Any]) -> CredentialKey:
    return CredentialKey(aws_client("kms"), str(stack.template.ref("SecretsKeyAlias")))


def subscribe(api: ApiClient, path: str = "/hook") -> dict[str, Any]:
    response = api.post("/v1/subscriptions", json={"target_url": URL + path, "event_types": ["*"]})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def stored(
    aws_client: Callable[[str], Any], table: str, api: ApiClient, subscription_id: str
) -> dict[str, Any]:
    key = {"tenant_id": {"S": api.tenant_id}, "subscription_id": {"S": subscription_id}}
    item: dict[str, Any] = aws_client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True)[
        "Item"
    ]
    return item


HEADER_VALUES = ["Bearer created-over-http-0123456789", "Bearer patched-over-http-9876543210"]


def test_a_table_scan_after_creates_rotations_and_patches_over_http_shows_no_secret_or_header_value(
    new_tenant: Callable[[], ApiClient], aws_client: Callable[[str], Any], table: str
) -> None:
    # Given subscriptions of two tenants, one rotated twice and given custom headers, another
    # created with one, all through the API
    first, second = new_tenant(), new_tenant()
    created = [subscribe(first, "/a"), subscribe(first, "/b"), subscribe(second)]
    rotated = [first.post(f"/v1/subscriptions/{created[0]['id']}/rotate-secret") for _ in range(2)]
    assert [response.status_code for response in rotated] == [200, 200]
    secrets = [item["secret"] for item in created] + [response.json()["secret"] for response in rotated]
    with_header = second.post(
        "/v1/subscriptions",
        json={"target_url": URL + "/h", "event_types": ["*"], "headers": {"Authorization": HEADER_VALUES[0]}},
    )
    patched = first.patch(
        f"/v1/subscriptions/{created[0]['id']}", json={"headers": {"Authorization": HEADER_VALUES[1]}}
    )
    assert (with_header.status_code, patched.status_code) == (201, 200)
    assert patched.json()["headers"] == {"Authorization": "Bearer ****3210"}

    # When the whole subscriptions table is scanned
    items = scan_all(aws_client("dynamodb"), table)

    # Then every secret the API returned and every header value is absent from every attribute,
    # in every form
    assert {item["id"] for item in created} <= {item["subscription_id"]["S"] for item in items}
    assert leaks(items, [*secrets, with_header.json()["secret"], *HEADER_VALUES]) == []
    item = stored(aws_client, table, first, created[0]["id"])
    assert item["secret_ciphertext"]["S"].startswith("kms1:")
    assert item["previous_secret_ciphertext"]["S"].startswith("kms1:")


def test_a_stored_secret_decrypts_for_its_owner_only(
    api: ApiClient, aws_client: Callable[[str], Any], table: str, key: CredentialKey
) -> None:
    created = subscribe(api)
    ciphertext = stored(aws_client, table, api, created["id"])["secret_ciphertext"]["S"]
    owner = {"tenant_id": api.tenant_id, "subscription_id": created["id"]}

    assert key.decrypt(ciphertext, owner) == created["secret"]
    with pytest.raises(CredentialUnreadable):
        key.decrypt(ciphertext, {**owner, "tenant_id": f"t-{uuid.uuid4().hex[:12]}"})


def plaintext_item(aws_client: Callable[[str], Any], table: str, api: ApiClient) -> tuple[str, str]:
    """A subscription as written before encryption (plaintext `secret`): (its id, its secret)."""
    subscription_id = f"sub_01JDDDDDDDDDDDDDDD{uuid.uuid4().hex[:8].upper()}"
    secret = subscriptions_table.new_secret()
    aws_client("dynamodb").put_item(
        TableName=table,
        Item={
            "tenant_id": {"S": api.tenant_id},
            "subscription_id": {"S": subscription_id},
            "target_url": {"S": URL},
            "event_types": {"L": [{"S": "*"}]},
            "secret": {"S": secret},
            "status": {"S": "active"},
            "created_at": {"S": "2026-01-01T00:00:00.000Z"},
            "updated_at": {"S": "2026-01-01T00:00:00.000Z"},
        },
    )
    return subscription_id, secret


def test_secrets_migrate_encrypts_plaintext_items_and_a_rerun_does_nothing(
    stack: EmbeddedStack,
    api: ApiClient,
    aws_client: Callable[[str], Any],
    table: str,
    key: CredentialKey,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a subscription stored with a plaintext secret, readable through the API meanwhile
    subscription_id, secret = plaintext_item(aws_client, table, api)
    assert api.get(f"/v1/subscriptions/{subscription_id}").status_code == 200
    capsys.readouterr()

    # When a dry run, a run and a second run go through the CLI
    assert triggers(stack, "secrets", "migrate", "--dry-run", "--json") == 0
    dry = command_json(capsys)
    assert "secret" in stored(aws_client, table, api, subscription_id)
    assert triggers(stack, "secrets", "migrate", "--json") == 0
    done = command_json(capsys)
    assert triggers(stack, "secrets", "migrate") == 0
    again, _ = command_output(capsys)

    # Then the dry run counted it and wrote nothing, the run encrypted it, the rerun found nothing
    assert dry["dry_run"] is True and dry["plaintext"] >= 1 and dry["encrypted"] == 0
    assert (done["complete"], done["plaintext"], done["encrypted"]) == (
        True,
        dry["plaintext"],
        dry["plaintext"],
    )
    assert "0 subscription(s) held a plaintext secret" in again
    item = stored(aws_client, table, api, subscription_id)
    assert "secret" not in item
    owner = {"tenant_id": api.tenant_id, "subscription_id": subscription_id}
    assert key.decrypt(item["secret_ciphertext"]["S"], owner) == secret
    assert leaks([item], [secret]) == []


def test_secrets_migrate_with_a_key_it_cannot_use_fails_and_writes_nothing(
    stack: EmbeddedStack,
    api: ApiClient,
    aws_client: Callable[[str], Any],
    table: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    subscription_id, _ = plaintext_item(aws_client, table, api)
    capsys.readouterr()

    code = triggers(stack, "secrets", "migrate", "--key-id", "alias/not-there")

    _, err = command_output(capsys)
    assert code == 1
    assert "alias/not-there cannot be described" in err
    assert "secret" in stored(aws_client, table, api, subscription_id)
    assert triggers(stack, "secrets", "migrate") == 0  # leave the shared stack migrated
