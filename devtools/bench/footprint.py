"""Scenario 6, footprint: resident memory of the whole embedded stack, idle and under scenario 1.

The stack is this process (API server, ESM runner, in-process handlers, and the bench driver
itself) plus its child processes: the moto server, osmem-server and, during scenario 1, the
API's extra execution environments. The baseline is the two backends alone (moto + osmem).
"""

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from devtools.bench.context import BenchContext
from devtools.bench.core import Figure

SCENARIO = "6. footprint"
IDLE_TARGET_MB = 500.0
T = TypeVar("T")


def rss_mb(pid: int) -> float:
    """Current resident set of a process in MB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return 0.0
    return 0.0


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _name(pid: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(part.decode(errors="replace") for part in command)
    if "atomic_moto" in text or "moto.server" in text:
        return "moto"
    if "osmem" in text:
        return "opensearch"
    return "other"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _per_component(context: BenchContext, measure: Callable[[int], float]) -> dict[str, float]:
    environments = set(context.environment_pids)
    values = {"stack process": measure(os.getpid()), "moto": 0.0, "opensearch": 0.0, "api environments": 0.0}
    for child in children(os.getpid()):
        name = "api environments" if child in environments else _name(child)
        if name in values:
            values[name] += measure(child)
    return values


def components(context: BenchContext) -> dict[str, float]:
    """MB per component of the stack right now."""
    return _per_component(context, rss_mb)


def cpu_components(context: BenchContext) -> dict[str, float]:
    """CPU seconds used so far per component (the stack process includes the load driver)."""
    return _per_component(context, cpu_seconds)


def idle(context: BenchContext) -> list[Figure]:
    time.sleep(2.0)  # let the pollers settle after start-up
    sizes = components(context)
    total = sum(sizes.values())
    return [
        Figure(
            scenario=SCENARIO,
            name="embedded stack RSS, idle",
            unit="MB",
            measured=total,
            baseline=sizes["moto"] + sizes["opensearch"],
            baseline_name="moto + osmem-server alone",
            better="lower",
            target=IDLE_TARGET_MB,
            target_on="measured",
            target_text=f"≤ {IDLE_TARGET_MB:.0f} MB",
            details={"components_mb": {name: round(value, 1) for name, value in sizes.items()}},
        )
    ]


class Sampler:
    """Peak RSS of the stack while a scenario runs (sampled twice a second)."""

    def __init__(self, context: BenchContext, idle_total: float) -> None:
        self.context = context
        self.idle_total = idle_total
        self.peak: dict[str, float] = {}
        self.peak_total = 0.0

    def during(self, scenario: Callable[[BenchContext], T], context: BenchContext) -> T:
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.5):
                sizes = components(context)
                self.peak_total = max(self.peak_total, sum(sizes.values()))
                for name, value in sizes.items():
                    self.peak[name] = max(self.peak.get(name, 0.0), value)

        thread = threading.Thread(target=sample, name="bench-rss", daemon=True)
        thread.start()
        try:
            return scenario(context)
        finally:
            stop.set()
            thread.join()

    def figures(self) -> list[Figure]:
        if not self.peak_total:
            return []
        return [
            Figure(
                scenario=SCENARIO,
                name="embedded stack RSS, peak under scenario 1 (with its API environments)",
                unit="MB",
                measured=self.peak_total,
                baseline=self.idle_total,
                baseline_name="the same stack idle",
                better="lower",
                details={"peak_components_mb": {name: round(value, 1) for name, value in self.peak.items()}},
            )
        ]
