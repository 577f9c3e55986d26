"""`triggers send [FILE] [--count N --type T]`: post events with a progress bar and a summary.

FILE is a JSON document (one event or an array of them) or JSON Lines, `-` for stdin. Without
FILE, `--count` events of `--type` are generated. With both, the file's events are cycled to
`--count`. The exit status is 0 only when every event was accepted (or was an idempotent
duplicate with --dedupe).
"""

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from devtools.api_client import NO_API_KEY
from devtools.console import emit, fail, stdout
from devtools.send import Input, Sender, Summary, generate, parse_input, repeat, requests_for, send

MAX_INPUT_BYTES = 512 * 1024 * 1024


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def read_input(args: argparse.Namespace) -> Input:
    if args.file is None:
        return Input(events=generate(args.count or 1, args.type, args.source))
    if args.file == "-":
        text = sys.stdin.read(MAX_INPUT_BYTES + 1)
    else:
        path = Path(args.file)
        if path.stat().st_size > MAX_INPUT_BYTES:
            raise ValueError(f"{path} is larger than {MAX_INPUT_BYTES // 2**20} MiB")
        text = path.read_text()
    if len(text) > MAX_INPUT_BYTES:
        raise ValueError(f"input is larger than {MAX_INPUT_BYTES // 2**20} MiB")
    parsed = parse_input(text)
    parsed.events = repeat(parsed.events, args.count)
    return parsed


def run(args: argparse.Namespace) -> int:
    target = args.target
    if not target.api_key:
        return fail(args, NO_API_KEY, 2)
    try:
        parsed = read_input(args)
        requests = list(requests_for(parsed.events, args.batch))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return fail(args, f"cannot read the events: {exc}", 2)
    summary = Summary(events=len(parsed.invalid), invalid=parsed.invalid)
    console = stdout(args)
    with Progress(
        TextColumn("sending"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=args.json or not console.is_terminal,
    ) as progress:
        task = progress.add_task("send", total=len(parsed.events), status="")

        def advance(events: int, so_far: Summary) -> None:
            problems = sum(so_far.rejected.values()) + sum(so_far.failed.values())
            status = f"[red]{problems} not accepted[/]" if problems else ""
            progress.update(task, advance=events, status=status)

        sender = Sender(
            api_url=target.api_url,
            api_key=target.api_key,
            concurrency=args.concurrency,
            rate=args.rate,
            dedupe=args.dedupe,
            timeout=args.timeout,
            on_progress=advance,
        )
        send(sender, requests, summary)
    result = summary.to_dict()
    emit(args, result, _human(result, target.api_url))
    return 0 if summary.ok else 1


def _human(result: dict[str, Any], api_url: str) -> Callable[[Console], None]:
    def render(out: Console) -> None:
        colour = "green" if result["ok"] else "red"
        out.print(
            f"[bold {colour}]{result['accepted']}/{result['events']} accepted[/] "
            f"in {result['elapsed_s']} s ({result['events_per_s'] or 0} events/s, "
            f"{result['requests']} requests to {api_url})"
        )
        latency = result["latency_ms"]
        if latency["p50"] is not None:
            out.print(
                f"  latency  p50 {latency['p50']} ms   p95 {latency['p95']} ms   max {latency['max']} ms"
            )
        if result["throttled"]:
            out.print(
                f"  [yellow]{result['throttled']:>6}[/] requests rate limited (429): sent again after "
                "their Retry-After"
            )
        if result["duplicates"]:
            out.print(
                f"  [yellow]{result['duplicates']:>6}[/] duplicates "
                "(Idempotency-Key seen before: not stored again)"
            )
        for why, number in sorted(result["rejected_by_reason"].items()):
            out.print(f"  [red]{number:>6}[/] rejected: {why}")
        for error, number in sorted(result["failed_by_error"].items()):
            out.print(f"  [red]{number:>6}[/] failed, no answer: {error}")
        if result["not_sent"]:
            out.print(f"  [red]{result['not_sent']:>6}[/] not sent: {result['stopped_because']}")
        for line in result["invalid_lines"][:10]:
            out.print(f"  [red]invalid input[/] line {line['line']}: {line['error']}")
        if result["invalid"] > 10:
            out.print(f"  [red]{result['invalid'] - 10} more invalid line(s)[/]")

    return render


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser(
        "send",
        help="post events (a JSON/JSONL file or generated) with a progress bar and a summary",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", nargs="?", help="JSON or JSONL file of events, - for stdin")
    parser.add_argument("--count", type=positive_int, help="events to generate (or to cycle the file to)")
    parser.add_argument("--type", default="order.created", help="event type of generated events")
    parser.add_argument("--source", default="triggers-send", help="source of generated events")
    parser.add_argument("--rate", type=positive_float, help="at most this many events per second")
    parser.add_argument("--concurrency", type=positive_int, default=8, help="requests in flight at once")
    parser.add_argument(
        "--batch", type=positive_int, default=1, help="events per request (JSON array, at most 25)"
    )
    parser.add_argument(
        "--dedupe",
        action="store_true",
        help="send an Idempotency-Key derived from each request body: re-running stores nothing twice",
    )
    parser.add_argument("--timeout", type=positive_float, default=30.0, help="seconds per request")
    parser.set_defaults(func=run)
