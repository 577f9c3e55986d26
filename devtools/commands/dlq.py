"""`triggers dlq ls | show QUEUE | redrive QUEUE`: inspect and redrive dead-letter queues."""

import argparse
import json

from devtools.dlq import REDRIVE_TARGETS, dead_letter_queues, delivery_redrive, depths, peek, redrive
from devtools.template import Template


def _resolve(template: Template, name: str) -> tuple[str, str]:
    """(logical id, queue name) of a DLQ given its full or short name (`delivery-dlq`)."""
    for logical_id, queue_name in dead_letter_queues(template).items():
        if name in (queue_name, logical_id) or queue_name.endswith(f"-{name}"):
            return logical_id, queue_name
    known = ", ".join(sorted(dead_letter_queues(template).values()))
    raise SystemExit(f"unknown dead-letter queue {name!r}; known: {known}")


def list_queues(args: argparse.Namespace) -> int:
    sqs = args.target.client("sqs")
    print(f"{'queue':45} {'visible':>8} {'in flight':>10}")
    for depth in depths(sqs, Template(args.stage)):
        print(f"{depth.name:45} {depth.visible:>8} {depth.in_flight:>10}")
    return 0


def show(args: argparse.Namespace) -> int:
    sqs = args.target.client("sqs")
    _, queue_name = _resolve(Template(args.stage), args.queue)
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    for message in peek(sqs, url, args.max):
        try:
            body = json.loads(message["Body"])
        except ValueError:
            body = message["Body"]
        print(json.dumps({"message_id": message["MessageId"], "body": body}, indent=2))
    return 0


def redrive_queue(args: argparse.Namespace) -> int:
    template = Template(args.stage)
    logical_id, queue_name = _resolve(template, args.queue)
    if logical_id not in REDRIVE_TARGETS:
        raise SystemExit(
            f"{queue_name} holds records to investigate, not messages to resend (docs/operations.md)"
        )
    target_name = template.physical_name(REDRIVE_TARGETS[logical_id])
    sqs = args.target.client("sqs")
    transform = None
    if logical_id == "DeliveryDLQ":
        transform = delivery_redrive(
            args.target.client("dynamodb"), template.physical_name("DeliveriesTable")
        )
    moved = redrive(
        sqs,
        sqs.get_queue_url(QueueName=queue_name)["QueueUrl"],
        sqs.get_queue_url(QueueName=target_name)["QueueUrl"],
        transform,
        args.max,
    )
    print(f"redrove {moved} message(s) from {queue_name} to {target_name}")
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    dlq = commands.add_parser("dlq", help="inspect and redrive dead-letter queues")
    actions = dlq.add_subparsers(dest="dlq_command", required=True)
    actions.add_parser("ls", help="every DLQ with its depth").set_defaults(func=list_queues)
    show_parser = actions.add_parser("show", help="print messages without removing them")
    show_parser.add_argument("queue", help="queue name, or its suffix such as delivery-dlq")
    show_parser.add_argument("--max", type=int, default=10)
    show_parser.set_defaults(func=show)
    redrive_parser = actions.add_parser("redrive", help="send messages back to be processed again")
    redrive_parser.add_argument("queue")
    redrive_parser.add_argument("--max", type=int, default=None, help="at most this many (default: all)")
    redrive_parser.set_defaults(func=redrive_queue)
