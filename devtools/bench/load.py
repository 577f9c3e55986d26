"""A bounded asyncio load driver: closed loops of N clients, or an open loop at a fixed rate.

`send(n)` performs the n-th operation and returns how many events it carried; an exception
counts the operation as failed. Blocking calls (boto3) run on a thread pool of the same size as
the concurrency, so the baseline sees the same number of requests in flight. Nothing runs past
its deadline plus one request timeout; all targets are on 127.0.0.1.
"""

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import httpx

from devtools.bench.core import Sample

Send = Callable[[int], Awaitable[int]]
T = TypeVar("T")
REQUEST_TIMEOUT = 30.0


def http_client(base_url: str, headers: dict[str, str], connections: int) -> httpx.AsyncClient:
    if not base_url.startswith("http://127.0.0.1:"):
        raise ValueError(f"the load driver only targets loopback, not {base_url}")
    return httpx.AsyncClient(
        base_url=base_url,
        headers=headers,
        timeout=REQUEST_TIMEOUT,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


def blocking(call: Callable[[int], int], threads: int) -> tuple[Send, ThreadPoolExecutor]:
    """An async `send` running a blocking call on its own pool (close the pool when done)."""
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bench-baseline")

    async def send(index: int) -> int:
        return await asyncio.get_running_loop().run_in_executor(pool, call, index)

    return send, pool


async def closed_loop(send: Send, clients: int, seconds: float, start: int = 0) -> Sample:
    """`clients` loops, each sending its next operation as soon as the previous one returns."""
    sample = Sample(seconds=0.0)
    counter = itertools.count(start)
    began = time.perf_counter()
    deadline = began + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            _record(sample, *(await _timed(send, next(counter))))

    await asyncio.gather(*(client() for _ in range(clients)))
    sample.seconds = time.perf_counter() - began
    return sample


async def open_loop(send: Send, rate: float, seconds: float, max_in_flight: int, start: int = 0) -> Sample:
    """Start operation n at `n / rate` seconds whatever the previous ones do, at most
    `max_in_flight` at once; latency counts from the scheduled start (queueing included).

    The sample's `seconds` is the window the operations were offered in: it stretches when the
    system under load holds every slot and the schedule slips.
    """
    sample = Sample(seconds=0.0)
    slots = asyncio.Semaphore(max_in_flight)
    began = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []

    async def one(index: int, scheduled: float) -> None:
        try:
            events, failed, _ = await _timed(send, index)
        finally:
            slots.release()
        _record(sample, events, failed, (time.perf_counter() - scheduled) * 1000)

    for n in range(int(rate * seconds)):
        scheduled = began + n / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await slots.acquire()
        tasks.append(asyncio.create_task(one(start + n, scheduled)))
    offered = time.perf_counter() - began + 1 / rate
    await asyncio.gather(*tasks)
    sample.seconds = offered
    return sample


async def _timed(send: Send, index: int) -> tuple[int, bool, float]:
    started = time.perf_counter()
    try:
        events = await asyncio.wait_for(send(index), REQUEST_TIMEOUT)
    except Exception:  # any failure of the system under load is a failed operation, counted
        return 0, True, (time.perf_counter() - started) * 1000
    return events, False, (time.perf_counter() - started) * 1000


def _record(sample: Sample, events: int, failed: bool, latency_ms: float) -> None:
    if failed:
        sample.failed += 1
        return
    sample.operations += 1
    sample.events += events
    sample.latencies_ms.append(latency_ms)


def run(coroutine: Awaitable[T]) -> T:
    async def main() -> T:
        return await coroutine

    return asyncio.run(main())
