"""`triggers subscriptions ls | disable | enable | rm`: manage the tenant's existing subscriptions.

Each action is one call of the HTTP API with the API key (`GET /v1/subscriptions`,
`POST /v1/subscriptions/{id}/disable`, `POST /v1/subscriptions/{id}/enable`,
`DELETE /v1/subscriptions/{id}`), so the key's tenant and scope (`subscriptions:manage`) apply: another
tenant's subscription is `404 not found`. Nothing printed carries a secret or a custom header's value
(the API never answers the signing secret after `subscribe`; headers are left out here).

`disable` stops deliveries as an automatic disable does (waiting retries are dead-lettered unsent);
a subscription already disabled keeps its first reason. `rm` asks for confirmation on a terminal
and, without one (scripts, CI), refuses unless given `--yes`.
"""

import argparse
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.prompt import Confirm
from triggers_client.models import SubscriptionOut

from devtools.api_client import (
    NO_API_KEY,
    ApiError,
    api_client,
    disable,
    enable,
    subscription,
    subscriptions,
    unsubscribe,
)
from devtools.console import emit, fail, stderr


def public(item: SubscriptionOut) -> dict[str, Any]:
    """What the CLI shows of a subscription: never its headers' values (nor a secret: the API has none)."""
    return {
        "id": item.id,
        "status": item.status.value,
        "disabled_reason": item.disabled_reason,
        "failing_since": item.failing_since,
        "target_url": item.target_url,
        "event_types": list(item.event_types),
        "description": item.description,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def _status(item: dict[str, Any]) -> str:
    """The status padded to one width (`disabled`), with `failing` while a failure streak runs."""
    status = f"{item['status']:<8}"
    if item["status"] != "active":
        return f"[red]{escape(status)}[/]"
    return "[green]active  [/]" + (" [yellow](failing)[/]" if item["failing_since"] else "")


def list_subscriptions(args: argparse.Namespace) -> int:
    if not args.target.api_key:
        return fail(args, NO_API_KEY, 2)
    try:
        with api_client(args.target) as client:
            items = [public(item) for item in subscriptions(client)]
    except ApiError as exc:
        return fail(args, f"listing subscriptions failed: {exc}", status=exc.status, problem=exc.problem)

    def human(out: Console) -> None:
        if not items:
            out.print("no subscriptions (create one with `triggers subscribe URL`)")
            return
        # One line a subscription (greppable, never wrapped), its disabled reason below it.
        for item in items:
            out.print(
                f"{item['id']}  {_status(item)}  {escape(item['target_url'])}  "
                f"{escape(','.join(item['event_types']))}"
            )
            if item["disabled_reason"]:
                out.print(f"    reason: {escape(item['disabled_reason'])}")

    emit(args, items, human)
    return 0


def _change(args: argparse.Namespace, action: str) -> int:
    """Disable or enable: the subscription as the API answered, with `changed` (was it otherwise before)."""
    if not args.target.api_key:
        return fail(args, NO_API_KEY, 2)
    wanted = "disabled" if action == "disable" else "active"
    try:
        with api_client(args.target) as client:
            before = subscription(client, args.id)
            after = disable(client, args.id, args.reason) if action == "disable" else enable(client, args.id)
    except ApiError as exc:
        return fail(args, f"{action} failed: {exc}", status=exc.status, problem=exc.problem)
    data = {**public(after), "changed": before.status.value != wanted}

    def human(out: Console) -> None:
        if not data["changed"]:
            out.print(f"subscription {data['id']} was already {wanted}: left unchanged")
        elif action == "disable":
            out.print(f"[bold red]disabled[/] subscription {data['id']}: deliveries stop")
        else:
            out.print(f"[bold green]enabled[/] subscription {data['id']}: deliveries resume")
        if data["disabled_reason"]:
            out.print(f"  reason  {escape(data['disabled_reason'])}")
        out.print(f"  target  {escape(data['target_url'])}")
        if data["changed"] and action == "enable":
            out.print("Deliveries dead-lettered while it was disabled: `triggers dlq redrive --all`.")

    emit(args, data, human)
    return 0


def disable_subscription(args: argparse.Namespace) -> int:
    return _change(args, "disable")


def enable_subscription(args: argparse.Namespace) -> int:
    return _change(args, "enable")


def remove(args: argparse.Namespace) -> int:
    if not args.target.api_key:
        return fail(args, NO_API_KEY, 2)
    if not args.yes and not sys.stdin.isatty():
        return fail(args, f"rm deletes subscription {args.id} for good: confirm with --yes", 2)
    try:
        with api_client(args.target) as client:
            if not args.yes:
                found = subscription(client, args.id)
                question = (
                    f"Delete subscription {escape(found.id)} ({escape(found.target_url)}) for good? "
                    "Its deliveries stop"
                )
                if not Confirm.ask(question, console=stderr(args)):
                    return fail(args, "not deleted", 1)
            unsubscribe(client, args.id)
    except ApiError as exc:
        return fail(args, f"rm failed: {exc}", status=exc.status, problem=exc.problem)
    emit(
        args,
        {"id": args.id, "deleted": True},
        lambda out: out.print(f"[yellow]deleted[/] subscription {escape(args.id)}"),
    )
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser(
        "subscriptions",
        help="list, disable, enable and delete the tenant's subscriptions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="subscriptions_command", required=True, metavar="ACTION")

    ls = actions.add_parser("ls", help="the tenant's subscriptions: id, status, disabled reason, target")
    ls.set_defaults(func=list_subscriptions)

    disable_parser = actions.add_parser(
        "disable", help="stop a subscription's deliveries (waiting retries are dead-lettered unsent)"
    )
    disable_parser.add_argument("id", metavar="ID", help="subscription id (sub_...)")
    disable_parser.add_argument(
        "--reason", help="why, kept as its disabled_reason (1-200 characters; default: the key's id)"
    )
    disable_parser.set_defaults(func=disable_subscription)

    enable_parser = actions.add_parser("enable", help="resume a disabled subscription's deliveries")
    enable_parser.add_argument("id", metavar="ID", help="subscription id (sub_...)")
    enable_parser.set_defaults(func=enable_subscription)

    rm = actions.add_parser(
        "rm",
        aliases=["unsubscribe"],
        help="delete a subscription for good (asks first; without a terminal needs --yes)",
    )
    rm.add_argument("id", metavar="ID", help="subscription id (sub_...)")
    rm.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    rm.set_defaults(func=remove)
