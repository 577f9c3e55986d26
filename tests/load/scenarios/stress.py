"""Seed 002 §4.2.4, stress: the mixed workload ramped past capacity, then dropped back.

The runner finds the breaking point (the users at which the error rate or p95 first crossed the
configured limits) and the recovery time (from the drop back to the last stage's users until every
later sample stayed within them) in locust's per-second history.
"""

from tests.load.common import PlannedShape  # noqa: F401  # locust finds the shape here
from tests.load.scenarios.mixed import Consumer as Stressor  # noqa: F401  # the user class locust runs
