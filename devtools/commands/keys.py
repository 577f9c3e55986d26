"""`triggers keys create | ls | revoke`: the API keys of tenants (stored only as SHA-256).

`create` takes the key's scopes (`--scope`, repeatable; `admin` when none is given, which may do
everything) and an optional expiry (`--expires-in 30d` or `--expires-at <ISO 8601>`). Creating
and revoking are recorded in the tenant's audit trail as `cli:<user>`.
"""

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table

from devtools.audit import cli_actor, cli_audit_log
from devtools.console import emit, fail, stderr
from devtools.template import Template
from ingest.core.api_keys_table import (
    KEY_ID_CHARS,
    KEY_PREFIX,
    SCOPES,
    ApiKeyInfo,
    create_api_key,
    hash_key,
    key_id,
    list_api_keys,
    revoke_api_key,
)
from ingest.core.audit_table import record_change
from ingest.core.errors import TriggersError

MIN_KEY_ID_CHARS = 8
MAX_TENANT_CHARS = 256
DURATION = re.compile(r"^(\d{1,6})([mhdw])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def duration(text: str) -> timedelta:
    """`30d`, `12h`, `90m`, `2w`: a positive time to live."""
    match = DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError("a duration is a positive number and a unit: 90m, 12h, 30d, 2w")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def moment(text: str) -> datetime:
    """An ISO 8601 time with an offset (`2027-01-31T00:00:00Z`)."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("give the time with an offset (`Z` for UTC)")
    return value.astimezone(UTC)


def _key_fields(key: ApiKeyInfo) -> dict[str, str | list[str] | None]:
    """What the audit trail keeps of a key: its id, scopes and dates (never the key or its hash)."""
    return {
        "key_id": key.key_id,
        "scopes": list(key.scopes),
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
    }


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
    scopes = args.scopes or ["admin"]
    expires_at = args.expires_at or (datetime.now(UTC) + args.expires_in if args.expires_in else None)
    if expires_at is not None and expires_at <= datetime.now(UTC):
        return fail(args, f"the expiry {expires_at.isoformat()} has passed", 2)
    dynamodb = args.target.client("dynamodb")
    try:
        api_key = create_api_key(dynamodb, _table(args), args.tenant, scopes, expires_at)
    except TriggersError as exc:
        return fail(args, exc.detail)
    info = ApiKeyInfo(
        key_hash=hash_key(api_key),
        tenant_id=args.tenant,
        scopes=tuple(scope for scope in SCOPES if scope in scopes),
        expires_at=None if expires_at is None else expires_at.isoformat(),
    )
    record_change(
        cli_audit_log(dynamodb, Template(args.stage)),
        tenant_id=args.tenant,
        actor=cli_actor(),
        action="api_key.create",
        resource_type="api_key",
        resource_id=info.key_id,
        after=_key_fields(info),
    )
    data = {
        "api_key": api_key,
        "key_id": key_id(api_key),
        "tenant_id": args.tenant,
        "scopes": list(info.scopes),
        "expires_at": info.expires_at,
    }
    if getattr(args, "json", False):
        emit(args, data, lambda out: None)
        return 0
    sys.stdout.write(api_key + "\n")
    sys.stdout.flush()
    stderr(args).print(
        f"[green]created[/] key [bold]{data['key_id']}[/] for tenant [bold]{args.tenant}[/]"
        f" with scopes {', '.join(info.scopes)}"
        + (f", expiring {_moment(info.expires_at)} UTC" if info.expires_at else "")
        + f" (shown once; revoke with `triggers keys revoke {data['key_id']}`)"
    )
    return 0


def list_keys(args: argparse.Namespace) -> int:
    try:
        keys = list_api_keys(args.target.client("dynamodb"), _table(args), tenant_id=args.tenant)
    except TriggersError as exc:
        return fail(args, exc.detail)

    def human(out: Console) -> None:
        table = Table("key id", "tenant", "hint", "scopes", "created", "expires", "revoked")
        now = datetime.now(UTC)
        for key in keys:
            expiry = _moment(key.expires_at) or "[green]never"
            table.add_row(
                key.key_id,
                key.tenant_id,
                key.key_hint or "",
                " ".join(key.scopes),
                _moment(key.created_at),
                f"[red]{expiry} (expired)" if key.expired(now) else expiry,
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
    if not already:
        record_change(
            cli_audit_log(client, Template(args.stage)),
            tenant_id=revoked.tenant_id,
            actor=cli_actor(),
            action="api_key.revoke",
            resource_type="api_key",
            resource_id=revoked.key_id,
            before=_key_fields(found),
            after=_key_fields(revoked),
        )

    def human(out: Console) -> None:
        state = "was already revoked" if already else "revoked"
        out.print(
            f"[bold red]{state}[/] key [bold]{revoked.key_id}[/] of tenant {revoked.tenant_id}"
            f" (at {revoked.revoked_at}); requests with it get 401 within 5 s"
        )

    emit(args, revoked.public(), human)
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    keys = commands.add_parser("keys", help="create, list and revoke API keys").add_subparsers(
        dest="keys_command", required=True, metavar="ACTION"
    )
    create_parser = keys.add_parser("create", help="create an API key for a tenant and print it (shown once)")
    create_parser.add_argument("--tenant", required=True, type=tenant_id, help="tenant id the key acts for")
    create_parser.add_argument(
        "--scope",
        dest="scopes",
        action="append",
        choices=SCOPES,
        help="what the key may do (repeatable; default admin, which may do everything)",
    )
    expiry = create_parser.add_mutually_exclusive_group()
    expiry.add_argument("--expires-in", type=duration, help="the key expires after this long (30d, 12h, 2w)")
    expiry.add_argument(
        "--expires-at", type=moment, help="the key expires at this time (ISO 8601 with offset)"
    )
    create_parser.set_defaults(func=create)
    list_parser = keys.add_parser("ls", help="list keys by id (never the keys themselves)")
    list_parser.add_argument("--tenant", help="only this tenant's keys")
    list_parser.set_defaults(func=list_keys)
    revoke_parser = keys.add_parser(
        "revoke", help="revoke a key: requests with it get 401 within 5 s (API_KEY_CACHE_SECONDS)"
    )
    revoke_parser.add_argument("key", metavar="KEY|KEY_ID", help="the key itself, or its id from `keys ls`")
    revoke_parser.set_defaults(func=revoke)
