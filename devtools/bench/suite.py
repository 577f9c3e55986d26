"""Run every scenario against one embedded stack (started and stopped here) and collect figures."""

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from devtools.bench import coldstart, e2e, fanout, footprint, indexer, ingest, sustained
from devtools.bench.context import BenchContext
from devtools.bench.core import Figure, Settings
from devtools.bench.report import Results, machine_facts, started_now
from devtools.stack import EmbeddedStack, Ports

Scenario = Callable[[BenchContext], list[Figure]]


@contextmanager
def handler_output_to(path: Path) -> Iterator[TextIO]:
    """Send fd 1 and 2 (the handlers' JSON logs, moto's chatter) to `path`; yield the terminal."""
    terminal = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    saved_out, saved_err = os.dup(1), os.dup(2)
    with path.open("ab") as log:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            terminal.close()


def _to_log(line: str) -> None:
    sys.stdout.write(line + "\n")


def selected(name: str, only: Sequence[str]) -> bool:
    """Whether scenario `name` ("7. sustained delivery") is chosen by `only` (numbers or words)."""
    if not only:
        return True
    number = name.split(".", 1)[0]
    return any(choice == number or choice.lower() in name.lower() for choice in only)


def run_suite(
    settings: Settings, say: Callable[[str], None], log_path: Path, only: Sequence[str] = ()
) -> Results:
    started_at, began = started_now(), time.monotonic()
    machine = machine_facts()
    figures: list[Figure] = []
    errors: dict[str, str] = {}
    durations: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="triggers-bench-") as state_dir:
        # The stack narrates every invocation: that goes to the log with the handlers' output.
        stack = EmbeddedStack(ports=Ports.ephemeral(), state_dir=Path(state_dir), say=_to_log)
        say(f"starting the embedded stack (handler logs: {log_path})")
        with stack:
            context = BenchContext(stack, settings, say, log_path=log_path)
            try:
                sampler: footprint.Sampler | None = None
                if selected(footprint.SCENARIO, only):
                    idle = footprint.idle(context)
                    figures += idle
                    sampler = footprint.Sampler(context, idle[0].measured)
                measured_sampler = sampler
                # Scenario 1 goes last: the stream backlog its load leaves would delay the others.
                scenarios: list[tuple[str, Scenario]] = [
                    (fanout.SCENARIO, fanout.run_scenario),
                    (indexer.SCENARIO, indexer.run_scenario),
                    (e2e.SCENARIO, e2e.run_scenario),
                    (sustained.SCENARIO, sustained.run_scenario),
                    (coldstart.SCENARIO, coldstart.run_scenario),
                    (
                        ingest.SCENARIO,
                        lambda ctx: (
                            measured_sampler.during(ingest.run_scenario, ctx)
                            if measured_sampler is not None
                            else ingest.run_scenario(ctx)
                        ),
                    ),
                ]
                for name, scenario in scenarios:
                    if not selected(name, only):
                        continue
                    scenario_began = time.monotonic()
                    try:
                        figures += scenario(context)
                    except Exception as exc:  # one broken scenario must not hide the others' figures
                        errors[name] = f"{type(exc).__name__}: {exc}"
                        say(f"{name} failed:\n{traceback.format_exc()}")
                    durations[name] = time.monotonic() - scenario_began
                if sampler is not None and selected(ingest.SCENARIO, only):
                    figures += sampler.figures()
            finally:
                context.close()
    order = [
        ingest.SCENARIO,
        fanout.SCENARIO,
        indexer.SCENARIO,
        e2e.SCENARIO,
        sustained.SCENARIO,
        coldstart.SCENARIO,
        footprint.SCENARIO,
    ]
    figures.sort(key=lambda figure: order.index(figure.scenario))
    return Results(settings, figures, errors, started_at, time.monotonic() - began, machine, durations)
