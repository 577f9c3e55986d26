"""How `triggers dlq` shows queues and letters to people (`--json` prints the data as it is)."""

from datetime import UTC, datetime

from rich.console import Console
from rich.json import JSON
from rich.markup import escape
from rich.table import Table

from devtools.dlq.letters import SHORT_ID_CHARS, DeadLetterQueue, Kind, Letter, QueueDepth, RedriveResult

COLUMNS = {
    Kind.DELIVERY: ("event_id", "subscription_id", "attempts", "reason"),
    Kind.RETRY: ("event_id", "subscription_id", "attempt"),
    Kind.INDEX: ("event_id", "status", "reason"),
    Kind.STREAM: ("function", "condition", "records", "batch_size"),
}
WIDE_COLUMNS = frozenset({"reason"})


def age(letter: Letter) -> str:
    if letter.sent_at is None:
        return ""
    seconds = int((datetime.now(UTC) - letter.sent_at).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def letters_table(queue: DeadLetterQueue, letters: list[Letter]) -> Table:
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
            letter.short_id, age(letter), *(escape(str(summary.get(column, ""))) for column in columns)
        )
    return table


def print_listing(
    out: Console,
    queues: list[DeadLetterQueue],
    depths: dict[Kind, QueueDepth],
    letters: dict[Kind, list[Letter]],
) -> None:
    """The queues' depths, then the letters shown of each."""
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
            out.print(letters_table(queue, letters[queue.kind]))
            shown, waiting = len(letters[queue.kind]), depths[queue.kind].visible
            if waiting > shown:
                out.print(f"[dim]{shown} of about {waiting} shown (--max)[/]")
    if any(letters.values()):
        out.print("[dim]triggers dlq show ID · triggers dlq redrive ID... | --all [--queue Q][/]")


def depth_json(depth: QueueDepth) -> dict[str, int]:
    return {"waiting": depth.visible, "in_flight": depth.in_flight}


def print_letter(out: Console, letter: Letter) -> None:
    """One letter in full: where it is, its summary, its body."""
    out.print(f"[bold]{letter.queue.kind}[/] message [bold]{letter.message_id}[/] ({letter.queue.name})")
    out.print(
        f"  sent {letter.sent_at.isoformat() if letter.sent_at else '?'} ({age(letter)}),"
        f" received {letter.receive_count} time(s)"
    )
    for key, value in letter.summary().items():
        out.print(f"  {key:<16} {escape(str(value))}")
    body = letter.data
    out.print(JSON.from_data(body) if body is not None else escape(letter.body))


def print_result(out: Console, result: RedriveResult) -> None:
    name = f"{result.letter.queue.kind}/{result.letter.short_id}"
    if result.ok:
        out.print(f"[green]✓[/] {name} {escape(result.detail)}")
    else:
        out.print(f"[red]✗[/] {name} [bold]kept[/]: {escape(result.detail)}")


def print_redrive_summary(out: Console, results: list[RedriveResult]) -> None:
    if not results:
        out.print("[green]nothing to redrive[/]")
        return
    failed = sum(1 for result in results if not result.ok)
    style = "red" if failed else "green"
    out.print(
        f"[{style}]redriven {len(results) - failed}, failed {failed}[/]"
        + (" (kept in their queues)" if failed else "")
    )
