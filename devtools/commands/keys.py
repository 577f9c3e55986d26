"""`triggers keys create | ls | revoke`: the API keys of tenants (stored only as SHA-256)."""

import argparse
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from devtools.console import emit, fail, stderr
from devtools.template import Template
from ingest.core.api_keys_table import (
    KEY_ID_CHARS,
    KEY_PREFIX,
    ApiKeyInfo,
    create_api_key,
    hash_key,
    key_id,
    list_api_keys,
    revoke_api_key,
)
from ingest.core.errors import TriggersError

MIN_KEY_ID_CHARS = 8
MAX_TENANT_CHARS = 256


def tenant_id(text: str) -> str:
    value = text.strip()
    if not value or len(value) > MAX_TENANT_CHARS or any(char.isspace() for char in value):
        raise argparse.ArgumentTypeError(f"a tenant id is 1-{MAX_TENANT_CHARS} characters without spaces")
    return value


def _moment(iso: str | None) -> str:
    return (iso or "")[:19].replace("T", " ")


def _table(args: argparse.Namespace) -> str:
    return Template(args.stage).physical_name("ApiKeysTable")


def create(args: argparse.Namespace) -> int:
    """Print the key alone on stdout (so `KEY=$(triggers keys create ...)` works), notes on stderr."""
    try:
        api_key = create_api_key(args.target.client("dynamodb"), _table(args), args.tenant)
    except TriggersError as exc:
        return fail(args, exc.detail)
    data = {"api_key": api_key, "key_id": key_id(api_key), "tenant_id": args.tenant}
    if getattr(args, "json", False):
        emit(args, data, lambda out: None)
        return 0
    sys.stdout.write(api_key + "\n")
    sys.stdout.flush()
    stderr(args).print(
        f"[green]created[/] key [bold]{data['key_id']}[/] for tenant [bold]{args.tenant}[/]"
        f" (shown once; revoke with `triggers keys revoke {data['key_id']}`)"
    )
    return 0


def list_keys(args: argparse.Namespace) -> int:
    try:
        keys = list_api_keys(args.target.client("dynamodb"), _table(args), tenant_id=args.tenant)
    except TriggersError as exc:
        return fail(args, exc.detail)

    def human(out: Console) -> None:
        table = Table("key id", "tenant", "hint", "created", "revoked")
        for key in keys:
            table.add_row(
                key.key_id,
                key.tenant_id,
                key.key_hint or "",
                _moment(key.created_at),
                _moment(key.revoked_at) or "[green]-",
            )
        out.print(table)

    emit(args, [key.public() for key in keys], human)
    return 0


def _resolve(args: argparse.Namespace, client: Any) -> ApiKeyInfo | int:
    """The key named by the argument (a key, or its id or an unambiguous id prefix), or an exit code."""
    name = args.key.strip()
    if name.startswith(KEY_PREFIX):
        matches = list_api_keys(client, _table(args), key_id_prefix=hash_key(name)[:KEY_ID_CHARS])
        matches = [key for key in matches if key.key_hash == hash_key(name)]
    elif len(name) < MIN_KEY_ID_CHARS or any(char not in "0123456789abcdef" for char in name.lower()):
        return fail(args, f"{name!r} is neither an API key ({KEY_PREFIX}...) nor a key id (hex, 8+ chars)", 2)
    else:
        matches = list_api_keys(client, _table(args), key_id_prefix=name)
    if not matches:
        return fail(args, "no such API key", 1)
    if len(matches) > 1:
        ids = ", ".join(key.key_id for key in matches)
        return fail(args, f"key id {name!r} is ambiguous: {ids}", 2)
    return matches[0]


def revoke(args: argparse.Namespace) -> int:
    client = args.target.client("dynamodb")
    try:
        found = _resolve(args, client)
        if isinstance(found, int):
            return found
        already = found.revoked_at is not None
        revoked = revoke_api_key(client, _table(args), found.key_hash)
    except TriggersError as exc:
        return fail(args, exc.detail)

    def human(out: Console) -> None:
        state = "was already revoked" if already else "revoked"
        out.print(
            f"[bold red]{state}[/] key [bold]{revoked.key_id}[/] of tenant {revoked.tenant_id}"
            f" (at {revoked.revoked_at}); requests with it now get 401"
        )

    emit(args, revoked.public(), human)
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    keys = commands.add_parser("keys", help="create, list and revoke API keys").add_subparsers(
        dest="keys_command", required=True, metavar="ACTION"
    )
    create_parser = keys.add_parser("create", help="create an API key for a tenant and print it (shown once)")
    create_parser.add_argument("--tenant", required=True, type=tenant_id, help="tenant id the key acts for")
    create_parser.set_defaults(func=create)
    list_parser = keys.add_parser("ls", help="list keys by id (never the keys themselves)")
    list_parser.add_argument("--tenant", help="only this tenant's keys")
    list_parser.set_defaults(func=list_keys)
    revoke_parser = keys.add_parser("revoke", help="revoke a key: the next request with it gets 401")
    revoke_parser.add_argument("key", metavar="KEY|KEY_ID", help="the key itself, or its id from `keys ls`")
    revoke_parser.set_defaults(func=revoke)
