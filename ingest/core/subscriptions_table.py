"""Data access for the `subscriptions` table: the only module that knows its item shape.

Besides one item per subscription (SK `sub_<ULID>`), each subscription owns a guard item
(SK `dedup#<sha256 of target_url and sorted event types>`) written in the same transaction,
so two concurrent creates of the same subscription cannot both succeed.

Each tenant also has a version item (SK `version`). Every change that affects delivery (create,
delete, disable, enable, rotate, the start and end of a failure streak) bumps it in the same
transaction, so a reader that finds the version unchanged knows its copy of the tenant's
subscriptions is current (the fanout's cache, see docs/guarantees.md).

Signing secrets are stored encrypted (`secret_ciphertext`, `previous_secret_ciphertext`: KMS
ciphertext under the context `{tenant_id, subscription_id}`, ingest/core/credentials.py); the
plaintext leaves this module only in what create and rotate return, once. Items written before
encryption hold `secret`/`previous_secret` in plaintext: they are read as they are until
`triggers secrets migrate` (`plaintext_items`, `encrypt_plaintext`) has replaced them, and a
rotation encrypts them on the way.

Custom headers (`custom_headers`: name → ciphertext, masked hint and size) are credentials like
the secret: each value is encrypted under the same key and context, and only the hint is ever
returned. `update_subscription` (PATCH) merges a change into the item read, conditionally on the
item's `revision`, so concurrent changes are never lost: the loser reads again and merges again.

The version item also counts the tenant's subscriptions (`subscription_count`): create adds one
on the condition that the count is below the tenant's quota, delete takes one away, each in the
transaction that writes the subscription, so concurrent creates can never exceed the quota. A
tenant whose version item has no count yet (subscriptions made before the count existed) is
counted once, on the condition that its version did not move while it was counted.
"""

import base64
import hashlib
import secrets
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Self

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, model_validator

from ingest.core import custom_headers, patterns
from ingest.core.batching import batch_get
from ingest.core.credentials import CredentialKey, StoredCredential
from ingest.core.errors import (
    DuplicateSubscription,
    PreconditionFailed,
    StoreUnavailable,
    SubscriptionNotFound,
    SubscriptionQuotaExceeded,
    ValidationFailed,
)
from ingest.core.ids import isoformat, new_event_id
from ingest.core.models import OPERATIONAL_TYPES

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ID_PREFIX = "sub_"
GUARD_PREFIX = "dedup#"
SECRET_PREFIX = "whsec_"  # noqa: S105  # the Standard Webhooks prefix, not a secret
SECRET_BYTES = 32
ALL_EVENTS = "*"
VERSION_KEY = "version"
ROTATE_ATTEMPTS = 3
# Reads-and-merges a PATCH tries when concurrent changes keep moving the subscription's revision.
UPDATE_ATTEMPTS = 5
COUNT = "subscription_count"
# Writes a create or delete tries when other changes of the same tenant keep moving its version item.
COUNT_ATTEMPTS = 5

SubscriptionStatus = Literal["active", "disabled"]
Ordering = Literal["none", "strict"]
MIN_RATE_LIMIT = 1
MAX_RATE_LIMIT = 1000

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class StoredHeader(BaseModel):
    """A custom header's value as stored: KMS ciphertext, what may be shown of it, its size."""

    ciphertext: str
    hint: str
    size: int


