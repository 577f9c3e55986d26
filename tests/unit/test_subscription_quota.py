"""The subscription quota in the subscriptions table: counted in the version item, atomically."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest

from ingest.core import subscriptions_table as subs
from ingest.core.credentials import CredentialKey
from ingest.core.errors import DuplicateSubscription, SubscriptionQuotaExceeded
from tests.unit.conftest import SECRETS_KEY

TABLE = "triggers-test-subscriptions"
TENANT = "tenant-a"
URL = "https://93.184.215.14/hooks/"


def create(
    dynamodb: Any, number: int, limit: int | None = None, tenant: str = TENANT
) -> subs.SubscriptionItem:
    key = CredentialKey(boto3.client("kms"), SECRETS_KEY)
    url = f"{URL}{number}"
    return subs.create_subscription(dynamodb, TABLE, tenant, url, ["order.created"], key, limit).subscription


def version_item(dynamodb: Any) -> dict[str, Any]:
    key = {"tenant_id": {"S": TENANT}, "subscription_id": {"S": subs.VERSION_KEY}}
    return dict(dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item", {}))


def forget_the_count(dynamodb: Any) -> None:
    """The version item as it was before subscriptions were counted."""
    dynamodb.update_item(
        TableName=TABLE,
        Key={"tenant_id": {"S": TENANT}, "subscription_id": {"S": subs.VERSION_KEY}},
        UpdateExpression=f"REMOVE {subs.COUNT}",
    )


@contextmanager
def before_first(dynamodb: Any, operation: str, action: Callable[[], None]) -> Iterator[list[bool]]:
    """Run `action` once, just before the next `operation` call is sent (a concurrent writer)."""
    ran: list[bool] = []

    def hook(**_: Any) -> None:
        if not ran:
            ran.append(True)
            action()

    dynamodb.meta.events.register(f"before-call.dynamodb.{operation}", hook)
    try:
        yield ran
    finally:
        dynamodb.meta.events.unregister(f"before-call.dynamodb.{operation}", hook)


def test_creates_and_deletes_keep_the_count(dynamodb: Any) -> None:
    created = [create(dynamodb, number) for number in range(3)]
    subs.delete_subscription(dynamodb, TABLE, TENANT, created[0].subscription_id)

    assert subs.subscription_count(dynamodb, TABLE, TENANT) == 2
    assert version_item(dynamodb)[subs.COUNT] == {"N": "2"}


def test_a_create_beyond_the_quota_is_refused_and_writes_nothing(dynamodb: Any) -> None:
    for number in range(3):
        create(dynamodb, number, limit=3)
    before = version_item(dynamodb)

    with pytest.raises(SubscriptionQuotaExceeded) as refused:
        create(dynamodb, 3, limit=3)

    assert refused.value.extensions == {"limit": 3}
    assert len(subs.list_subscriptions(dynamodb, TABLE, TENANT)) == 3
    assert version_item(dynamodb) == before


def test_a_create_racing_another_for_the_last_place_is_refused(dynamodb: Any) -> None:
    # Given one place left
    create(dynamodb, 0, limit=2)

    # When another create takes it between this create's decision and its write
    racer = before_first(dynamodb, "TransactWriteItems", lambda: create(dynamodb, 1, limit=2))
    with racer as raced, pytest.raises(SubscriptionQuotaExceeded):
        create(dynamodb, 2, limit=2)

    # Then exactly the quota exists
    assert raced
    assert len(subs.list_subscriptions(dynamodb, TABLE, TENANT)) == 2
    assert subs.subscription_count(dynamodb, TABLE, TENANT) == 2


def test_a_duplicate_changes_no_count(dynamodb: Any) -> None:
    create(dynamodb, 0)

    with pytest.raises(DuplicateSubscription):
        create(dynamodb, 0)

    assert subs.subscription_count(dynamodb, TABLE, TENANT) == 1


def test_tenants_are_counted_apart(dynamodb: Any) -> None:
    create(dynamodb, 0, limit=1)

    create(dynamodb, 0, limit=1, tenant="tenant-b")

    assert subs.subscription_count(dynamodb, TABLE, "tenant-b") == 1


@pytest.mark.parametrize(("limit", "refused"), [(3, True), (4, False)])
def test_a_tenant_from_before_the_count_is_counted_on_its_next_create(
    dynamodb: Any, limit: int, refused: bool
) -> None:
    # Given three subscriptions made before the version item counted them
    for number in range(3):
        create(dynamodb, number)
    forget_the_count(dynamodb)

    # When one more is created under a quota
    if refused:
        with pytest.raises(SubscriptionQuotaExceeded):
            create(dynamodb, 3, limit=limit)
    else:
        create(dynamodb, 3, limit=limit)

    # Then the quota saw all of them, and the count is right from now on
    expected = 3 if refused else 4
    assert len(subs.list_subscriptions(dynamodb, TABLE, TENANT)) == expected
    assert subs.subscription_count(dynamodb, TABLE, TENANT) == expected
    if not refused:
        assert version_item(dynamodb)[subs.COUNT] == {"N": "4"}


def test_counting_a_tenant_while_another_create_lands_counts_both(dynamodb: Any) -> None:
    # Given an uncounted tenant with two subscriptions
    create(dynamodb, 0)
    create(dynamodb, 1)
    forget_the_count(dynamodb)

    # When another create lands while this create counts the tenant's subscriptions
    with before_first(dynamodb, "Query", lambda: create(dynamodb, 2)) as raced:
        create(dynamodb, 3, limit=10)

    # Then the count includes both
    assert raced
    assert subs.subscription_count(dynamodb, TABLE, TENANT) == 4
    assert version_item(dynamodb)[subs.COUNT] == {"N": "4"}


def test_deleting_from_an_uncounted_tenant_leaves_it_to_be_counted(dynamodb: Any) -> None:
    first = create(dynamodb, 0)
    create(dynamodb, 1)
    forget_the_count(dynamodb)

    subs.delete_subscription(dynamodb, TABLE, TENANT, first.subscription_id)

    assert subs.COUNT not in version_item(dynamodb)
    assert subs.subscription_count(dynamodb, TABLE, TENANT) == 1
    create(dynamodb, 2, limit=2)
    assert version_item(dynamodb)[subs.COUNT] == {"N": "2"}
