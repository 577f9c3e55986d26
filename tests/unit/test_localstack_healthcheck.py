"""localstack/healthcheck.py: the LocalStack container is healthy only when every init script succeeded.

It is fed LocalStack's init status over HTTP, in the shape LocalStack 4.14.0 serves at
/_localstack/init (InitScriptsResource in localstack-core/localstack/services/internal.py; states
from localstack/runtime/init.py), and run as the compose healthcheck runs it: a separate process.
"""

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.initscripts import INIT_DIR
from devtools.template import REPO_ROOT

HEALTHCHECK = REPO_ROOT / "localstack" / "healthcheck.py"
COMPOSE = REPO_ROOT / "localstack" / "docker-compose.yml"
SCRIPTS = sorted(path.name for path in INIT_DIR.glob("*.sh"))


def init_status(states: dict[str, str], ready_completed: bool) -> dict[str, Any]:
    """LocalStack's GET /_localstack/init answer for the READY scripts in `states`."""
    return {
        "completed": {"BOOT": True, "START": True, "READY": ready_completed, "SHUTDOWN": False},
        "scripts": [{"stage": "READY", "name": name, "state": state} for name, state in states.items()],
    }


def all_in(state: str, **others: str) -> dict[str, str]:
    return {name: others.get(name.replace("-", "_").removesuffix(".sh"), state) for name in SCRIPTS}


class InitStatus:
    """A stand-in for LocalStack's /_localstack/init that answers the given documents in turn
    (the last one again once they run out) and counts the requests."""

    def __init__(self, *documents: Any) -> None:
        self.documents = list(documents)
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests += 1
                document = owner.documents.pop(0) if len(owner.documents) > 1 else owner.documents[0]
                body = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/_localstack/init"

    def __enter__(self) -> "InitStatus":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def healthcheck(url: str, *options: str) -> subprocess.CompletedProcess[str]:
    # Each request may take 30 s, not the default 4: the stand-in answers from this (loaded) process.
    return subprocess.run(
        [
            sys.executable,
            str(HEALTHCHECK),
            "--url",
            url,
            "--scripts",
            str(INIT_DIR),
            "--timeout",
            "30",
            *options,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[InitStatus] = []

    def start(*documents: Any) -> InitStatus:
        servers.append(InitStatus(*documents).__enter__())
        return servers[-1]

    yield start
    for server in servers:
        server.__exit__()


def test_healthy_when_every_init_script_succeeded(serve: Any) -> None:
    status = serve(init_status(all_in("SUCCESSFUL"), ready_completed=True))

    result = healthcheck(status.url)

    assert result.returncode == 0, result.stdout
    assert "every init script succeeded" in result.stdout


def test_unhealthy_when_a_script_failed_although_the_stage_completed(serve: Any) -> None:
    # Given LocalStack's status after 01-tables.sh failed: the later scripts still ran and the
    # READY stage is marked completed
    status = serve(init_status(all_in("SUCCESSFUL", **{"01_tables": "ERROR"}), ready_completed=True))

    # When the healthcheck runs
    result = healthcheck(status.url)

    # Then the container is unhealthy, naming the script
    assert result.returncode == 1
    assert "failed: 01-tables.sh" in result.stdout


def test_unhealthy_while_scripts_are_still_running(serve: Any) -> None:
    states = {name: "SUCCESSFUL" for name in SCRIPTS[:2]} | {SCRIPTS[2]: "RUNNING"}
    states |= {name: "UNKNOWN" for name in SCRIPTS[3:]}
    status = serve(init_status(states, ready_completed=False))

    result = healthcheck(status.url)

    assert result.returncode == 1
    assert f"still running: {SCRIPTS[2]} RUNNING" in result.stdout


def test_unhealthy_when_a_shipped_script_never_ran(serve: Any) -> None:
    # LocalStack found no 06-alarms.sh (not mounted): the stage completed without it
    states = {name: "SUCCESSFUL" for name in SCRIPTS[:-1]}
    status = serve(init_status(states, ready_completed=True))

    result = healthcheck(status.url)

    assert result.returncode == 1
    assert f"never ran: {SCRIPTS[-1]}" in result.stdout


@pytest.mark.parametrize("document", [{"completed": {"READY": True}}, ["not", "a", "status"], "<html>"])
def test_unhealthy_on_an_answer_that_is_not_an_init_status(serve: Any, document: Any) -> None:
    status = serve(document)

    assert healthcheck(status.url).returncode == 1


def test_unhealthy_when_localstack_does_not_answer() -> None:
    with InitStatus({}) as status:
        url = status.url  # a port nothing listens on once the server is gone

    result = healthcheck(url)

    assert result.returncode == 1
    assert "no init status" in result.stdout


def test_wait_returns_once_the_running_scripts_succeeded(serve: Any) -> None:
    running = init_status(all_in("SUCCESSFUL", **{"04_functions": "RUNNING"}), ready_completed=False)
    status = serve(running, running, init_status(all_in("SUCCESSFUL"), ready_completed=True))

    result = healthcheck(status.url, "--wait", "--interval", "0")

    assert result.returncode == 0, result.stdout
    assert status.requests == 3


def test_wait_stops_at_the_first_failed_script(serve: Any) -> None:
    running = init_status(all_in("SUCCESSFUL", **{"03_opensearch": "RUNNING"}), ready_completed=False)
    failed = init_status(all_in("SUCCESSFUL", **{"03_opensearch": "ERROR"}), ready_completed=False)
    status = serve(running, failed)

    result = healthcheck(status.url, "--wait", "--interval", "0")

    assert result.returncode == 1
    assert "failed: 03-opensearch.sh" in result.stdout
    assert status.requests == 2


def test_compose_runs_the_shipped_healthcheck_with_a_start_period_for_first_start_downloads() -> None:
    service = yaml.safe_load(COMPOSE.read_text())["services"]["localstack"]
    check = service["healthcheck"]
    mounted = {volume.split(":")[1]: volume.split(":")[0] for volume in service["volumes"]}
    script = check["test"][-1]

    assert check["test"][:2] == ["CMD", "python3"]
    assert (COMPOSE.parent / mounted[script]).resolve() == HEALTHCHECK
    assert Path(mounted["/etc/localstack/init"]) == Path("./init")
    minutes = int(str(check["start_period"]).removesuffix("m"))
    assert minutes >= 15