class SubscriptionItem(BaseModel):
    """A webhook subscription as stored. Its Standard Webhooks signing secret is KMS ciphertext
    (`secret_ciphertext`; during a rotation also `previous_secret_ciphertext`); `secret` and
    `previous_secret` are the plaintext of items written before encryption, until migrated."""

    tenant_id: str
    subscription_id: str
    target_url: str
    event_types: list[str]
    secret_ciphertext: str | None = None
    previous_secret_ciphertext: str | None = None
    secret: str | None = None
    previous_secret: str | None = None
    previous_secret_expires_at: int | None = None
    status: SubscriptionStatus = "active"
    disabled_reason: str | None = None
    failing_since: str | None = None
    description: str | None = None
    metadata: dict[str, str] | None = None
    custom_headers: dict[str, StoredHeader] | None = None
    # The content filter (ingest/core/patterns.py) as compact JSON text.
    filter: str | None = None
    # Deliveries per second to the endpoint (None: as fast as they come); see processors/webhooks/pacing.py.
    rate_limit: int | None = None
    # "strict": one delivery in flight, in stream order (processors/webhooks/ordering.py).
    ordering: Ordering = "none"
    created_at: str
    updated_at: str
    # Moved by every PATCH: its write is conditional on the revision it read.
    revision: int = 0

    @model_validator(mode="after")
    def _has_a_secret(self) -> Self:
        if self.secret_ciphertext is None and self.secret is None:
            raise ValueError("a subscription has a signing secret")
        return self

    @property
    def encryption_context(self) -> dict[str, str]:
        """What its credentials are encrypted under: KMS decrypts them for this owner only."""
        return {"tenant_id": self.tenant_id, "subscription_id": self.subscription_id}

    @property
    def encrypted(self) -> bool:
        """No plaintext secret left in the item (false only for items written before encryption)."""
        return self.secret is None and self.previous_secret is None

    @property
    def strict(self) -> bool:
        return self.ordering == "strict"

    def matches(self, event_type: str) -> bool:
        # `*` takes every producer's type, not the operational ones (ingest.core.operational).
        if event_type in self.event_types:
            return True
        return ALL_EVENTS in self.event_types and event_type not in OPERATIONAL_TYPES

    @property
    def content_filter(self) -> dict[str, Any] | None:
        """The content filter, parsed (cached per process; read-only), or None without one."""
        return None if self.filter is None else patterns.parse(self.filter)

    def header_credentials(self) -> dict[str, StoredCredential]:
        """The custom headers' values as stored (ciphertext); the senders decrypt them."""
        return {
            name: StoredCredential(header.ciphertext) for name, header in (self.custom_headers or {}).items()
        }

    def header_hints(self) -> dict[str, str]:
        """The custom headers with masked values (`Bearer ****abcd`): all the API ever shows."""
        return {name: header.hint for name, header in (self.custom_headers or {}).items()}

    def signing_secrets(self, now: datetime) -> list[StoredCredential]:
        """The secrets to sign with, as stored: the current one, plus the previous one during its
        grace period. The signing functions decrypt them (processors/webhooks/delivery.py)."""
        secrets = [_stored(self.secret_ciphertext, self.secret)]
        expires_at = self.previous_secret_expires_at
        previous = _stored(self.previous_secret_ciphertext, self.previous_secret)
        if previous.value and expires_at is not None and now.timestamp() < expires_at:
            secrets.append(previous)
        return secrets

    def to_ddb(self) -> dict[str, Any]:
        stored = self.model_dump(exclude_none=True)
        return {name: _serializer.serialize(value) for name, value in stored.items()}

    @classmethod
    def from_ddb(cls, item: dict[str, Any]) -> "SubscriptionItem":
        return cls.model_validate({name: _deserializer.deserialize(value) for name, value in item.items()})


def _stored(ciphertext: str | None, plaintext: str | None) -> StoredCredential:
    if ciphertext is not None:
        return StoredCredential(ciphertext)
    return StoredCredential(plaintext or "", encrypted=False)


class Issued(NamedTuple):
    """A subscription just created or rotated, and its new signing secret in plaintext: the only
    time the secret is available outside the signing functions."""

    subscription: SubscriptionItem
    secret: str


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def guard_key(target_url: str, event_types: list[str]) -> str:
    identity = "\n".join([target_url, *sorted(set(event_types))])
    return GUARD_PREFIX + hashlib.sha256(identity.encode()).hexdigest()


def _unavailable(operation: str, exc: Exception) -> StoreUnavailable:
    return StoreUnavailable(f"subscriptions table {operation} failed: {type(exc).__name__}")


def _key(tenant_id: str, subscription_id: str) -> dict[str, Any]:
    return {"tenant_id": {"S": tenant_id}, "subscription_id": {"S": subscription_id}}


def _not_found(subscription_id: str) -> SubscriptionNotFound:
    return SubscriptionNotFound(f"no subscription {subscription_id}")


