"""Render the LocalStack init scripts (localstack/init/ready.d/NN-*.sh) from template.yaml.

The scripts send the requests of devtools/resources.py, the reading of the template the
embedded stack creates its resources from, with `awslocal ... --cli-input-json`. Values that
depend on where LocalStack runs (queue URLs, the stream ARN, the domain endpoint, the topic ARN)
are looked up by the scripts; the rest is written out as the template resolves it for the stage.
`make init-scripts` rewrites them; tests/unit/test_init_scripts.py fails when they drift.
"""

import json
import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from devtools.resources import FUNCTION_ROLE_POLICY, LocalResources, mapping_request, read_resources
from devtools.template import REPO_ROOT, Template
from processors.indexer.index import versioned_index

INIT_DIR = REPO_ROOT / "localstack" / "init" / "ready.d"
STAGE = "local"
# Where the template's queue URLs point while rendering; the scripts look the real ones up.
RENDER_ENDPOINT = "http://localhost:4566"
WIDTH = 110
# Parameters a LocalStack user can override through the container's environment.
OVERRIDABLE = {"RetrySchedule": "RETRY_SCHEDULE"}
REGENERATE = "make init-scripts"
MARK = re.compile(r"@@(\w+)@@")
# Stands for the functions' architecture in their requests: the script reads it from the build.
ARCHITECTURE = "\0architecture"
LogicalIds = Mapping[tuple[str, str], str]


def render_json(value: Any, indent: int = 0, prefix: int = 0) -> str:
    """JSON as compact as fits in WIDTH columns (after `prefix` more on its first line); otherwise
    its items filled line by line."""
    flat = json.dumps(value)
    if indent + prefix + len(flat) <= WIDTH or not isinstance(value, dict | list) or not value:
        return flat
    inner = indent + 2
    if isinstance(value, dict):
        parts = [
            f"{json.dumps(key)}: {render_json(item, inner, len(json.dumps(key)) + 2)}"
            for key, item in value.items()
        ]
    else:
        parts = [render_json(item, inner) for item in value]
    lines: list[str] = []
    for part in parts:
        used = inner + len(lines[-1]) + (prefix if len(lines) == 1 else 0) if lines else 0
        if lines and "\n" not in part + lines[-1] and used + len(part) + 2 <= WIDTH:
            lines[-1] += ", " + part
        else:
            lines.append(part)
    brackets = "{}" if isinstance(value, dict) else "[]"
    return brackets[0] + (",\n" + " " * inner).join(lines) + brackets[1]


def _quote(text: str) -> str:
    if not text or re.fullmatch(r"[\w@%+=:,./-]+", text):
        return text
    return "'" + text.replace("'", "'\\''") + "'"


def word(value: Any, variables: Mapping[str, str] | None = None) -> str:
    """One shell word: a string, or JSON; values equal to a key of `variables` become that variable."""
    variables = variables or {}

    def mark(item: Any) -> Any:
        if isinstance(item, str):
            return f"@@{variables[item]}@@" if item in variables else item
        if isinstance(item, dict):
            return {key: mark(inner) for key, inner in item.items()}
        return [mark(inner) for inner in item] if isinstance(item, list) else item

    text = mark(value) if isinstance(value, str) else render_json(mark(value))
    pieces = MARK.split(text)
    return "".join(
        _quote(piece) if index % 2 == 0 else f'"${{{piece}}}"' for index, piece in enumerate(pieces)
    )


def _script(template: Template, summary: str, *lines: str) -> str:
    return "\n".join(
        [
            "#!/usr/bin/env bash",
            f"# GENERATED from template.yaml (stage {template.stage}) by devtools/initscripts.py. Do not",
            f"# edit: change template.yaml, then run `{REGENERATE}` (or `uv run triggers init-scripts`).",
            "# The helpers are in ../lib.sh; each looks before it creates, so the script can run again.",
            "#",
            *(f"# {line}" for line in summary.strip().splitlines()),
            "set -euo pipefail",
            'source "$(dirname "$0")/../lib.sh"',
            "",
            *lines,
            "",
        ]
    )


def _variable(resources: LocalResources, name: str, suffix: str) -> str:
    """`triggers-local-delivery-retry`, `url` -> `delivery_retry_url`."""
    return f"{name.removeprefix(f'triggers-{resources.template.stage}-').replace('-', '_')}_{suffix}"


