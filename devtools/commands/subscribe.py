"""`triggers subscribe URL --types a,b`: subscribe a webhook through the HTTP API, print id and secret."""

import argparse
import os
import sys

import requests

DEFAULT_API_URL = "http://127.0.0.1:3000"


def run(args: argparse.Namespace) -> int:
    if not args.key:
        print("no API key: pass --key or set TRIGGERS_API_KEY", file=sys.stderr)
        return 2
    event_types = [name.strip() for name in args.types.split(",") if name.strip()]
    response = requests.post(
        args.api.rstrip("/") + "/v1/subscriptions",
        json={"target_url": args.url, "event_types": event_types},
        headers={"Authorization": f"Bearer {args.key}"},
        timeout=30,
    )
    if response.status_code != 201:
        print(f"subscribe failed: HTTP {response.status_code}", file=sys.stderr)
        print(response.text, file=sys.stderr)
        return 1
    subscription = response.json()
    print(f"subscription {subscription['id']}")
    print(f"  target  {subscription['target_url']}")
    print(f"  types   {','.join(subscription['event_types'])}")
    print(f"  secret  {subscription['secret']}   (shown once)")
    print(f"\nVerify deliveries with: triggers receiver --secret {subscription['secret']}")
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser(
        "subscribe",
        help="subscribe a webhook URL to event types; prints the id and the signing secret",
    )
    parser.add_argument("url", help="target URL (loopback is allowed on the local stage)")
    parser.add_argument("--types", default="*", help="comma-separated event types, or * for all (default)")
    parser.add_argument(
        "--api",
        default=os.environ.get("TRIGGERS_API_URL", DEFAULT_API_URL),
        help=f"API base URL (default: TRIGGERS_API_URL or {DEFAULT_API_URL})",
    )
    parser.add_argument(
        "--key",
        default=os.environ.get("TRIGGERS_API_KEY"),
        help="API key (default: TRIGGERS_API_KEY)",
    )
    parser.set_defaults(func=run)