def _bump_version(table: str, tenant_id: str) -> Any:
    """The transaction item that bumps the tenant's subscriptions version."""
    return {
        "Update": {
            "TableName": table,
            "Key": _key(tenant_id, VERSION_KEY),
            "UpdateExpression": "ADD version :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }


def _cancellation_codes(exc: Exception) -> list[str | None]:
    response = getattr(exc, "response", {})
    return [reason.get("Code") for reason in response.get("CancellationReasons", [])]


def _cancelled_item(exc: Exception, index: int) -> dict[str, Any]:
    """The item as it was when the transaction's `index`-th condition failed ({} if absent)."""
    reasons = (getattr(exc, "response", {}) or {}).get("CancellationReasons", [])
    return (reasons[index].get("Item") if index < len(reasons) else None) or {}


def _count_version(
    table: str, tenant_id: str, expression: str, condition: str, values: dict[str, Any]
) -> Any:
    """The transaction item that bumps the version and changes the count, on a condition."""
    return {
        "Update": {
            "TableName": table,
            "Key": _key(tenant_id, VERSION_KEY),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": {":one": {"N": "1"}, **values},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def _add_one(table: str, tenant_id: str, limit: int | None, uncounted: dict[str, Any] | None) -> Any:
    """Count a new subscription: below `limit` (None: no limit). `uncounted` is the version item as
    read when it had no count yet: then the tenant's subscriptions are counted here, and the count
    is set only if the version has not moved since."""
    if uncounted is None:
        if limit is None:
            return _count_version(
                table, tenant_id, f"ADD version :one, {COUNT} :one", f"attribute_exists({COUNT})", {}
            )
        below = {":limit": {"N": str(limit)}}
        return _count_version(table, tenant_id, f"ADD version :one, {COUNT} :one", f"{COUNT} < :limit", below)
    return _count_version(
        table,
        tenant_id,
        f"SET {COUNT} = :count ADD version :one",
        f"attribute_not_exists({COUNT}) AND "
        + ("version = :version" if "version" in uncounted else "attribute_not_exists(version)"),
        {":count": {"N": str(uncounted["count"] + 1)}}
        | ({":version": uncounted["version"]} if "version" in uncounted else {}),
    )


def _count(client: "DynamoDBClient", table: str, tenant_id: str) -> int:
    """How many subscriptions the tenant has (a consistent query; only for tenants not counted yet)."""
    params: Any = {
        "TableName": table,
        "KeyConditionExpression": "tenant_id = :tenant AND begins_with(subscription_id, :prefix)",
        "ExpressionAttributeValues": {":tenant": {"S": tenant_id}, ":prefix": {"S": ID_PREFIX}},
        "Select": "COUNT",
        "ConsistentRead": True,
    }
    try:
        return sum(int(page["Count"]) for page in client.get_paginator("query").paginate(**params))
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("count", exc) from exc


def subscription_count(client: "DynamoDBClient", table: str, tenant_id: str) -> int:
    """How many subscriptions the tenant has, as its quota counts them."""
    try:
        response = client.get_item(TableName=table, Key=_key(tenant_id, VERSION_KEY), ConsistentRead=True)
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("read", exc) from exc
    counter = response.get("Item", {}).get(COUNT)
    return int(counter["N"]) if counter else _count(client, table, tenant_id)


def versions(client: "DynamoDBClient", table: str, tenant_ids: Iterable[str]) -> dict[str, int]:
    """Each tenant's subscriptions version (0 before its first change), read consistently."""
    wanted = list(dict.fromkeys(tenant_ids))
    found = batch_get(
        client, table, [_key(tenant_id, VERSION_KEY) for tenant_id in wanted], "subscriptions table"
    )
    current = {item["tenant_id"]["S"]: int(item.get("version", {}).get("N", "0")) for item in found}
    return {tenant_id: current.get(tenant_id, 0) for tenant_id in wanted}


def create_subscription(
    client: "DynamoDBClient",
    table: str,
    tenant_id: str,
    target_url: str,
    event_types: list[str],
    key: CredentialKey,
    max_subscriptions: int | None = None,
    fields: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    rate_limit: int | None = None,
    ordering: Ordering = "none",
) -> Issued:
    """Store a new active subscription with a fresh secret, encrypted with `key`.

    `fields` are further stored attributes (description, metadata, filter, …: see PATCHABLE);
    `headers` the custom headers in plaintext, each encrypted with `key` like the secret.

    Raises DuplicateSubscription (carrying the existing id) when the tenant already has one
    with the same target URL and the same set of event types; SubscriptionQuotaExceeded when it
    has `max_subscriptions` already (None: no quota); CredentialUnavailable when KMS does not
    encrypt (nothing is stored).
    """
    now = datetime.now(UTC)
    subscription_id = ID_PREFIX + new_event_id(now)
    secret = new_secret()
    context = {"tenant_id": tenant_id, "subscription_id": subscription_id}
    stored_headers = _merge_headers(None, _encrypt_headers(headers or {}, key, context))
    item = SubscriptionItem(
        tenant_id=tenant_id,
        subscription_id=subscription_id,
        target_url=target_url,
        event_types=event_types,
        secret_ciphertext=key.encrypt(secret, context),
        created_at=isoformat(now),
        updated_at=isoformat(now),
        **(
            {name: value for name, value in (fields or {}).items() if name in PATCHABLE and value is not None}
            | {"rate_limit": rate_limit, "ordering": ordering}
        ),
        custom_headers=stored_headers,
    )
    guard = guard_key(target_url, event_types)
    new_item = "attribute_not_exists(subscription_id)"
    uncounted: dict[str, Any] | None = None
    for _ in range(COUNT_ATTEMPTS):
        try:
            client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": table, "Item": item.to_ddb(), "ConditionExpression": new_item}},
                    {
                        "Put": {
                            "TableName": table,
                            "Item": {**_key(tenant_id, guard), "owner_id": {"S": item.subscription_id}},
                            "ConditionExpression": new_item,
                        }
                    },
                    _add_one(table, tenant_id, max_subscriptions, uncounted),
                ]
            )
        except client.exceptions.TransactionCanceledException as exc:
            codes = _cancellation_codes(exc)
            if "ConditionalCheckFailed" in codes[:2]:
                existing = _guard_owner(client, table, tenant_id, guard)
                raise DuplicateSubscription(
                    "a subscription with this target_url and these event_types exists",
                    subscription_id=existing,
                ) from exc
            if codes[2:3] != ["ConditionalCheckFailed"]:
                raise _unavailable("create", exc) from exc
            counter = _cancelled_item(exc, 2)
            if COUNT in counter:
                count = int(counter[COUNT]["N"])
                if max_subscriptions is not None and count >= max_subscriptions:
                    raise _quota_exceeded(count, max_subscriptions) from exc
                uncounted = None  # counted meanwhile, or another create got there first: try again
                continue
            uncounted = {"count": _count(client, table, tenant_id)}
            if "version" in counter:
                uncounted["version"] = counter["version"]
            if max_subscriptions is not None and uncounted["count"] >= max_subscriptions:
                raise _quota_exceeded(uncounted["count"], max_subscriptions) from exc
            continue
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable("create", exc) from exc
        return Issued(item, secret)
    raise StoreUnavailable("subscriptions table create failed: the tenant's subscriptions kept changing")


def _quota_exceeded(count: int, limit: int) -> SubscriptionQuotaExceeded:
    return SubscriptionQuotaExceeded(
        f"this tenant has {count} subscriptions and may have {limit}: delete one, or ask for a higher quota",
        limit=limit,
    )


def _guard_owner(client: "DynamoDBClient", table: str, tenant_id: str, guard: str) -> str | None:
    try:
        response = client.get_item(TableName=table, Key=_key(tenant_id, guard), ConsistentRead=True)
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("read", exc) from exc
    item = response.get("Item")
    return item["owner_id"]["S"] if item else None


def get_subscription(
    client: "DynamoDBClient", table: str, tenant_id: str, subscription_id: str
) -> SubscriptionItem:
    if not subscription_id.startswith(ID_PREFIX):
        raise _not_found(subscription_id)
    try:
        response = client.get_item(TableName=table, Key=_key(tenant_id, subscription_id), ConsistentRead=True)
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("read", exc) from exc
    if "Item" not in response:
        raise _not_found(subscription_id)
    return SubscriptionItem.from_ddb(response["Item"])


def _query(
    client: "DynamoDBClient", table: str, tenant_id: str, *, active_only: bool
) -> list[SubscriptionItem]:
    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "tenant_id = :tenant AND begins_with(subscription_id, :prefix)",
        "ExpressionAttributeValues": {":tenant": {"S": tenant_id}, ":prefix": {"S": ID_PREFIX}},
        "ConsistentRead": True,
    }
    if active_only:
        params["FilterExpression"] = "#status = :active"
        params["ExpressionAttributeNames"] = {"#status": "status"}
        params["ExpressionAttributeValues"][":active"] = {"S": "active"}
    items: list[SubscriptionItem] = []
    try:
        for page in client.get_paginator("query").paginate(**params):
            items.extend(SubscriptionItem.from_ddb(item) for item in page.get("Items", []))
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("query", exc) from exc
    return items


def list_subscriptions(client: "DynamoDBClient", table: str, tenant_id: str) -> list[SubscriptionItem]:
    """Every subscription of a tenant, oldest first."""
    return _query(client, table, tenant_id, active_only=False)


def list_active(client: "DynamoDBClient", table: str, tenant_id: str) -> list[SubscriptionItem]:
    """The tenant's subscriptions that receive deliveries (status `active`), oldest first."""
    return _query(client, table, tenant_id, active_only=True)


def delete_subscription(client: "DynamoDBClient", table: str, tenant_id: str, subscription_id: str) -> None:
    """Delete a subscription and its duplicate guard together."""
    item = get_subscription(client, table, tenant_id, subscription_id)
    guard = guard_key(item.target_url, item.event_types)
    zero = {":zero": {"N": "0"}}
    counted = True  # first assume the version item counts (and then takes one away)
    for _ in range(COUNT_ATTEMPTS):
        uncount = (
            _count_version(table, tenant_id, f"ADD version :one, {COUNT} :minus", f"{COUNT} > :zero", zero)
            if counted
            else _count_version(
                table,
                tenant_id,
                "ADD version :one",
                f"attribute_not_exists({COUNT}) OR {COUNT} <= :zero",
                zero,
            )
        )
        if counted:
            uncount["Update"]["ExpressionAttributeValues"][":minus"] = {"N": "-1"}
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": table,
                            "Key": _key(tenant_id, subscription_id),
                            "ConditionExpression": "attribute_exists(subscription_id)",
                        }
                    },
                    {
                        "Delete": {
                            "TableName": table,
                            "Key": _key(tenant_id, guard),
                            "ConditionExpression": "attribute_not_exists(owner_id) OR owner_id = :owner",
                            "ExpressionAttributeValues": {":owner": {"S": subscription_id}},
                        }
                    },
                    uncount,
                ]
            )
        except client.exceptions.TransactionCanceledException as exc:
            reasons = _cancellation_codes(exc)
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise _not_found(subscription_id) from exc
            if reasons[2:3] != ["ConditionalCheckFailed"]:
                raise _unavailable("delete", exc) from exc
            counted = not counted  # the count appeared or was never there: the other form
            continue
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable("delete", exc) from exc
        return
    raise StoreUnavailable("subscriptions table delete failed: the tenant's subscriptions kept changing")


