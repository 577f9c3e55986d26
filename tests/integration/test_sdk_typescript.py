"""The TypeScript client (sdk/typescript): its generated types are current, they type-check what
uses them (and refuse what the document does not allow), and its example and the snippet of
docs/sdk.md create and list an event against the embedded stack with node.

The package's locked npm dependencies are installed first (`npm ci`, skipped when `node_modules`
already matches `package-lock.json`), as for the Zapier app.
"""

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from devtools.sdk import (
    REGENERATE,
    TYPESCRIPT_DIR,
    build_typescript,
    install_typescript_dependencies,
    node_run,
    tsc,
    typescript_drift,
)
from devtools.stack import EmbeddedStack
from tests.integration.conftest import ApiClient
from tests.integration.sdk_support import environment, listed_order, snippet

pytestmark = pytest.mark.timeout(900)

EXAMPLE = TYPESCRIPT_DIR / "dist" / "examples" / "create-and-list.js"
SNIPPET_DIR = TYPESCRIPT_DIR / "dist" / "doc-snippet"


@pytest.fixture(scope="module")
def built() -> None:
    """The package installed and compiled (`tsc -p tsconfig.json`: src/ and examples/ into dist/)."""
    build_typescript()


def test_committed_typescript_types_are_what_the_generator_makes_now() -> None:
    install_typescript_dependencies()

    stale = typescript_drift()

    assert stale == [], (
        f"sdk/typescript is out of date with docs/openapi.json ({', '.join(stale)}): "
        f"run `{REGENERATE}` (or `uv run triggers sdk`) and commit the result"
    )


def test_the_types_refuse_a_body_the_document_does_not_allow(built: None, tmp_path: Path) -> None:
    # Given a program that posts an event with a misspelt field and lists with an unknown parameter
    program = tmp_path / "wrong.ts"
    index = (TYPESCRIPT_DIR / "src" / "index.js").as_posix()
    program.write_text(
        f'import {{ createTriggersClient }} from "{index}";\n'
        'const client = createTriggersClient({ baseUrl: "http://127.0.0.1:3000", apiKey: "k" });\n'
        'await client.POST("/v1/events", { body: { event_typ: "a.b", payload: {} } });\n'
        'await client.GET("/v1/events", { params: { query: { colour: "red" } } });\n'
        "export {};\n"
    )

    # When it is type-checked with the package's settings
    options = ["--noEmit", "--strict", "--target", "ES2022", "--module", "NodeNext", "--skipLibCheck"]
    result = tsc(*options, str(program))

    # Then both mistakes are errors
    assert result.returncode != 0
    assert "event_typ" in result.stdout, result.stdout
    assert "colour" in result.stdout, result.stdout


def test_the_example_creates_and_lists_an_event_through_the_stack(
    built: None, api: ApiClient, stack: EmbeddedStack
) -> None:
    # Given a tenant's key and an event type of this test only
    api_key = str(api.session.headers["Authorization"]).removeprefix("Bearer ")
    event_type = f"sdk.ts.{uuid.uuid4().hex[:8]}"
    env = {"PATH": "/usr/bin:/bin", "TRIGGERS_API_URL": stack.api_url, "TRIGGERS_API_KEY": api_key}

    # When the compiled example runs with node
    result = node_run(EXAMPLE, env={**env, "EVENT_TYPE": event_type})

    # Then it created the event, listed it back, and read a missing one as a problem
    assert result.returncode == 0, result.stdout + result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    event_id = report["created"]["id"]
    assert report["created"]["status"] == 201
    payload = {"order": {"id": 42}, "note": "café"}
    assert report["listed"] == [{"id": event_id, "event_type": event_type, "payload": payload}]
    assert report["missing"] == {"status": 404, "type": "https://triggers.dev/problems/not-found"}
    # and the API holds it for this tenant, as sent
    stored = api.get(f"/v1/events/{event_id}").json()
    assert (stored["event_type"], stored["source"], stored["payload"]) == (event_type, "sdk-example", payload)


def test_the_typescript_snippet_compiles_strictly_and_creates_and_lists_an_event(
    built: None, api: ApiClient
) -> None:
    # Given the snippet of docs/sdk.md compiled with the built package
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
