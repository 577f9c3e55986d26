"""`triggers subscribe URL --types a,b`: subscribe a webhook through the HTTP API, print id and secret."""

import argparse

import requests
from rich.console import Console

from devtools.console import emit, fail


def run(args: argparse.Namespace) -> int:
    target = args.target
    if not target.api_key:
        return fail(args, "no API key: pass --api-key, set TRIGGERS_API_KEY, or start `triggers up`", 2)
    event_types = [name.strip() for name in args.types.split(",") if name.strip()]
    try:
        response = requests.post(
            f"{target.api_url}/v1/subscriptions",
            json={"target_url": args.url, "event_types": event_types},
            headers={"Authorization": f"Bearer {target.api_key}"},
            timeout=30,
        )
    except requests.RequestException as exc:
        return fail(args, f"cannot reach the API at {target.api_url}: {type(exc).__name__}")
    if response.status_code != 201:
        return fail(
            args,
            f"subscribe failed: HTTP {response.status_code}: {response.text}",
            status=response.status_code,
        )
    subscription = response.json()

    def human(out: Console) -> None:
        out.print(f"[bold green]subscription[/] {subscription['id']}")
        out.print(f"  target  {subscription['target_url']}")
        out.print(f"  types   {','.join(subscription['event_types'])}")
        out.print(f"  secret  [bold]{subscription['secret']}[/]   (shown once)")
        out.print(f"\nVerify deliveries with: triggers receiver --secret {subscription['secret']}")

    emit(args, subscription, human)
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser(
        "subscribe",
        help="subscribe a webhook URL to event types; prints the id and the signing secret",
    )
    parser.add_argument("url", help="target URL (loopback is allowed on the local stage)")
    parser.add_argument("--types", default="*", help="comma-separated event types, or * for all")
    parser.set_defaults(func=run)
