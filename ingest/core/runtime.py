"""What a function keeps between warm invocations (settings, clients, caches), and one reset.

Every process-wide singleton is made with `runtime.cached` (or registers itself with
`runtime.on_reset`), so tests, the local runner and devtools that change the environment call
`runtime.reset()` once instead of clearing each cache by hand.
"""

import functools
import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Runtime:
    def __init__(self) -> None:
        self._resets: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._generation = 0

    def cached(self, factory: Callable[..., T]) -> "Cached[T]":
        """`factory(*args)` once per process and arguments (until `reset`)."""
        cached = Cached(self, factory)
        self.on_reset(cached.cache_clear)
        return cached

    def on_reset(self, forget: Callable[[], None]) -> None:
        with self._lock:
            self._resets.append(forget)

    def reset(self) -> None:
        """Forget every cached setting, client and cache: the next use reads the environment again."""
        with self._lock:
            self._generation += 1
            resets = list(self._resets)
        for forget in resets:
            forget()


class Cached(Generic[T]):
    """A factory's value per positional arguments, kept until the runtime's next reset.

    Unlike `functools.lru_cache`, a value whose making overlapped a reset is not kept: another
    thread (a warm function's invocation in the local stack) may have read the environment from
    before the reset, and keeping its value would undo the reset for every later call. It is
    made again instead. Concurrent first calls all get the value that was kept first.
    """

    def __init__(self, runtime: Runtime, factory: Callable[..., T], maxsize: int = 8) -> None:
        self._runtime = runtime
        self._factory = factory
        self._maxsize = maxsize
        self._values: dict[tuple[Hashable, ...], T] = {}
        functools.update_wrapper(self, factory)

    def __call__(self, *args: Hashable) -> T:
        try:
            return self._values[args]
        except KeyError:
            pass
        while True:
            generation = self._runtime._generation
            value = self._factory(*args)
            with self._runtime._lock:
                if generation == self._runtime._generation:
                    if args not in self._values and len(self._values) >= self._maxsize:
                        del self._values[next(iter(self._values))]
                    return self._values.setdefault(args, value)

    def cache_clear(self) -> None:
        self._values.clear()


runtime = Runtime()
