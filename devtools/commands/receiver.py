"""`triggers receiver`: a local webhook endpoint that verifies signatures and can misbehave on purpose."""

import argparse
import contextlib
import os
import signal
import sys
import threading

from devtools.receiver import DEFAULT_HOST, Faults, Receiver, parse_duration

EXPOSED_WARNING = """\
WARNING: listening on {host}, not 127.0.0.1. This is for LocalStack only: its Lambda containers
reach this machine at the Docker bridge address. Anything that can reach {host}:{port} (on 0.0.0.0:
other machines on your network) can post to this receiver and change its faults and secrets
through /_receiver. Stop it when you are done."""


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def run(args: argparse.Namespace) -> int:
    secrets = args.secret or [s for s in os.environ.get("TRIGGERS_WEBHOOK_SECRET", "").split(",") if s]
    faults = Faults(status=args.status, fail_rate=args.fail_rate, latency=args.latency, gone=args.gone)
    try:
        receiver = Receiver(
            secrets, host=args.host, port=args.port, faults=faults, say=lambda line: print(line, flush=True)
        )
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with receiver:
        checking = f"verifying with {len(secrets)} secret(s)" if secrets else "NOT verifying (no --secret)"
        print(f"Receiving webhooks at {receiver.url} ({checking}). Ctrl-C stops.", flush=True)
        if not receiver.loopback_only:
            print(EXPOSED_WARNING.format(host=args.host, port=receiver.port), file=sys.stderr, flush=True)
            print(f"LocalStack's functions reach it at {receiver.container_url}:", flush=True)
            print(f"  uv run triggers subscribe {receiver.container_url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stopping.wait()
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser(
        "receiver",
        help="run a local webhook receiver on 127.0.0.1 (verifies Standard Webhooks signatures)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Prints each delivery (id, type, verified, body summary) and answers 200, or 401 when a "
            "--secret is given and no signature matches. Fault options make it fail on purpose.\n\n"
            "LocalStack: its Lambda containers reach this machine as http://host.docker.internal:PORT. "
            "On Linux that name is the Docker bridge address, so the receiver must listen there: "
            "--host 0.0.0.0 (every interface) or the bridge address (e.g. 172.17.0.1). Docker Desktop "
            "(macOS, Windows) relays host.docker.internal to the host itself, where the default "
            "127.0.0.1 usually works."
        ),
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="address to listen on (default 127.0.0.1). LOCALSTACK ONLY: 0.0.0.0 or the Docker bridge "
        "address so Lambda containers on Linux reach it; exposes the receiver beyond this machine",
    )
    parser.add_argument("--port", type=int, default=8787, help="port to listen on (default 8787)")
    parser.add_argument(
        "--secret",
        action="append",
        metavar="WHSEC",
        help="signing secret (whsec_...); repeat for several, e.g. during a rotation "
        "(default: comma-separated TRIGGERS_WEBHOOK_SECRET)",
    )
    parser.add_argument("--status", type=int, help="answer every delivery with this status instead of 200")
    parser.add_argument("--fail-rate", type=_rate, default=0.0, help="answer 500 to this fraction (0-1)")
    parser.add_argument("--latency", type=_duration, default=0.0, help="wait before answering (200ms, 1.5s)")
    parser.add_argument(
        "--gone", action="store_true", help="answer 410 Gone (the subscription gets disabled)"
    )
    parser.set_defaults(func=run)
