"""Unit tests: plain logic against moto in-process, tables built from template.yaml."""

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devtools.resources import create_tables, read_resources
from devtools.template import Template
from tests.conftest import clear_client_caches


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in-process with every table of template.yaml; env points handlers at them."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    template = Template("test")
    for name in template.of_type("AWS::Serverless::Function"):
        for key, value in template.function_environment(name).items():
            monkeypatch.setenv(key, value)
    with mock_aws():
        clear_client_caches()
        create_tables(boto3.client("dynamodb"), read_resources(template))
        yield
    clear_client_caches()


@pytest.fixture
def dynamodb(aws: None) -> Any:
    return boto3.client("dynamodb")


from tests.unit.webhooks_support import receiver, webhooks  # noqa: E402, F401
