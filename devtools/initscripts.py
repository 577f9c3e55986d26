"""Render the LocalStack init scripts (localstack/init/ready.d/NN-*.sh) from template.yaml.

The scripts send the requests of devtools/resources.py, the reading of the template the
embedded stack creates its resources from, with `awslocal ... --cli-input-json`. Values only
known at run time (queue URLs, the stream ARN, the domain endpoint, the alarm topic) are
looked up by the scripts; everything else is written out as the template resolves it for the
stage. `make init-scripts` rewrites them; tests/unit/test_init_scripts.py fails when they drift.
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
# Where the template's queue URLs point while rendering; the scripts look the real URLs up.
RENDER_ENDPOINT = "http://localhost:4566"
WIDTH = 110
# Parameters a LocalStack user can override through the container's environment.
OVERRIDABLE = {"RetrySchedule": "RETRY_SCHEDULE"}
REGENERATE = "make init-scripts"


def render_json(value: Any, indent: int = 0) -> str:
    """JSON as compact as fits in WIDTH columns, items filled line by line when it does not."""
    flat = json.dumps(value)
    if indent + len(flat) <= WIDTH or not isinstance(value, dict | list) or not value:
        return flat
    inner = indent + 2
    if isinstance(value, dict):
        parts = [f"{json.dumps(key)}: {render_json(item, inner)}" for key, item in value.items()]
    else:
        parts = [render_json(item, inner) for item in value]
    lines: list[str] = []
    for part in parts:
        if lines and "\n" not in part + lines[-1] and inner + len(lines[-1]) + len(part) + 2 <= WIDTH:
            lines[-1] += ", " + part
        else:
            lines.append(part)
    brackets = "{}" if isinstance(value, dict) else "[]"
    return brackets[0] + (",\n" + " " * inner).join(lines) + brackets[1]


def word(text: str, variables: Mapping[str, str] | None = None) -> str:
    """`text` as one shell word; each occurrence of a key of `variables` becomes that variable."""
    if not variables:
        return _quote(text) or "''"
    literals = "|".join(map(re.escape, sorted(variables, key=len, reverse=True)))
    pattern = re.compile(f"(?:{literals})(?![\\w-])")
    parts, position = [], 0
    for match in pattern.finditer(text):
        parts += [_quote(text[position : match.start()]), f'"${{{variables[match.group()]}}}"']
        position = match.end()
    parts.append(_quote(text[position:]))
    return "".join(parts) or "''"


def _quote(text: str) -> str:
    if not text:
        return ""
    if re.fullmatch(r"[\w@%+=:,./-]+", text):
        return text
    return "'" + text.replace("'", "'\\''") + "'"


def json_word(value: Any, variables: Mapping[str, str] | None = None) -> str:
    return word(render_json(value), variables)


def _short(resources: LocalResources, name: str) -> str:
    """`triggers-local-delivery-retry` -> `delivery_retry`, for shell variable names."""
    return name.removeprefix(f"triggers-{resources.template.stage}-").replace("-", "_")


def _header(template: Template, summary: str) -> str:
    return f"""#!/usr/bin/env bash
# GENERATED from template.yaml (stage {template.stage}) by devtools/initscripts.py: do not edit.
# Change template.yaml, then run `{REGENERATE}` (or `uv run triggers init-scripts`).
#
{summary.strip()}
set -euo pipefail
"""


def _background(lines: list[str]) -> list[str]:
    indented = "\n".join(lines).replace("\n", "\n  ")
    return ["{", f"  {indented}", "} &", "pids+=($!)"]


WAIT_ALL = 'for pid in "${pids[@]}"; do\n  wait "$pid"\ndone\n'


def tables_script(resources: LocalResources) -> str:
    body = [
        _header(
            resources.template,
            """
