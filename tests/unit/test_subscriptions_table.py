"""The subscriptions table module against moto: item shape, duplicates, failure streaks, rotation."""

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from standardwebhooks import Webhook

from ingest.core import subscriptions_table as subs
from ingest.core.credentials import (
    CredentialCache,
    CredentialKey,
    CredentialUnavailable,
    CredentialUnreadable,
    StoredCredential,
)
from ingest.core.errors import DuplicateSubscription, SubscriptionNotFound
from tests.secret_scan import leaks, scan_all

TABLE = "triggers-test-subscriptions"
URL = "https://93.184.215.14/hooks/orders"
TENANT = "tenant-a"
LEGACY_ID = "sub_01JBBBBBBBBBBBBBBBBBBBBBBB"
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def legacy_item(subscription_id: str, secret: str, previous: str | None = None) -> dict[str, Any]:
    """A subscription as written before secrets were encrypted: plaintext `secret`."""
    item = {
        **subs._key(TENANT, subscription_id),
        "target_url": {"S": URL},
        "event_types": {"L": [{"S": "*"}]},
        "secret": {"S": secret},
        "status": {"S": "active"},
        "created_at": {"S": "2026-01-01T00:00:00.000Z"},
        "updated_at": {"S": "2026-01-01T00:00:00.000Z"},
    }
    if previous is not None:
        item |= {"previous_secret": {"S": previous}, "previous_secret_expires_at": {"N": "4102444800"}}
    return item


def revealed(key: CredentialKey, item: subs.SubscriptionItem, at: datetime) -> list[str]:
    return [
        CredentialCache().reveal(key, stored, item.encryption_context) for stored in item.signing_secrets(at)
    ]


@pytest.fixture
def issued(dynamodb: Any, secrets_key: CredentialKey) -> subs.Issued:
    return subs.create_subscription(
        dynamodb, TABLE, TENANT, URL, ["order.created", "order.paid"], secrets_key
    )


@pytest.fixture
def created(issued: subs.Issued) -> subs.SubscriptionItem:
    return issued.subscription


def test_create_issues_prefixed_id_and_standard_webhooks_secret(issued: subs.Issued) -> None:
    created, secret = issued
    assert created.subscription_id.startswith("sub_") and len(created.subscription_id) == 30
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    Webhook(secret).sign("msg_1", datetime.now(UTC), "{}")
    assert created.status == "active"


def test_created_item_reads_back_identically(dynamodb: Any, created: subs.SubscriptionItem) -> None:
    assert subs.get_subscription(dynamodb, TABLE, TENANT, created.subscription_id) == created


def test_secrets_differ_between_subscriptions(
    dynamodb: Any, secrets_key: CredentialKey, issued: subs.Issued
) -> None:
    other = subs.create_subscription(dynamodb, TABLE, TENANT, URL + "/2", ["order.created"], secrets_key)
    assert other.secret != issued.secret


# --- encrypted secrets ---------------------------------------------------------------------------


def test_the_secret_is_stored_only_as_ciphertext_under_its_owners_context(
    dynamodb: Any, secrets_key: CredentialKey, issued: subs.Issued
) -> None:
    created, secret = issued
    stored = dynamodb.get_item(TableName=TABLE, Key=subs._key(TENANT, created.subscription_id))["Item"]

    assert stored["secret_ciphertext"]["S"].startswith("kms1:")
    assert {"secret", "previous_secret"}.isdisjoint(stored)
    assert secrets_key.decrypt(stored["secret_ciphertext"]["S"], created.encryption_context) == secret
    assert created.encryption_context == {"tenant_id": TENANT, "subscription_id": created.subscription_id}


HEADER_VALUES = [
    "Bearer tok-created-0123456789",
    "Basic dXNlcjpwYXNzd29yZA==",
    "Bearer tok-patched-9876543210",
]


