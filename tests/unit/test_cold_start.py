"""What `import ingest.handler` leaves for later (docs/decisions.md, "Cold start").

A fresh interpreter imports the handler as Lambda does and reports what the import did: which
modules it loaded, which pydantic models it built, and the collector's state. Not timed: the time
itself is `make bench` scenario 5.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Needed only by routes few requests take (or by none: the OpenAPI document, devtools).
DEFERRED_MODELS = [
    "ingest.subscriptions_api:SubscriptionIn",
    "ingest.subscriptions_api:SubscriptionPatch",
    "ingest.subscriptions_api:SubscriptionWithSecret",
    "ingest.subscriptions_api:DeliveryPage",
    "ingest.replay_api:ReplayIn",
    "ingest.replay_api:RecoverOut",
    "ingest.event_types_api:EventTypeIn",
    "ingest.event_types_api:EventTypeList",
    "ingest.stats_api:TenantStats",
    "ingest.destinations_api:DestinationList",
    "ingest.me_api:Me",
    "ingest.core.audit_table:AuditPage",
    "ingest.core.models:Problem",
    "ingest.core.models:EventPage",
    "ingest.core.settings:Settings",
    "ingest.core.settings:DeliverySettings",
]
# What every `POST /v1/events` uses: built at import, so no request pays for it.
EAGER_MODELS = [
    "ingest.core.models:EventIn",
    "ingest.core.models:AcceptedBatch",
    "ingest.core.settings:IngestSettings",
    "ingest.core.api_keys_table:ApiKeyInfo",
    "ingest.core.tenants_table:TenantLimits",
    "ingest.core.events_table:EventItem",
]
# Imported by the route bodies that need them.
LAZY_MODULES = ["opensearchpy", "ingest.core.lifecycle", "ingest.core.queues", "ingest.core.lanes_table"]
PROBE = """
import gc, importlib, json, sys
import ingest.handler

def built(path):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name).__pydantic_complete__

print(json.dumps({
    "modules": sorted(sys.modules),
    "built": {path: built(path) for path in sys.argv[1:]},
    "gc_enabled": gc.isenabled(),
    "frozen": gc.get_freeze_count(),
}))
"""


@pytest.fixture(scope="module")
def imported() -> dict[str, Any]:
    environ = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "STAGE": "test",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *DEFERRED_MODELS, *EAGER_MODELS],
        env=environ,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@pytest.mark.parametrize("module", LAZY_MODULES)
def test_the_import_leaves_out_what_only_some_routes_use(imported: dict[str, Any], module: str) -> None:
    assert module not in imported["modules"]


@pytest.mark.parametrize("model", DEFERRED_MODELS)
def test_models_of_rare_routes_are_built_on_first_use(imported: dict[str, Any], model: str) -> None:
    assert imported["built"][model] is False


@pytest.mark.parametrize("model", EAGER_MODELS)
def test_models_every_ingest_request_uses_are_built_at_import(imported: dict[str, Any], model: str) -> None:
    assert imported["built"][model] is True


def test_the_import_leaves_the_collector_on_with_its_objects_frozen(imported: dict[str, Any]) -> None:
    assert imported["gc_enabled"] is True
    assert imported["frozen"] > 0
