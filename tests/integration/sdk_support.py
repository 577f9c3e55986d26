"""Helpers of the SDK tests: the snippets of docs/sdk.md and a tenant's environment to run them in."""

import re

from devtools.template import REPO_ROOT
from tests.integration.conftest import ApiClient

DOC = REPO_ROOT / "docs" / "sdk.md"


def snippet(language: str) -> str:
    [code] = re.findall(rf"^```{language}\n(.*?)^```$", DOC.read_text(), re.MULTILINE | re.DOTALL)
    return str(code)


def environment(api: ApiClient) -> dict[str, str]:
    api_key = str(api.session.headers["Authorization"]).removeprefix("Bearer ")
    return {"PATH": "/usr/bin:/bin", "TRIGGERS_API_URL": api.base_url, "TRIGGERS_API_KEY": api_key}


def listed_order(api: ApiClient) -> tuple[str, dict[str, object]]:
    [event] = api.get("/v1/events", params={"event_type": "order.created"}).json()["data"]
    return event["id"], event["payload"]