def keys_script(resources: LocalResources) -> str:
    lines = [
        f"create_key {word(key.alias)} {word(key.request)} {str(key.rotation).lower()}"
        for key in resources.keys
    ]
    summary = """KMS keys with their rotation and alias, before anything that uses them (the functions name
each key by its alias). The template's key policies name IAM roles, which LocalStack's free tier
neither creates nor enforces: they are left out."""
    return _script(resources.template, summary, *lines)


def tables_script(resources: LocalResources) -> str:
    lines = []
    for table in resources.tables:
        lines.append(f"create_table {word(table.name)} {word(table.request)}")
        if table.ttl_attribute:
            lines.append(f"enable_ttl {word(table.name)} {word(table.ttl_attribute)}")
        if table.point_in_time_recovery:
            lines.append(f"enable_pitr {word(table.name)}")
    summary = "DynamoDB tables with their keys, indexes, stream, encryption, TTL and point-in-time recovery."
    return _script(resources.template, summary, *lines)


def queues_script(resources: LocalResources) -> str:
    lines = [f"create_queue {word(queue.name)} {word(queue.attributes)}" for queue in resources.queues]
    return _script(resources.template, "SQS queues with their attributes and redrive policies.", *lines)


def opensearch_script(resources: LocalResources, domain: dict[str, Any]) -> str:
    alias = resources.template.function_environment(resources.functions[0].logical_id)["INDEX_ALIAS"]
    name = word(domain["DomainName"])
    summary = """The log groups the OpenSearch domain publishes to, the domain and, once it answers, the
indexer's index template and first index behind its alias (processors/indexer/index.py creates the
same when they are missing). The domain's access policy names the functions' roles, which the free
tier does not have (one shared role, no IAM enforced): it is left out here."""
    log_groups = [
        f"create_log_group {word(group.name)} {group.retention_days}"
        for group in resources.domain_log_groups
        if group.retention_days is not None
    ]
    return _script(
        resources.template,
        summary,
        *log_groups,
        f"create_domain {name} {word(domain)}",
        f"create_index {name} {word(alias)} {word(versioned_index(alias))} "
        '"${INDEX_TEMPLATE_FILE:-$(dirname "$0")/../../../processors/indexer/index_template.json}"',
    )


def functions_script(resources: LocalResources, logical_ids: LogicalIds) -> str:
    template = resources.template
    architectures = {arch for function in resources.functions for arch in function.request["Architectures"]}
    lines = [
        'build_dir="${LAMBDA_BUILD_DIR:-$(dirname "$0")/../../../build/lambda}"',
        "# What `make package` built the zips for (this machine's architecture), else the template's.",
        f'architecture=$(build_architecture "$build_dir" {word(min(architectures))})',
        *(
            f'{variable}="${{{variable}:-{template.parameters[parameter]}}}"  # {parameter}'
            for parameter, variable in OVERRIDABLE.items()
        ),
        f"role_arn=$(ensure_role {word(resources.role)} {word(FUNCTION_ROLE_POLICY)})",
    ]
    variables = {str(template.parameters[parameter]): variable for parameter, variable in OVERRIDABLE.items()}
    variables[ARCHITECTURE] = "architecture"
    environments = [function.request["Environment"]["Variables"] for function in resources.functions]
    for queue in resources.queues:
        url = template.ref(logical_ids["AWS::SQS::Queue", queue.name])
        if any(url in environment.values() for environment in environments):
            variables[url] = _variable(resources, queue.name, "url")
            lines.append(f"{variables[url]}=$(queue_url {word(queue.name)})")
    if resources.domain is not None:
        name = resources.domain["DomainName"]
        domain = logical_ids["AWS::OpenSearchService::Domain", name]
        variables[f"https://{template.get_att(domain, 'DomainEndpoint')}"] = "search_endpoint"
        # The URL create_index (03-opensearch.sh) uses: http, unsigned (see domain_url in lib.sh).
        lines.append(f"search_endpoint=$(domain_url {word(name)})")
    lines.append("")
    for function in resources.functions:
        code = PurePosixPath(str(template.function_setting(function.logical_id, "CodeUri"))).stem
        request = word({**function.request, "Architectures": [ARCHITECTURE]}, variables)
        lines.append(f'create_function {word(function.name)} "$build_dir/{code}.zip" "$role_arn" {request}')
        if function.log_retention_days is not None:
            lines.append(f"create_log_group {word(function.log_group)} {function.log_retention_days}")
        if function.http_api:
            lines.append(f"create_function_url {word(function.name)}")
    summary = f"""Lambda functions, each from $LAMBDA_BUILD_DIR/<function>.zip (`make package`) and for the
architecture that build is for, with their log groups, and a function URL for each function behind
the HTTP API (LocalStack's free tier has no HTTP API). The free tier enforces no IAM, so the
functions share one role.
Overridable from the environment: {", ".join(OVERRIDABLE.values())}."""
    return _script(template, summary, *lines)


