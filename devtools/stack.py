"""The embedded local stack: everything `make up` and the integration tests run, without Docker.

On 127.0.0.1 it starts a moto server (the AWS endpoint `awslocal` and boto3 talk to), creates
resources with the same `localstack/init/ready.d` scripts LocalStack runs, and serves the
ingest handler over HTTP like `sam local start-api`.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from devtools.runner.apiserver import LocalApiServer, gateway_response
from devtools.runner.esm import EsmRunner
from devtools.runner.mappings import function_spec, load_mappings
from devtools.template import ACCOUNT_ID, REGION, REPO_ROOT, Template

INIT_DIR = REPO_ROOT / "localstack" / "init" / "ready.d"
VENV_BIN = Path(sys.executable).parent
# Debian's AWS CLI v2 (/usr/bin/aws) must win over a PyPI awscli v1 elsewhere on PATH.
SCRIPT_PATH = os.pathsep.join([str(VENV_BIN), "/usr/bin", "/bin", os.environ.get("PATH", "")])
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


class StackError(RuntimeError):
    """The local stack could not start."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_free(port: int, what: str) -> None:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise StackError(
                f"127.0.0.1:{port} ({what}) is in use: is another `triggers up` running? "
                "Stop it, or choose other ports (triggers up --help)."
            ) from exc


def wait_for_port(port: int, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise StackError(f"process on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise StackError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


@dataclass
class Ports:
    aws: int = 4566
    api: int = 3000
    opensearch: int = 9200

    @classmethod
    def ephemeral(cls) -> "Ports":
        return cls(aws=free_port(), api=free_port(), opensearch=free_port())


@dataclass
class EmbeddedStack:
    stage: str = "local"
    ports: Ports = field(default_factory=Ports)
    state_dir: Path = REPO_ROOT / ".triggers"
    say: Callable[[str], None] = lambda line: None
    # Settings for the functions on top of the template's (e.g. a short RETRY_SCHEDULE).
    environment: dict[str, str] = field(default_factory=dict)
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _log_files: list[IO[bytes]] = field(default_factory=list)
    _api: LocalApiServer | None = None
    _esm: EsmRunner | None = None

    @property
    def aws_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.aws}"

    @property
    def opensearch_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.opensearch}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    @property
    def esm_runner(self) -> EsmRunner | None:
        """The local event source mapping runner, while the stack runs."""
        return self._esm

    @property
    def template(self) -> Template:
        return Template(self.stage, aws_endpoint=self.aws_url)

    def aws_environment(self) -> dict[str, str]:
        """What a process needs to reach this stack with boto3, awslocal or the AWS CLI."""
        return {
            **LOCAL_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.aws_url,
            "LOCALSTACK_HOST": f"127.0.0.1:{self.ports.aws}",
            "STAGE": self.stage,
        }

    def start(self) -> "EmbeddedStack":
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for port, what in (
            (self.ports.aws, "AWS endpoint"),
            (self.ports.opensearch, "OpenSearch"),
            (self.ports.api, "API"),
        ):
            ensure_free(port, what)
        try:
            self._start_moto()
            self._start_opensearch()
            self.run_init_scripts()
            self._configure_handlers()
            self._create_search_index()
            self._start_esm()
            self._start_api()
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, args: list[str], port: int, env: dict[str, str] | None = None) -> None:
        log = (self.state_dir / f"{name}.log").open("ab")
        self._log_files.append(log)
        process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
        )
        self._processes.append(process)
        wait_for_port(port, timeout=30, process=process)
        self.say(f"{name} listening on 127.0.0.1:{port} (log: {log.name})")

    def _start_moto(self) -> None:
        args = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.ports.aws)]
        self._spawn("moto", args, self.ports.aws, env={**os.environ, "MOTO_ACCOUNT_ID": ACCOUNT_ID})

    def _start_opensearch(self) -> None:
        from osmem_server import resolve_binary

        # osmem exits when its stdin closes by default; tie it to this process instead.
        args = [
            resolve_binary(),
            "-addr",
            f"127.0.0.1:{self.ports.opensearch}",
            "-parent-pid",
            str(os.getpid()),
            "-no-stdin-watch",
        ]
        self._spawn("opensearch", args, self.ports.opensearch)

    def run_init_scripts(self) -> None:
        """Run localstack/init/ready.d/*.sh in order against this stack, as LocalStack would."""
        env = {
            "PATH": SCRIPT_PATH,
            "HOME": os.environ.get("HOME", "/root"),
            "DISABLE_DEPRECATION_NOTICE": "1",
            "TRIGGERS_EMBEDDED": "1",
            "OPENSEARCH_ENDPOINT": self.opensearch_url,
            **self.aws_environment(),
        }
        for script in sorted(INIT_DIR.glob("*.sh")):
            started = time.monotonic()
            result = subprocess.run(
                ["bash", str(script)], env=env, capture_output=True, text=True, check=False, timeout=300
            )
            if result.returncode != 0:
                raise StackError(
                    f"{script.name} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
                )
            self.say(f"{script.name} done in {time.monotonic() - started:.1f} s")

    def _configure_handlers(self) -> None:
        """Give in-process handlers the environment the template gives their functions."""
        os.environ.update(self.aws_environment())
        template = self.template
        for name in template.of_type("AWS::Serverless::Function"):
            os.environ.update(template.function_environment(name))
        os.environ.update(self.environment)
        # One process hosts every function locally; the ESM runner names the service per invoke.
        os.environ["POWERTOOLS_SERVICE_NAME"] = "triggers"
        os.environ["OPENSEARCH_ENDPOINT"] = self.opensearch_url
        os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
        from ingest.core.runtime import runtime

        runtime.reset()

    def _create_search_index(self) -> None:
        """The template, `events-v1` and the `events` alias the indexer writes and the API searches."""
        from ingest.core.opensearch_client import opensearch_client
        from ingest.core.settings import get_settings
        from processors.indexer.index import ensure_index

        ensure_index(opensearch_client(self.opensearch_url), get_settings().index_alias)
        self.say(f"search index ready behind alias {get_settings().index_alias}")

    def _start_api(self) -> None:
        """Serve the ingest function over HTTP, logging to /aws/lambda/<ingest> like the others."""
        from ingest.handler import lambda_handler

        assert self._esm is not None, "the runner hosts the functions' logs; start it first"
        spec = function_spec(self.template, "IngestFunction")
        host = self._esm.host(spec, lambda_handler)

        def invoke(event: dict[str, Any], _context: Any) -> dict[str, Any]:
            return gateway_response(host.invoke(event))

        self._api = LocalApiServer(
            ("127.0.0.1", self.ports.api), invoke, spec.function_name, spec.timeout_seconds
        )
        self._api.start()
        self.say(f"api listening on {self.api_url}")

    def _start_esm(self) -> None:
        """The local event source mappings (never moto's: it would invoke Lambdas via Docker)."""
        self._esm = EsmRunner(load_mappings(self.template), self.aws_url, self.state_dir, say=self.say)
        self._esm.start()
        if not self._esm.wait_ready():
            self.say("esm: some pollers are not polling yet (see the log); they keep retrying")

    def stop(self) -> None:
        if self._esm is not None:
            self._esm.stop()
            self._esm = None
        if self._api is not None:
            self._api.shutdown()
            self._api.server_close()
            self._api = None
        for process in reversed(self._processes):
            process.terminate()
        for process in reversed(self._processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self._processes.clear()
        for log in self._log_files:
            log.close()
        self._log_files.clear()

    def __enter__(self) -> "EmbeddedStack":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
