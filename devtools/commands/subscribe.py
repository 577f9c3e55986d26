"""`triggers subscribe URL --types a,b`: subscribe a webhook through the HTTP API, print id and secret.

When the URL is a `triggers receiver` on this machine (127.0.0.1, or host.docker.internal as
LocalStack's functions name this machine), it is given the secret to verify with."""

import argparse

from rich.console import Console

from devtools.api_client import NO_API_KEY, ApiError, api_client, subscribe
from devtools.console import emit, fail
from devtools.receiver import container_target, register_secret


def run(args: argparse.Namespace) -> int:
    if not args.target.api_key:
        return fail(args, NO_API_KEY, 2)
    instead = container_target(args.url, args.target.api_url)
    if instead:
        # A loopback target on LocalStack is the function's own container: it can never be delivered.
        return fail(
            args,
            f"the API is LocalStack's, whose functions run in containers where {args.url} is the "
            f"container itself; for a receiver on this machine subscribe {instead} (on Linux run "
            "`triggers receiver --host 0.0.0.0` so the containers reach it)",
            2,
        )
    event_types = [name.strip() for name in args.types.split(",") if name.strip()]
    try:
        with api_client(args.target) as client:
            subscription = subscribe(client, args.url, event_types)
    except ApiError as exc:
        return fail(args, f"subscribe failed: {exc}", status=exc.status, problem=exc.problem)
    # A `triggers receiver` at the target learns the secret, so its deliveries show verified.
    subscription["receiver_verifies"] = register_secret(args.url, subscription["secret"])

    def human(out: Console) -> None:
        out.print(f"[bold green]subscription[/] {subscription['id']}")
        out.print(f"  target  {subscription['target_url']}")
        out.print(f"  types   {','.join(subscription['event_types'])}")
        out.print(f"  secret  [bold]{subscription['secret']}[/]   (shown once)")
        if subscription["receiver_verifies"]:
            out.print("\nThe receiver at that URL now verifies deliveries with this secret.")
        else:
            out.print(f"\nVerify deliveries with: triggers receiver --secret {subscription['secret']}")

    emit(args, subscription, human)
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser(
        "subscribe",
        help="subscribe a webhook URL to event types; prints the id and the signing secret",
    )
    parser.add_argument(
        "url",
        help="target URL (loopback is allowed on the local stage; on LocalStack a receiver on this "
        "machine is http://host.docker.internal:PORT/...)",
    )
    parser.add_argument("--types", default="*", help="comma-separated event types, or * for all")
    parser.set_defaults(func=run)
