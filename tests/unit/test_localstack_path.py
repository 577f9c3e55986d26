"""The LocalStack path, checked without LocalStack (no Docker here): the compose file enables every
service the init scripts use, the functions get the OpenSearch endpoint 03-opensearch.sh uses, and
the functions are created for the architecture the build is for.

The scripts run against stub `awslocal` and `curl` commands that answer like LocalStack and record
what they were asked; tests/integration/test_init_scripts_moto.py runs them against a moto server.
"""

import json
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from devtools.initscripts import INIT_DIR, STAGE
from devtools.template import REPO_ROOT, Template

COMPOSE = REPO_ROOT / "localstack" / "docker-compose.yml"
LIB = INIT_DIR.parent / "lib.sh"
DOMAIN = f"triggers-{STAGE}"
# What LocalStack's describe-domain answers with OPENSEARCH_ENDPOINT_STRATEGY=domain
# (build_cluster_endpoint in localstack/services/opensearch/cluster_manager.py).
ENDPOINT = f"{DOMAIN}.us-east-1.opensearch.localhost.localstack.cloud:4566"
# Services LocalStack loads along with each one in SERVICES (API_DEPENDENCIES in
# localstack-core/localstack/utils/bootstrap.py, 4.14.0), for the services the template uses.
LOADED_WITH = {
    "dynamodb": {"dynamodbstreams"},
    "dynamodbstreams": {"kinesis"},
    "es": {"opensearch"},
    "lambda": {"s3", "sts"},
    "sts": {"iam"},
    "iam": {"sts"},
}
# AWS CLI command -> LocalStack service name, where they differ.
CLI_SERVICES = {"s3api": "s3", "s3": "s3"}
# Calls LocalStack makes internally for a script's request (SSEUtils.get_sse_kms_managed_key in
# localstack/services/dynamodb/provider.py creates a KMS key for a table with SSE enabled).
INTERNAL = [("dynamodb", re.compile(r'"SSESpecification": \{"Enabled": true'), "kms")]

AWSLOCAL_STUB = f"""#!/bin/bash
# Answers like LocalStack; records create-function requests (NUL-separated) in $RECORD.
case "$1 $2" in
  "iam get-role") echo "arn:aws:iam::000000000000:role/$4" ;;
  "sqs get-queue-url") echo "http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/$4" ;;
  "opensearch describe-domain")
    case "$6" in
      DomainStatus.DomainName) echo "$4" ;;
      DomainStatus.Processing) echo False ;;
      DomainStatus.Endpoint) echo "{ENDPOINT}" ;;
    esac ;;
  "lambda get-function" | "lambda get-function-url-config") exit 254 ;;
  "lambda create-function") printf '%s\\0' "$4" >>"$RECORD" ;;
  "lambda wait" | "lambda create-function-url-config") ;;
  "logs create-log-group" | "logs put-retention-policy") ;;
  "logs describe-log-groups") echo ;;
  *) echo "unexpected awslocal $*" >&2; exit 2 ;;
esac
"""
CURL_STUB = """#!/bin/bash
# Records every URL it is given in $CURLS; the alias does not exist yet.
for arg in "$@"; do
  case "$arg" in http*) echo "$arg" >>"$CURLS" ;; esac
done
case " $* " in *" --head "*) exit 22 ;; esac
"""


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())["services"]["localstack"]  # type: ignore[no-any-return]


def enabled_services() -> set[str]:
    """What LocalStack loads for the compose file's SERVICES (all of them when unset)."""
    listed = str(compose()["environment"].get("SERVICES", "")).strip()
    pending = [name.strip() for name in listed.split(",") if name.strip()]
    loaded: set[str] = set()
    while pending:
        name = pending.pop()
        if name not in loaded:
            loaded.add(name)
            pending.extend(LOADED_WITH.get(name, ()))
    return loaded


def used_services() -> dict[str, set[str]]:
    """Service -> the scripts that call it with `awslocal <service>` or make LocalStack call it."""
    used: dict[str, set[str]] = {}
    for path in [LIB, *sorted(INIT_DIR.glob("*.sh"))]:
        text = path.read_text()
        for command in re.findall(r"\bawslocal\s+([a-z0-9-]+)", text):
            used.setdefault(CLI_SERVICES.get(command, command), set()).add(path.name)
        for service, pattern, internal in INTERNAL:
            if service in used and pattern.search(text):
                used.setdefault(internal, set()).add(path.name)
    return used


