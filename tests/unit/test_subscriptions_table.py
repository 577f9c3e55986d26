"""The subscriptions table module against moto: item shape, duplicates, failure streaks, rotation."""

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook

from ingest.core import subscriptions_table as subs
from ingest.core.errors import DuplicateSubscription, SubscriptionNotFound

TABLE = "triggers-test-subscriptions"
URL = "https://93.184.215.14/hooks/orders"
TENANT = "tenant-a"


@pytest.fixture
def created(dynamodb: Any) -> subs.SubscriptionItem:
    return subs.create_subscription(dynamodb, TABLE, TENANT, URL, ["order.created", "order.paid"])


def test_create_issues_prefixed_id_and_standard_webhooks_secret(created: subs.SubscriptionItem) -> None:
    assert created.subscription_id.startswith("sub_") and len(created.subscription_id) == 30
    assert created.secret.startswith("whsec_")
    assert len(base64.b64decode(created.secret.removeprefix("whsec_"))) >= 24
    Webhook(created.secret).sign("msg_1", datetime.now(UTC), "{}")
    assert created.status == "active"


def test_created_item_reads_back_identically(dynamodb: Any, created: subs.SubscriptionItem) -> None:
    assert subs.get_subscription(dynamodb, TABLE, TENANT, created.subscription_id) == created


def test_secrets_differ_between_subscriptions(dynamodb: Any, created: subs.SubscriptionItem) -> None:
    other = subs.create_subscription(dynamodb, TABLE, TENANT, URL + "/2", ["order.created"])
    assert other.secret != created.secret


def test_same_url_and_types_in_any_order_is_a_duplicate_naming_the_existing_id(
    dynamodb: Any, created: subs.SubscriptionItem
) -> None:
    with pytest.raises(DuplicateSubscription) as raised:
        subs.create_subscription(dynamodb, TABLE, TENANT, URL, ["order.paid", "order.created"])
    assert raised.value.extensions["subscription_id"] == created.subscription_id
    assert len(subs.list_subscriptions(dynamodb, TABLE, TENANT)) == 1


def test_same_url_with_other_types_is_not_a_duplicate(dynamodb: Any, created: subs.SubscriptionItem) -> None:
    subs.create_subscription(dynamodb, TABLE, TENANT, URL, ["order.created"])
    assert len(subs.list_subscriptions(dynamodb, TABLE, TENANT)) == 2


def test_same_subscription_in_another_tenant_is_not_a_duplicate(
    dynamodb: Any, created: subs.SubscriptionItem
) -> None:
    subs.create_subscription(dynamodb, TABLE, "tenant-b", URL, ["order.created", "order.paid"])
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
    dynamodb: Any, created: subs.SubscriptionItem
) -> None:
    subs.delete_subscription(dynamodb, TABLE, TENANT, created.subscription_id)
    again = subs.create_subscription(dynamodb, TABLE, TENANT, URL, ["order.created", "order.paid"])
    assert [item.subscription_id for item in subs.list_subscriptions(dynamodb, TABLE, TENANT)] == [
        again.subscription_id
    ]


def test_delete_of_missing_subscription_is_not_found(dynamodb: Any, created: subs.SubscriptionItem) -> None:
    subs.delete_subscription(dynamodb, TABLE, TENANT, created.subscription_id)
    with pytest.raises(SubscriptionNotFound):
        subs.delete_subscription(dynamodb, TABLE, TENANT, created.subscription_id)


def test_list_active_skips_disabled_subscriptions(dynamodb: Any, created: subs.SubscriptionItem) -> None:
    # Given
    other = subs.create_subscription(dynamodb, TABLE, TENANT, URL + "/2", ["*"])
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
    dynamodb: Any, created: subs.SubscriptionItem
) -> None:
    # Given
    now = datetime(2026, 3, 1, tzinfo=UTC)
    # When
    rotated = subs.rotate_secret(dynamodb, TABLE, TENANT, created.subscription_id, now, grace_seconds=3600)
    # Then
    assert rotated.secret != created.secret and rotated.previous_secret == created.secret
    assert rotated.signing_secrets(now + timedelta(minutes=59)) == [rotated.secret, created.secret]
    assert rotated.signing_secrets(now + timedelta(hours=1)) == [rotated.secret]


def test_rotate_of_missing_subscription_is_not_found(dynamodb: Any) -> None:
    with pytest.raises(SubscriptionNotFound):
        subs.rotate_secret(dynamodb, TABLE, TENANT, "sub_01JAAAAAAAAAAAAAAAAAAAAAAA", datetime.now(UTC))


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
        secret="whsec_x",
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:00.000Z",
    )
    assert item.matches(event_type) is expected
