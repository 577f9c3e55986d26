"""`triggers up` as a user starts it, then devtools/scripts/smoke.sh (awslocal + curl) against it."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from devtools.receiver import Receiver
from devtools.stack import LOCAL_CREDENTIALS, free_port
from devtools.template import REPO_ROOT

SMOKE = REPO_ROOT / "devtools" / "scripts" / "smoke.sh"


@dataclass
class RunningUp:
    process: subprocess.Popen[str]
    home: Path
    aws_url: str
    api_url: str

    @property
    def state_file(self) -> Path:
        return self.home / "stack.json"


def wait_for_state(up: RunningUp, timeout: float = 180) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if up.process.poll() is not None:
            log = (up.home / "up.log").read_text()[-3000:]
            raise AssertionError(f"triggers up exited with {up.process.returncode}:\n{log}")
        if up.state_file.exists():
            return dict(json.loads(up.state_file.read_text()))
        time.sleep(0.5)
    raise AssertionError(f"triggers up wrote no {up.state_file} in {timeout} s")


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningUp]:
    home = tmp_path_factory.mktemp("triggers-home")
    aws, api, search = free_port(), free_port(), free_port()
    ports = ["--aws-port", str(aws), "--api-port", str(api), "--opensearch-port", str(search)]
    output = (home / "up.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.cli", "up", *ports, "--retry-schedule", "1s,2s"],
        cwd=REPO_ROOT,
        env={**os.environ, "TRIGGERS_HOME": str(home)},
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = RunningUp(process, home, f"http://127.0.0.1:{aws}", f"http://127.0.0.1:{api}")
    try:
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        output.close()


def test_up_records_the_running_stack_and_its_key_for_other_commands(up: RunningUp) -> None:
    state = wait_for_state(up)

    assert (state["aws_url"], state["api_url"], state["pid"]) == (up.aws_url, up.api_url, up.process.pid)
    assert up.state_file.stat().st_mode & 0o777 == 0o600
    key = str(state["api_key"])
    answers = [
        requests.get(
            f"{up.api_url}/v1/events", headers={"Authorization": f"Bearer {k}"}, timeout=10
        ).status_code
        for k in (key, "trg_unknown")
    ]
    assert answers == [200, 401]


def test_smoke_script_passes_against_the_running_stack(up: RunningUp) -> None:
    wait_for_state(up)
    with Receiver() as receiver:
        result = subprocess.run(
            ["bash", str(SMOKE)],
            env={
                **os.environ,
                **LOCAL_CREDENTIALS,
                "AWS_ENDPOINT_URL": up.aws_url,
                "LOCALSTACK_HOST": up.aws_url.removeprefix("http://"),
                "API_URL": up.api_url,
                "RECEIVER_URL": receiver.url,
                "SMOKE_TIMEOUT": "120",
            },
            capture_output=True,
            text=True,
            timeout=600,
        )
        delivered = receiver.deliveries

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "SMOKE PASSED" in result.stdout
    # Three events delivered, one dead-lettered after 3 attempts (503) and delivered on redrive.
    assert sorted(d.status for d in delivered) == [200] * 4 + [503] * 3
    assert all(d.verified for d in delivered if d.status == 200)


def test_smoke_script_stops_at_the_first_failure_with_a_clear_message(up: RunningUp) -> None:
    wait_for_state(up)
    result = subprocess.run(
        ["bash", str(SMOKE)],
        env={
            **os.environ,
            **LOCAL_CREDENTIALS,
            "AWS_ENDPOINT_URL": up.aws_url,
            "LOCALSTACK_HOST": up.aws_url.removeprefix("http://"),
            "API_URL": up.api_url,
            "RECEIVER_URL": f"http://127.0.0.1:{free_port()}/webhook",  # nobody listens
        },
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert "SMOKE FAILED: no receiver control endpoint" in result.stderr


def test_stopping_up_removes_its_state_file(up: RunningUp) -> None:
    wait_for_state(up)

    up.process.send_signal(signal.SIGINT)
    up.process.wait(timeout=60)

    assert up.process.returncode == 0
    assert not up.state_file.exists()
