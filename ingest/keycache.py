"""A short memory of refused API keys, so a client retrying with a bad key costs no DynamoDB read.

Only refusals are remembered (by the key's SHA-256): a valid key is still read consistently on
every request, so revoking it, or reaching its expiry, takes effect on the next request. Keys are
random and never reused, so a key cannot be refused before it exists; a refused key becomes valid
again only if someone edits the api-keys table by hand, and then within `ttl_seconds`
(docs/guarantees.md).
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from ingest.core.runtime import runtime
from ingest.core.settings import ingest_settings


@dataclass
class RefusedKeys:
    """At most `max_keys` key hashes, each forgotten `ttl_seconds` after it was refused."""

    ttl_seconds: float = 60.0
    max_keys: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _refused: OrderedDict[str, float] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __contains__(self, key_hash: object) -> bool:
        with self._lock:
            refused_at = self._refused.get(str(key_hash))
            if refused_at is None:
                return False
            if self.clock() - refused_at >= self.ttl_seconds:
                del self._refused[str(key_hash)]
                return False
            return True

    def add(self, key_hash: str) -> None:
        if self.max_keys <= 0 or self.ttl_seconds <= 0:
            return
        with self._lock:
            self._refused[key_hash] = self.clock()
            self._refused.move_to_end(key_hash)
            while len(self._refused) > self.max_keys:
                self._refused.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._refused)


@runtime.cached
def refused_keys() -> RefusedKeys:
    settings = ingest_settings()
    return RefusedKeys(settings.refused_key_cache_seconds, settings.refused_key_cache_size)
