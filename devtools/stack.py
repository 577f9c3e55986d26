"""The embedded local stack: everything `make up` and the integration tests run, without Docker.

On 127.0.0.1 it starts a moto server (the AWS endpoint `awslocal` and boto3 talk to), creates
the template's resources on it with boto3 from the same reading of template.yaml the LocalStack
init scripts are generated from (devtools/resources.py), and serves the ingest handler over HTTP
like `sam local start-api`.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import boto3

from devtools.resources import create_resources, read_resources
from devtools.runner.apiserver import LocalApiServer, gateway_response
from devtools.runner.esm import EsmRunner
from devtools.runner.mappings import MappingSpec, function_spec, load_mappings
from devtools.template import ACCOUNT_ID, REGION, REPO_ROOT, TEMPLATE_PATH, Template

# For processes that run awslocal against the stack: Debian's AWS CLI v2 (/usr/bin/aws) must win
# over a PyPI awscli v1 elsewhere on PATH.
SCRIPT_PATH = os.pathsep.join(
    [str(Path(sys.executable).parent), "/usr/bin", "/bin", os.environ.get("PATH", "")]
)
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


def default_state_dir() -> Path:
    return Path(os.environ.get("TRIGGERS_HOME", REPO_ROOT / ".triggers"))


def ensure_free(port: int, what: str) -> None:
    """Fail unless the port can be listened on. Sockets in TIME_WAIT (a stack stopped moments ago)
    do not count: the servers set SO_REUSEADDR, and so does this probe."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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


# What the local stack changes from the functions' deployed defaults unless told otherwise: the
# circuit breaker is off, so a receiver broken on purpose (the README's walkthrough) fills the DLQ
# on the short retry schedule instead of pausing (`triggers up --breaker-threshold 5` turns it on).
LOCAL_FUNCTION_DEFAULTS = {"BREAKER_FAILURE_THRESHOLD": "0"}


@dataclass
class EmbeddedStack:
    stage: str = "local"
    ports: Ports = field(default_factory=Ports)
    # Logs and checkpoints; beside `.triggers/stack.json` (TRIGGERS_HOME moves both).
    state_dir: Path = field(default_factory=default_state_dir)
    say: Callable[[str], None] = lambda line: None
    # Settings for the functions on top of the template's (e.g. a short RETRY_SCHEDULE).
    environment: dict[str, str] = field(default_factory=dict)
    template_path: Path = TEMPLATE_PATH
    # At most this batching window for every mapping (tests not about the window shorten it);
    # None keeps the template's.
    batching_window_seconds: float | None = None
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
        return Template(self.stage, path=self.template_path, aws_endpoint=self.aws_url)

    def mappings(self) -> list[MappingSpec]:
        """The event source mappings the local ESM runner runs: the template's own."""
        specs = load_mappings(self.template)
        if self.batching_window_seconds is None:
            return specs
        limit = self.batching_window_seconds
        return [
            replace(spec, maximum_batching_window_seconds=min(spec.maximum_batching_window_seconds, limit))
            for spec in specs
        ]

    @property
    def batching_window(self) -> float:
        """The longest batching window of the mappings the runner runs."""
        return max(spec.maximum_batching_window_seconds for spec in self.mappings())

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
            self.create_resources()
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
        # Ctrl-C in a terminal signals the whole foreground process group: the servers get their
        # own group, so `stop()` ends them after the ESM runner (which would otherwise log
        # connection errors) rather than all at once.
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            process_group=0,
        )
        self._processes.append(process)
        wait_for_port(port, timeout=30, process=process)
        self.say(f"{name} listening on 127.0.0.1:{port} (log: {log.name})")

    def _start_moto(self) -> None:
        args = [sys.executable, "-m", "devtools.atomic_moto", "-H", "127.0.0.1", "-p", str(self.ports.aws)]
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

    def create_resources(self) -> None:
        """The template's tables, queues, domain, functions, log groups and alarms; no mappings."""
        started = time.monotonic()
        session = boto3.Session(
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        )

        def client(service: str) -> Any:
            return session.client(service, endpoint_url=self.aws_url)  # type: ignore[call-overload]

        overrides = {**self.environment, "OPENSEARCH_ENDPOINT": self.opensearch_url}
        create_resources(client, read_resources(self.template), overrides)
        self.say(f"resources of {self.template_path.name} created in {time.monotonic() - started:.1f} s")

    def _configure_handlers(self) -> None:
        """Give in-process handlers the environment the template gives their functions."""
        os.environ.update(self.aws_environment())
        template = self.template
        for name in template.of_type("AWS::Serverless::Function"):
            os.environ.update(template.function_environment(name))
        os.environ.update({**LOCAL_FUNCTION_DEFAULTS, **self.environment})
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
        self._esm = EsmRunner(self.mappings(), self.aws_url, self.state_dir, say=self.say)
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
