"""`triggers limits show | set | reset`: a tenant's rate limits and subscription quota.

Limits a tenant has no override for are the defaults of the ingest function's settings
(`RATE_LIMIT_*`, `MAX_SUBSCRIPTIONS_PER_TENANT`; shown here as the code's defaults). Warm function
instances apply a change within `RATE_LIMIT_SETTINGS_SECONDS` (30 s); the quota applies to the next
subscribe. A change is recorded in the tenant's audit trail (`limits.update`, actor `cli:<user>`).
"""

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from devtools.audit import cli_actor, cli_audit_log
from devtools.commands.keys import tenant_id
from devtools.console import emit, fail
from devtools.template import Template
from ingest.core import subscriptions_table, tenants_table
from ingest.core.audit_table import record_change
from ingest.core.errors import TriggersError
from ingest.core.settings import IngestSettings
from ingest.core.tenants_table import SETTABLE, TenantLimits

# Each settable limit: its command-line flag, the setting holding its default, what it means.
LIMITS: dict[str, tuple[str, str, str]] = {
    "ingest_per_second": ("--ingest-rate", "rate_limit_ingest_per_second", "POST /v1/events requests/s"),
    "ingest_burst": ("--ingest-burst", "rate_limit_ingest_burst", "POST /v1/events requests at once"),
    "management_per_second": (
        "--management-rate",
        "rate_limit_management_per_second",
        "requests/s on every other route",
    ),
    "management_burst": ("--management-burst", "rate_limit_management_burst", "other requests at once"),
    "max_subscriptions": ("--max-subscriptions", "max_subscriptions_per_tenant", "subscriptions at most"),
}
assert tuple(LIMITS) == SETTABLE


def _default(name: str) -> Any:
    return IngestSettings.model_fields[LIMITS[name][1]].default


def positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: a rate is a number of requests per second above 0")
    return value


def count(minimum: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r}: at least {minimum}")
        return value

    return parse


def limit_name(text: str) -> str:
    if text not in SETTABLE:
        raise argparse.ArgumentTypeError(f"{text!r} is not a limit ({', '.join(SETTABLE)})")
    return text


def _tables(args: argparse.Namespace) -> tuple[str, str]:
    template = Template(args.stage)
    return template.physical_name("TenantsTable"), template.physical_name("SubscriptionsTable")


def _show(args: argparse.Namespace, limits: TenantLimits) -> int:
    client = args.target.client("dynamodb")
    try:
        subscriptions = subscriptions_table.subscription_count(client, _tables(args)[1], args.tenant)
    except TriggersError as exc:
        return fail(args, exc.detail)
    effective = {
        name: {
            "value": getattr(limits, name) if getattr(limits, name) is not None else _default(name),
            "source": "tenant" if getattr(limits, name) is not None else "default",
        }
        for name in LIMITS
    }
    data = {
        "tenant_id": args.tenant,
        "limits": effective,
        "subscriptions": subscriptions,
        "updated_at": limits.updated_at,
    }

    def human(out: Console) -> None:
        table = Table("limit", "value", "source", "meaning", title=f"tenant {args.tenant}")
        for name, (flag, _setting, meaning) in LIMITS.items():
            value, source = effective[name]["value"], effective[name]["source"]
            table.add_row(
                flag.removeprefix("--"),
                f"{value:g}",
                source if source == "tenant" else "[dim]default",
                meaning,
            )
        out.print(table)
        quota = effective["max_subscriptions"]["value"]
        out.print(f"subscriptions: {subscriptions} of {quota}")

    emit(args, data, human)
    return 0


def show(args: argparse.Namespace) -> int:
    try:
        limits = tenants_table.get_limits(args.target.client("dynamodb"), _tables(args)[0], args.tenant)
    except TriggersError as exc:
        return fail(args, exc.detail)
    return _show(args, limits)


def set_limits(args: argparse.Namespace) -> int:
    values = {name: getattr(args, name) for name in LIMITS if getattr(args, name, None) is not None}
    if not values:
        return fail(
            args, f"nothing to set: give at least one of {', '.join(flag for flag, *_ in LIMITS.values())}", 2
        )
    return _update(args, values, ())


def reset(args: argparse.Namespace) -> int:
    names = tuple(dict.fromkeys(getattr(args, "limits", ()))) or SETTABLE
    return _update(args, {}, names)


def _overrides(limits: TenantLimits) -> dict[str, float | int | None]:
    return {name: getattr(limits, name) for name in LIMITS}


def _update(args: argparse.Namespace, values: dict[str, float], names: tuple[str, ...]) -> int:
    client = args.target.client("dynamodb")
    try:
        before = tenants_table.get_limits(client, _tables(args)[0], args.tenant)
        limits = tenants_table.update_limits(client, _tables(args)[0], args.tenant, values, names)
    except ValueError as exc:
        return fail(args, str(exc).splitlines()[0], 2)
    except TriggersError as exc:
        return fail(args, exc.detail)
    if _overrides(limits) != _overrides(before):
        record_change(
            cli_audit_log(client, Template(args.stage)),
            tenant_id=args.tenant,
            actor=cli_actor(),
            action="limits.update",
            resource_type="tenant",
            resource_id=args.tenant,
            before={name: _text(value) for name, value in _overrides(before).items()},
            after={name: _text(value) for name, value in _overrides(limits).items()},
        )
    return _show(args, limits)


def _text(value: float | int | None) -> str | None:
    """An override as the audit trail keeps it (`None`: the default applies)."""
    return None if value is None else f"{value:g}"


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    limits = commands.add_parser(
        "limits", help="show and change a tenant's rate limits and subscription quota"
    ).add_subparsers(dest="limits_command", required=True, metavar="ACTION")
    show_parser = limits.add_parser("show", help="the tenant's limits: its own, or the defaults")
    show_parser.add_argument("--tenant", required=True, type=tenant_id, help="tenant id")
    show_parser.set_defaults(func=show)

    set_parser = limits.add_parser("set", help="override some of the tenant's limits (the others stay)")
    set_parser.add_argument("--tenant", required=True, type=tenant_id, help="tenant id")
    for name, (flag, _setting, meaning) in LIMITS.items():
        kind = (
            positive_number
            if name.endswith("_per_second")
            else count(0 if name == "max_subscriptions" else 1)
        )
        set_parser.add_argument(
            flag,
            dest=name,
            type=kind,
            metavar="N",
            default=argparse.SUPPRESS,
            help=f"{meaning} (the default: {_default(name):g})",
        )
    set_parser.set_defaults(func=set_limits)

    reset_parser = limits.add_parser("reset", help="back to the defaults: the limits named, or all")
    reset_parser.add_argument("--tenant", required=True, type=tenant_id, help="tenant id")
    reset_parser.add_argument(
        "limits",
        nargs="*",
        type=limit_name,
        metavar="LIMIT",
        default=argparse.SUPPRESS,
        help=f"which limits ({', '.join(SETTABLE)}); none: all of them",
    )
    reset_parser.set_defaults(func=reset)