# DynamoDB tables with their keys, indexes, stream, encryption, TTL and point-in-time recovery.
# Idempotent: an existing table is left as it is. Tables are created side by side (each AWS CLI
# start-up costs about half a second).""",
        ),
        """create_table() {  # name, CreateTable request
  if awslocal dynamodb describe-table --table-name "$1" >/dev/null 2>&1; then
    echo "table $1 exists"
    return
  fi
  awslocal dynamodb create-table --cli-input-json "$2" >/dev/null
  awslocal dynamodb wait table-exists --table-name "$1"
  echo "table $1 created"
}

enable_ttl() {  # name, attribute (enabling it twice is an error in AWS, so look first)
  local status
  status=$(awslocal dynamodb describe-time-to-live --table-name "$1" \\
    --query TimeToLiveDescription.TimeToLiveStatus --output text)
  if [ "$status" != ENABLED ] && [ "$status" != ENABLING ]; then
    awslocal dynamodb update-time-to-live --table-name "$1" \\
      --time-to-live-specification "Enabled=true,AttributeName=$2" >/dev/null
  fi
}

enable_pitr() {  # name
  awslocal dynamodb update-continuous-backups --table-name "$1" \\
    --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true >/dev/null
}

pids=()""",
    ]
    for table in resources.tables:
        steps = [f"create_table {word(table.name)} {json_word(table.request)}"]
        if table.ttl_attribute:
            steps.append(f"enable_ttl {word(table.name)} {word(table.ttl_attribute)}")
        if table.point_in_time_recovery:
            steps.append(f"enable_pitr {word(table.name)}")
        body.append("\n".join(_background(steps)))
    body.append(WAIT_ALL)
    return "\n".join(body)


def queues_script(resources: LocalResources) -> str:
    body = [
        _header(
            resources.template,
            """
# SQS queues with their attributes and redrive policies; dead-letter queues first.
# Idempotent: create-queue with the same attributes returns the existing queue.""",
        ),
        """create_queue() {  # name, attributes
  awslocal sqs create-queue --queue-name "$1" --attributes "$2" >/dev/null
  echo "queue $1 ready"
}
""",
    ]
    for redriven in (False, True):
        queues = [queue for queue in resources.queues if (queue.dead_letter_queue is not None) == redriven]
        if queues:
            body.append("pids=()")
            for queue in queues:
                body += [f"create_queue {word(queue.name)} {json_word(queue.attributes)} &", "pids+=($!)"]
            body.append(WAIT_ALL)
    return "\n".join(body)


def opensearch_script(resources: LocalResources) -> str:
    assert resources.domain is not None
    template = resources.template
    alias = template.function_environment(resources.functions[0].logical_id)["INDEX_ALIAS"]
    name = str(resources.domain["DomainName"])
    return (
        _header(
            template,
            """
# The OpenSearch domain and, once it answers, the indexer's index template and first index
# behind its alias (processors/indexer/index.py creates the same when they are missing).
# Idempotent: what exists is left as it is.""",
        )
        + f"""domain={word(name)}
alias_name={word(alias)}
first_index={word(versioned_index(alias))}
template_file="${{INDEX_TEMPLATE_FILE:-$(dirname "$0")/../../../processors/indexer/index_template.json}}"
ready_timeout=900  # LocalStack downloads OpenSearch on the first start

describe() {{  # DomainStatus field
  awslocal opensearch describe-domain --domain-name "$domain" --query "DomainStatus.$1" --output text
}}

if describe DomainName >/dev/null 2>&1; then
  echo "domain $domain exists"
else
  awslocal opensearch create-domain --cli-input-json {json_word(resources.domain)} >/dev/null
  echo "domain $domain created"
fi

if [ ! -f "$template_file" ]; then
  echo "no $template_file: the indexer creates its index template and alias"
  exit 0
fi
# OpenSearch has no `awslocal ... wait` waiter: poll the domain until it stops processing.
deadline=$((SECONDS + ready_timeout))
until [ "$(describe Processing)" = False ]; do
  if ((SECONDS >= deadline)); then
    echo "domain $domain still processing after ${{ready_timeout}} s" >&2
    exit 1
  fi
  sleep 5
done
url="http://$(describe Endpoint)"
curl -fsS "$url/_cluster/health?wait_for_status=yellow&timeout=120s" >/dev/null
echo "domain $domain ready at $url"

curl -fsS -X PUT "$url/_index_template/$alias_name" \\
  -H 'Content-Type: application/json' --data-binary "@$template_file" >/dev/null
echo "index template $alias_name applied from $template_file"
if curl -fsS --head "$url/_alias/$alias_name" >/dev/null 2>&1; then
  echo "alias $alias_name exists"
else
  curl -fsS -X PUT "$url/$first_index" -H 'Content-Type: application/json' \\
    --data "{{\\"aliases\\": {{\\"$alias_name\\": {{\\"is_write_index\\": true}}}}}}" >/dev/null
  echo "index $first_index created behind alias $alias_name"
fi
"""
    )


