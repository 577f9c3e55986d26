"""`triggers secrets migrate`'s backend against moto: plaintext secrets of items written before
encryption become ciphertext; a rerun is a no-op, a run that stopped is finished by the next, a
dry run writes nothing, and an item changed meanwhile is left to its writer."""

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from devtools.secrets_migration import migrate
from ingest.core import subscriptions_table as subs
from ingest.core.credentials import CredentialCache, CredentialKey, CredentialUnavailable
from tests.secret_scan import leaks, scan_all
from tests.unit.test_subscriptions_table import TABLE, TENANT, legacy_item

NOW = datetime(2026, 3, 1, tzinfo=UTC)


class InterruptedKms:
    """The KMS client, until `after` Encrypt calls have gone through: then `error` instead."""

    def __init__(self, kms: Any, after: int, error: Exception) -> None:
        self.kms, self.after, self.error, self.calls = kms, after, error, 0

    def encrypt(self, **params: Any) -> Any:
        if self.calls >= self.after:
            raise self.error
        self.calls += 1
        return self.kms.encrypt(**params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.kms, name)


def plaintext_subscriptions(dynamodb: Any, count: int) -> dict[str, list[str]]:
    """`count` items written before encryption (every third mid-rotation): id -> its secrets."""
    written = {}
    for index in range(count):
        subscription_id = f"sub_01JCCCCCCCCCCCCCCCCCCCCC{index:02d}"
        secrets = [subs.new_secret()] + ([subs.new_secret()] if index % 3 == 0 else [])
        dynamodb.put_item(TableName=TABLE, Item=legacy_item(subscription_id, *secrets))
        written[subscription_id] = secrets
    return written


def secrets_of(dynamodb: Any, key: CredentialKey, subscription_id: str) -> list[str]:
    item = subs.get_subscription(dynamodb, TABLE, TENANT, subscription_id)
    cache = CredentialCache()
    return [cache.reveal(key, stored, item.encryption_context) for stored in item.signing_secrets(NOW)]


def all_secrets(written: dict[str, list[str]]) -> list[str]:
    return [secret for secrets in written.values() for secret in secrets]


def test_plaintext_secrets_are_encrypted_under_their_owners_context_and_the_plaintext_removed(
    dynamodb: Any, secrets_key: CredentialKey
) -> None:
    # Given plaintext items beside an encrypted one
    written = plaintext_subscriptions(dynamodb, 5)
    encrypted = subs.create_subscription(dynamodb, TABLE, TENANT, "https://example.com/h", ["*"], secrets_key)

    # When
    report = migrate(dynamodb, TABLE, secrets_key)

    # Then every plaintext item holds the same secrets, encrypted, and none in the clear
    assert (report.plaintext, report.encrypted, report.skipped, report.complete) == (5, 5, 0, True)
    assert report.key.startswith("arn:aws:kms:")
    for subscription_id, secrets in written.items():
        assert secrets_of(dynamodb, secrets_key, subscription_id) == secrets
    assert leaks(scan_all(dynamodb, TABLE), all_secrets(written)) == []
    untouched = subs.get_subscription(dynamodb, TABLE, TENANT, encrypted.subscription.subscription_id)
    assert untouched == encrypted.subscription


def test_a_second_run_finds_nothing_to_do_and_changes_nothing(
    dynamodb: Any, secrets_key: CredentialKey
) -> None:
    plaintext_subscriptions(dynamodb, 3)
    migrate(dynamodb, TABLE, secrets_key)
    before = scan_all(dynamodb, TABLE)

    report = migrate(dynamodb, TABLE, secrets_key)

    assert (report.plaintext, report.encrypted, report.complete) == (0, 0, True)
    assert scan_all(dynamodb, TABLE) == before


def test_a_dry_run_counts_the_plaintext_secrets_and_writes_nothing(
    dynamodb: Any, secrets_key: CredentialKey
) -> None:
    plaintext_subscriptions(dynamodb, 4)
    before = scan_all(dynamodb, TABLE)

    report = migrate(dynamodb, TABLE, secrets_key, dry_run=True)

    assert (report.dry_run, report.plaintext, report.encrypted) == (True, 4, 0)
    assert scan_all(dynamodb, TABLE) == before


def test_a_run_that_crashes_mid_way_is_finished_by_the_next(
    dynamodb: Any, secrets_key: CredentialKey
) -> None:
    # Given a run that dies (the process, not a KMS error) after encrypting some secrets
    written = plaintext_subscriptions(dynamodb, 6)
    crashing = CredentialKey(InterruptedKms(secrets_key.kms, 4, KeyboardInterrupt()), secrets_key.key_id)
    with pytest.raises(KeyboardInterrupt):
        migrate(dynamodb, TABLE, crashing)
    half_done = sum(1 for item in scan_all(dynamodb, TABLE) if "secret_ciphertext" in item)
    assert 0 < half_done < 6

    # When it is run again
    report = migrate(dynamodb, TABLE, secrets_key)

    # Then it does only what was left, and everything is encrypted with the right secrets
    assert (report.plaintext, report.encrypted, report.complete) == (6 - half_done, 6 - half_done, True)
    for subscription_id, secrets in written.items():
        assert secrets_of(dynamodb, secrets_key, subscription_id) == secrets
    assert leaks(scan_all(dynamodb, TABLE), all_secrets(written)) == []
    assert migrate(dynamodb, TABLE, secrets_key).plaintext == 0


def test_kms_throttling_stops_the_run_with_the_reason_and_a_rerun_resumes(
    dynamodb: Any, secrets_key: CredentialKey
) -> None:
    plaintext_subscriptions(dynamodb, 3)
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Encrypt")
    # (the first item is mid-rotation: two secrets, two Encrypt calls)
    flaky = CredentialKey(InterruptedKms(secrets_key.kms, 2, throttled), secrets_key.key_id)

    stopped = migrate(dynamodb, TABLE, flaky)
    resumed = migrate(dynamodb, TABLE, secrets_key)

    assert (stopped.complete, stopped.encrypted, stopped.error) == (
        False,
        1,
        "KMS encrypt failed: ThrottlingException",
    )
    assert (resumed.complete, resumed.plaintext, resumed.encrypted) == (True, 2, 2)


def test_an_item_rotated_while_the_migration_runs_is_left_to_the_rotation(
    dynamodb: Any, secrets_key: CredentialKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a rotation landing between the migration's read of an item and its write
    (subscription_id,) = plaintext_subscriptions(dynamodb, 1)
    rotations: list[subs.Issued] = []
    real_encrypt = subs.encrypt_plaintext

    def rotate_first(*args: Any) -> bool:
        if not rotations:
            rotations.append(subs.rotate_secret(dynamodb, TABLE, TENANT, subscription_id, NOW, secrets_key))
        return real_encrypt(*args)

    monkeypatch.setattr(subs, "encrypt_plaintext", rotate_first)

    # When
    report = migrate(dynamodb, TABLE, secrets_key)

    # Then the migration wrote nothing over it: the rotation's secret stands
    assert (report.plaintext, report.encrypted, report.skipped) == (1, 0, 1)
    assert secrets_of(dynamodb, secrets_key, subscription_id)[0] == rotations[0].secret


def test_a_missing_key_fails_before_anything_is_read(dynamodb: Any, secrets_key: CredentialKey) -> None:
    plaintext_subscriptions(dynamodb, 1)
    missing = CredentialKey(secrets_key.kms, "alias/not-there")

    with pytest.raises(CredentialUnavailable, match="alias/not-there cannot be described"):
        migrate(dynamodb, TABLE, missing, dry_run=True)
