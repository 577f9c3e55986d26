"""Where CLI commands point: the embedded stack by default, LocalStack or AWS by flag or environment.

Precedence for each setting: command-line flag, then environment (`AWS_ENDPOINT_URL`,
`AWS_PROFILE`, `AWS_DEFAULT_REGION`, `TRIGGERS_API_URL`, `TRIGGERS_API_KEY`, `STAGE`), then what
the running `triggers up` wrote to `.triggers/stack.json`, then the default local ports.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.template import REGION, REPO_ROOT

STATE_FILE = Path(os.environ.get("TRIGGERS_HOME", REPO_ROOT / ".triggers")) / "stack.json"
DEFAULT_AWS_ENDPOINT = "http://127.0.0.1:4566"
DEFAULT_API_URL = "http://127.0.0.1:3000"
# `--endpoint aws` (or a --profile without an endpoint) means the real AWS endpoints.
REAL_AWS = "aws"
LOCAL_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


def read_state(path: Path | None = None) -> dict[str, Any]:
    """What `triggers up` recorded about the running stack, or {} when nothing is running."""
    path = path or STATE_FILE
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) and _alive(state.get("pid")) else {}


def write_state(state: dict[str, Any], path: Path | None = None) -> None:
    """Record the running stack for other commands; 0600 because it holds the printed API key."""
    path = path or STATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(json.dumps(state, indent=2) + "\n")


def clear_state(path: Path | None = None) -> None:
    (path or STATE_FILE).unlink(missing_ok=True)


def _alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class Target:
    stage: str
    endpoint: str | None  # None: the real AWS endpoints
    profile: str | None
    region: str
    api_url: str
    api_key: str | None

    @property
    def is_local(self) -> bool:
        return self.endpoint is not None

    @classmethod
    def resolve(
        cls,
        *,
        stage: str | None = None,
        endpoint: str | None = None,
        profile: str | None = None,
        region: str | None = None,
        api_url: str | None = None,
        api_key: str | None = None,
        state: dict[str, Any] | None = None,
    ) -> "Target":
        state = read_state() if state is None else state
        profile = profile or os.environ.get("AWS_PROFILE") or None
        endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL") or None
        if endpoint is None and profile is None:
            endpoint = state.get("aws_url", DEFAULT_AWS_ENDPOINT)
        if endpoint == REAL_AWS:
            endpoint = None
        return cls(
            stage=stage or os.environ.get("STAGE") or state.get("stage", "local"),
            endpoint=endpoint,
            profile=profile,
            region=region or os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or REGION,
            api_url=(
                api_url or os.environ.get("TRIGGERS_API_URL") or state.get("api_url", DEFAULT_API_URL)
            ).rstrip("/"),
            api_key=api_key or os.environ.get("TRIGGERS_API_KEY") or state.get("api_key"),
        )

    def client(self, service: str) -> Any:
        """A boto3 client for this target (test credentials on a local endpoint unless set)."""
        import boto3

        session = boto3.Session(profile_name=self.profile, region_name=self.region)
        if self.endpoint is None:
            return session.client(service)  # type: ignore[call-overload]
        credentials = {}
        if session.get_credentials() is None:
            credentials = LOCAL_CREDENTIALS
        return session.client(service, endpoint_url=self.endpoint, **credentials)  # type: ignore[call-overload]
