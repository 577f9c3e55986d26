"""`triggers tail [FUNCTION...]`: the functions' logs, merged in time order, optionally followed.

With no function every function of the template is shown, each line prefixed with its function.
`--event-id` / `--subscription-id` keep the lines that mention the id (handler logs carry them as
correlation keys); `--level` keeps handler lines at or above a level. `--json` prints one JSON
object per line (JSON Lines), so it can be piped while following.
"""

import argparse
import json
import sys
import time
from datetime import UTC, datetime

from rich.console import Console
from rich.markup import escape

from devtools.console import fail, stderr, stdout
from devtools.logs import LEVELS, LineFilter, LogLine, LogReader, function_log_groups, parse_since
from devtools.template import Template

POLL_SECONDS = 1.0
COLOURS = ("cyan", "magenta", "yellow", "blue", "green", "bright_cyan", "bright_magenta")
LEVEL_STYLES = {
    "DEBUG": "dim",
    "INFO": "green",
    "WARNING": "yellow",
    "ERROR": "bold red",
    "CRITICAL": "bold red",
}
# Keys every Powertools line has; the human view leaves them out to show the correlation keys.
NOISE = frozenset(
    {
        "level",
        "message",
        "timestamp",
        "service",
        "location",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "sampling_rate",
        "xray_trace_id",
    }
)


def _moment(line: LogLine) -> datetime:
    return datetime.fromtimestamp(line.timestamp_ms / 1000, UTC)


def _json_line(line: LogLine) -> str:
    return json.dumps(
        {
            "timestamp": _moment(line).isoformat(timespec="milliseconds"),
            "function": line.function,
            "log_group": line.group,
            "log_stream": line.stream,
            "message": line.message,
            "fields": line.fields,
        },
        default=str,
    )


def _render(out: Console, line: LogLine, colour: str, raw: bool, width: int) -> None:
    prefix = f"[dim]{_moment(line):%H:%M:%S.%f}"[:-3] + f"[/] [{colour}]{line.function:<{width}}[/] "
    fields = line.fields
    if raw or fields is None:
        style = "dim" if line.message.startswith(("START ", "END ", "REPORT ")) else ""
        text = escape(line.message.rstrip("\n"))
        out.print(prefix + (f"[{style}]{text}[/]" if style else text))
        return
    level = str(fields.get("level", "")).upper()
    extras = " ".join(
        f"[dim]{escape(key)}=[/]{escape(json.dumps(value) if not isinstance(value, str) else value)}"
        for key, value in fields.items()
        if key not in NOISE
    )
    message = escape(str(fields.get("message", "")))
    out.print(f"{prefix}[{LEVEL_STYLES.get(level, '')}]{level:<7}[/] {message}  {extras}".rstrip())


def tail(args: argparse.Namespace) -> int:
    try:
        since_seconds = parse_since(args.since)
    except ValueError as exc:
        return fail(args, str(exc), 2)
    groups = function_log_groups(Template(args.stage), args.function)
    terms = tuple(term.strip() for term in (args.event_id, args.subscription_id) if term and term.strip())
    reader = LogReader(
        args.target.client("logs"),
        groups,
        start_ms=int((time.time() - since_seconds) * 1000),
        line_filter=LineFilter(terms, args.level),
    )
    colours = {function: COLOURS[index % len(COLOURS)] for index, function in enumerate(groups.values())}
    width = max(len(function) for function in groups.values())
    out = stdout(args)
    as_json = bool(getattr(args, "json", False))
    try:
        while True:
            for line in reader.poll():
                if as_json:
                    sys.stdout.write(_json_line(line) + "\n")
                else:
                    _render(out, line, colours[line.function], args.raw, width)
            sys.stdout.flush()
            if not args.follow:
                if len(reader.missing) == len(groups):
                    stderr(args).print(f"[yellow]no logs yet[/] in {', '.join(sorted(groups))}")
                return 0
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser(
        "tail",
        help="print (and follow) the functions' logs from CloudWatch Logs, all functions merged by default",
        description=__doc__,
    )
    parser.add_argument(
        "function",
        nargs="*",
        help="fanout, indexer, retry, ingest, or a full function name (default: every function)",
    )
    parser.add_argument("--follow", "-f", action="store_true", help="keep printing new lines until Ctrl-C")
    parser.add_argument("--since", default="10m", help="how far back to start: 30s, 10m, 2h, 1d")
    parser.add_argument("--event-id", metavar="ID", help="only lines mentioning this event")
    parser.add_argument(
        "--subscription-id",
        metavar="ID",
        help="only lines mentioning this subscription",
    )
    parser.add_argument(
        "--level", type=str.upper, choices=LEVELS, help="only handler lines at this level or above"
    )
    parser.add_argument("--raw", action="store_true", help="print handler lines as logged (JSON)")
    parser.set_defaults(func=tail)