# What a PATCH may change: every stored attribute but these (a new field of SubscriptionItem is
# patchable as soon as the API's patch model names it). `headers` is patched through
# `custom_headers` (encrypted, merged by name); the maps in MERGED are merged key by key.
SYSTEM_FIELDS = frozenset(
    {
        "tenant_id",
        "subscription_id",
        "secret_ciphertext",
        "previous_secret_ciphertext",
        "secret",
        "previous_secret",
        "previous_secret_expires_at",
        "status",
        "disabled_reason",
        "failing_since",
        "custom_headers",
        "created_at",
        "updated_at",
        "revision",
    }
)
PATCHABLE = frozenset(SubscriptionItem.model_fields) - SYSTEM_FIELDS
HEADERS = "headers"
# Maps merged key by key, and how many keys each may hold once merged.
MERGED = {"metadata": 20}
# Patchable attributes every subscription has: a patch may change them, never remove them.
REQUIRED = frozenset({"target_url", "event_types", "ordering"})


def _encrypt_headers(
    headers: Mapping[str, str | None], key: CredentialKey, context: Mapping[str, str]
) -> dict[str, StoredHeader | None]:
    """Each value encrypted under the owner's context (None, a removal, stays None)."""
    return {
        name: None
        if value is None
        else StoredHeader(
            ciphertext=key.encrypt(value, context), hint=custom_headers.mask(value), size=len(value.encode())
        )
        for name, value in headers.items()
    }


