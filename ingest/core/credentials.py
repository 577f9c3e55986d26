"""Credentials a subscription's deliveries use, encrypted with the secrets KMS key.

Webhook signing secrets today; any credential a subscriber configures later (a bearer token, a
basic-auth password) goes through the same two calls. Each is encrypted with `kms:Encrypt` under
the dedicated secrets key (template.yaml `SecretsKey`) and an encryption context naming its owner,
`{tenant_id, subscription_id}`: KMS refuses to decrypt it under any other context, so a
ciphertext copied into another tenant's item is useless there. Only the functions that sign
(fanout, retry) may decrypt; the API only encrypts (docs/decisions.md, "Signing secrets").

Stored form: `kms1:` + the base64 of the KMS ciphertext blob. The prefix versions the format, so
another scheme (a data key with AES-GCM for credentials over KMS's 4 KB) can be added beside it.

Decrypted values are cached per process by what was decrypted (key, context and ciphertext): a
rotation writes a new ciphertext, so an entry is never stale, and a tenant's subscriptions being
reloaded for another reason costs no KMS call.
"""

import base64
import binascii
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from ingest.core.clients import kms_client
from ingest.core.errors import StoreUnavailable, TriggersError

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

FORMAT = "kms1:"
# KMS Encrypt takes at most 4096 bytes of plaintext.
MAX_PLAINTEXT_BYTES = 4096
MAX_CACHED = 20_000
# The ciphertext itself is at fault (another context, another key, corrupted): retrying cannot help.
UNREADABLE_CODES = frozenset({"InvalidCiphertextException", "IncorrectKeyException"})

Context = Mapping[str, str]


class CredentialUnavailable(StoreUnavailable):
    """KMS did not answer, throttled, or refused the caller (a deployment problem): retry later."""

    slug, title = "credentials-unavailable", "Credential encryption temporarily unavailable"


class CredentialUnreadable(TriggersError):
    """A stored credential cannot be decrypted under its owner's context and the configured key."""

    slug, title = "credential-unreadable", "Stored credential cannot be decrypted"


@dataclass(frozen=True)
class StoredCredential:
    """A credential as its item holds it: ciphertext, or the plaintext of an item written before
    encryption (read during the migration window only; `triggers secrets migrate` ends it)."""

    value: str
    encrypted: bool = True


@dataclass(frozen=True)
class CredentialKey:
    """The KMS key credentials are encrypted with, and the client that reaches it."""

    kms: "KMSClient"
    key_id: str

    def encrypt(self, plaintext: str, context: Context) -> str:
        data = plaintext.encode()
        if len(data) > MAX_PLAINTEXT_BYTES:
            raise ValueError(f"a credential is at most {MAX_PLAINTEXT_BYTES} bytes")
        try:
            response = self.kms.encrypt(KeyId=self.key_id, Plaintext=data, EncryptionContext=dict(context))
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable("encrypt", exc) from exc
        return FORMAT + base64.b64encode(response["CiphertextBlob"]).decode()

    def decrypt(self, ciphertext: str, context: Context) -> str:
        if not ciphertext.startswith(FORMAT):
            raise CredentialUnreadable("not a kms1 ciphertext")
        try:
            blob = base64.b64decode(ciphertext.removeprefix(FORMAT), validate=True)
        except binascii.Error as exc:
            raise CredentialUnreadable("ciphertext is not base64") from exc
        try:
            # KeyId pins the key: a ciphertext made under any other key is refused.
            response = self.kms.decrypt(
                KeyId=self.key_id, CiphertextBlob=blob, EncryptionContext=dict(context)
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in UNREADABLE_CODES:
                raise CredentialUnreadable(f"KMS refused the ciphertext: {code}") from exc
            raise _unavailable("decrypt", exc) from exc
        except BotoCoreError as exc:
            raise _unavailable("decrypt", exc) from exc
        return response["Plaintext"].decode()


def _unavailable(operation: str, exc: Exception) -> CredentialUnavailable:
    code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
    return CredentialUnavailable(f"KMS {operation} failed: {code or type(exc).__name__}")


def credential_key(key_id: str) -> CredentialKey:
    """The configured key with the process's KMS client."""
    return CredentialKey(kms_client(), key_id)


class CredentialCache:
    """Decrypted credentials, by a digest of (key, context, ciphertext); at most `max_entries`,
    least recently used out. Plaintext credentials of unmigrated items pass through uncached."""

    def __init__(self, max_entries: int = MAX_CACHED) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[bytes, str] = OrderedDict()
        self._lock = threading.Lock()

    def reveal(self, key: CredentialKey, stored: StoredCredential, context: Context) -> str:
        if not stored.encrypted:
            return stored.value
        digest = _digest(key.key_id, context, stored.value)
        with self._lock:
            if (plaintext := self._entries.get(digest)) is not None:
                self._entries.move_to_end(digest)
                return plaintext
        plaintext = key.decrypt(stored.value, context)  # outside the lock: workers decrypt concurrently
        with self._lock:
            self._entries[digest] = plaintext
            self._entries.move_to_end(digest)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return plaintext

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _digest(key_id: str, context: Context, ciphertext: str) -> bytes:
    parts = [key_id, *(f"{name}={value}" for name, value in sorted(context.items())), ciphertext]
    return hashlib.sha256("\0".join(parts).encode()).digest()
