"""The Zapier app (`integrations/zapier`) driven by zapier-platform-core's app tester against the stack.

The node tests (`npm test`) play Zapier: they connect an account, turn a Zap on (subscribe a hook
URL they serve), send events, catch the push, run `perform` on it, list samples and turn the Zap
off. This module installs the app's locked dependencies (`npm ci`, skipped when `node_modules`
already matches `package-lock.json`), runs those tests with a fresh tenant's key, and then checks
what they report against the stack itself: the push and the samples are the fanout's own envelope
of the stored event, the push was recorded as delivered, and no subscription is left behind.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from devtools.stack import EmbeddedStack
from devtools.template import REPO_ROOT
from ingest.core.api_keys_table import create_api_key
from ingest.core.events_table import get_event
from processors.webhooks.signing import envelope
from tests.integration.conftest import ApiClient

pytestmark = pytest.mark.timeout(900)

APP_DIR = REPO_ROOT / "integrations" / "zapier"
# Written after a successful `npm ci`: the SHA-256 of the lockfile it installed.
INSTALLED_MARKER = APP_DIR / "node_modules" / ".triggers-installed-lock"
WEBHOOK_BODY_KEYS = ["data", "id", "timestamp", "type"]


def _run(command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # fixed commands, no shell
        command, cwd=APP_DIR, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def install_app_dependencies() -> None:
    """`npm ci` unless `node_modules` was installed from this very lockfile."""
    npm = shutil.which("npm")
    assert npm, "npm is missing: `make setup` installs Node.js and npm (Debian's nodejs)"
    lock = hashlib.sha256((APP_DIR / "package-lock.json").read_bytes()).hexdigest()
    if INSTALLED_MARKER.is_file() and INSTALLED_MARKER.read_text().strip() == lock:
        return
    installed = _run([npm, "ci", "--no-audit", "--no-fund"])
    assert installed.returncode == 0, f"npm ci failed:\n{installed.stdout}\n{installed.stderr}"
    INSTALLED_MARKER.write_text(lock + "\n")


@dataclass(frozen=True)
class NodeRun:
    returncode: int
    output: str
    summary: dict[str, int]
    reports: dict[str, Any]
    tenant_id: str
    api: ApiClient


@pytest.fixture(scope="module")
def node_run(
    stack: EmbeddedStack, aws_client: Callable[[str], Any], tmp_path_factory: pytest.TempPathFactory
) -> NodeRun:
    # Given the app's dependencies, a fresh tenant and its key
    install_app_dependencies()
    tenant_id = f"t-zapier-{uuid.uuid4().hex[:12]}"
    api_key = create_api_key(aws_client("dynamodb"), stack.template.physical_name("ApiKeysTable"), tenant_id)
    report_dir = tmp_path_factory.mktemp("zapier-report")
    env = {
        **os.environ,
        "TRIGGERS_API_URL": stack.api_url,
        "TRIGGERS_API_KEY": api_key,
        "ZAPIER_TEST_REPORT": str(report_dir),
    }
    npm = shutil.which("npm")
    assert npm
    # When the app's tests run against the stack
    result = _run([npm, "test"], env=env)
    output = result.stdout + result.stderr
    summary = {name: int(count) for name, count in re.findall(r"^# (\w+) (\d+)$", result.stdout, re.M)}
    reports = {path.stem: json.loads(path.read_text()) for path in report_dir.glob("*.json")}
    return NodeRun(
        result.returncode, output, summary, reports, tenant_id, ApiClient(stack.api_url, api_key, tenant_id)
    )


def test_the_connection_is_labelled_with_the_keys_tenant_from_get_me(node_run: NodeRun) -> None:
    connection = node_run.reports["connection"]
    me = node_run.api.get("/v1/me").json()
    assert connection["tested"]["tenant_id"] == me["tenant_id"] == node_run.tenant_id
    assert connection["tested"]["key_id"] == me["key_id"]
    assert connection["label"].startswith(f"{node_run.tenant_id} ({me['key_hint']}")


def test_the_apps_tests_all_pass_against_the_stack(node_run: NodeRun) -> None:
    assert node_run.returncode == 0, node_run.output[-20000:]
    assert node_run.summary["tests"] >= 25, node_run.summary
    assert node_run.summary["pass"] == node_run.summary["tests"], node_run.summary
    for outcome in ("fail", "cancelled", "skipped", "todo"):
        assert node_run.summary[outcome] == 0, node_run.output[-20000:]
    # A skipped suite is not counted as skipped: it shows as `# SKIP` on its line.
    assert "# SKIP" not in node_run.output, node_run.output[-20000:]


def test_the_push_and_the_sample_are_the_fanouts_envelope_of_the_stored_event(
    node_run: NodeRun, stack: EmbeddedStack, aws_client: Callable[[str], Any]
) -> None:
    flow = node_run.reports["flow"]
    stored = get_event(
        aws_client("dynamodb"),
        stack.template.physical_name("EventsTable"),
        node_run.tenant_id,
        flow["event_id"],
    )

    expected = json.loads(envelope(stored))

    assert sorted(expected) == WEBHOOK_BODY_KEYS
    assert flow["pushed"] == expected
    assert flow["sample"] == expected


def test_the_push_was_recorded_as_delivered_to_the_zaps_subscription(node_run: NodeRun) -> None:
    flow = node_run.reports["flow"]

    # The fanout writes its delivery records just after sending: wait for them, do not time them.
    deadline = time.monotonic() + 60
    while True:
        response = node_run.api.get(f"/v1/events/{flow['event_id']}/deliveries")
        assert response.status_code == 200, response.text
        deliveries = response.json()["data"]
        if deliveries or time.monotonic() > deadline:
            break
        time.sleep(0.2)

    assert [(d["subscription_id"], d["state"]) for d in deliveries] == [
        (flow["subscription_id"], "delivered")
    ]


def test_turning_the_zap_off_left_no_subscription(node_run: NodeRun) -> None:
    listed = node_run.api.get("/v1/subscriptions")

    assert listed.status_code == 200, listed.text
    assert listed.json() == {"data": []}


def test_send_event_stored_the_payload_byte_for_byte(
    node_run: NodeRun, stack: EmbeddedStack, aws_client: Callable[[str], Any]
) -> None:
    sent = node_run.reports["send"]

    stored = get_event(
        aws_client("dynamodb"),
        stack.template.physical_name("EventsTable"),
        node_run.tenant_id,
        sent["event_id"],
    )

    assert stored.payload == sent["payload"]
    assert stored.source == "zapier"


def test_the_lockfile_pins_every_package_by_version_and_integrity() -> None:
    lock = json.loads((APP_DIR / "package-lock.json").read_text())
    manifest = json.loads((APP_DIR / "package.json").read_text())

    packages = {name: entry for name, entry in lock["packages"].items() if name}

    assert (
        manifest["dependencies"]["zapier-platform-core"]
        == packages["node_modules/zapier-platform-core"]["version"]
    )
    assert all(entry["version"] and entry["integrity"].startswith("sha512-") for entry in packages.values())
    # From the npm registry only (npm leaves `resolved` out when it is the configured registry).
    assert all(
        entry.get("resolved", "https://registry.npmjs.org/").startswith("https://registry.npmjs.org/")
        for entry in packages.values()
    )
