"""Every route that takes a body refuses what the JSON reader refuses or cannot represent: a 4xx
problem+json, never a 500, and nothing stored.

The routes are the operations of the API's own OpenAPI document that have a request body, so a
new one is covered without touching this file. Each documents example bodies
(`ingest.responses.json_body`), which are first shown to be accepted as they are; the strategies
below then corrupt them: a number beyond a 64-bit float, NaN/Infinity, a lone surrogate escape,
nesting beyond MAX_DEPTH, a repeated member of an object the route reads, invalid UTF-8, a byte
order mark, an empty body, broken syntax (400 `malformed-request`); a top level that is neither an
object nor an array of objects (422); a body over the size limit (413). Requests go through the
real ingest Lambda handler against moto in-process, with and without an Idempotency-Key; after
each one every table holds exactly what it held before.
"""

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.runner.apiserver import http_api_event
from devtools.runner.lambda_context import LocalLambdaContext
from ingest.api import openapi_json
from ingest.core import ssrf
from ingest.core.api_keys_table import create_api_key
from ingest.core.rawjson import MAX_DEPTH
from ingest.core.settings import get_settings
from ingest.handler import lambda_handler

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
TENANT = "tenant-bodies"
PROBLEMS = "https://triggers.dev/problems/"
DOCUMENT: dict[str, Any] = json.loads(openapi_json())
BODY_ROUTES: list[tuple[str, str]] = sorted(
    (method.upper(), path)
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    if "requestBody" in operation
)
SENTINEL = "\x00corrupted\x00"
SENTINEL_TEXT = json.dumps(SENTINEL)


def body_required(method: str, path: str) -> bool:
    """Whether the route needs a body (one that does not takes an absent body as its default)."""
    return bool(DOCUMENT["paths"][path][method.lower()]["requestBody"].get("required", False))


def examples(method: str, path: str) -> list[Any]:
    """The example bodies a route documents."""
    content = DOCUMENT["paths"][path][method.lower()]["requestBody"]["content"]
    return [example["value"] for media in content.values() for example in media.get("examples", {}).values()]


def subscribed_types() -> list[str]:
    """The event types the documented example bodies subscribe to (not `*`)."""
    found: dict[str, None] = {}
    for item in DOCUMENT["paths"].values():
        for operation in item.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                for example in media.get("examples", {}).values():
                    value = example["value"]
                    if isinstance(value, dict) and isinstance(value.get("event_types"), list):
                        found.update(dict.fromkeys(name for name in value["event_types"] if name != "*"))
    return list(found)


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    text: str

    def problem(self) -> dict[str, Any]:
        assert self.content_type == "application/problem+json", (self.status, self.text)
        document: dict[str, Any] = json.loads(self.text)
        assert document["status"] == self.status
        return document


