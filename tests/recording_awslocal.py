"""A stand-in for `awslocal` (and `curl`) that records each call instead of reaching AWS.

Installed first on PATH by tests/init_parity.py as `awslocal` and `curl`. Every call is appended
as one JSON line ({"tool", "args"}) to $RECORD_FILE. Read calls get a plausible answer built from
the calls recorded so far: a table, domain, role, function, log group or mapping exists once its
create call was recorded, so the scripts take their create paths on the first run and their
"exists" paths on the second. `--query` and `--output text` are applied like the AWS CLI does.
"""

import json
import os
import sys
from typing import Any
from urllib.parse import urlparse

import jmespath

REGION = "us-east-1"
ACCOUNT = "000000000000"
NOT_FOUND = 254  # the AWS CLI's exit status for a service error
CURL_HTTP_ERROR = 22  # curl -f on an HTTP status >= 400


def option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def recorded() -> list[list[str]]:
    with open(os.environ["RECORD_FILE"]) as handle:
        return [json.loads(line)["args"] for line in handle if line.strip()]


def created(service: str, operation: str, name_option: str) -> list[str]:
    return [
        value
        for args in recorded()
        if args[:2] == [service, operation] and (value := option(args, name_option)) is not None
    ]


def queue_url(name: str) -> str:
    return f"http://localhost:4566/{ACCOUNT}/{name}"


def answer(args: list[str]) -> dict[str, Any] | None:
    """The response of a read call, {} for a write, None for 'resource not found'."""
    service, operation = args[0], args[1]
    name = option(args, "--table-name") or option(args, "--domain-name") or option(args, "--role-name")
    if (service, operation) == ("dynamodb", "describe-table"):
        exists = name in created("dynamodb", "create-table", "--table-name")
        return {"Table": {"TableName": name, "TableStatus": "ACTIVE"}} if exists else None
    if (service, operation) == ("dynamodb", "describe-time-to-live"):
        enabled = name in created("dynamodb", "update-time-to-live", "--table-name")
        return {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED" if enabled else "DISABLED"}}
    if (service, operation) == ("dynamodbstreams", "list-streams"):
        arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}/stream/2026-01-01T00:00:00.000"
        return {"Streams": [{"StreamArn": arn, "TableName": name}]}
    if (service, operation) == ("sqs", "get-queue-url"):
        return {"QueueUrl": queue_url(str(option(args, "--queue-name")))}
    if (service, operation) == ("sqs", "get-queue-attributes"):
        queue = str(option(args, "--queue-url")).rsplit("/", 1)[-1]
        return {"Attributes": {"QueueArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}"}}
    if (service, operation) == ("sqs", "list-queues"):
        prefix = option(args, "--queue-name-prefix") or ""
        names = dict.fromkeys(created("sqs", "create-queue", "--queue-name"))
        return {"QueueUrls": [queue_url(queue) for queue in names if queue.startswith(prefix)]}
    if (service, operation) == ("sns", "create-topic"):
        return {"TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:{option(args, '--name')}"}
    if (service, operation) == ("opensearch", "describe-domain"):
        if name not in created("opensearch", "create-domain", "--domain-name"):
            return None
        endpoint = f"{name}.{REGION}.opensearch.localhost.localstack.cloud:4566"
        return {"DomainStatus": {"DomainName": name, "Processing": False, "Endpoint": endpoint}}
    if (service, operation) == ("iam", "get-role"):
        exists = name in created("iam", "create-role", "--role-name")
        return {"Role": {"Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}"}} if exists else None
    if (service, operation) == ("iam", "create-role"):
        return {"Role": {"Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}"}}
    if (service, operation) == ("lambda", "list-functions"):
        functions = created("lambda", "create-function", "--function-name")
        return {"Functions": [{"FunctionName": function} for function in functions]}
    if (service, operation) == ("logs", "describe-log-groups"):
        groups = created("logs", "create-log-group", "--log-group-name")
        return {"logGroups": [{"logGroupName": group} for group in groups]}
    if (service, operation) == ("lambda", "list-event-source-mappings"):
        function_arn_prefix = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
        mappings = [
            {
                "FunctionArn": f"{function_arn_prefix}{option(call, '--function-name')}",
                "EventSourceArn": option(call, "--event-source-arn"),
            }
            for call in recorded()
            if call[:2] == ["lambda", "create-event-source-mapping"]
        ]
        return {"EventSourceMappings": mappings}
    return {}


def curl(args: list[str]) -> int:
    """OpenSearch: a `--head` on an alias fails like `curl -f` on a 404 until an index was PUT."""
    if "--head" not in args:
        return 0
    with open(os.environ["RECORD_FILE"]) as handle:
        calls = [json.loads(line)["args"] for line in handle if line.strip()]
    index_created = any("PUT" in call and not is_api_path(call) for call in calls)
    return 0 if index_created else CURL_HTTP_ERROR


def is_api_path(curl_args: list[str]) -> bool:
    """`/_index_template/x`, `/_alias/x`: an API call, not an index."""
    url = next(arg for arg in curl_args if arg.startswith("http"))
    return any(segment.startswith("_") for segment in urlparse(url).path.split("/"))


def text(value: Any) -> str:
    """The AWS CLI's text output: scalars as is, lists tab-separated, lists of lists one per line."""
    if isinstance(value, list):
        if value and all(isinstance(item, list) for item in value):
            return "\n".join("\t".join(str(cell) for cell in row) for row in value)
        return "\t".join(str(item) for item in value)
    return "None" if value is None else str(value)


def main() -> int:
    tool, args = sys.argv[1], sys.argv[2:]
    line = (json.dumps({"tool": tool, "args": args}) + "\n").encode()
    # One write on an O_APPEND descriptor: lines of concurrent calls never interleave.
    descriptor = os.open(os.environ["RECORD_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)
    if tool == "curl":
        return curl(args)
    if args[1:2] == ["wait"]:
        return 0
    response = answer(args)
    if response is None:
        print(f"An error occurred (ResourceNotFoundException) when calling {args[1]}", file=sys.stderr)
        return NOT_FOUND
    query = option(args, "--query")
    result = jmespath.search(query, response) if query else response
    print(text(result) if option(args, "--output") == "text" else json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
