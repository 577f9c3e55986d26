"""`triggers dlq ls | show | redrive | purge`: inspect and repair the dead-letter queues.

Queues: `delivery` (webhook deliveries whose retries are spent), `retry` (retry messages the
retry function could not process), `index` (documents OpenSearch rejected) and `stream` (the
stream mappings' OnFailure records). Messages are addressed by the short id `dlq ls` prints
(any unambiguous start of the SQS message id). A message leaves its queue only when its
redrive succeeded; a failed redrive keeps it and says why.
"""

import argparse
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

from botocore.exceptions import ClientError
from rich.console import Console
from rich.json import JSON
from rich.markup import escape
from rich.prompt import Confirm
from rich.table import Table

from devtools.console import emit, fail, stderr, stdout
from devtools.dlq import (
    SHORT_ID_CHARS,
    DeadLetterQueue,
    DlqError,
    Kind,
    Letter,
    Mailbox,
    QueueDepth,
    RedriveResult,
    all_queues,
    find,
    redrive,
    redrive_queue,
    resolve_queue,
)
from devtools.redrive import REDRIVE_ERRORS, Redriver
from devtools.template import Template

COLUMNS = {
    Kind.DELIVERY: ("event_id", "subscription_id", "attempts", "reason"),
    Kind.RETRY: ("event_id", "subscription_id", "attempt"),
    Kind.INDEX: ("event_id", "status", "reason"),
    Kind.STREAM: ("function", "condition", "records", "batch_size"),
}


WIDE_COLUMNS = frozenset({"reason"})
LIST_MAX = 20


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _mailbox(args: argparse.Namespace) -> Mailbox:
    return Mailbox(args.target.client("sqs"), wait_seconds=0 if args.target.is_local else 1)


def _template(args: argparse.Namespace) -> Template:
    return Template(args.stage, aws_endpoint=args.target.endpoint or "http://localhost:4566")


def _queues(args: argparse.Namespace, name: str | None) -> list[DeadLetterQueue]:
    template = _template(args)
    return [resolve_queue(template, name)] if name else all_queues(template)