def test_a_scan_after_create_rotate_and_patch_shows_no_secret_or_header_value_in_any_form(
    dynamodb: Any, secrets_key: CredentialKey, issued: subs.Issued
) -> None:
    # Given two subscriptions with custom headers, one rotated twice (its latest two secrets
    # stored) and its headers patched
    other = subs.create_subscription(
        dynamodb,
        TABLE,
        "tenant-b",
        URL,
        ["*"],
        secrets_key,
        headers={"Authorization": HEADER_VALUES[0], "X-Basic": HEADER_VALUES[1]},
    )
    first = subs.rotate_secret(dynamodb, TABLE, TENANT, issued.subscription.subscription_id, NOW, secrets_key)
    second = subs.rotate_secret(
        dynamodb, TABLE, TENANT, issued.subscription.subscription_id, NOW, secrets_key
    )
    patched = subs.update_subscription(
        dynamodb,
        TABLE,
        TENANT,
        issued.subscription.subscription_id,
        {"headers": {"Authorization": HEADER_VALUES[2]}},
        secrets_key,
    )

    # When the whole table is scanned
    items = scan_all(dynamodb, TABLE)

    # Then no attribute of any item holds any of the secrets issued or any header value
    assert len(items) > 2
    assert leaks(items, [issued.secret, other.secret, first.secret, second.secret, *HEADER_VALUES]) == []
    # And the values are there, encrypted under their owner's context
    assert [
        CredentialCache().reveal(secrets_key, stored, patched.encryption_context)
        for stored in patched.header_credentials().values()
    ] == [HEADER_VALUES[2]]
    assert patched.header_hints() == {"Authorization": "Bearer ****3210"}


def test_the_scan_finds_a_header_value_stored_in_the_clear(dynamodb: Any) -> None:
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            **subs._key(TENANT, "note"),
            "h": {"M": {"v": {"S": base64.b64encode(HEADER_VALUES[0].encode()).decode()}}},
        },
    )
    assert [where.split(" of ")[0] for where in leaks(scan_all(dynamodb, TABLE), [HEADER_VALUES[0]])] == ["h"]


def test_the_scan_finds_a_secret_stored_in_the_clear(dynamodb: Any, issued: subs.Issued) -> None:
    # The check above is only as good as its detector: a plaintext item (or a base64 of it) is found.
    dynamodb.put_item(TableName=TABLE, Item=legacy_item("sub_01JAAAAAAAAAAAAAAAAAAAAAAA", issued.secret))
    raw = base64.b64decode(issued.secret.removeprefix("whsec_"))
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            **subs._key(TENANT, "note"),
            "blob": {"B": b"x" + raw},
            "hex": {"S": "v:" + raw.hex()},
            "nested": {"M": {"inner": {"L": [{"S": base64.b64encode(b"abc" + raw).decode()}]}}},
        },
    )

    found = leaks(scan_all(dynamodb, TABLE), [issued.secret])

    assert sorted(where.split(" of ")[0] for where in found) == ["blob", "hex", "nested", "secret"]


def test_a_ciphertext_does_not_decrypt_under_another_tenants_context(
    secrets_key: CredentialKey, created: subs.SubscriptionItem
) -> None:
    assert created.secret_ciphertext is not None
    stolen = {"tenant_id": "tenant-b", "subscription_id": created.subscription_id}

    with pytest.raises(CredentialUnreadable):
        secrets_key.decrypt(created.secret_ciphertext, stolen)
    with pytest.raises(CredentialUnreadable):
        secrets_key.decrypt(
            created.secret_ciphertext, {**created.encryption_context, "subscription_id": "sub_x"}
        )


