"""Every Logs Insights query of docs/operations.md parses, and names only fields the code logs.

The queries are read from the runbook's "Log queries" section (every unlabelled fenced block there).
Each is checked with a small grammar of Logs Insights (commands separated by `|`, balanced
parentheses and quotes, known functions, `limit` with a number, `stats` with an aggregate), and
every field it reads must be a Logs Insights system field (`@timestamp`, `@duration`...) or a key
of a log line the handlers really wrote here: the ingest handler answering requests, fanout
delivering to a failing receiver, the indexer indexing an event and seeing its TTL expiry. Each
`message = "..."` it filters on must be the message of one of those lines.
"""

# ruff: noqa: F811  # fixtures imported by name from the handler tests are parameters here

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch

from devtools.runner.lambda_context import LocalLambdaContext
from processors.fanout.handler import lambda_handler as fanout_handler
from processors.indexer.handler import lambda_handler as indexer_handler
from tests.streams import stream_event, stream_record
from tests.unit.test_api_handler import (  # noqa: F401  # fixtures
    Call,
    event_body,
    invoke,
    json_lines,
    key,
    new_key,
    output,
    post,
)
from tests.unit.test_indexer import event_item, index_dlq, search  # noqa: F401  # fixtures
from tests.unit.webhooks_support import Webhooks

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
SECTION = "## Log queries (CloudWatch Logs Insights)"

COMMANDS = frozenset({"fields", "filter", "stats", "sort", "limit", "parse", "display", "dedup"})
AGGREGATES = frozenset(
    {"avg", "count", "count_distinct", "max", "min", "pct", "stddev", "sum", "earliest", "latest"}
)
FUNCTIONS = AGGREGATES | {
    "abs", "bin", "ceil", "coalesce", "concat", "datefloor", "dateceil", "floor", "fromMillis",
    "greatest", "isblank", "isempty", "ispresent", "least", "ltrim", "replace", "rtrim", "strlen",
    "substr", "tolower", "toMillis", "toupper", "trim",
}  # fmt: skip
KEYWORDS = frozenset({"and", "or", "not", "by", "as", "asc", "desc", "like", "in"})
# Fields Logs Insights adds itself: every event's, and those it discovers in Lambda's REPORT lines.
SYSTEM_FIELDS = frozenset(
    {
        "@timestamp", "@message", "@log", "@logStream", "@ingestionTime", "@type", "@requestId",
        "@duration", "@billedDuration", "@memorySize", "@maxMemoryUsed", "@initDuration",
    }
)  # fmt: skip
TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<regex>/(?:[^/\\]|\\.)+/)
      | (?P<duration>\d+(?:ms|s|m|h|d|w|mo|q|y)\b)
      | (?P<number>\d+(?:\.\d+)?)
      | (?P<name>@?[A-Za-z_][\w.]*)
      | (?P<op>>=|<=|!=|=~|[=<>+\-*/%^,()|])
    )""",
    re.VERBOSE,
)


@dataclass
class Parsed:
    problems: list[str] = field(default_factory=list)
    fields: set[str] = field(default_factory=set)
    messages: set[str] = field(default_factory=set)


def tokenize(query: str) -> list[tuple[str, str]]:
    tokens, position, text = [], 0, query.strip()
    while position < len(text):
        match = TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f"cannot read {text[position : position + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def parse(query: str) -> Parsed:
    """The problems of `query`, the fields it reads and the messages it filters on."""
    parsed = Parsed()
    try:
        tokens = tokenize(query)
    except ValueError as exc:
        parsed.problems.append(str(exc))
        return parsed
    stages: list[list[tuple[str, str]]] = [[]]
    for token in tokens:
        if token == ("op", "|"):
            stages.append([])
        else:
            stages[-1].append(token)
    aliases: set[str] = set()
    for stage in stages:
        if not stage or stage[0][0] != "name" or stage[0][1] not in COMMANDS:
            parsed.problems.append(f"stage does not start with a command: {stage[:1]}")
            continue
        command, body = stage[0][1], stage[1:]
        depth = 0
        for kind, value in body:
            depth += {"(": 1, ")": -1}.get(value, 0) if kind == "op" else 0
            if depth < 0:
                break
        if depth != 0:
            parsed.problems.append(f"{command}: unbalanced parentheses")
        if command == "limit" and [kind for kind, _ in body] != ["number"]:
            parsed.problems.append("limit: takes one number")
        if command == "stats" and not any(
            kind == "name" and value in AGGREGATES and nxt == ("op", "(")
            for (kind, value), nxt in zip(body, [*body[1:], ("", "")], strict=True)
        ):
            parsed.problems.append("stats: no aggregate function")
        for index, (kind, value) in enumerate(body):
            if kind != "name" or value in KEYWORDS:
                continue
            previous = body[index - 1] if index else ("", "")
            following = body[index + 1] if index + 1 < len(body) else ("", "")
            if following == ("op", "("):
                if value not in FUNCTIONS:
                    parsed.problems.append(f"unknown function {value}")
            elif previous == ("name", "as"):
                aliases.add(value)
            elif value not in aliases:
                parsed.fields.add(value)
                if value == "message" and following == ("op", "=") and index + 2 < len(body):
                    literal_kind, literal = body[index + 2]
                    if literal_kind == "string":
                        parsed.messages.add(literal[1:-1])
    return parsed


def runbook_queries() -> list[str]:
    text = OPERATIONS.read_text()
    section = text[text.index(SECTION) :]
    following = re.search(r"^## ", section[len(SECTION) :], re.MULTILINE)
    if following:
        section = section[: len(SECTION) + following.start()]
    blocks: list[tuple[str, list[str]]] = []
    fence: tuple[str, list[str]] | None = None
    for line in section.splitlines():
        if line.startswith("```"):
            if fence is None:
                fence = (line[3:].strip(), [])
            else:
                blocks.append(fence)
                fence = None
        elif fence is not None:
            fence[1].append(line)
    return ["\n".join(lines) for info, lines in blocks if not info]


QUERIES = runbook_queries()
SEED_QUERIES = {
    # seed 002 / the issue: what each of these must read
    "latency per endpoint": {"latency_ms", "endpoint"},
    "error rate by type": {"error_type"},
    "failed authentication": {"key_id", "status"},
    "top tenants by events": {"tenant_id", "count"},
    "TTL deletions": {"expired"},
    "inbox polling": {"result_count"},
}


def test_the_runbook_has_the_seeds_queries() -> None:
    read = [parse(query).fields for query in QUERIES]
    assert len(QUERIES) >= 10
    for purpose, fields in SEED_QUERIES.items():
        assert any(fields <= names for names in read), purpose


@pytest.mark.parametrize("query", QUERIES, ids=[query.splitlines()[-1][:40] for query in QUERIES])
def test_query_parses(query: str) -> None:
    parsed = parse(query)

    assert parsed.problems == []
    assert not {name for name in parsed.fields if name.startswith("@")} - SYSTEM_FIELDS


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ('filter message = "x" | stats count(*) by endpoint | limit ten', "limit: takes one number"),
        ('filter message = "x" | sort latency_ms desc | frobnicate', "stage does not start with a command"),
        ("stats count(*) by bin(5m", "stats: unbalanced parentheses"),
        ('filter message = "unterminated', "cannot read"),
        ("stats median(latency_ms)", "unknown function median"),
        ("fields endpoint | stats endpoint", "stats: no aggregate function"),
    ],
)
def test_the_grammar_refuses_broken_queries(query: str, problem: str) -> None:
    assert any(found.startswith(problem) for found in parse(query).problems), parse(query).problems


def test_the_grammar_reads_fields_aliases_and_messages() -> None:
    parsed = parse(
        'fields a | filter message = "request" and status >= 500 '
        "| stats pct(latency_ms, 95) as p95 by endpoint, bin(5m) | sort p95 desc | limit 5"
    )

    assert parsed.problems == []
    assert parsed.fields == {"a", "message", "status", "latency_ms", "endpoint"}
    assert parsed.messages == {"request"}


@pytest.fixture
def logged(
    invoke: Call,
    key: str,
    webhooks: Webhooks,
    receiver: Callable[[], Any],
    search: OpenSearch,
    lambda_context: LocalLambdaContext,
    output: Callable[[], str],
) -> list[dict[str, Any]]:
    """The JSON lines the handlers write for a day's usual traffic."""
    # The API: events accepted, read, polled; an unknown key; a schema violation
    created = post(invoke, key, event_body())
    invoke("GET", f"/v1/events/{created.json()['id']}", key=key)
    invoke("GET", "/v1/inbox", key=key)
    post(invoke, "trg_unknown", event_body())
    post(invoke, key, '{"event_type": "bad type", "payload": {}}')
    # Fanout: a subscriber that answers 500 (a failed attempt, a retry scheduled)
    server = receiver()
    server.expect_request("/hook").respond_with_data("no", status=500)
    webhooks.subscribe("t1", server.url_for("/hook"))
    fanout_handler(webhooks.stream_event(webhooks.put_event("t1")), lambda_context)
    # The indexer: an event indexed, then expired by TTL
    item = event_item()
    indexer_handler(stream_event(stream_record("INSERT", item)), lambda_context)
    indexer_handler(stream_event(stream_record("REMOVE", item, ttl_expiry=True)), lambda_context)
    return json_lines(output())