def test_the_init_scripts_use_the_services_expected() -> None:
    # Guards the parser below: it finds what the scripts do call.
    assert set(used_services()) >= {"dynamodb", "dynamodbstreams", "sqs", "opensearch", "lambda", "kms"}


def test_compose_enables_every_service_the_init_scripts_use() -> None:
    listed = str(compose()["environment"].get("SERVICES", "")).strip()
    if not listed:
        return  # unset: LocalStack loads every service
    enabled = enabled_services()
    missing = {
        service: sorted(scripts) for service, scripts in used_services().items() if service not in enabled
    }

    assert missing == {}, f"add these to SERVICES in {COMPOSE.name} (used by): {missing}"


def stubs(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, text in (("awslocal", AWSLOCAL_STUB), ("curl", CURL_STUB)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "RECORD": str(tmp_path / "functions"),
        "CURLS": str(tmp_path / "curls"),
    }


def run_script(name: str, env: dict[str, str]) -> None:
    result = subprocess.run(
        ["bash", str(INIT_DIR / name)], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def created_functions(tmp_path: Path, architecture: str | None = None) -> list[dict[str, Any]]:
    """04-functions.sh's CreateFunction requests, from a build made for `architecture`."""
    env = stubs(tmp_path)
    build = tmp_path / "build"
    build.mkdir(parents=True)
    for function in ("ingest", "fanout", "retry", "indexer"):
        (build / f"{function}.zip").write_bytes(b"PK")
    if architecture is not None:
        (build / "architecture").write_text(f"{architecture}\n")
    run_script("04-functions.sh", {**env, "LAMBDA_BUILD_DIR": str(build)})
    records = (tmp_path / "functions").read_text().split("\0")
    return [json.loads(record) for record in records if record]


def opensearch_urls(tmp_path: Path) -> list[str]:
    """The URLs 03-opensearch.sh sends the domain's index template and first index to."""
    env = stubs(tmp_path)
    template = tmp_path / "index_template.json"
    template.write_text("{}")
    run_script("03-opensearch.sh", {**env, "INDEX_TEMPLATE_FILE": str(template)})
    return (tmp_path / "curls").read_text().split()


def test_functions_get_the_opensearch_endpoint_03_opensearch_uses(tmp_path: Path) -> None:
    # Given the URLs 03-opensearch.sh reaches the domain at
    used = {(url.scheme, url.hostname, url.port) for url in map(urlsplit, opensearch_urls(tmp_path / "03"))}

    # When 04-functions.sh creates the functions
    functions = created_functions(tmp_path / "04")

    # Then every endpoint a function is given is that scheme, host and port
    given = {
        name: urlsplit(value)
        for function in functions
        for name, value in function["Environment"]["Variables"].items()
        if name.endswith("_ENDPOINT")
    }
    assert len(used) == 1 and given
    assert {(url.scheme, url.hostname, url.port) for url in given.values()} == used


def test_the_opensearch_endpoint_is_plain_http(tmp_path: Path) -> None:
    # LocalStack's certificate does not cover the domain's host name (localstack/localstack#9824)
    # and an https endpoint makes the functions sign their requests.
    endpoints = {
        function["Environment"]["Variables"]["OPENSEARCH_ENDPOINT"]
        for function in created_functions(tmp_path)
    }

    assert endpoints == {f"http://{ENDPOINT}"}


@pytest.mark.parametrize("architecture", ["x86_64", "arm64"])
def test_functions_are_created_for_the_architecture_of_the_build(tmp_path: Path, architecture: str) -> None:
    functions = created_functions(tmp_path, architecture)

    assert [function["Architectures"] for function in functions] == [[architecture]] * 4


def test_functions_of_a_build_without_its_architecture_follow_the_template(tmp_path: Path) -> None:
    declared = Template(STAGE).raw["Globals"]["Function"]["Architectures"]

    assert [function["Architectures"] for function in created_functions(tmp_path)] == [declared] * 4


def test_lambda_containers_resolve_host_docker_internal() -> None:
    # LocalStack passes LAMBDA_DOCKER_FLAGS to every Lambda container (parse_additional_flags in
    # localstack/utils/container_utils/container_client.py reads --add-host).
    flags = str(compose()["environment"]["LAMBDA_DOCKER_FLAGS"]).split()

    assert "--add-host=host.docker.internal:host-gateway" in flags


def test_awslocal_calls_are_quiet() -> None:
    assert str(compose()["environment"]["DISABLE_DEPRECATION_NOTICE"]) == "1"
    assert 'export DISABLE_DEPRECATION_NOTICE="${DISABLE_DEPRECATION_NOTICE:-1}"' in LIB.read_text()