def _merge_headers(
    current: Mapping[str, StoredHeader] | None, changes: Mapping[str, StoredHeader | None]
) -> dict[str, StoredHeader] | None:
    """RFC 7396 on the headers map: a value sets a header (names case-insensitive), null removes it."""
    merged = dict(current or {})
    for name, header in changes.items():
        for existing in [known for known in merged if known.lower() == name.lower()]:
            del merged[existing]
        if header is not None:
            merged[name] = header
    problem = custom_headers.check_set({name: header.size for name, header in merged.items()})
    if problem is not None:
        raise ValidationFailed(f"invalid headers: {problem}", errors=[{"field": HEADERS, "message": problem}])
    return merged or None


def _merged_value(name: str, current: Any, change: Any) -> Any:
    if name not in MERGED or not isinstance(change, Mapping):
        return change
    merged = {key: value for key, value in {**(current or {}), **change}.items() if value is not None}
    if len(merged) > MERGED[name]:
        problem = f"at most {MERGED[name]} keys once merged ({len(merged)})"
        raise ValidationFailed(f"invalid {name}: {problem}", errors=[{"field": name, "message": problem}])
    return merged or None


def update_subscription(
    client: "DynamoDBClient",
    table: str,
    tenant_id: str,
    subscription_id: str,
    patch: Mapping[str, Any],
    key: CredentialKey,
    expected_revision: int | None = None,
) -> SubscriptionItem:
    """Apply a JSON merge patch (RFC 7396) to a subscription and return it as it now is.

    With `expected_revision` (an `If-Match`), PreconditionFailed when another patch moved the
    revision: the caller's change is not merged into one it has not seen.

    `patch` names stored attributes (PATCHABLE) and `headers`: an absent name is unchanged, None
    removes an optional attribute, a map in MERGED (and `headers`) is merged key by key (a None
    value removes that key), anything else replaces the value. Headers are encrypted with `key`.
    A patch that changes nothing writes nothing. A change of target or types moves the duplicate
    guard (DuplicateSubscription when another subscription has the new pair). The write bumps the
    tenant's version (the fanout's cache) and is conditional on the revision read: a concurrent
    change makes this one read and merge again.
    """
    unknown = set(patch) - PATCHABLE - {HEADERS}
    if unknown:
        raise ValueError(f"not patchable: {sorted(unknown)}")
    if any(patch.get(name, "") is None for name in REQUIRED):
        raise ValueError(f"cannot be removed: {sorted(REQUIRED)}")
    context = {"tenant_id": tenant_id, "subscription_id": subscription_id}
    header_patch = patch.get(HEADERS)
    encrypted = None if header_patch is None else _encrypt_headers(header_patch, key, context)
    for _ in range(UPDATE_ATTEMPTS):
        current = get_subscription(client, table, tenant_id, subscription_id)
        if expected_revision is not None and current.revision != expected_revision:
            raise PreconditionFailed(f"subscription {subscription_id} was changed meanwhile; read it again")
        changes = {
            name: _merged_value(name, getattr(current, name), value)
            for name, value in patch.items()
            if name != HEADERS
        }
        if HEADERS in patch:
            changes["custom_headers"] = (
                None if encrypted is None else _merge_headers(current.custom_headers, encrypted)
            )
        changes = {name: value for name, value in changes.items() if value != getattr(current, name)}
        if not changes:
            return current
        now = isoformat(datetime.now(UTC))
        updated = current.model_validate(
            {**current.model_dump(), **changes, "updated_at": now, "revision": current.revision + 1}
        )
        if _write_patch(client, table, current, updated, list(changes)):
            return updated
    raise StoreUnavailable(f"subscription {subscription_id} kept changing during its update; retry")


