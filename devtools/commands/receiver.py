"""`triggers receiver`: a local webhook endpoint that verifies signatures and can misbehave on purpose."""

import argparse
import contextlib
import os
import signal
import threading

from devtools.receiver import Faults, Receiver, parse_duration


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
    receiver = Receiver(secrets, port=args.port, faults=faults, say=lambda line: print(line, flush=True))
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with receiver:
        checking = f"verifying with {len(secrets)} secret(s)" if secrets else "NOT verifying (no --secret)"
        print(f"Receiving webhooks at {receiver.url} ({checking}). Ctrl-C stops.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stopping.wait()
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser(
        "receiver",
        help="run a local webhook receiver on 127.0.0.1 (verifies Standard Webhooks signatures)",
        description=(
            "Prints each delivery (id, type, verified, body summary) and answers 200, or 401 when a "
            "--secret is given and no signature matches. Fault options make it fail on purpose."
        ),
    )
    parser.add_argument("--port", type=int, default=8787, help="port on 127.0.0.1 (default 8787)")
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
