"""Settings per function: local stages fill in the local stack's names; deployed stages fail at cold start."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.template import Template
from ingest.core.settings import (
    DeliverySettings,
    IndexerSettings,
    IngestSettings,
    LocalOnlySetting,
    MissingConfiguration,
    Settings,
)

ROOT = Path(__file__).resolve().parents[2]
DEPLOYED = {
    "STAGE": "prod",
    "EVENTS_TABLE": "events",
    "SUBSCRIPTIONS_TABLE": "subscriptions",
    "DELIVERIES_TABLE": "deliveries",
    "AUDIT_TABLE": "audit",
    "OPENSEARCH_ENDPOINT": "https://search.example",
}
HANDLERS = {
    "ingest.handler": "IngestFunction",
    "processors.fanout.handler": "FanoutFunction",
    "processors.retry.handler": "RetryFunction",
    "processors.indexer.handler": "IndexerFunction",
}


def test_a_local_stage_uses_the_local_stacks_names() -> None:
    settings = Settings.from_env({"STAGE": "test"})

    assert (settings.events_table, settings.retry_queue_url) == ("triggers-test-events", "")


def test_each_function_reads_only_its_own_variables() -> None:
    environ = {**DEPLOYED, "INDEX_DLQ_URL": "https://sqs/index-dlq"}

    indexer = IndexerSettings.from_env(environ)

    assert indexer.index_dlq_url == "https://sqs/index-dlq"
    assert not hasattr(indexer, "retry_queue_url")


@pytest.mark.parametrize(
    ("model", "missing"),
    [
        (IngestSettings, "API_KEYS_TABLE, IDEMPOTENCY_TABLE, RETRY_QUEUE_URL, SECRETS_KEY_ID, TENANTS_TABLE"),
        (DeliverySettings, "DELIVERY_DLQ_URL, RETRY_QUEUE_URL, SECRETS_KEY_ID"),
        (IndexerSettings, "INDEX_DLQ_URL"),
    ],
)
def test_a_deployed_stage_names_every_missing_variable(model: type[IngestSettings], missing: str) -> None:
    with pytest.raises(
        MissingConfiguration, match=f"stage 'prod' needs environment variable\\(s\\) {missing}$"
    ):
        model.from_env(DEPLOYED)


def test_a_bad_value_is_a_validation_error_not_a_missing_variable() -> None:
    with pytest.raises(ValueError, match="retry_schedule"):
        DeliverySettings.from_env({"STAGE": "local", "RETRY_SCHEDULE": "soon"})


@pytest.mark.parametrize(
    ("handler", "missing"),
    [
        ("ingest.handler", "API_KEYS_TABLE"),
        ("processors.fanout.handler", "DELIVERY_DLQ_URL"),
        ("processors.retry.handler", "DELIVERY_DLQ_URL"),
        ("processors.indexer.handler", "INDEX_DLQ_URL"),
    ],
)
def test_a_deployed_function_missing_a_variable_fails_at_import(handler: str, missing: str) -> None:
    environ = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        **DEPLOYED,
    }

    result = subprocess.run(
        [sys.executable, "-c", f"import {handler}"], env=environ, capture_output=True, text=True, timeout=60
    )

    assert result.returncode != 0
    assert "MissingConfiguration" in result.stderr
    assert missing in result.stderr.splitlines()[-1]


@pytest.mark.parametrize(
    ("logical_id", "model"),
    [
        ("IngestFunction", IngestSettings),
        ("FanoutFunction", DeliverySettings),
        ("RetryFunction", DeliverySettings),
        ("IndexerFunction", IndexerSettings),
    ],
)
def test_the_template_gives_each_deployed_function_every_variable_it_needs(
    logical_id: str, model: type[IngestSettings]
) -> None:
    environment = Template("prod").function_environment(logical_id)

    settings = model.from_env(environment)

    assert settings.stage == "prod"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"ALLOW_LOOPBACK_WEBHOOKS": "true"}, "ALLOW_LOOPBACK_WEBHOOKS"),
        ({"WEBHOOK_PRIVATE_HOSTS": "host.docker.internal"}, "WEBHOOK_PRIVATE_HOSTS"),
        (
            {"ALLOW_LOOPBACK_WEBHOOKS": "1", "WEBHOOK_PRIVATE_HOSTS": "a.internal,b.internal"},
            "ALLOW_LOOPBACK_WEBHOOKS and WEBHOOK_PRIVATE_HOSTS",
        ),
    ],
)
@pytest.mark.parametrize("model", [IngestSettings, DeliverySettings, IndexerSettings, Settings])
def test_local_only_webhook_flags_are_refused_outside_local_stages(
    model: type[IngestSettings], environ: dict[str, str], named: str
) -> None:
    complete = {
        **DEPLOYED,
        "API_KEYS_TABLE": "keys",
        "IDEMPOTENCY_TABLE": "idempotency",
        "RETRY_QUEUE_URL": "https://sqs/retry",
        "DELIVERY_DLQ_URL": "https://sqs/delivery-dlq",
        "INDEX_DLQ_URL": "https://sqs/index-dlq",
        "SECRETS_KEY_ID": "alias/secrets",
        "TENANTS_TABLE": "tenants",
    }

    with pytest.raises(
        LocalOnlySetting, match=f"^{named} may only be set on a local stage .* not on stage 'prod'$"
    ):
        model.from_env({**complete, **environ})


@pytest.mark.parametrize("stage", ["local", "test"])
def test_local_only_webhook_flags_are_honoured_on_local_stages(stage: str) -> None:
    settings = Settings.from_env(
        {"STAGE": stage, "ALLOW_LOOPBACK_WEBHOOKS": "true", "WEBHOOK_PRIVATE_HOSTS": "host.docker.internal"}
    )

    assert settings.allow_loopback_webhooks is True
    assert settings.private_webhook_hosts == frozenset({"host.docker.internal"})


@pytest.mark.parametrize(("loopback", "hosts"), [("false", ""), ("0", " "), ("False", " , ")])
def test_the_flags_switched_off_are_fine_on_a_deployed_stage(loopback: str, hosts: str) -> None:
    settings = IndexerSettings.from_env(
        {
            **DEPLOYED,
            "INDEX_DLQ_URL": "https://sqs/i",
            "ALLOW_LOOPBACK_WEBHOOKS": loopback,
            "WEBHOOK_PRIVATE_HOSTS": hosts,
        }
    )

    assert (settings.allow_loopback_webhooks, settings.private_webhook_hosts) == (False, frozenset())


@pytest.mark.parametrize(
    "handler",
    ["ingest.handler", "processors.fanout.handler", "processors.retry.handler", "processors.indexer.handler"],
)
def test_a_deployed_function_with_a_local_only_flag_fails_its_cold_start(handler: str) -> None:
    environ = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        **Template("prod").function_environment(HANDLERS[handler]),
        "ALLOW_LOOPBACK_WEBHOOKS": "true",
    }

    result = subprocess.run(
        [sys.executable, "-c", f"import {handler}"], env=environ, capture_output=True, text=True, timeout=60
    )

    assert result.returncode != 0
    assert result.stderr.splitlines()[-1].startswith(
        "ingest.core.settings.LocalOnlySetting: ALLOW_LOOPBACK_WEBHOOKS"
    )