def test_a_ciphertext_copied_into_another_tenants_item_is_unreadable_there(
    dynamodb: Any, secrets_key: CredentialKey, created: subs.SubscriptionItem
) -> None:
    # Given tenant-b's item carrying tenant-a's ciphertext (someone with write access to the table)
    item = {**created.to_ddb(), "tenant_id": {"S": "tenant-b"}}
    dynamodb.put_item(TableName=TABLE, Item=item)
    copied = subs.get_subscription(dynamodb, TABLE, "tenant-b", created.subscription_id)

    # Then the signing functions cannot read it (a warm cache included: entries carry the context)
    cache = CredentialCache()
    cache.reveal(secrets_key, created.signing_secrets(NOW)[0], created.encryption_context)
    with pytest.raises(CredentialUnreadable):
        cache.reveal(secrets_key, copied.signing_secrets(NOW)[0], copied.encryption_context)


def test_create_stores_nothing_when_kms_refuses(dynamodb: Any) -> None:
    broken = CredentialKey(boto3.client("kms"), "alias/no-such-key")

    with pytest.raises(CredentialUnavailable):
        subs.create_subscription(dynamodb, TABLE, TENANT, URL, ["*"], broken)
    assert scan_all(dynamodb, TABLE) == []


def test_same_url_and_types_in_any_order_is_a_duplicate_naming_the_existing_id(
    dynamodb: Any, secrets_key: CredentialKey, created: subs.SubscriptionItem
) -> None:
    with pytest.raises(DuplicateSubscription) as raised:
        subs.create_subscription(dynamodb, TABLE, TENANT, URL, ["order.paid", "order.created"], secrets_key)
    assert raised.value.extensions["subscription_id"] == created.subscription_id
    assert len(subs.list_subscriptions(dynamodb, TABLE, TENANT)) == 1


def test_same_url_with_other_types_is_not_a_duplicate(
    dynamodb: Any, secrets_key: CredentialKey, created: subs.SubscriptionItem
) -> None:
    subs.create_subscription(dynamodb, TABLE, TENANT, URL, ["order.created"], secrets_key)
    assert len(subs.list_subscriptions(dynamodb, TABLE, TENANT)) == 2


def test_same_subscription_in_another_tenant_is_not_a_duplicate(
    dynamodb: Any, secrets_key: CredentialKey, created: subs.SubscriptionItem
) -> None:
    subs.create_subscription(dynamodb, TABLE, "tenant-b", URL, ["order.created", "order.paid"], secrets_key)
    assert len(subs.list_subscriptions(dynamodb, TABLE, "tenant-b")) == 1


def test_get_of_another_tenants_subscription_is_not_found(
    dynamodb: Any, created: subs.SubscriptionItem
) -> None:
    with pytest.raises(SubscriptionNotFound):
        subs.get_subscription(dynamodb, TABLE, "tenant-b", created.subscription_id)


def test_duplicate_guard_items_are_not_addressable_as_subscriptions(
    dynamodb: Any, created: subs.SubscriptionItem
) -> None:
    guard = subs.guard_key(created.target_url, created.event_types)
    with pytest.raises(SubscriptionNotFound):
        subs.get_subscription(dynamodb, TABLE, TENANT, guard)
    with pytest.raises(SubscriptionNotFound):
        subs.disable(dynamodb, TABLE, TENANT, guard, "nope")


def test_delete_removes_the_duplicate_guard_so_it_can_be_created_again(
    dynamodb: Any, secrets_key: CredentialKey, created: subs.SubscriptionItem
) -> None:
    subs.delete_subscription(dynamodb, TABLE, TENANT, created.subscription_id)
    again = subs.create_subscription(
        dynamodb, TABLE, TENANT, URL, ["order.created", "order.paid"], secrets_key
    )
    assert [item.subscription_id for item in subs.list_subscriptions(dynamodb, TABLE, TENANT)] == [
        again.subscription.subscription_id
    ]


def test_delete_of_missing_subscription_is_not_found(dynamodb: Any, created: subs.SubscriptionItem) -> None:
    subs.delete_subscription(dynamodb, TABLE, TENANT, created.subscription_id)
    with pytest.raises(SubscriptionNotFound):
        subs.delete_subscription(dynamodb, TABLE, TENANT, created.subscription_id)


