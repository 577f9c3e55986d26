#!/usr/bin/env python3
"""Healthy only when every LocalStack init script succeeded.

LocalStack marks its READY stage completed even when a script failed ("If an init script fails,
the remaining scripts will still be executed"), so `completed` alone says nothing. This reads the
init status LocalStack serves at /_localstack/init (localstack-core/localstack/services/internal.py,
InitScriptsResource), of this shape:

    {"completed": {"BOOT": true, "START": true, "READY": true, "SHUTDOWN": false},
     "scripts": [{"stage": "READY", "name": "01-tables.sh", "state": "SUCCESSFUL"}, ...]}

with states UNKNOWN (not run yet), RUNNING, SUCCESSFUL and ERROR (localstack/runtime/init.py), and
exits 0 only when the READY stage completed, every script listed in it is SUCCESSFUL, and every
script of the ready.d directory is listed (a script LocalStack did not find never ran).

    python3 healthcheck.py                      # the compose healthcheck (inside the container)
    uv run python localstack/healthcheck.py --wait   # from the host: until healthy, or the first ERROR

Standard library only: it runs with the LocalStack image's python3 as well as the project's.
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_URL = "http://localhost:4566/_localstack/init"
# In the container compose mounts init/ at /etc/localstack/init; from the host, the repository's.
CONTAINER_SCRIPTS = Path("/etc/localstack/init/ready.d")
REPOSITORY_SCRIPTS = Path(__file__).resolve().parent / "init" / "ready.d"
RUNNABLE = (".sh", ".py")  # the suffixes LocalStack has script runners for
HEALTHY, NOT_YET, FAILED = 0, 1, 2


def ready_scripts(directory: Path) -> list[str]:
    """The scripts LocalStack runs in the READY stage, as it names them (file names, sorted)."""
    if not directory.is_dir():
        return []
    return sorted(path.name for path in directory.rglob("*") if path.is_file() and path.suffix in RUNNABLE)


def verdict(status: object, expected: list[str]) -> tuple[int, str]:
    """(HEALTHY | NOT_YET | FAILED, one line saying why) for LocalStack's init status JSON."""
    if not isinstance(status, dict) or not isinstance(status.get("scripts"), list):
        return NOT_YET, f"unexpected init status: {json.dumps(status)[:200]}"
    scripts = [
        script for script in status["scripts"] if isinstance(script, dict) and script.get("stage") == "READY"
    ]
    states = {str(script.get("name")): str(script.get("state")) for script in scripts}
    failed = [name for name, state in states.items() if state == "ERROR"]
    if failed:
        return FAILED, (
            f"init script(s) failed: {', '.join(failed)} (docker compose logs localstack shows why)"
        )
    completed = status.get("completed")
    ready = isinstance(completed, dict) and completed.get("READY") is True
    missing = [name for name in expected if name not in states]
    if missing and ready:
        return FAILED, (
            f"init script(s) never ran: {', '.join(missing)} "
            "(is localstack/init mounted at /etc/localstack/init?)"
        )
    if missing:
        return NOT_YET, f"init script(s) not (yet) found by LocalStack: {', '.join(missing)}"
    pending = [f"{name} {state}" for name, state in states.items() if state != "SUCCESSFUL"]
    if pending or not ready:
        return NOT_YET, f"init scripts still running: {', '.join(pending) or 'READY stage not completed'}"
    if not states:
        return NOT_YET, "no init scripts in the READY stage"
    return HEALTHY, f"every init script succeeded: {', '.join(states)}"


def check(url: str, expected: list[str], timeout: float) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (a local URL)
            status = json.loads(response.read().decode())
    except (OSError, ValueError) as exc:
        return NOT_YET, f"no init status from {url}: {exc}"
    return verdict(status, expected)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--url", default=DEFAULT_URL, help=f"LocalStack's init status (default {DEFAULT_URL})"
    )
    parser.add_argument(
        "--scripts",
        type=Path,
        help="the ready.d directory whose scripts must all have run "
        f"(default {CONTAINER_SCRIPTS} if it exists, else {REPOSITORY_SCRIPTS})",
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help="poll until healthy (exit 0) or a script failed (exit 1) instead of checking once",
    )
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between polls with --wait")
    parser.add_argument(
        "--max-wait",
        type=float,
        default=1800.0,
        help="give up after this many seconds with --wait (default 1800: a first start downloads a lot)",
    )
    parser.add_argument("--timeout", type=float, default=4.0, help="seconds per request")
    args = parser.parse_args(argv)
    directory = args.scripts or (CONTAINER_SCRIPTS if CONTAINER_SCRIPTS.is_dir() else REPOSITORY_SCRIPTS)
    expected = ready_scripts(directory)
    last, deadline = "", time.monotonic() + args.max_wait
    while True:
        outcome, reason = check(args.url, expected, args.timeout)
        if outcome != NOT_YET or not args.wait or time.monotonic() >= deadline:
            print(reason, flush=True)
            return 0 if outcome == HEALTHY else 1
        if reason != last:
            print(reason, flush=True)
            last = reason
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