def _write_patch(
    client: "DynamoDBClient",
    table: str,
    current: SubscriptionItem,
    updated: SubscriptionItem,
    changed: list[str],
) -> bool:
    """Write `changed` attributes of `updated` if the item is still at `current`'s revision.

    Returns False when another change moved the revision first (nothing written)."""
    stored = updated.model_dump(exclude_none=True)
    names = {f"#a{index}": name for index, name in enumerate(changed)}
    values: dict[str, Any] = {
        ":updated_at": {"S": updated.updated_at},
        ":revision": {"N": str(updated.revision)},
    }
    sets, removes = ["updated_at = :updated_at", "revision = :revision"], []
    for placeholder, name in names.items():
        if name in stored:
            sets.append(f"{placeholder} = :{placeholder[1:]}")
            values[f":{placeholder[1:]}"] = _serializer.serialize(stored[name])
        else:
            removes.append(placeholder)
    # Items written before revisions existed have none: they read as revision 0.
    condition = "attribute_exists(subscription_id) AND " + (
        "revision = :seen" if current.revision else "(attribute_not_exists(revision) OR revision = :seen)"
    )
    values[":seen"] = {"N": str(current.revision)}
    tenant_id, subscription_id = current.tenant_id, current.subscription_id
    transaction: list[Any] = [
        {
            "Update": {
                "TableName": table,
                "Key": _key(tenant_id, subscription_id),
                "UpdateExpression": f"SET {', '.join(sets)}"
                + (f" REMOVE {', '.join(removes)}" if removes else ""),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
    ]
    old_guard = guard_key(current.target_url, current.event_types)
    new_guard = guard_key(updated.target_url, updated.event_types)
    if new_guard != old_guard:
        transaction += [
            {
                "Delete": {
                    "TableName": table,
                    "Key": _key(tenant_id, old_guard),
                    "ConditionExpression": "attribute_not_exists(owner_id) OR owner_id = :owner",
                    "ExpressionAttributeValues": {":owner": {"S": subscription_id}},
                }
            },
            {
                "Put": {
                    "TableName": table,
                    "Item": {**_key(tenant_id, new_guard), "owner_id": {"S": subscription_id}},
                    "ConditionExpression": "attribute_not_exists(subscription_id)",
                }
            },
        ]
    transaction.append(_bump_version(table, tenant_id))
    try:
        client.transact_write_items(TransactItems=transaction)
    except client.exceptions.TransactionCanceledException as exc:
        codes = _cancellation_codes(exc)
        if codes[:1] == ["ConditionalCheckFailed"]:
            if not _cancelled_item(exc, 0):
                raise _not_found(subscription_id) from exc
            return False  # the revision moved: read again
        if new_guard != old_guard and codes[2:3] == ["ConditionalCheckFailed"]:
            raise DuplicateSubscription(
                "a subscription with this target_url and these event_types exists",
                subscription_id=_guard_owner(client, table, tenant_id, new_guard),
            ) from exc
        if new_guard != old_guard and codes[1:2] == ["ConditionalCheckFailed"]:
            return False  # the guard changed hands meanwhile: read again
        raise _unavailable("update", exc) from exc
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("update", exc) from exc
    return True


def _update(
    client: "DynamoDBClient",
    table: str,
    tenant_id: str,
    subscription_id: str,
    expression: str,
    values: dict[str, Any],
    names: dict[str, str] | None = None,
    condition: str | None = None,
) -> bool:
    """Apply `expression` to an existing subscription and bump the tenant's version, atomically.

    Returns False when the extra `condition` does not hold (nothing changed); raises
    SubscriptionNotFound when the subscription does not exist.
    """
    if not subscription_id.startswith(ID_PREFIX):
        raise _not_found(subscription_id)
    update: Any = {
        "TableName": table,
        "Key": _key(tenant_id, subscription_id),
        "UpdateExpression": expression,
        "ConditionExpression": "attribute_exists(subscription_id)"
        + (f" AND {condition}" if condition else ""),
        "ExpressionAttributeValues": {**values, ":updated_at": {"S": isoformat(datetime.now(UTC))}},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if names:
        update["ExpressionAttributeNames"] = names
    try:
        client.transact_write_items(TransactItems=[{"Update": update}, _bump_version(table, tenant_id)])
    except client.exceptions.TransactionCanceledException as exc:
        reasons = (getattr(exc, "response", {}) or {}).get("CancellationReasons", [])
        if not reasons or reasons[0].get("Code") != "ConditionalCheckFailed":
            raise _unavailable("update", exc) from exc
        if not reasons[0].get("Item"):
            raise _not_found(subscription_id) from exc
        return False
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("update", exc) from exc
    return True


def disable(client: "DynamoDBClient", table: str, tenant_id: str, subscription_id: str, reason: str) -> bool:
    """Disable a subscription; whether this call disabled it. One already disabled keeps its first
    reason and nothing is written: a 410 answered by a delivery already in flight when an operator
    disabled it by hand does not relabel that as automatic."""
    return _update(
        client,
        table,
        tenant_id,
        subscription_id,
        "SET #status = :disabled, disabled_reason = :reason, updated_at = :updated_at",
        {":disabled": {"S": "disabled"}, ":reason": {"S": reason}},
        {"#status": "status"},
        condition="(attribute_not_exists(#status) OR #status <> :disabled)",
    )


def disable_active(
    client: "DynamoDBClient", table: str, tenant_id: str, subscription_id: str, reason: str
) -> tuple[SubscriptionItem, bool]:
    """Disable a subscription by hand: the subscription as it now is, and whether this call
    disabled it. One already disabled is left as it is (its first reason is kept, nothing is
    written, the version does not move), so a repeated call changes nothing. Like `disable`, the
    write bumps the tenant's version (the fanout's cache); the revision (PATCH's `If-Match`) is
    not moved, as enable does not move it."""
    changed = disable(client, table, tenant_id, subscription_id, reason)
    return get_subscription(client, table, tenant_id, subscription_id), changed


def enable(client: "DynamoDBClient", table: str, tenant_id: str, subscription_id: str) -> SubscriptionItem:
    """Reactivate a subscription and start a fresh failure streak."""
    _update(
        client,
        table,
        tenant_id,
        subscription_id,
        "SET #status = :active, updated_at = :updated_at REMOVE disabled_reason, failing_since",
        {":active": {"S": "active"}},
        {"#status": "status"},
    )
    return get_subscription(client, table, tenant_id, subscription_id)


def record_failure(
    client: "DynamoDBClient", table: str, tenant_id: str, subscription_id: str, at: datetime
) -> SubscriptionItem:
    """Mark the start of a failure streak at `at` unless one is already running; return the item."""
    _update(
        client,
        table,
        tenant_id,
        subscription_id,
        "SET failing_since = :at, updated_at = :updated_at",
        {":at": {"S": isoformat(at)}},
        condition="attribute_not_exists(failing_since)",
    )
    return get_subscription(client, table, tenant_id, subscription_id)


def record_success(client: "DynamoDBClient", table: str, tenant_id: str, subscription_id: str) -> None:
    """End the current failure streak, if any (nothing is written when there is none)."""
    _update(
        client,
        table,
        tenant_id,
        subscription_id,
        "SET updated_at = :updated_at REMOVE failing_since",
        {},
        condition="attribute_exists(failing_since)",
    )


def rotate_secret(
    client: "DynamoDBClient",
    table: str,
    tenant_id: str,
    subscription_id: str,
    now: datetime,
    key: CredentialKey,
    grace_seconds: int = 86400,
) -> Issued:
    """Issue a new secret; the current one stays valid (signed alongside) for `grace_seconds`.

    Both are stored encrypted: the current ciphertext moves to `previous_secret_ciphertext` as it
    is (same owner, same context); an item still holding a plaintext secret (written before
    encryption) has it encrypted on the way. The write is conditional on the secret read, so a
    concurrent rotation or migration makes this one read again rather than lose a secret.
    """
    secret = new_secret()
    context = {"tenant_id": tenant_id, "subscription_id": subscription_id}
    ciphertext = None
    for _ in range(ROTATE_ATTEMPTS):
        current = get_subscription(client, table, tenant_id, subscription_id)
        ciphertext = ciphertext or key.encrypt(secret, context)
        values: dict[str, Any] = {
            ":secret": {"S": ciphertext},
            ":expires_at": {"N": str(int(now.timestamp()) + grace_seconds)},
        }
        if current.secret_ciphertext is not None:
            values[":previous"] = values[":current"] = {"S": current.secret_ciphertext}
            condition = "secret_ciphertext = :current"
        else:
            plaintext = current.secret or ""
            values[":previous"] = {"S": key.encrypt(plaintext, context)}
            values[":current"] = {"S": plaintext}
            condition = "secret = :current"
        rotated = _update(
            client,
            table,
            tenant_id,
            subscription_id,
            "SET previous_secret_ciphertext = :previous, secret_ciphertext = :secret, "
            "previous_secret_expires_at = :expires_at, updated_at = :updated_at "
            "REMOVE secret, previous_secret",
            values,
            condition=condition,
        )
        if rotated:
            return Issued(get_subscription(client, table, tenant_id, subscription_id), secret)
    raise StoreUnavailable(f"subscription {subscription_id} kept changing during its rotation; retry")


def plaintext_items(client: "DynamoDBClient", table: str) -> Iterator[SubscriptionItem]:
    """Every subscription still holding a plaintext secret (written before encryption), by Scan.

    Items encrypted meanwhile no longer match, so a migration that stopped resumes where it was.
    """
    params: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "begins_with(subscription_id, :prefix) "
        "AND (attribute_exists(secret) OR attribute_exists(previous_secret))",
        "ExpressionAttributeValues": {":prefix": {"S": ID_PREFIX}},
        "ConsistentRead": True,
    }
    try:
        for page in client.get_paginator("scan").paginate(**params):
            yield from (SubscriptionItem.from_ddb(item) for item in page.get("Items", []))
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("scan", exc) from exc


def encrypt_plaintext(
    client: "DynamoDBClient", table: str, item: SubscriptionItem, key: CredentialKey
) -> bool:
    """Replace the item's plaintext secret(s) with their ciphertext under its context.

    Conditional on the plaintext being what was read: False (nothing written) when the item was
    rotated, migrated or deleted meanwhile. The value of each secret is unchanged, so deliveries
    sign as before and the tenant's version is not bumped (no cache needs reloading).
    """
    context = item.encryption_context
    sets: list[str] = []
    conditions = ["attribute_exists(subscription_id)"]
    values: dict[str, Any] = {}
    for plaintext, attribute in ((item.secret, "secret"), (item.previous_secret, "previous_secret")):
        if plaintext is None:
            conditions.append(f"attribute_not_exists({attribute})")
            continue
        sets.append(f"{attribute}_ciphertext = :{attribute}_ciphertext")
        conditions.append(f"{attribute} = :{attribute}")
        values[f":{attribute}"] = {"S": plaintext}
        values[f":{attribute}_ciphertext"] = {"S": key.encrypt(plaintext, context)}
    if not sets:
        return False
    try:
        client.update_item(
            TableName=table,
            Key=_key(item.tenant_id, item.subscription_id),
            UpdateExpression=f"SET {', '.join(sets)} REMOVE secret, previous_secret",
            ConditionExpression=" AND ".join(conditions),
            ExpressionAttributeValues=values,
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("update", exc) from exc
    return True
