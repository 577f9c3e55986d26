"""What a function keeps between warm invocations (settings, clients, caches), and one reset.

Every process-wide singleton is made with `runtime.cached` (or registers itself with
`runtime.on_reset`), so tests, the local runner and devtools that change the environment call
`runtime.reset()` once instead of clearing each cache by hand.
"""

import threading
from collections.abc import Callable
from functools import _lru_cache_wrapper, lru_cache
from typing import TypeVar

T = TypeVar("T")


class Runtime:
    def __init__(self) -> None:
        self._resets: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def cached(self, factory: Callable[..., T]) -> "_lru_cache_wrapper[T]":
        """`factory(*args)` once per process and arguments (until `reset`)."""
        cached = lru_cache(maxsize=8)(factory)
        self.on_reset(cached.cache_clear)
        return cached

    def on_reset(self, forget: Callable[[], None]) -> None:
        with self._lock:
            self._resets.append(forget)

    def reset(self) -> None:
        """Forget every cached setting, client and cache: the next use reads the environment again."""
        with self._lock:
            resets = list(self._resets)
        for forget in resets:
            forget()


runtime = Runtime()