def test_every_query_reads_only_what_the_code_logs(logged: list[dict[str, Any]]) -> None:
    fields = {name for line in logged for name in line}
    messages = {str(line.get("message")) for line in logged}

    problems = []
    for query in QUERIES:
        parsed = parse(query)
        unknown = {name for name in parsed.fields if not name.startswith("@")} - fields
        problems += [f"{query.splitlines()[-1]!r}: no line has {name}" for name in sorted(unknown)]
        problems += [f"{query.splitlines()[-1]!r}: no {m!r} line" for m in sorted(parsed.messages - messages)]
    assert problems == []


def test_ttl_expiries_are_counted_apart_from_deletes(
    search: OpenSearch, lambda_context: LocalLambdaContext, output: Callable[[], str]
) -> None:
    # Given two indexed events
    expired, deleted = event_item(), event_item()
    indexer_handler(
        stream_event(stream_record("INSERT", expired), stream_record("INSERT", deleted)), lambda_context
    )

    # When one expires (TTL) and the other is deleted through the API, in one batch
    indexer_handler(
        stream_event(stream_record("REMOVE", expired, ttl_expiry=True), stream_record("REMOVE", deleted)),
        lambda_context,
    )

    # Then the batch line counts one expiry among two deletions
    batches = [line for line in json_lines(output()) if line.get("message") == "batch indexed"]
    assert [(line["expired"], line["deleted"]) for line in batches] == [(0, 0), (1, 2)]