def _age(letter: Letter) -> str:
    if letter.sent_at is None:
        return ""
    seconds = int((datetime.now(UTC) - letter.sent_at).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def _letters_table(queue: DeadLetterQueue, letters: list[Letter]) -> Table:
    """One row per letter, ids never wrapped."""
    columns = COLUMNS[queue.kind]
    table = Table(title=f"{queue.kind} ({queue.name})", title_justify="left")
    table.add_column("id", style="bold", no_wrap=True, min_width=SHORT_ID_CHARS)
    table.add_column("sent", no_wrap=True, min_width=7)
    for column in columns:
        if column in WIDE_COLUMNS:
            table.add_column(column.replace("_", " "), overflow="fold", max_width=50)
        else:
            table.add_column(column.replace("_", " "), no_wrap=True, min_width=len(column))
    for letter in letters:
        summary = letter.summary()
        table.add_row(
            letter.short_id, _age(letter), *(escape(str(summary.get(column, ""))) for column in columns)
        )
    return table


def list_letters(args: argparse.Namespace) -> int:
    mailbox = _mailbox(args)
    try:
        queues = _queues(args, args.queue)
    except DlqError as exc:
        return fail(args, str(exc), 2)
    depths = {queue.kind: mailbox.depth(queue) for queue in queues}
    letters = {
        queue.kind: mailbox.peek(queue, args.max) if depths[queue.kind].visible else [] for queue in queues
    }

    def human(out: Console) -> None:
        overview = Table(
            "queue", "name", "waiting", "in flight", title="Dead-letter queues", title_justify="left"
        )
        for queue in queues:
            depth = depths[queue.kind]
            style = "bold red" if depth.visible else "green"
            overview.add_row(str(queue.kind), queue.name, f"[{style}]{depth.visible}", str(depth.in_flight))
        out.print(overview)
        for queue in queues:
            if letters[queue.kind]:
                out.print(_letters_table(queue, letters[queue.kind]))
                shown, waiting = len(letters[queue.kind]), depths[queue.kind].visible
                if waiting > shown:
                    out.print(f"[dim]{shown} of about {waiting} shown (--max)[/]")
        if any(letters.values()):
            out.print("[dim]triggers dlq show ID · triggers dlq redrive ID... | --all [--queue Q][/]")

    emit(
        args,
        {
            "queues": [
                {"queue": str(queue.kind), "name": queue.name, **_depth_json(depths[queue.kind])}
                for queue in queues
            ],
            "messages": [letter.describe() for queue in queues for letter in letters[queue.kind]],
        },
        human,
    )
    return 0


def _depth_json(depth: QueueDepth) -> dict[str, int]:
    return {"waiting": depth.visible, "in_flight": depth.in_flight}


def show(args: argparse.Namespace) -> int:
    if not args.queue and (queue := _queue_named(args, args.id)):
        args.queue, args.max = str(queue.kind), LIST_MAX  # `show delivery`: the queue's listing
        return list_letters(args)
    mailbox = _mailbox(args)
    try:
        (letter,) = find(mailbox, _queues(args, args.queue), [args.id])
    except DlqError as exc:
        return fail(args, str(exc), 2)
    mailbox.release([letter])
    described = letter.describe(with_body=True)

    def human(out: Console) -> None:
        out.print(f"[bold]{letter.queue.kind}[/] message [bold]{letter.message_id}[/] ({letter.queue.name})")
        out.print(
            f"  sent {letter.sent_at.isoformat() if letter.sent_at else '?'} ({_age(letter)}),"
            f" received {letter.receive_count} time(s)"
        )
        for key, value in letter.summary().items():
            out.print(f"  {key:<16} {escape(str(value))}")
        out.print(JSON.from_data(described["body"]) if letter.data is not None else escape(letter.body))

    emit(args, described, human)
    return 0


def _results(args: argparse.Namespace, mailbox: Mailbox, redriver: Redriver) -> Iterator[RedriveResult]:
    queues = _queues(args, args.queue)
    if args.all:
        for queue in queues:
            yield from redrive_queue(mailbox, queue, redriver, args.max, REDRIVE_ERRORS)
    else:
        yield from redrive(mailbox, find(mailbox, queues, args.ids), redriver, REDRIVE_ERRORS)


def _queue_named(args: argparse.Namespace, name: str) -> DeadLetterQueue | None:
    """The queue `name` names (`delivery`, `delivery-dlq`...), or None for a message id."""
    try:
        return resolve_queue(_template(args), name)
    except DlqError:
        return None


def redrive_letters(args: argparse.Namespace) -> int:
    if len(args.ids) == 1 and not args.all and not args.queue and (queue := _queue_named(args, args.ids[0])):
        args.ids, args.all, args.queue = [], True, str(queue.kind)  # `redrive delivery`: that whole queue
    if bool(args.ids) == bool(args.all):
        return fail(args, "give message ids, a queue, or --all (not both)", 2)
    as_json = bool(getattr(args, "json", False))
    err = stderr(args)
    redriver = Redriver(
        args.target,
        _template(args),
        args.invoke,
        say=(lambda line: None) if as_json else (lambda line: err.print(f"[dim]{escape(line)}[/]")),
    )
    results: list[RedriveResult] = []
    out = stdout(args)
    try:
        for result in _results(args, _mailbox(args), redriver):
            results.append(result)
            if not as_json:
                name = f"{result.letter.queue.kind}/{result.letter.short_id}"
                if result.ok:
                    out.print(f"[green]✓[/] {name} {escape(result.detail)}")
                else:
                    out.print(f"[red]✗[/] {name} [bold]kept[/]: {escape(result.detail)}")
    except DlqError as exc:
        return fail(args, str(exc), 2)
    finally:
        redriver.close()
    failed = [result for result in results if not result.ok]

    def human(console: Console) -> None:
        if not results:
            console.print("[green]nothing to redrive[/]")
            return
        style = "red" if failed else "green"
        console.print(
            f"[{style}]redriven {len(results) - len(failed)}, failed {len(failed)}[/]"
            + (" (kept in their queues)" if failed else "")
        )

    emit(
        args,
        {
            "redriven": [result.describe() for result in results if result.ok],
            "failed": [result.describe() for result in failed],
        },
        human,
    )
    return 1 if failed else 0


def purge(args: argparse.Namespace) -> int:
    if bool(args.queue) == bool(args.all):
        return fail(args, "name one queue or give --all", 2)
    try:
        queues = _queues(args, args.queue)
    except DlqError as exc:
        return fail(args, str(exc), 2)
    mailbox = _mailbox(args)
    depths = {queue.kind: mailbox.depth(queue) for queue in queues}
    total = sum(depth.visible + depth.in_flight for depth in depths.values())
    if not args.yes:
        if not sys.stdin.isatty():
            return fail(args, "purge deletes messages for good: confirm with --yes", 2)
        names = ", ".join(queue.name for queue in queues)
        if not Confirm.ask(f"Delete about {total} message(s) from {names} for good?", console=stderr(args)):
            return fail(args, "not purged", 1)
    purged = []
    for queue in queues:
        try:
            purged.append({"queue": str(queue.kind), "name": queue.name, "messages": mailbox.purge(queue)})
        except ClientError as exc:  # e.g. PurgeQueueInProgress: SQS allows one purge a minute
            return fail(args, f"{queue.name} not purged: {exc}", 1, purged=purged)

    def human(out: Console) -> None:
        for item in purged:
            out.print(f"[yellow]purged[/] {item['name']} (about {item['messages']} message(s))")

    emit(args, {"purged": purged}, human)
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    dlq = commands.add_parser(
        "dlq", help="inspect, redrive and purge the dead-letter queues", description=__doc__
    )
    actions = dlq.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")
    queue_help = "delivery, retry, index or stream (or the queue's name)"

    ls = actions.add_parser("ls", help="queue depths and the messages waiting, with their short ids")
    ls.add_argument("queue", nargs="?", help=f"only this queue: {queue_help}")
    ls.add_argument("--max", type=positive, default=LIST_MAX, help="messages shown per queue")
    ls.set_defaults(func=list_letters)

    show_parser = actions.add_parser("show", help="one message in full, left in its queue")
    show_parser.add_argument(
        "id", help="short id from `dlq ls` (any unambiguous start of the message id), or a queue to list"
    )
    show_parser.add_argument("--queue", help=f"look only in this queue: {queue_help}")
    show_parser.set_defaults(func=show)

    redrive_parser = actions.add_parser(
        "redrive",
        help="process messages again: deliveries via the retry queue, documents re-indexed, "
        "stream batches re-read and re-processed",
    )
    redrive_parser.add_argument(
        "ids", nargs="*", metavar="ID", help="short ids from `dlq ls`, or one queue name for all its messages"
    )
    redrive_parser.add_argument(
        "--all", action="store_true", help="every message (of --queue, or of every DLQ)"
    )
    redrive_parser.add_argument("--queue", help=f"only this queue: {queue_help}")
    redrive_parser.add_argument(
        "--max", type=positive, default=None, help="with --all: at most this many per queue"
    )
    redrive_parser.add_argument(
        "--invoke",
        choices=("auto", "local", "lambda"),
        default="auto",
        help="how stream batches are re-processed: in this process (the embedded stack) or by invoking "
        "the Lambda function (AWS, LocalStack); auto picks by target",
    )
    redrive_parser.set_defaults(func=redrive_letters)

    purge_parser = actions.add_parser("purge", help="delete every message of a queue (asks first)")
    purge_parser.add_argument("queue", nargs="?", help=queue_help)
    purge_parser.add_argument("--all", action="store_true", help="every dead-letter queue")
    purge_parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    purge_parser.set_defaults(func=purge)
