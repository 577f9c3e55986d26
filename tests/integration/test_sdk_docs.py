"""The usage snippets of docs/sdk.md run as written against the embedded stack.

The Python snippet runs in the project's interpreter (where `triggers_client` is installed); the
TypeScript one is compiled with `tsc --strict` inside sdk/typescript, where `triggers-client`
resolves to the package itself (its `exports`), and run with node.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.sdk import TYPESCRIPT_DIR, build_typescript, node_run, tsc
from devtools.template import REPO_ROOT
from tests.integration.conftest import ApiClient

pytestmark = pytest.mark.timeout(900)

DOC = REPO_ROOT / "docs" / "sdk.md"
SNIPPET_DIR = TYPESCRIPT_DIR / "dist" / "doc-snippet"


def snippet(language: str) -> str:
    [code] = re.findall(rf"^```{language}\n(.*?)^```$", DOC.read_text(), re.MULTILINE | re.DOTALL)
    return str(code)


def environment(api: ApiClient) -> dict[str, str]:
    api_key = str(api.session.headers["Authorization"]).removeprefix("Bearer ")
    return {"PATH": "/usr/bin:/bin", "TRIGGERS_API_URL": api.base_url, "TRIGGERS_API_KEY": api_key}


def listed_order(api: ApiClient) -> tuple[str, dict[str, object]]:
    [event] = api.get("/v1/events", params={"event_type": "order.created"}).json()["data"]
    return event["id"], event["payload"]


def test_the_python_snippet_creates_and_lists_an_event(api: ApiClient, tmp_path: Path) -> None:
    # Given the snippet, as a script
    script = tmp_path / "snippet.py"
    script.write_text(snippet("python"))

    # When it runs with a new tenant's key
    result = subprocess.run(
        [sys.executable, str(script)], env=environment(api), capture_output=True, text=True, timeout=120
    )

    # Then it stored the event and printed it as listed back
    assert result.returncode == 0, result.stdout + result.stderr
    event_id, payload = listed_order(api)
    assert payload == {"order_id": "o-1001", "total": 42.5}
    assert result.stdout.splitlines() == [
        f"accepted {event_id}",
        f"{event_id} pending {{'order_id': 'o-1001', 'total': 42.5}}",
    ]


def test_the_typescript_snippet_compiles_strictly_and_creates_and_lists_an_event(api: ApiClient) -> None:
    # Given the package built and the snippet compiled with it
    build_typescript()
    SNIPPET_DIR.mkdir(parents=True, exist_ok=True)
    source = SNIPPET_DIR / "snippet.ts"
    source.write_text(snippet("ts"))
    options = ["--strict", "--target", "ES2022", "--module", "NodeNext", "--skipLibCheck", "--types", "node"]
    compiled = tsc(*options, str(source))
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr

    # When it runs with a new tenant's key
    result = node_run(SNIPPET_DIR / "snippet.js", env=environment(api))

    # Then it stored the event and printed it as listed back
    assert result.returncode == 0, result.stdout + result.stderr
    event_id, payload = listed_order(api)
    assert result.stdout.splitlines() == [
        f"accepted {event_id}",
        f"{event_id} pending {json.dumps(payload, separators=(',', ':'))}",
    ]
