"""The runtime's caches: kept until a reset, and never kept from before one."""

import threading

from ingest.core.runtime import Runtime


def test_a_value_is_made_once_per_arguments_until_a_reset() -> None:
    runtime = Runtime()
    made: list[str] = []

    @runtime.cached
    def greeting(name: str) -> str:
        made.append(name)
        return f"hello {name}"

    assert [greeting("a"), greeting("a"), greeting("b")] == ["hello a", "hello a", "hello b"]
    assert made == ["a", "b"]

    runtime.reset()

    assert greeting("a") == "hello a"
    assert made == ["a", "b", "a"]


def test_a_value_made_while_a_reset_ran_is_not_kept() -> None:
    # Given a setting that another thread starts reading before the environment changes
    runtime = Runtime()
    environment = {"RETRY_SCHEDULE": "5s"}
    reading, changed = threading.Event(), threading.Event()

    @runtime.cached
    def retry_schedule() -> str:
        value = environment["RETRY_SCHEDULE"]
        if threading.current_thread() is not threading.main_thread() and not changed.is_set():
            reading.set()
            changed.wait(10)
        return value

    seen_by_the_thread: list[str] = []
    thread = threading.Thread(target=lambda: seen_by_the_thread.append(retry_schedule()))
    thread.start()
    assert reading.wait(10)

    # When a test changes the environment and resets while that read is in flight
    environment["RETRY_SCHEDULE"] = "1s"
    runtime.reset()
    changed.set()
    thread.join(10)

    # Then the thread's value was made again, and later calls see the new environment
    assert seen_by_the_thread == ["1s"]
    assert retry_schedule() == "1s"


def test_concurrent_first_calls_share_one_value() -> None:
    runtime = Runtime()
    start = threading.Barrier(4)

    @runtime.cached
    def client() -> object:
        return object()

    values: list[object] = []

    def first_call() -> None:
        start.wait(10)
        values.append(client())

    threads = [threading.Thread(target=first_call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert len(values) == 4 and all(value is client() for value in values)


def test_at_most_maxsize_argument_sets_are_kept() -> None:
    runtime = Runtime()
    made: list[int] = []

    @runtime.cached
    def square(n: int) -> int:
        made.append(n)
        return n * n

    for n in range(9):
        square(n)
    square(8)
    square(0)

    assert made == [*range(9), 0]
