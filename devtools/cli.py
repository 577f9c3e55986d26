"""`triggers`: the developer CLI for the local stack."""

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence

from devtools.stack import LOCAL_CREDENTIALS, EmbeddedStack, Ports
from devtools.template import Template


def _aws_client(service: str, endpoint: str):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client(service, endpoint_url=endpoint, **_credentials())


def _credentials() -> dict[str, str]:
    return {
        "region_name": os.environ.get("AWS_DEFAULT_REGION", LOCAL_CREDENTIALS["AWS_DEFAULT_REGION"]),
        "aws_access_key_id": os.environ.get("AWS_ACCESS_KEY_ID", LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"]),
        "aws_secret_access_key": os.environ.get(
            "AWS_SECRET_ACCESS_KEY", LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
        ),
    }


def cmd_up(args: argparse.Namespace) -> int:
    ports = Ports(aws=args.aws_port, api=args.api_port, opensearch=args.opensearch_port)
    stack = EmbeddedStack(stage=args.stage, ports=ports, say=lambda line: print(f"  {line}", flush=True))
    print("Starting the Triggers local stack...", flush=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with stack:
        from ingest.api_keys_table import create_api_key
        from ingest.clients import dynamodb_client

        api_key = create_api_key(dynamodb_client(), stack.template.physical_name("ApiKeysTable"), args.tenant)
        events_table = stack.template.physical_name("EventsTable")
        print(
            f"""
Triggers is up (stage {args.stage}). Ctrl-C stops everything.

  API URL      {stack.api_url}
  API key      {api_key}   (tenant {args.tenant}; shown once)
  AWS endpoint {stack.aws_url}   (awslocal, or boto3 with AWS_ENDPOINT_URL)

Try:
  export URL={stack.api_url} KEY={api_key}
  curl -H "Authorization: Bearer $KEY" -d '{{"event_type":"order.created","payload":{{"id":1}}}}' $URL/v1/events
  uv run awslocal dynamodb scan --table-name {events_table}
""",
            flush=True,
        )
        try:
            stopping.wait()
        except KeyboardInterrupt:
            pass
        print("\nStopping...", flush=True)
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    from ingest.api_keys_table import create_api_key

    table = Template(args.stage).physical_name("ApiKeysTable")
    print(create_api_key(_aws_client("dynamodb", args.endpoint), table, args.tenant))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="triggers", description=__doc__)
    parser.add_argument("--stage", default=os.environ.get("STAGE", "local"))
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="start the embedded local stack in the foreground")
    up.add_argument("--tenant", default="demo", help="tenant of the API key printed at start")
    up.add_argument("--aws-port", type=int, default=4566)
    up.add_argument("--api-port", type=int, default=3000)
    up.add_argument("--opensearch-port", type=int, default=9200)
    up.set_defaults(func=cmd_up)

    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(dest="keys_command", required=True)
    create = keys.add_parser("create", help="create an API key for a tenant and print it (shown once)")
    create.add_argument("--tenant", required=True)
    create.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"))
    create.set_defaults(func=cmd_keys_create)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
