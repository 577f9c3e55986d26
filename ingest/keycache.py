"""Short memories of API keys, so most requests cost no DynamoDB read of the api-keys table.

Both are keyed by the key's SHA-256, bounded in size (least recently stored out) and in time:

- **accepted keys** (`api_key_cache_seconds`, 5 s by default): what a consistent read returned for a
  valid key, kept from the moment of that read (a hit never extends it). Revoking a key, or
  changing its scopes, therefore applies within that bound on every instance; expiry is exact,
  because the remembered `expires_at` is compared on every request.
- **refused keys** (`refused_key_cache_seconds`, 60 s): unknown, revoked or expired keys. Keys are
  random and never reused, so a key cannot be refused before it exists; a refused key becomes
  valid again only if someone edits the api-keys table by hand, and then within that bound.

docs/guarantees.md states the bounds with their tests.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ingest.core.api_keys_table import ApiKeyInfo
from ingest.core.runtime import runtime
from ingest.core.settings import ingest_settings

V = TypeVar("V")


@dataclass
class ExpiringMemory(Generic[V]):
    """At most `max_keys` values, each forgotten `ttl_seconds` after it was stored."""

    ttl_seconds: float = 60.0
    max_keys: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _stored: OrderedDict[str, tuple[float, V]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: str) -> V | None:
        with self._lock:
            stored = self._stored.get(key)
            if stored is None:
                return None
            if self.clock() - stored[0] >= self.ttl_seconds:
                del self._stored[key]
                return None
            return stored[1]

    def put(self, key: str, value: V) -> None:
        if self.max_keys <= 0 or self.ttl_seconds <= 0:
            return
        with self._lock:
            self._stored[key] = (self.clock(), value)
            self._stored.move_to_end(key)
            while len(self._stored) > self.max_keys:
                self._stored.popitem(last=False)

    def forget(self, key: str) -> None:
        with self._lock:
            self._stored.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._stored)


class RefusedKeys(ExpiringMemory[bool]):
    """Hashes of keys refused a moment ago."""

    def __contains__(self, key_hash: object) -> bool:
        return self.get(str(key_hash)) is not None

    def add(self, key_hash: str) -> None:
        self.put(key_hash, True)


@runtime.cached
def refused_keys() -> RefusedKeys:
    settings = ingest_settings()
    return RefusedKeys(settings.refused_key_cache_seconds, settings.refused_key_cache_size)


@runtime.cached
def accepted_keys() -> ExpiringMemory[ApiKeyInfo]:
    settings = ingest_settings()
    return ExpiringMemory(settings.api_key_cache_seconds, settings.api_key_cache_size)
