"""The README, typed as written by a new user: a clean environment, a new login shell, no venv.

Every shell line of the README and every command `make up` prints runs verbatim under
`env -i` (HOME and a default PATH only) in `bash -l`, against the stack `make up` itself
started on its default ports. Long-running lines (`make up`, the receiver, `--follow`) run in
the background and are stopped with Ctrl-C's signal; `make test` is this suite and is skipped.
The walkthrough's pacing (a human waiting for the deliveries) is the only thing the test adds:
it polls the receiver and the DLQ between steps. Finally `make up` is stopped and started again
at once, as after a Ctrl-C.
"""

import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any

import boto3
import pytest
import requests
from botocore.exceptions import BotoCoreError, ClientError

from devtools.template import REPO_ROOT

README = REPO_ROOT / "README.md"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# `make up`'s default ports and the walkthrough's receiver.
FIXED_PORTS = {4566: "AWS endpoint", 3000: "API", 9200: "OpenSearch", 8787: "receiver"}
RECEIVER = "http://127.0.0.1:8787/_receiver"
LONG_RUNNING = ("make up", "triggers receiver", "--follow")


def readme_lines() -> list[str]:
    """Each command line of the README's ```sh blocks, as typed (comments are the shell's)."""
    lines: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.S):
        lines.extend(line for line in block.splitlines() if line.strip())
    return lines


def printed_commands(output: str) -> list[str]:
    """The commands `make up` prints after "Triggers is up", one per entry.

    Several commands may share a line (separated by wide gaps); a trailing backslash continues
    a command on the next line, as in a shell.
    """
    body = output.split("Triggers is up", 1)[1]
    commands: list[str] = []
    pending = ""
    for raw in body.splitlines():
        line = raw.strip()
        if pending:
            pending += "\n" + raw
            if not line.endswith("\\"):
                commands.append(pending)
                pending = ""
            continue
        for part in re.split(r"\s{3,}", line):
            if part.startswith(("uv run ", "export ", "curl ")):
                if part.endswith("\\"):
                    pending = part
                else:
                    commands.append(part)
    return commands


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def clean_environment() -> dict[str, str]:
    return {"HOME": os.environ.get("HOME", "/root"), "PATH": DEFAULT_PATH, "TERM": "dumb"}