def test_list_active_skips_disabled_subscriptions(
    dynamodb: Any, secrets_key: CredentialKey, created: subs.SubscriptionItem
) -> None:
    # Given
    other = subs.create_subscription(dynamodb, TABLE, TENANT, URL + "/2", ["*"], secrets_key).subscription
    # When
    subs.disable(dynamodb, TABLE, TENANT, created.subscription_id, "endpoint answered 410 Gone")
    # Then
    assert [item.subscription_id for item in subs.list_active(dynamodb, TABLE, TENANT)] == [
        other.subscription_id
    ]
    stored = subs.get_subscription(dynamodb, TABLE, TENANT, created.subscription_id)
    assert (stored.status, stored.disabled_reason) == ("disabled", "endpoint answered 410 Gone")


def test_disable_of_missing_subscription_is_not_found(dynamodb: Any) -> None:
    with pytest.raises(SubscriptionNotFound):
        subs.disable(dynamodb, TABLE, TENANT, "sub_01JAAAAAAAAAAAAAAAAAAAAAAA", "gone")


def test_record_failure_keeps_the_start_of_the_streak(dynamodb: Any, created: subs.SubscriptionItem) -> None:
    first = datetime(2026, 1, 1, tzinfo=UTC)
    subs.record_failure(dynamodb, TABLE, TENANT, created.subscription_id, first)
    item = subs.record_failure(dynamodb, TABLE, TENANT, created.subscription_id, first + timedelta(hours=1))
    assert item.failing_since == "2026-01-01T00:00:00.000Z"


def test_record_success_ends_the_streak(dynamodb: Any, created: subs.SubscriptionItem) -> None:
    subs.record_failure(dynamodb, TABLE, TENANT, created.subscription_id, datetime(2026, 1, 1, tzinfo=UTC))
    subs.record_success(dynamodb, TABLE, TENANT, created.subscription_id)
    later = subs.record_failure(
        dynamodb, TABLE, TENANT, created.subscription_id, datetime(2026, 2, 1, tzinfo=UTC)
    )
    assert later.failing_since == "2026-02-01T00:00:00.000Z"


def test_record_success_without_streak_leaves_the_item_unchanged(
    dynamodb: Any, created: subs.SubscriptionItem
) -> None:
    subs.record_success(dynamodb, TABLE, TENANT, created.subscription_id)
    assert subs.get_subscription(dynamodb, TABLE, TENANT, created.subscription_id) == created


def test_record_failure_of_deleted_subscription_is_not_found(
    dynamodb: Any, created: subs.SubscriptionItem
) -> None:
    subs.delete_subscription(dynamodb, TABLE, TENANT, created.subscription_id)
    with pytest.raises(SubscriptionNotFound):
        subs.record_failure(dynamodb, TABLE, TENANT, created.subscription_id, datetime.now(UTC))


def test_enable_clears_reason_and_failure_streak(dynamodb: Any, created: subs.SubscriptionItem) -> None:
    subs.record_failure(dynamodb, TABLE, TENANT, created.subscription_id, datetime.now(UTC))
    subs.disable(dynamodb, TABLE, TENANT, created.subscription_id, "failing for 5 days")
    item = subs.enable(dynamodb, TABLE, TENANT, created.subscription_id)
    assert (item.status, item.disabled_reason, item.failing_since) == ("active", None, None)


def test_rotate_keeps_previous_secret_for_the_grace_period(
    dynamodb: Any, secrets_key: CredentialKey, issued: subs.Issued
) -> None:
    # Given
    created, old = issued
    now = datetime(2026, 3, 1, tzinfo=UTC)
    # When
    rotated, new = subs.rotate_secret(
        dynamodb, TABLE, TENANT, created.subscription_id, now, secrets_key, grace_seconds=3600
    )
    # Then both are stored encrypted: the old ciphertext moved as it was
    assert new != old
    assert rotated.previous_secret_ciphertext == created.secret_ciphertext
    assert rotated.secret_ciphertext not in (None, created.secret_ciphertext)
    assert (rotated.secret, rotated.previous_secret) == (None, None)
    assert revealed(secrets_key, rotated, now + timedelta(minutes=59)) == [new, old]
    assert revealed(secrets_key, rotated, now + timedelta(hours=1)) == [new]


