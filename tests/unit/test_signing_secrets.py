"""Encrypted signing secrets in the functions that sign: KMS (moto) decrypts, a cache per
ciphertext keeps warm batches free of KMS calls, and a failure is either the pipeline's (the
stream or queue retries) or the subscriber's data (a failed attempt, never a stuck stream)."""

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import standardwebhooks
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from pytest_httpserver import HTTPServer

from devtools.runner.lambda_context import LocalLambdaContext
from devtools.secrets_migration import migrate
from ingest.core import subscriptions_table
from ingest.core.clients import kms_client
from ingest.core.credentials import (
    FORMAT,
    MAX_PLAINTEXT_BYTES,
    CredentialCache,
    CredentialKey,
    CredentialUnreadable,
    StoredCredential,
)
from processors.fanout.handler import lambda_handler as fanout_handler
from processors.retry.handler import lambda_handler as retry_handler
from tests.secret_scan import leaks, scan_all
from tests.unit.webhooks_support import STAGE_TABLE, Webhooks, body, clear_webhook_caches, sqs_event

SUBSCRIPTIONS = STAGE_TABLE.format("subscriptions")
Receiver = Callable[[], HTTPServer]
CONTEXT = {"tenant_id": "t1", "subscription_id": "sub_1"}
NOW = datetime.now(UTC)


def invoke(webhooks: Webhooks, context: LocalLambdaContext, *events: Any) -> dict[str, Any]:
    return dict(fanout_handler(webhooks.stream_event(*events), context))


def verify(secret: str, server: HTTPServer, index: int = -1) -> dict[str, Any]:
    request, _ = server.log[index]
    verified: dict[str, Any] = standardwebhooks.Webhook(secret).verify(
        request.get_data(as_text=True), dict(request.headers)
    )
    return verified


@pytest.fixture
def decrypts() -> Iterator[list[str]]:
    """The key ids of the Decrypt calls the functions' KMS client makes."""
    calls: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(params["KeyId"])

    client = kms_client()
    client.meta.events.register("provide-client-params.kms.Decrypt", record)
    yield calls
    client.meta.events.unregister("provide-client-params.kms.Decrypt", record)


def test_a_warm_batch_makes_no_kms_call_and_a_rotation_decrypts_only_the_new_secret(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext, decrypts: list[str]
) -> None:
    # Given two subscribers and a first batch (cold: one Decrypt per secret, the key pinned)
    servers = [receiver() for _ in range(2)]
    for server in servers:
        server.expect_request("/hook").respond_with_data("ok")
    first, second = (webhooks.subscribe("t1", server.url_for("/hook")) for server in servers)
    invoke(webhooks, lambda_context, webhooks.put_event("t1"), webhooks.put_event("t1"))
    assert decrypts == ["alias/triggers-test-secrets"] * 2

    # When the tenant's list is reloaded for another reason (a failure streak moves its version)
    subscriptions_table.record_failure(webhooks.dynamodb, SUBSCRIPTIONS, "t1", second.subscription_id, NOW)
    invoke(webhooks, lambda_context, webhooks.put_event("t1"))
    after_reload = len(decrypts)
    # and then one subscription's secret is rotated
    rotated = webhooks.rotate(first)
    invoke(webhooks, lambda_context, webhooks.put_event("t1"))

    # Then the reload decrypted nothing, the rotation only the new secret (the old one is cached)
    assert after_reload == 2
    assert len(decrypts) == 3
    assert [len(server.log) for server in servers] == [4, 4]
    verify(webhooks.secret_of(rotated), servers[0])
    verify(webhooks.secret_of(second), servers[1])