@dataclass
class Shell:
    """A new login shell per command, in a clean environment, in the repository."""

    exports: str = ""  # `export URL=... KEY=...` once the user has typed it

    def argv(self, command: str) -> list[str]:
        script = f"{self.exports}\n{command}" if self.exports else command
        return ["env", "-i", *(f"{k}={v}" for k, v in clean_environment().items()), "bash", "-lc", script]

    def run(self, command: str, timeout: float = 300) -> str:
        started = time.monotonic()
        result = subprocess.run(
            self.argv(command),
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        print(f"$ {command}  ({time.monotonic() - started:.1f} s, exit {result.returncode})")
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"`{command}` exited {result.returncode}:\n{output}"
        return result.stdout

    def start(self, command: str, output: IO[str]) -> subprocess.Popen[str]:
        """A foreground command of its own terminal: its own process group, like a job."""
        print(f"$ {command} &")
        return subprocess.Popen(
            self.argv(command),
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )


def interrupt(process: subprocess.Popen[str], timeout: float = 60) -> int:
    """Ctrl-C: SIGINT to the job's whole process group (as a terminal sends it), then wait.

    `make` itself dies of the signal (exit -2) once its child has finished."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise


def wait_for(probe: Callable[[], Any], what: str, timeout: float = 120) -> Any:
    started = time.monotonic()
    deadline = started + timeout
    while True:
        try:
            value = probe()
        except (requests.RequestException, BotoCoreError, ClientError, OSError, ValueError, KeyError):
            value = None
        if value:
            print(f"waited {time.monotonic() - started:.1f} s for {what}")
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.5)


def is_problem(output: str) -> bool:
    """curl exits 0 on a 4xx: an RFC 9457 problem in its output is what says it failed."""
    try:
        body = json.loads(output)
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("status"), int) and body["status"] >= 400


def receiver_status() -> dict[str, Any]:
    status: dict[str, Any] = requests.get(RECEIVER, timeout=5).json()
    return status


def delivery_dlq_depth() -> int:
    """Pacing only (a user would watch `triggers status`): the delivery DLQ's depth, read directly."""
    sqs = boto3.client(
        "sqs",
        endpoint_url="http://127.0.0.1:4566",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    url = sqs.get_queue_url(QueueName="triggers-local-delivery-dlq")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


@dataclass
class UpProcess:
    process: subprocess.Popen[str]
    output_path: Path

    @property
    def output(self) -> str:
        return self.output_path.read_text()


def start_make_up(shell: Shell, tmp_path: Path, name: str) -> UpProcess:
    path = tmp_path / f"{name}.log"
    process = shell.start("make up", path.open("w"))
    up = UpProcess(process, path)
    wait_for(
        lambda: "Triggers is up" in up.output or process.poll() is not None,
        "make up to print its endpoints",
        timeout=300,
    )
    assert "Triggers is up" in up.output, f"make up exited {process.returncode}:\n{up.output}"
    return up


def start_following(shell: Shell, command: str, log_path: Path) -> subprocess.Popen[str]:
    """A `--follow` command: it prints what is there and keeps running."""
    process = shell.start(command, log_path.open("w"))
    wait_for(lambda: log_path.read_text().strip(), f"output from `{command}`", timeout=60)
    assert process.poll() is None, log_path.read_text()
    return process


def stopped_cleanly(up: UpProcess) -> None:
    interrupt(up.process)
    output = up.output
    assert "Stopping..." in output, output
    assert "Traceback" not in output and "error" not in output.split("Stopping...", 1)[1], output
    assert not any(listening(port) for port in (4566, 3000, 9200)), "make up left a server running"


@pytest.fixture
def default_ports_free() -> Iterator[None]:
    busy = [f"{port} ({what})" for port, what in FIXED_PORTS.items() if listening(port)]
    if busy and os.environ.get("CI") != "true":
        pytest.skip(f"ports in use here (a `make up` running?): {', '.join(busy)}; stop it to run this test")
    assert not busy, f"the README's default ports must be free in CI: {busy}"
    yield


@pytest.mark.timeout(900)  # two `make up`s, 1,050 deliveries, smoke.sh: minutes on a busy machine
def test_every_readme_line_and_every_printed_command_works_in_a_new_shell(
    default_ports_free: None, tmp_path: Path
) -> None:
    lines = readme_lines()
    shell = Shell()
    background: list[subprocess.Popen[str]] = []
    up = start_make_up(shell, tmp_path, "make-up")
    try:
        printed = printed_commands(up.output)
        exports = next(command for command in printed if command.startswith("export URL="))
        ready = re.search(r"ready in ([0-9.]+) s", up.output)
        assert ready, up.output

        # The walkthrough, in order, paced like a user who watches the receiver.
        walkthrough = [line for line in lines if re.search(r"#\s*\d+\.", line)]
        assert [int(re.search(r"#\s*(\d+)\.", line).group(1)) for line in walkthrough] == list(  # type: ignore[union-attr]
            range(1, len(walkthrough) + 1)
        )
        for line in walkthrough:
            command = line.split("#", 1)[0].strip()
            if command == "make up":
                continue  # running since the start
            if any(marker in command for marker in LONG_RUNNING):
                log = (tmp_path / f"bg-{len(background)}.log").open("w")
                background.append(shell.start(line, log))
                if "triggers receiver" in command:
                    wait_for(receiver_status, "the receiver to answer")
                continue
            if "dlq ls" in command:
                wait_for(lambda: delivery_dlq_depth() >= 50, "the 50 failing deliveries in the DLQ")
            if command.endswith("dlq redrive --all"):
                shell.run(line)
                wait_for(
                    lambda: receiver_status()["by_status"].get("200", 0) >= 1050,
                    "1050 successful deliveries after the redrive",
                )
                continue
            if "faults" in command and "503" in command:
                wait_for(
                    lambda: receiver_status()["by_status"].get("200", 0) >= 1000,
                    "the first 1000 deliveries",
                )
            shell.run(line)

        received = receiver_status()
        assert received["by_status"].get("200", 0) >= 1050, received
        assert received["verified"] == received["deliveries"], f"unverified deliveries: {received}"
        assert delivery_dlq_depth() == 0

        # The curl block and the other lines, with URL and KEY exported as `make up` says.
        shell.exports = exports
        others = [line for line in lines if line not in walkthrough and line.split("#", 1)[0].strip()]
        for line in others:
            command = line.split("#", 1)[0].strip()
            if command in ("make up", "make test"):
                continue  # running since the start; this suite
            if any(marker in command for marker in LONG_RUNNING):
                background.append(start_following(shell, line, tmp_path / f"bg-{len(background)}.log"))
                continue
            output = shell.run(line)
            assert not is_problem(output), f"`{command}` was refused: {output}"
            if "q=order" in command:
                # Search is near real time: the indexer's batching window, then a refresh.
                found = wait_for(
                    partial(lambda search: json.loads(shell.run(search))["data"], line),
                    "order events found by q=order",
                )
                assert all(event["event_type"] == "order.created" for event in found)
            elif "dynamodb scan" in command:
                assert json.loads(output)["Count"] >= 1051

        # What `make up` printed, verbatim.
        for command in printed:
            if command.startswith("export "):
                continue
            if "--follow" in command:
                log_path = tmp_path / f"printed-{len(background)}.log"
                background.append(start_following(shell, command, log_path))
                continue
            output = shell.run(command)
            assert not is_problem(output), f"`{command}` was refused: {output}"
    finally:
        for process in background:
            interrupt(process, timeout=30)
        stopped_cleanly(up)

    # Ctrl-C, then `make up` again at once: the ports it just closed are free to listen on.
    again = start_make_up(shell, tmp_path, "make-up-again")
    try:
        assert "in use" not in again.output
        api_url = re.search(r"API URL +(\S+)", again.output)
        assert api_url, again.output
        assert requests.get(f"{api_url.group(1)}/health", timeout=10).ok
    finally:
        stopped_cleanly(again)
