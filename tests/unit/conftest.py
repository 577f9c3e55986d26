"""Unit tests: plain logic against moto in-process, tables built from template.yaml."""

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, settings
from moto import mock_aws

from devtools.atomic_moto import serialize_dynamodb
from devtools.resources import create_keys, create_tables, read_resources
from devtools.template import Template
from ingest.core.credentials import CredentialKey
from tests.conftest import clear_client_caches

SECRETS_KEY = "alias/triggers-test-secrets"

# Property tests judge results, never speed: on the loaded CI machine an example can take longer than
# Hypothesis's 200 ms deadline (it then fails the test as flaky), and generating data longer than
# its too_slow health check allows.
settings.register_profile("unit", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("unit")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in-process with every table and key of template.yaml; env points handlers at them."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    template = Template("test")
    for name in template.of_type("AWS::Serverless::Function"):
        for key, value in template.function_environment(name).items():
            monkeypatch.setenv(key, value)
    serialize_dynamodb()  # conditional writes atomic, as in DynamoDB (devtools/atomic_moto.py)
    with mock_aws():
        clear_client_caches()
        resources = read_resources(template)
        create_keys(boto3.client("kms"), resources)
        create_tables(boto3.client("dynamodb"), resources)
        yield
    clear_client_caches()


@pytest.fixture
def dynamodb(aws: None) -> Any:
    return boto3.client("dynamodb")


@pytest.fixture
def secrets_key(aws: None) -> CredentialKey:
    """The key signing secrets are encrypted with, as the functions name it."""
    return CredentialKey(boto3.client("kms"), SECRETS_KEY)


from tests.unit.webhooks_support import receiver, webhooks  # noqa: E402, F401
