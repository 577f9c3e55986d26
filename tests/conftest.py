"""Fixtures shared by every suite. Environment defaults are set before any handler import."""

import os
import tempfile
from collections.abc import Iterator

import pytest

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Triggers")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "tests")
# CLI commands must not pick up a developer's running `triggers up` (devtools/target.py).
os.environ["TRIGGERS_HOME"] = tempfile.mkdtemp(prefix="triggers-tests-")

from devtools.runner.lambda_context import LocalLambdaContext
from devtools.stack import EmbeddedStack, Ports
from tests.iam_audit import AccessRecorder, Permissions


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by suite directory (`-m integration`, `-m e2e`, `-m "not integration"`)."""
    for item in items:
        suite = item.path.parent.name
        if suite in ("integration", "e2e"):
            item.add_marker(suite)


@pytest.fixture
def lambda_context() -> LocalLambdaContext:
    return LocalLambdaContext(function_name="test-function", timeout_seconds=30)


def clear_client_caches() -> None:
    """Forget cached settings and clients so the next call reads the current environment."""
    import processors.fanout.handler  # noqa: F401  # registers the subscription cache
    from ingest.core.runtime import runtime

    runtime.reset()


# The stream mappings' 5 s batching window, shortened for the suites: no test but the runner's
# own window test (tests/integration/test_esm_runner.py, with the template's window) is about it.
TEST_BATCHING_WINDOW_SECONDS = 1.0


@pytest.fixture(scope="session")
def embedded_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStack]:
    """The real local stack on ephemeral loopback ports, shared by integration and e2e tests."""
    saved = dict(os.environ)
    recorder = AccessRecorder()
    recorder.attach()
    stack = EmbeddedStack(
        ports=Ports.ephemeral(),
        state_dir=tmp_path_factory.mktemp("stack"),
        batching_window_seconds=TEST_BATCHING_WINDOW_SECONDS,
    )
    with stack:
        yield stack
    # moto does not enforce IAM: check here that each function's role allows what it did.
    denied = Permissions(stack.template).denied(recorder.accesses)
    assert not denied, "calls the template's roles do not allow:\n  " + "\n  ".join(denied)
    os.environ.clear()
    os.environ.update(saved)
    clear_client_caches()
