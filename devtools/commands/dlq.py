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

from botocore.exceptions import ClientError
from rich.console import Console
from rich.markup import escape
from rich.prompt import Confirm

from devtools.console import emit, fail, stderr, stdout
from devtools.dlq.letters import (
    DeadLetterQueue,
    DlqError,
    Mailbox,
    RedriveResult,
    all_queues,
    find,
    redrive,
    redrive_queue,
    resolve_queue,
)
from devtools.dlq.redrive import REDRIVE_ERRORS, Redriver
from devtools.dlq.render import depth_json, print_letter, print_listing, print_redrive_summary, print_result
from devtools.template import Template

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

    emit(
        args,
        {
            "queues": [
                {"queue": str(queue.kind), "name": queue.name, **depth_json(depths[queue.kind])}
                for queue in queues
            ],
            "messages": [letter.describe() for queue in queues for letter in letters[queue.kind]],
        },
        lambda out: print_listing(out, queues, depths, letters),
    )
    return 0


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
    emit(args, letter.describe(with_body=True), lambda out: print_letter(out, letter))
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
                print_result(out, result)
    except DlqError as exc:
        return fail(args, str(exc), 2)
    finally:
        redriver.close()
    failed = [result for result in results if not result.ok]

    emit(
        args,
        {
            "redriven": [result.describe() for result in results if result.ok],
            "failed": [result.describe() for result in failed],
        },
        lambda console: print_redrive_summary(console, results),
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
