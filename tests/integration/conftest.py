"""Integration tests: the embedded stack over real HTTP."""

import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
import requests

from devtools.stack import EmbeddedStack
from ingest.core.api_keys_table import create_api_key


class ApiClient:
    """A producer of one tenant talking HTTP to the local API server."""

    def __init__(self, base_url: str, api_key: str | None, tenant_id: str) -> None:
        self.base_url = base_url
        self.tenant_id = tenant_id
        self.session = requests.Session()
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.base_url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture(scope="session")
def stack(embedded_stack: EmbeddedStack) -> EmbeddedStack:
    return embedded_stack


@pytest.fixture(scope="session")
def aws_client(stack: EmbeddedStack) -> Callable[[str], Any]:
    def make(service: str) -> Any:
        return boto3.client(service, endpoint_url=stack.aws_url)

    return make


@pytest.fixture
def new_tenant(stack: EmbeddedStack, aws_client: Callable[[str], Any]) -> Callable[[], ApiClient]:
    """Factory: a fresh tenant with its own API key, as an HTTP client."""

    def make() -> ApiClient:
        tenant_id = f"t-{uuid.uuid4().hex[:12]}"
        table = stack.template.physical_name("ApiKeysTable")
        api_key = create_api_key(aws_client("dynamodb"), table, tenant_id)
        return ApiClient(stack.api_url, api_key, tenant_id)

    return make


@pytest.fixture
def api(new_tenant: Callable[[], ApiClient]) -> ApiClient:
    return new_tenant()