def test_rotate_of_missing_subscription_is_not_found(dynamodb: Any, secrets_key: CredentialKey) -> None:
    with pytest.raises(SubscriptionNotFound):
        subs.rotate_secret(
            dynamodb, TABLE, TENANT, "sub_01JAAAAAAAAAAAAAAAAAAAAAAA", datetime.now(UTC), secrets_key
        )


# --- items written before encryption (the migration window) -------------------------------------


def test_an_item_written_before_encryption_is_read_with_its_plaintext_secrets(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=legacy_item(LEGACY_ID, "whsec_b2xk", previous="whsec_b2xkZXI="))

    item = subs.get_subscription(dynamodb, TABLE, TENANT, LEGACY_ID)

    assert not item.encrypted
    assert item.signing_secrets(NOW) == [
        StoredCredential("whsec_b2xk", encrypted=False),
        StoredCredential("whsec_b2xkZXI=", encrypted=False),
    ]
    assert [subscription.subscription_id for subscription in subs.list_active(dynamodb, TABLE, TENANT)] == [
        LEGACY_ID
    ]


def test_rotating_an_item_written_before_encryption_encrypts_both_secrets(
    dynamodb: Any, secrets_key: CredentialKey
) -> None:
    # Given a plaintext item (itself mid-rotation)
    dynamodb.put_item(TableName=TABLE, Item=legacy_item(LEGACY_ID, "whsec_b2xk", previous="whsec_b2xkZXI="))

    # When it is rotated
    rotated, new = subs.rotate_secret(dynamodb, TABLE, TENANT, LEGACY_ID, NOW, secrets_key)

    # Then the current plaintext became the encrypted previous secret, and no plaintext is left
    assert rotated.encrypted
    assert revealed(secrets_key, rotated, NOW) == [new, "whsec_b2xk"]
    assert leaks(scan_all(dynamodb, TABLE), ["whsec_b2xk", "whsec_b2xkZXI=", new]) == []


def test_a_secret_that_changed_since_it_was_read_is_rotated_from_the_new_value(
    dynamodb: Any, secrets_key: CredentialKey, issued: subs.Issued, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given another rotation landing between this rotation's read and its write
    created = issued.subscription
    real_get = subs.get_subscription
    raced: list[subs.Issued] = []

    def get_then_race(*args: Any) -> subs.SubscriptionItem:
        item = real_get(*args)
        if not raced:
            monkeypatch.setattr(subs, "get_subscription", real_get)
            raced.append(
                subs.rotate_secret(dynamodb, TABLE, TENANT, created.subscription_id, NOW, secrets_key)
            )
        return item

    monkeypatch.setattr(subs, "get_subscription", get_then_race)

    # When
    rotated, new = subs.rotate_secret(dynamodb, TABLE, TENANT, created.subscription_id, NOW, secrets_key)

    # Then neither rotation is lost: the racing one's secret is the previous one
    assert revealed(secrets_key, rotated, NOW) == [new, raced[0].secret]


@pytest.mark.parametrize(
    ("event_types", "event_type", "expected"),
    [
        (["order.created"], "order.created", True),
        (["order.created"], "order.paid", False),
        (["*"], "anything.at.all", True),
    ],
)
def test_matches(event_types: list[str], event_type: str, expected: bool) -> None:
    item = subs.SubscriptionItem(
        tenant_id=TENANT,
        subscription_id="sub_x",
        target_url=URL,
        event_types=event_types,
        secret_ciphertext="kms1:eA==",
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:00.000Z",
    )
    assert item.matches(event_type) is expected
