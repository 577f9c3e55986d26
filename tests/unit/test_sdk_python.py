"""sdk/python is what openapi-python-client makes of docs/openapi.json now (`make sdk` regenerates it).

Generating takes about two seconds, offline (the config's post hooks run the project's locked ruff).
"""

import json
from pathlib import Path

import pytest

from devtools.cli import main
from devtools.sdk import DOCUMENT, PYTHON_DIR, REGENERATE, python_drift, tree


def test_committed_python_sdk_is_what_the_generator_makes_now() -> None:
    stale = python_drift()

    assert stale == [], (
        f"sdk/python is out of date with docs/openapi.json ({', '.join(stale[:10])}): "
        f"run `{REGENERATE}` (or `uv run triggers sdk`) and commit the result"
    )


def test_the_drift_check_sees_a_changed_document(tmp_path: Path) -> None:
    # Given the document with one more query parameter on one route
    document = json.loads(DOCUMENT.read_text())
    document["paths"]["/v1/subscriptions"]["get"].setdefault("parameters", []).append(
        {"name": "drift_probe", "in": "query", "required": False, "schema": {"type": "string"}}
    )
    changed = tmp_path / "openapi.json"
    changed.write_text(json.dumps(document))

    # When the committed SDK is checked against it
    stale = python_drift(changed)

    # Then the route's module is reported, and nothing else
    assert stale == ["triggers_client/api/subscriptions/list_subscriptions.py"]


def test_the_generated_package_is_the_installed_triggers_client() -> None:
    import triggers_client

    assert Path(triggers_client.__file__).parent == PYTHON_DIR / "triggers_client"
    assert "triggers_client/py.typed" in tree(PYTHON_DIR)


def test_the_check_command_passes_on_the_committed_sdk(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sdk", "--check", "--only", "python"])

    assert (code, capsys.readouterr().out) == (0, "sdk/ matches docs/openapi.json\n")
