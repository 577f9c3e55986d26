"""The soak, short: fixed-rate ingest + fan-out on the embedded stack, then the no-loss invariant."""

import os

import pytest

from devtools.soak import SOAK_RETRY_SCHEDULE, SoakSettings, run_soak, stack_stores
from devtools.stack import EmbeddedStack
from tests.e2e.conftest import Configure

pytestmark = pytest.mark.e2e


def test_a_soak_at_the_benchmark_rate_loses_and_duplicates_nothing(
    stack: EmbeddedStack, configure: Configure
) -> None:
    configure(RETRY_SCHEDULE=SOAK_RETRY_SCHEDULE)
    settings = SoakSettings(
        rate=float(os.environ.get("SOAK_RATE", "10")),
        duration=float(os.environ.get("SOAK_DURATION", "60")),
        drain_timeout=float(os.environ.get("SOAK_DRAIN_TIMEOUT", "180")),
    )

    result = run_soak(stack, settings, stack_stores(stack), say=print)
    print("\n".join(result.lines()))

    assert result.ok, "\n".join([*result.lines(), result.report.describe()])
    assert result.report.outcomes["delivered"] > 0
