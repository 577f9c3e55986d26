"""`triggers recover`: what it refuses before and after calling the API (the re-send itself is
tests/e2e/test_operational_e2e.py::test_recover_sends_a_days_failures_once_each)."""

import json
from typing import Any

import pytest

from devtools.cli import main
from devtools.stack import EmbeddedStack
from ingest.core.clients import dynamodb_client
from ingest.core.settings import get_settings
from ingest.core.subscriptions_table import disable
from tests.e2e.conftest import subscribe
from tests.integration.cli_support import cli
from tests.integration.conftest import ApiClient


def refusal(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, dict[str, Any]]:
    """Exit status and the `{"error", ...}` document `--json` writes on stderr."""
    code = main([*argv, "--json"])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith('{"error"')]
    return code, json.loads(lines[-1]) if lines else {}


def test_a_since_that_is_no_time_is_refused_before_any_call(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    code, error = refusal(
        capsys, cli(api, stack, "recover", "--subscription", "sub_x", "--since", "yesterday")
    )

    assert code == 2
    assert "yesterday" in error["error"]


def test_a_disabled_subscription_is_refused_with_the_apis_reason(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    subscription = subscribe(api, "http://127.0.0.1:9/recover", ["order.created"])
    disable(dynamodb_client(), get_settings().subscriptions_table, api.tenant_id, subscription["id"], "test")

    code, error = refusal(
        capsys, cli(api, stack, "recover", "--subscription", subscription["id"], "--since", "2h")
    )

    assert code == 1
    assert (error["status"], error["problem"]) == (409, "subscription-disabled")


def test_a_window_over_14_days_is_the_apis_422(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    subscription = subscribe(api, "http://127.0.0.1:9/recover", ["order.created"])

    code, error = refusal(
        capsys, cli(api, stack, "recover", "--subscription", subscription["id"], "--since", "15d")
    )

    assert code == 1
    assert error["status"] == 422 and "14 days" in error["error"]
