"""The usage snippets of docs/sdk.md run as written against the embedded stack.

The Python snippet runs here, in the project's interpreter (where `triggers_client` is installed).
The TypeScript one runs in tests/integration/test_sdk_typescript.py, the one file that builds
sdk/typescript (test files run in parallel workers; two `npm ci` in one directory would collide).
"""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import ApiClient
from tests.integration.sdk_support import environment, listed_order, snippet

pytestmark = pytest.mark.timeout(900)


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