def functions_script(resources: LocalResources) -> str:
    template = resources.template
    variables: dict[str, str] = {}
    lookups: list[str] = []
    for queue in resources.queues:
        url = template.ref(_logical_id(template, "AWS::SQS::Queue", queue.name))
        if any(
            url in function.request["Environment"]["Variables"].values() for function in resources.functions
        ):
            variable = f"{_short(resources, queue.name)}_url"
            variables[url] = variable
            lookups.append(
                f"{variable}=$(awslocal sqs get-queue-url --queue-name {word(queue.name)} "
                "--query QueueUrl --output text)"
            )
    if resources.domain is not None:
        domain = _logical_id(template, "AWS::OpenSearchService::Domain", str(resources.domain["DomainName"]))
        variables[template.get_att(domain, "DomainEndpoint")] = "search_endpoint"
        lookups.append(
            f"search_endpoint=$(awslocal opensearch describe-domain --domain-name "
            f"{word(str(resources.domain['DomainName']))} --query DomainStatus.Endpoint --output text)"
        )
    overrides = []
    for parameter, variable in OVERRIDABLE.items():
        value = str(template.parameters[parameter])
        variables[value] = variable
        overrides.append(f'{variable}="${{{variable}:-{value}}}"  # parameter {parameter}')
    zips = " ".join(PurePosixPath(_code_uri(template, function)).stem for function in resources.functions)
    body = [
        _header(
            template,
            f"""
# Lambda functions (each from $LAMBDA_BUILD_DIR/<function>.zip, built by `make package`), their
# execution role and log groups; a function URL for each function behind the HTTP API, which
# LocalStack's free tier does not have. LocalStack's free tier does not enforce IAM, so the
# functions share one role. Idempotent: an existing function, role or log group is left as it is.
# Overridable from the environment: {", ".join(OVERRIDABLE.values())}.""",
        ),
        f"""root="$(cd "$(dirname "$0")/../../.." && pwd)"
build_dir="${{LAMBDA_BUILD_DIR:-$root/build/lambda}}"
{chr(10).join(overrides)}

for function in {zips}; do
  if [ ! -f "$build_dir/$function.zip" ]; then
    echo "$build_dir/$function.zip not found: run \\`make package\\` before starting LocalStack" >&2
    exit 1
  fi
done

role={word(resources.role)}
role_arn=$(awslocal iam get-role --role-name "$role" --query Role.Arn --output text 2>/dev/null) ||
  role_arn=$(awslocal iam create-role --role-name "$role" --query Role.Arn --output text \\
    --assume-role-policy-document '{json.dumps(FUNCTION_ROLE_POLICY)}')
{chr(10).join(lookups)}

create_function() {{  # name, zip, CreateFunction request without role and code
  if awslocal lambda get-function --function-name "$1" >/dev/null 2>&1; then
    echo "function $1 exists"
    return
  fi
  awslocal lambda create-function --cli-input-json "$3" --role "$role_arn" \\
    --zip-file "fileb://$build_dir/$2.zip" >/dev/null
  awslocal lambda wait function-active-v2 --function-name "$1"
  echo "function $1 created"
}}

create_log_group() {{  # name, retention in days
  local found
  found=$(awslocal logs describe-log-groups --log-group-name-prefix "$1" \\
    --query "logGroups[?logGroupName=='$1'].logGroupName" --output text)
  if [ -z "$found" ]; then
    awslocal logs create-log-group --log-group-name "$1"
    echo "log group $1 created"
  fi
  awslocal logs put-retention-policy --log-group-name "$1" --retention-in-days "$2"
}}

create_function_url() {{  # name: the HTTP API's payload-2.0 events, authenticated by the API's own keys
  if ! awslocal lambda get-function-url-config --function-name "$1" >/dev/null 2>&1; then
    awslocal lambda create-function-url-config --function-name "$1" --auth-type NONE >/dev/null
    echo "function URL of $1 created"
  fi
}}

pids=()""",
    ]
    for function in resources.functions:
        stem = PurePosixPath(_code_uri(template, function)).stem
        steps = [
            f"create_function {word(function.name)} {word(stem)} {json_word(function.request, variables)}"
        ]
        if function.log_retention_days is not None:
            steps.append(f"create_log_group {word(function.log_group)} {function.log_retention_days}")
        if function.http_api:
            steps.append(f"create_function_url {word(function.name)}")
        body.append("\n".join(_background(steps)))
    body.append(WAIT_ALL)
    return "\n".join(body)