def mappings_script(resources: LocalResources, logical_ids: LogicalIds) -> str:
    template = resources.template
    variables, lines = {}, []
    for table in resources.tables:
        if "StreamSpecification" in table.request:
            variable = _variable(resources, table.name, "stream_arn")
            variables[template.get_att(logical_ids["AWS::DynamoDB::Table", table.name], "StreamArn")] = (
                variable
            )
            lines.append(f"{variable}=$(stream_arn {word(table.name)})")
    for spec in resources.mappings:
        source, request = word(spec.source_arn, variables), word(mapping_request(spec), variables)
        state = "" if spec.enabled else " Disabled"
        lines.append(f"map {word(spec.function_name)} {source} {request}{state}")
    summary = """Event source mappings with every setting the template declares, each waited for until it is
Enabled. LocalStack accepts but does not honour BisectBatchOnFunctionError and
ParallelizationFactor (see localstack/README.md). Never run this against moto: mappings there make
it invoke Lambdas through Docker and drop stream records (the embedded stack's local ESM runner
reads them from template.yaml instead)."""
    return _script(template, summary, *lines)


def _flag(key: str) -> str:
    """`OKActions` -> `--ok-actions`."""
    return "--" + re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", key).lower()


def alarms_script(resources: LocalResources, topic: str, topic_arn: str) -> str:
    variables = {topic_arn: "topic_arn"}
    first = resources.alarms[0] if resources.alarms else {}
    shared = {
        key: value
        for key, value in first.items()
        if key != "AlarmName" and all(alarm.get(key) == value for alarm in resources.alarms)
    }
    options = [
        " ".join(
            [_flag(key), *(word(item, variables) for item in (value if isinstance(value, list) else [value]))]
        )
        for key, value in shared.items()
    ]
    lines = [
        f"topic_arn=$(awslocal sns create-topic --name {word(topic)} --query TopicArn --output text)",
        f"shared=({' '.join(options)})",
        *(
            f"put_alarm {word(alarm['AlarmName'])} "
            f'{word({key: value for key, value in alarm.items() if key not in shared})} "${{shared[@]}}"'
            for alarm in resources.alarms
        ),
    ]
    summary = """The alarm topic and the CloudWatch alarms notifying it (the HTTP API's alarms exist only on
AWS: LocalStack's free tier has no HTTP API)."""
    return _script(resources.template, summary, *lines)


def render(template: Template | None = None) -> dict[str, str]:
    """File name -> content of every init script, for the template's stage."""
    resources = read_resources(template or Template(STAGE, aws_endpoint=RENDER_ENDPOINT))
    template = resources.template
    logical_ids = {
        (spec["Type"], template.physical_name(name)): name for name, spec in template.resources.items()
    }
    scripts = {}
    if resources.keys:
        scripts["00-keys.sh"] = keys_script(resources)
    scripts |= {"01-tables.sh": tables_script(resources), "02-queues.sh": queues_script(resources)}
    if resources.domain is not None:
        scripts["03-opensearch.sh"] = opensearch_script(resources, resources.domain)
    scripts["04-functions.sh"] = functions_script(resources, logical_ids)
    scripts["05-mappings.sh"] = mappings_script(resources, logical_ids)
    if resources.topic is not None:
        topic_arn = template.ref(logical_ids["AWS::SNS::Topic", resources.topic])
        scripts["06-alarms.sh"] = alarms_script(resources, resources.topic, topic_arn)
    return scripts


def drift(directory: Path = INIT_DIR, template: Template | None = None) -> list[str]:
    """The scripts in `directory` that differ from what the generator produces now."""
    expected = render(template)
    present = {path.name: path.read_text() for path in directory.glob("*.sh")}
    return sorted(
        name for name in present.keys() | expected.keys() if present.get(name) != expected.get(name)
    )


def write(directory: Path = INIT_DIR, template: Template | None = None) -> list[Path]:
    """Write every script (executable) and remove `*.sh` files the generator no longer produces."""
    scripts = render(template)
    for stale in directory.glob("*.sh"):
        if stale.name not in scripts:
            stale.unlink()
    for name, content in scripts.items():
        (directory / name).write_text(content)
        (directory / name).chmod(0o755)
    return [directory / name for name in scripts]