@dataclass
class Api:
    """A tenant of the in-process API, and the values its routes' path parameters take."""

    api_key: str
    path_values: dict[str, str]
    dynamodb: Any

    def post(self, path: str, body: bytes, idempotency_key: str | None = None) -> Reply:
        return self.send("POST", path, body, idempotency_key)

    def send(self, method: str, path: str, body: bytes, idempotency_key: str | None = None) -> Reply:
        headers = {
            "host": "api.test",
            "content-type": "application/json",
            "authorization": f"Bearer {self.api_key}",
        }
        if idempotency_key is not None:
            headers["idempotency-key"] = idempotency_key
        response = lambda_handler(
            http_api_event(method, self.url(path), headers, body, "127.0.0.1"),
            LocalLambdaContext("triggers-test-ingest"),
        )
        content_type = {name.lower(): value for name, value in (response.get("headers") or {}).items()}.get(
            "content-type", ""
        )
        return Reply(int(response["statusCode"]), content_type, response.get("body") or "")

    def url(self, path: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.path_values:
                pytest.fail(f"{path}: give the `{name}` path parameter a value in this test's `api` fixture")
            return self.path_values[name]

        return re.sub(r"\{(\w+)\}", value, path)


def table_contents(dynamodb: Any) -> dict[str, list[str]]:
    """Every item of every table, in a comparable form; not the rate-limit buckets, which every
    authenticated request draws from, refused or not (what it stored is what matters here)."""
    contents = {}
    for table in dynamodb.list_tables()["TableNames"]:
        items = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
        items = [item for item in items if not item.get("record", {}).get("S", "").startswith("bucket#")]
        contents[table] = sorted(json.dumps(item, sort_keys=True) for item in items)
    return contents


@pytest.fixture
def api(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    # The examples' webhook host resolves to a public address (no DNS in tests).
    monkeypatch.setattr(ssrf, "resolve_host", lambda host, port: ["93.184.215.14"])
    api = Api(create_api_key(dynamodb, get_settings().api_keys_table, TENANT), {}, dynamodb)
    event = api.post("/v1/events", b'{"event_type": "bodies.test", "payload": {}}')
    subscription = api.post(
        "/v1/subscriptions", b'{"target_url": "https://hooks.example.com/bodies", "event_types": ["*"]}'
    )
    assert (event.status, subscription.status) == (201, 201), (event.text, subscription.text)
    # A tenant with a catalog subscribes to catalog types only: every type a documented body
    # subscribes to is in it (and `bodies.type`, the `{name}` of the event-type routes).
    for name in ["bodies.type", *subscribed_types()]:
        created = api.post("/v1/event-types", json.dumps({"name": name}).encode())
        assert created.status == 201, created.text
    api.path_values.update(
        event_id=json.loads(event.text)["id"],
        subscription_id=json.loads(subscription.text)["id"],
        name="bodies.type",
    )
    yield api


# ---------------------------------------------------------------------------------------------
# Corruptions of an example body. Each gives the body and the answer it must get.


@dataclass(frozen=True)
class Corrupted:
    what: str
    body: bytes
    status: int
    problem: str


def _locations(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON value (the root excluded) where another value could stand."""
    children = (
        value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    )
    for key, child in children:
        yield (*path, key)
        yield from _locations(child, (*path, key))


def _replaced(value: Any, location: tuple[Any, ...], new: Any) -> Any:
    if not location:
        return new
    head, *rest = location
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], tuple(rest), new)}
    return [_replaced(item, tuple(rest), new) if index == head else item for index, item in enumerate(value)]


def _with_raw_value(example: Any, location: tuple[Any, ...], raw: str) -> bytes:
    """The example with the value at `location` replaced by the JSON text `raw`, verbatim."""
    text = json.dumps(_replaced(example, location, SENTINEL), ensure_ascii=False)
    assert text.count(SENTINEL_TEXT) == 1
    return text.replace(SENTINEL_TEXT, raw).encode()


def _hex4(code: int, upper: bool) -> str:
    return f"{code:04X}" if upper else f"{code:04x}"


huge_numbers = st.one_of(
    st.sampled_from(["1e999999", "-1e400", "1.8e308", "1E+309", "-2e308", "1" + "0" * 400 + ".0"]),
    st.builds(
        lambda sign, digits: sign + "9" * digits, st.sampled_from(["", "-"]), st.integers(310, 100_000)
    ),
)
constants = st.sampled_from(["NaN", "Infinity", "-Infinity"])
lone_surrogates = st.builds(
    lambda before, escape, after: json.dumps(before)[:-1] + escape + json.dumps(after)[1:],
    st.text(alphabet=st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=8),
    st.one_of(
        st.builds(lambda code, upper: f"\\u{_hex4(code, upper)}", st.integers(0xD800, 0xDFFF), st.booleans()),
        st.sampled_from(["\\ude00\\ud83d", "\\ud83d\\u0041", "\\ud83d \\ude00", "\\\\\\ud800"]),
    ),
    st.text(alphabet=st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=8),
)
deep_values = st.builds(
    lambda depth, kind: "[" * depth + "]" * depth if kind else '{"a":' * depth + "1" + "}" * depth,
    st.integers(MAX_DEPTH + 1, 5_000),
    st.booleans(),
)
invalid_utf8 = st.sampled_from(
    [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\x80"]
)


@st.composite
def corrupted(draw: st.DrawFn, example: Any, max_body_bytes: int, required: bool = True) -> Corrupted:
    kind = draw(
        st.sampled_from(
            [
                "number",
                "constant",
                "surrogate",
                "depth",
                "repeated",
                "utf8",
                "bom",
                "empty",
                "syntax",
                "shape",
                "size",
            ]
        )
    )
    text = json.dumps(example, ensure_ascii=False).encode()
    malformed = (400, "malformed-request")
    if kind in ("number", "constant", "surrogate", "depth"):
        strategy = {
            "number": huge_numbers,
            "constant": constants,
            "surrogate": lone_surrogates,
            "depth": deep_values,
        }
        location = draw(st.sampled_from(list(_locations(example))))
        raw = draw(strategy[kind])
        return Corrupted(f"{kind} at {location}", _with_raw_value(example, location, raw), *malformed)
    if kind == "repeated":
        # A member repeated in an object the route reads: the body, or an event of a batch.
        objects = (
            [()]
            if isinstance(example, dict)
            else [(i,) for i, item in enumerate(example) if isinstance(item, dict)]
        )
        where = draw(st.sampled_from(objects))
        target = example if not where else example[where[0]]
        name = draw(st.sampled_from(sorted(target)))
        again = draw(st.sampled_from([target[name], None, "other"]))
        member = json.dumps(name) + ": " + json.dumps(again) + ", "
        obj = "{" + member + json.dumps(target, ensure_ascii=False)[1:]
        return Corrupted(f"repeated {name!r} at {where}", _with_raw_value(example, where, obj), *malformed)
    if kind == "utf8":
        at = draw(st.integers(0, len(text)))
        return Corrupted("invalid UTF-8", text[:at] + draw(invalid_utf8) + text[at:], *malformed)
    if kind == "bom":
        return Corrupted("byte order mark", b"\xef\xbb\xbf" + text, *malformed)
    if kind == "empty":
        # No body at all is what a route with an optional body takes as its default.
        blanks = [b"", b" ", b"\r\n\t "] if required else [b" ", b"\r\n\t "]
        return Corrupted("empty body", draw(st.sampled_from(blanks)), *malformed)
    if kind == "syntax":
        return Corrupted("truncated", text[: draw(st.integers(1, len(text) - 1))], *malformed)
    if kind == "shape":
        shape = draw(
            st.one_of(
                st.sampled_from(["1", '"text"', "true", "null", "[1]", '["text"]', "[null]"]),
                st.just(
                    "[" + text.decode() + "]" if isinstance(example, list) else "[[" + text.decode() + "]]"
                ),
            )
        )
        return Corrupted(f"top level {shape[:20]}", shape.encode(), 422, "validation-failed")
    padding = b" " * (max_body_bytes + 1 - len(text))
    return Corrupted("over the size limit", text + padding, 413, "payload-too-large")


# ---------------------------------------------------------------------------------------------


def test_the_body_routes_are_read_from_the_document() -> None:
    assert {("POST", "/v1/events"), ("POST", "/v1/subscriptions")} <= set(BODY_ROUTES)
    assert ("POST", "/v1/subscriptions/{subscription_id}/replay") in BODY_ROUTES


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_every_body_route_documents_examples_that_it_accepts(api: Api, method: str, path: str) -> None:
    documented = examples(method, path)

    replies = [api.send(method, path, json.dumps(example).encode()) for example in documented]

    assert documented, f"{method} {path}: document example bodies (ingest.responses.json_body)"
    assert all(200 <= reply.status < 300 for reply in replies), [reply.text for reply in replies]


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), idempotency_key=st.one_of(st.none(), st.uuids().map(str)))
def test_a_body_the_reader_refuses_is_a_4xx_problem_and_stores_nothing(
    api: Api, method: str, path: str, data: st.DataObject, idempotency_key: str | None
) -> None:
    # Given an example body of the route, corrupted, and what the tables hold
    example = data.draw(st.sampled_from(examples(method, path)))
    body = data.draw(corrupted(example, get_settings().max_body_bytes, body_required(method, path)))
    before = table_contents(api.dynamodb)

    # When it is posted
    reply = api.send(method, path, body.body, idempotency_key)

    # Then it is refused with the corruption's problem, and no table changed
    problem = reply.problem()
    assert (reply.status, problem["type"]) == (body.status, PROBLEMS + body.problem), (body.what, reply.text)
    assert table_contents(api.dynamodb) == before, body.what