def test_kms_failing_fails_the_batch_for_the_stream_to_retry_and_the_retry_delivers_once(
    webhooks: Webhooks,
    receiver: Receiver,
    lambda_context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a subscriber, and the functions' key unreachable (here: misnamed)
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    event = webhooks.put_event("t1")
    monkeypatch.setenv("SECRETS_KEY_ID", "alias/not-there")
    clear_webhook_caches()

    # When the batch runs: nothing is sent or recorded, the stream is told to retry
    with pytest.raises(BatchProcessingError):
        fanout_handler(webhooks.stream_event(event), lambda_context)
    assert server.log == []
    assert webhooks.queued(webhooks.retry_queue_url) == 0

    # Then, KMS back, the stream's retry of the batch delivers it once, signed
    monkeypatch.setenv("SECRETS_KEY_ID", "alias/triggers-test-secrets")
    clear_webhook_caches()
    assert invoke(webhooks, lambda_context, event) == {"batchItemFailures": []}
    assert len(server.log) == 1
    verify(webhooks.secret_of(subscription), server)
    assert webhooks.delivery(event, subscription).state == "delivered"


def test_an_unreadable_secret_is_a_failed_attempt_that_is_retried_never_a_stuck_stream(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given a subscription whose stored ciphertext was made for another subscription
    servers = [receiver() for _ in range(2)]
    for server in servers:
        server.expect_request("/hook").respond_with_data("ok")
    broken, healthy = (webhooks.subscribe("t1", server.url_for("/hook")) for server in servers)
    webhooks.dynamodb.update_item(
        TableName=SUBSCRIPTIONS,
        Key={"tenant_id": {"S": "t1"}, "subscription_id": {"S": broken.subscription_id}},
        UpdateExpression="SET secret_ciphertext = :other",
        ExpressionAttributeValues={":other": {"S": healthy.secret_ciphertext}},
    )
    subscriptions_table.record_failure(webhooks.dynamodb, SUBSCRIPTIONS, "t1", broken.subscription_id, NOW)
    event = webhooks.put_event("t1")

    # When
    result = invoke(webhooks, lambda_context, event)

    # Then the batch succeeds, the other subscriber is served, the broken one sent nothing and its
    # delivery waits for a retry (a rotation gives it a readable secret)
    assert result == {"batchItemFailures": []}
    assert (len(servers[0].log), len(servers[1].log)) == (0, 1)
    delivery = webhooks.delivery(event, broken)
    assert delivery.state == "retrying"
    assert str(delivery.attempts[0].error).startswith("CredentialUnreadable")
    assert body(webhooks.receive(webhooks.retry_queue_url)[0])["subscription_id"] == broken.subscription_id


def test_an_unreadable_previous_secret_is_left_out_and_the_current_one_signs(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    rotated = webhooks.rotate(webhooks.subscribe("t1", server.url_for("/hook")))
    webhooks.dynamodb.update_item(
        TableName=SUBSCRIPTIONS,
        Key={"tenant_id": {"S": "t1"}, "subscription_id": {"S": rotated.subscription_id}},
        UpdateExpression="SET previous_secret_ciphertext = :garbled",
        ExpressionAttributeValues={":garbled": {"S": FORMAT + "bm90IGEgY2lwaGVydGV4dA=="}},
    )

    assert invoke(webhooks, lambda_context, webhooks.put_event("t1")) == {"batchItemFailures": []}

    request, _ = server.log[0]
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    verify(webhooks.secret_of(rotated), server)


def test_a_subscription_written_before_encryption_gets_verified_deliveries_and_retries(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given a subscription stored with a plaintext secret (before encryption; not migrated yet)
    server = receiver()
    server.expect_ordered_request("/hook").respond_with_data("busy", status=500)
    server.expect_ordered_request("/hook").respond_with_data("ok")
    secret = subscriptions_table.new_secret()
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    webhooks.dynamodb.update_item(
        TableName=SUBSCRIPTIONS,
        Key={"tenant_id": {"S": "t1"}, "subscription_id": {"S": subscription.subscription_id}},
        UpdateExpression="SET secret = :plain REMOVE secret_ciphertext",
        ExpressionAttributeValues={":plain": {"S": secret}},
    )
    event = webhooks.put_event("t1")

    # When the fanout's attempt fails and the retry function's succeeds
    assert invoke(webhooks, lambda_context, event) == {"batchItemFailures": []}
    messages = webhooks.receive(webhooks.retry_queue_url)
    assert dict(retry_handler(sqs_event(messages), lambda_context)) == {"batchItemFailures": []}

    # Then both were signed with the plaintext secret
    assert len(server.log) == 2
    for index in (0, 1):
        assert verify(secret, server, index)["id"] == event.event_id
    assert webhooks.delivery(event, subscription).state == "delivered"


def test_deliveries_verify_with_the_same_secret_before_and_after_the_migration_warm_and_cold(
    webhooks: Webhooks, receiver: Receiver, lambda_context: LocalLambdaContext
) -> None:
    # Given a subscription with a plaintext secret, its deliveries verified (the cache warm)
    server = receiver()
    server.expect_request("/hook").respond_with_data("ok")
    subscription = webhooks.subscribe("t1", server.url_for("/hook"))
    secret = subscriptions_table.new_secret()
    webhooks.dynamodb.update_item(
        TableName=SUBSCRIPTIONS,
        Key={"tenant_id": {"S": "t1"}, "subscription_id": {"S": subscription.subscription_id}},
        UpdateExpression="SET secret = :plain REMOVE secret_ciphertext",
        ExpressionAttributeValues={":plain": {"S": secret}},
    )
    invoke(webhooks, lambda_context, webhooks.put_event("t1"))

    # When the secrets are migrated, then events arrive on a warm and on a cold function
    report = migrate(webhooks.dynamodb, SUBSCRIPTIONS, webhooks.key)
    invoke(webhooks, lambda_context, webhooks.put_event("t1"))
    clear_webhook_caches()
    invoke(webhooks, lambda_context, webhooks.put_event("t1"))

    # Then every delivery verifies with the one secret the receiver knows
    assert report.encrypted == 1
    assert len(server.log) == 3
    for index in range(3):
        verify(secret, server, index)
    assert leaks(scan_all(webhooks.dynamodb, SUBSCRIPTIONS), [secret]) == []


# --- the helper, for any credential ----------------------------------------------------------------


@pytest.fixture
def key(aws: None) -> CredentialKey:
    return CredentialKey(boto3.client("kms"), "alias/triggers-test-secrets")


def test_any_credential_round_trips_under_its_context_only(key: CredentialKey) -> None:
    credential = json.dumps({"username": "zap", "password": "p\u00e4ss"})

    ciphertext = key.encrypt(credential, CONTEXT)

    assert ciphertext.startswith(FORMAT) and "zap" not in ciphertext
    assert key.decrypt(ciphertext, CONTEXT) == credential
    with pytest.raises(CredentialUnreadable):
        key.decrypt(ciphertext, {**CONTEXT, "tenant_id": "t2"})


@pytest.mark.parametrize("stored", ["whsec_plain", FORMAT + "not base64!", FORMAT + "bm90IGEgYmxvYg=="])
def test_a_malformed_ciphertext_is_unreadable(key: CredentialKey, stored: str) -> None:
    with pytest.raises(CredentialUnreadable):
        key.decrypt(stored, CONTEXT)


def test_a_credential_over_the_kms_limit_is_refused(key: CredentialKey) -> None:
    with pytest.raises(ValueError, match="at most 4096 bytes"):
        key.encrypt("x" * (MAX_PLAINTEXT_BYTES + 1), CONTEXT)


def test_the_cache_is_bounded_and_keyed_by_what_was_decrypted(key: CredentialKey) -> None:
    cache = CredentialCache(max_entries=2)
    stored = [StoredCredential(key.encrypt(f"secret-{n}", CONTEXT)) for n in range(3)]

    revealed = [cache.reveal(key, item, CONTEXT) for item in stored]

    assert revealed == ["secret-0", "secret-1", "secret-2"]
    assert len(cache) == 2
    assert cache.reveal(key, StoredCredential("whsec_plain", encrypted=False), CONTEXT) == "whsec_plain"
    assert len(cache) == 2
