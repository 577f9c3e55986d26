"""Webhook destination ports: 443 and 80, plus WEBHOOK_ALLOWED_PORTS, on deployed stages; any locally."""

import json
from collections.abc import Callable
from typing import Any

import pytest

from ingest.core.api_keys_table import create_api_key
from ingest.core.runtime import runtime
from ingest.core.settings import IngestSettings, Settings, get_settings
from ingest.core.ssrf import BlockedDestination, check_url
from tests.unit.test_api_handler import Call, assert_problem, invoke  # noqa: F401 - fixtures

DEFAULT = frozenset({80, 443})
PUBLIC = "93.184.215.14"


@pytest.mark.parametrize(
    "url",
    [f"https://{PUBLIC}/hook", f"https://{PUBLIC}:443/hook", f"http://{PUBLIC}/hook", f"http://{PUBLIC}:80/"],
)
def test_the_default_ports_are_allowed(url: str) -> None:
    assert check_url(url, allow_loopback=False, allowed_ports=DEFAULT).port in DEFAULT


@pytest.mark.parametrize("port", [22, 25, 6379, 8080, 8443, 9200, 65535])
def test_other_ports_are_refused_naming_the_allowed_ones(port: int) -> None:
    with pytest.raises(
        BlockedDestination, match=f"port {port} is not allowed for webhooks \\(allowed: 80, 443\\)"
    ):
        check_url(f"https://{PUBLIC}:{port}/hook", allow_loopback=False, allowed_ports=DEFAULT)


def test_an_extra_allowed_port_is_accepted_and_none_means_any() -> None:
    assert (
        check_url(f"https://{PUBLIC}:8443/", allow_loopback=False, allowed_ports=DEFAULT | {8443}).port
        == 8443
    )
    assert check_url(f"https://{PUBLIC}:8080/", allow_loopback=False, allowed_ports=None).port == 8080


def deployed(**env: str) -> IngestSettings:
    return IngestSettings.model_validate(
        {
            **Settings.local("dev").model_dump(),
            "allow_loopback_webhooks": False,
            "webhook_private_hosts": "",
            **env,
        }
    )


def test_deployed_stages_allow_80_443_and_the_listed_ports() -> None:
    assert deployed().allowed_webhook_ports == DEFAULT
    assert deployed(webhook_allowed_ports=" 8443, 9000 ").allowed_webhook_ports == DEFAULT | {8443, 9000}


@pytest.mark.parametrize("stage", ["local", "test"])
def test_local_stages_allow_any_port(stage: str) -> None:
    # The embedded stack's receivers listen on ephemeral ports.
    assert Settings.local(stage, webhook_allowed_ports="8443").allowed_webhook_ports is None


@pytest.mark.parametrize("value", ["0", "70000", "https", "443;22", "-1"])
def test_a_bad_port_list_fails_the_settings(value: str) -> None:
    with pytest.raises(ValueError, match=r"webhook_allowed_ports|WEBHOOK_ALLOWED_PORTS"):
        deployed(webhook_allowed_ports=value)


@pytest.fixture
def deployed_api(monkeypatch: pytest.MonkeyPatch, dynamodb: Any) -> Callable[..., str]:
    """The handler as on a deployed stage (its resources still moto's); returns an admin key."""

    def configure(**env: str) -> str:
        api_key = create_api_key(dynamodb, get_settings().api_keys_table, "tenant-ports")
        monkeypatch.setenv("STAGE", "dev")
        monkeypatch.setenv("ALLOW_LOOPBACK_WEBHOOKS", "false")
        monkeypatch.setenv("WEBHOOK_PRIVATE_HOSTS", "")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        runtime.reset()
        return api_key

    return configure


def subscribe_body(url: str) -> str:
    return json.dumps({"target_url": url, "event_types": ["*"]})


def test_subscribing_a_refused_port_is_a_422_naming_the_field(
    invoke: Call,  # noqa: F811
    deployed_api: Callable[..., str],
) -> None:
    api_key = deployed_api()

    reply = invoke("POST", "/v1/subscriptions", subscribe_body(f"https://{PUBLIC}:8443/hook"), key=api_key)

    problem = assert_problem(reply, 422, "validation-failed")
    assert problem["errors"] == [
        {"field": "target_url", "message": "port 8443 is not allowed for webhooks (allowed: 80, 443)"}
    ]
    assert invoke("GET", "/v1/subscriptions", key=api_key).json()["data"] == []


def test_subscribing_a_listed_port_works(invoke: Call, deployed_api: Callable[..., str]) -> None:  # noqa: F811
    api_key = deployed_api(WEBHOOK_ALLOWED_PORTS="8443")

    reply = invoke("POST", "/v1/subscriptions", subscribe_body(f"https://{PUBLIC}:8443/hook"), key=api_key)

    assert reply.status == 201, reply.text
