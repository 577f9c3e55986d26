"""`triggers keys create --tenant T`: a new API key, printed once."""

import argparse

from devtools.template import Template


def create(args: argparse.Namespace) -> int:
    from ingest.api_keys_table import create_api_key

    table = Template(args.stage).physical_name("ApiKeysTable")
    print(create_api_key(args.target.client("dynamodb"), table, args.tenant))
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(
        dest="keys_command", required=True
    )
    create_parser = keys.add_parser("create", help="create an API key for a tenant and print it (shown once)")
    create_parser.add_argument("--tenant", required=True)
    create_parser.set_defaults(func=create)
