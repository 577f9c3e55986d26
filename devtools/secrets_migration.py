"""Backend of `triggers secrets migrate`: encrypt the signing secrets stored before encryption.

Each subscription item that still holds a plaintext `secret` (and `previous_secret` during a
rotation) gets its ciphertext under the secrets key and the context `{tenant_id, subscription_id}`,
and loses the plaintext, in one conditional write (ingest/core/subscriptions_table.py,
`encrypt_plaintext`). The secret's value is unchanged, so deliveries keep verifying on the
receivers' side and the readers accept both forms meanwhile.

Idempotent and resumable: only items still holding plaintext are read (a Scan with a filter), so
a second run finds nothing to do and a run that stopped (Ctrl-C, a crash, KMS throttling) is
finished by running it again. An item rotated, migrated or deleted by someone else while this
runs is left to that writer (the write is conditional on the plaintext read).
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ingest.core import subscriptions_table
from ingest.core.credentials import CredentialKey, CredentialUnavailable
from ingest.core.errors import SubscriptionNotFound, TriggersError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PROGRESS_EVERY = 100


@dataclass
class MigrationReport:
    table: str
    key: str  # the key's ARN, as KMS describes it
    dry_run: bool
    plaintext: int = 0  # items found holding a plaintext secret
    encrypted: int = 0  # of those, encrypted by this run
    skipped: int = 0  # encrypted or deleted by another writer meanwhile: nothing to do
    error: str | None = None  # why the run stopped early; running it again resumes

    @property
    def complete(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "complete": self.complete}


def describe_key(key: CredentialKey) -> str:
    """The key's ARN; fails early when the key is missing, disabled or not reachable."""
    try:
        metadata = key.kms.describe_key(KeyId=key.key_id)["KeyMetadata"]
    except (ClientError, BotoCoreError) as exc:
        raise CredentialUnavailable(f"key {key.key_id} cannot be described: {exc}") from exc
    if not metadata.get("Enabled", False):
        raise CredentialUnavailable(f"key {key.key_id} is {metadata.get('KeyState', 'not enabled')}")
    return str(metadata["Arn"])


def migrate(
    dynamodb: "DynamoDBClient",
    table: str,
    key: CredentialKey,
    *,
    dry_run: bool = False,
    progress: Callable[[MigrationReport], None] = lambda report: None,
) -> MigrationReport:
    """Encrypt every plaintext secret in `table` (with `dry_run`, only count them)."""
    report = MigrationReport(table=table, key=describe_key(key), dry_run=dry_run)
    try:
        for item in subscriptions_table.plaintext_items(dynamodb, table):
            report.plaintext += 1
            if not dry_run:
                _encrypt(dynamodb, table, item, key, report)
            if report.plaintext % PROGRESS_EVERY == 0:
                progress(report)
    except TriggersError as exc:
        report.error = exc.detail
    return report


def _encrypt(
    dynamodb: "DynamoDBClient",
    table: str,
    item: subscriptions_table.SubscriptionItem,
    key: CredentialKey,
    report: MigrationReport,
) -> None:
    """One item; when it changed since it was read, read it again and decide once more."""
    for _ in range(2):
        if subscriptions_table.encrypt_plaintext(dynamodb, table, item, key):
            report.encrypted += 1
            return
        try:
            item = subscriptions_table.get_subscription(dynamodb, table, item.tenant_id, item.subscription_id)
        except SubscriptionNotFound:
            break
        if item.encrypted:
            break
    else:
        raise TriggersError(f"subscription {item.subscription_id} kept changing; run the migration again")
    report.skipped += 1
