"""tests/load/config.yaml, validated: the scenarios with their thresholds, the stages with their runs.

A scenario says what the users do (its locustfile and request settings) and which thresholds must
hold (seed 002 §4.2). A stage says where the load goes (`target`) and how much of it (`runs`: the
users over time per scenario). A stage without a run for a scenario cannot run it.
"""

import math
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from devtools.load.plan import Plan, Stage
from devtools.template import REPO_ROOT

LOAD_DIR = REPO_ROOT / "tests" / "load"
CONFIG_PATH = LOAD_DIR / "config.yaml"
AGGREGATED = "Aggregated"  # locust's name for all requests together

Metric = Literal[
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "error_rate",
    "requests_per_s",
    "events_per_s",
    "recovery_s",
    "delivered_ratio",
    "drain_s",
]
# What each metric means, for the report and the docs.
METRICS: dict[str, str] = {
    "p50_ms": "median latency over the whole run",
    "p95_ms": "95th percentile latency over the whole run",
    "p99_ms": "99th percentile latency over the whole run",
    "error_rate": "failed / all requests (a failure is any status but the expected one, or no answer)",
    "requests_per_s": "successful requests per second while the plan held its peak users",
    "events_per_s": "events accepted per second while the plan held its peak users",
    "recovery_s": "seconds from the drop to the last stage's users until every later second was healthy",
    "delivered_ratio": "distinct events the receiver got / events accepted",
    "drain_s": "seconds from the end of the load until the receiver had every accepted event",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(_Strict):
    """`metric` of `request` (a locust request name, or all requests) at most `max` or at least `min`."""

    metric: Metric
    max: float | None = None
    min: float | None = None
    request: str = AGGREGATED

    @model_validator(mode="after")
    def _one_bound(self) -> "Threshold":
        if (self.max is None) == (self.min is None):
            raise ValueError(f"threshold on {self.metric}: give exactly one of max and min")
        return self

    def describe(self) -> str:
        bound = f"<= {_plain(self.max)}" if self.max is not None else f">= {_plain(self.min)}"
        scope = "" if self.request == AGGREGATED else f" of {self.request}"
        return f"{self.metric}{scope} {bound}"

    def holds(self, value: float | None) -> bool:
        if value is None or math.isnan(value):
            return False
        if self.max is not None:
            return value <= self.max
        return self.min is not None and value >= self.min


class Breaking(_Strict):
    """When a second of the stress run counts as broken: its error rate or p95 above these."""

    error_rate: float = Field(0.01, ge=0, le=1)
    p95_ms: float = Field(1000.0, gt=0)
    # The error rate of a second is taken over this many seconds of history (locust's p95 already
    # covers its last 10 s).
    window_s: int = Field(5, ge=1)


class Scenario(_Strict):
    locustfile: str
    seed: str
    description: str
    events_per_request: int = Field(1, ge=1, le=25)
    pacing_s: float = Field(1.0, gt=0)  # each user starts a task at most this often
    timeout_s: float = Field(10.0, gt=0)  # per request; no answer in time is a failure
    inbox_limit: int = Field(50, ge=1, le=100)
    seed_events: int = Field(0, ge=0, le=10_000)  # posted before the run (the inbox's content)
    subscribe: bool = False  # fan-out: one subscription to a receiver for this run's event type
    drain_timeout_s: float = Field(120.0, gt=0)
    breaking: Breaking | None = None
    thresholds: tuple[Threshold, ...]

    @property
    def locustfile_path(self) -> Path:
        return LOAD_DIR / self.locustfile


class Run(_Strict):
    """The users over time: from `start_users`, each [seconds, users] stage moves linearly to `users`."""

    start_users: int = Field(ge=0)
    stages: tuple[tuple[float, int], ...] = Field(min_length=1)
    # Every task equally often (locust --equal-weights): the smoke stage uses it so that a few
    # seconds exercise every route of the mixed workload.
    equal_weights: bool = False

    @model_validator(mode="after")
    def _positive(self) -> "Run":
        for seconds, users in self.stages:
            if seconds <= 0 or users < 0:
                raise ValueError(f"stage [{seconds}, {users}]: seconds must be > 0 and users >= 0")
        return self

    @property
    def plan(self) -> Plan:
        return Plan(self.start_users, tuple(Stage(seconds, users) for seconds, users in self.stages))


class StageConfig(_Strict):
    description: str
    # embedded: a stack started for the run on ephemeral loopback ports (like `make bench`);
    # running: the stack `make up` runs (.triggers/stack.json); url: a deployed API from the environment.
    target: Literal["embedded", "running", "url"]
    api_url_env: str | None = None
    api_key_env: str | None = None
    receiver_url_env: str | None = None  # fan-out on a deployed stage: a receiver it can reach
    verify_tls: bool = True
    confirm: bool = False  # ask for `--confirm <stage>` before sending any load
    max_seconds: float | None = None  # no run of this stage may be longer
    runs: dict[str, Run]

    @model_validator(mode="after")
    def _url_stage_names_its_variables(self) -> "StageConfig":
        if self.target == "url" and not (self.api_url_env and self.api_key_env):
            raise ValueError("a url stage names api_url_env and api_key_env")
        if self.max_seconds is not None:
            for name, run in self.runs.items():
                if run.plan.total_seconds > self.max_seconds:
                    raise ValueError(
                        f"run {name} lasts {run.plan.total_seconds:.0f} s, "
                        f"over max_seconds {self.max_seconds:.0f}"
                    )
        return self


class LoadConfig(_Strict):
    scenarios: dict[str, Scenario]
    stages: dict[str, StageConfig]

    @model_validator(mode="after")
    def _runs_name_scenarios(self) -> "LoadConfig":
        for stage_name, stage in self.stages.items():
            unknown = sorted(set(stage.runs) - set(self.scenarios))
            if unknown:
                raise ValueError(f"stage {stage_name} has runs for unknown scenarios: {', '.join(unknown)}")
        for name, scenario in self.scenarios.items():
            if name == "stress" and scenario.breaking is None:
                raise ValueError("the stress scenario needs `breaking` limits")
            if scenario.breaking is None:
                continue
            for stage_name, stage in self.stages.items():
                run = stage.runs.get(name)
                if run is not None and (len(run.stages) < 2 or run.stages[-1][1] < 1):
                    raise ValueError(
                        f"stages.{stage_name}.runs.{name}: recovery is measured in the last stage, "
                        "which needs users and a stage before it"
                    )
        return self

    def choose(self, scenario: str, stage: str) -> tuple[Scenario, StageConfig, Run]:
        """The scenario, the stage and the run; ValueError naming what exists otherwise."""
        if scenario not in self.scenarios:
            raise ValueError(f"no scenario {scenario!r}; scenarios: {', '.join(self.scenarios)}")
        if stage not in self.stages:
            raise ValueError(f"no stage {stage!r}; stages: {', '.join(self.stages)}")
        chosen = self.stages[stage]
        if scenario not in chosen.runs:
            raise ValueError(
                f"stage {stage} has no run for {scenario} (it runs: {', '.join(chosen.runs)}); "
                f"add one under stages.{stage}.runs in {CONFIG_PATH.relative_to(REPO_ROOT)}"
            )
        return self.scenarios[scenario], chosen, chosen.runs[scenario]


def load_config(path: Path = CONFIG_PATH) -> LoadConfig:
    return LoadConfig.model_validate(yaml.safe_load(path.read_text()))


def _plain(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