def mappings_script(resources: LocalResources) -> str:
    template = resources.template
    variables: dict[str, str] = {}
    lookups: list[str] = []
    for table in resources.tables:
        if "StreamSpecification" in table.request:
            logical_id = _logical_id(template, "AWS::DynamoDB::Table", table.name)
            variable = f"{_short(resources, table.name)}_stream_arn"
            variables[template.get_att(logical_id, "StreamArn")] = variable
            lookups.append(
                f"{variable}=$(awslocal dynamodbstreams list-streams --table-name {word(table.name)} "
                "--query 'Streams[0].StreamArn' --output text)"
            )
    body = [
        _header(
            template,
            """
# Event source mappings with every setting the template declares. Never run this against moto:
# mappings there make it invoke Lambdas through Docker and drop stream records (the embedded
# stack's local ESM runner reads them from template.yaml instead).
# Idempotent: a function already mapped to the same source is left as it is.""",
        ),
        "\n".join(lookups),
        """existing=$(awslocal lambda list-event-source-mappings --output text \\
  --query 'EventSourceMappings[].[FunctionArn, EventSourceArn]')

map() {  # function, source ARN, CreateEventSourceMapping request
  if grep -qF ":function:$1"$'\\t'"$2" <<<"$existing"; then
    echo "mapping $2 -> $1 exists"
    return
  fi
  awslocal lambda create-event-source-mapping --cli-input-json "$3" >/dev/null
  echo "mapping $2 -> $1 created"
}
""",
    ]
    for spec in resources.mappings:
        source, request = word(spec.source_arn, variables), json_word(mapping_request(spec), variables)
        body.append(f"map {word(spec.function_name)} {source} {request}")
    return "\n".join(body) + "\n"


def alarms_script(resources: LocalResources) -> str:
    template = resources.template
    assert resources.topic is not None
    topic_arn = template.ref(_logical_id(template, "AWS::SNS::Topic", resources.topic))
    body = [
        _header(
            template,
            """
# The alarm topic and the CloudWatch alarms notifying it (the HTTP API's alarms exist only on
# AWS: LocalStack's free tier has no HTTP API). Idempotent: create-topic returns the existing
# topic; put-metric-alarm creates or replaces.""",
        ),
        f"""topic={word(resources.topic)}
topic_arn=$(awslocal sns create-topic --name "$topic" --query TopicArn --output text)
echo "topic $topic ready"

put_alarm() {{  # name, PutMetricAlarm request
  awslocal cloudwatch put-metric-alarm --cli-input-json "$2"
  echo "alarm $1 ready"
}}

pids=()""",
    ]
    for alarm in resources.alarms:
        body += [
            f"put_alarm {word(alarm['AlarmName'])} {json_word(alarm, {topic_arn: 'topic_arn'})} &",
            "pids+=($!)",
        ]
    body.append(WAIT_ALL)
    return "\n".join(body)


def _logical_id(template: Template, kind: str, physical: str) -> str:
    return next(
        name
        for name, resource in template.resources.items()
        if resource["Type"] == kind and template.exists(name) and template.physical_name(name) == physical
    )


def _code_uri(template: Template, function: Any) -> str:
    return str(template.function_setting(function.logical_id, "CodeUri"))


def render(template: Template | None = None) -> dict[str, str]:
    """File name -> content of every init script, for the template's stage."""
    resources = read_resources(template or Template(STAGE, aws_endpoint=RENDER_ENDPOINT))
    scripts = {"01-tables.sh": tables_script(resources), "02-queues.sh": queues_script(resources)}
    if resources.domain is not None:
        scripts["03-opensearch.sh"] = opensearch_script(resources)
    scripts["04-functions.sh"] = functions_script(resources)
    scripts["05-mappings.sh"] = mappings_script(resources)
    if resources.topic is not None:
        scripts["06-alarms.sh"] = alarms_script(resources)
    return scripts


def drift(directory: Path = INIT_DIR, template: Template | None = None) -> list[str]:
    """The scripts in `directory` that differ from what the generator produces now."""
    expected = render(template)
    present = {path.name for path in directory.glob("*.sh")}
    return sorted(
        name
        for name in present | set(expected)
        if name not in expected
        or not (directory / name).exists()
        or (directory / name).read_text() != expected[name]
    )


def write(directory: Path = INIT_DIR, template: Template | None = None) -> list[Path]:
    """Write every script (executable) and remove `*.sh` files the generator no longer produces."""
    directory.mkdir(parents=True, exist_ok=True)
    scripts = render(template)
    for stale in directory.glob("*.sh"):
        if stale.name not in scripts:
            stale.unlink()
    written = []
    for name, content in scripts.items():
        path = directory / name
        path.write_text(content)
        path.chmod(0o755)
        written.append(path)
    return written
