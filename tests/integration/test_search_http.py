"""GET /v1/events?q=... over real HTTP, against documents the indexer wrote from stream records.

The stream records are built from the items the API stored and handed to the indexer handler
directly, as the ESM runner would.
"""

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from devtools.runner.lambda_context import LocalLambdaContext
from devtools.stack import EmbeddedStack, free_port
from ingest.core import events_table
from ingest.core.events_table import EventItem
from ingest.core.runtime import runtime
from processors.indexer.handler import lambda_handler
from tests.integration.conftest import ApiClient
from tests.streams import EventName, stream_event, stream_record

Index = Callable[..., None]


def unique_word() -> str:
    return f"zebra{uuid.uuid4().hex[:10]}"


def post(api: ApiClient, payload: dict[str, Any], event_type: str = "order.created", **fields: Any) -> str:
    response = api.post("/v1/events", json={"event_type": event_type, "payload": payload, **fields})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


Stored = Callable[[ApiClient, str], EventItem]
Feed = Callable[..., None]


@pytest.fixture
def stored(stack: EmbeddedStack, aws_client: Callable[[str], Any]) -> Stored:
    """An event's item as the events table holds it now."""
    table = stack.template.physical_name("EventsTable")

    def get(api: ApiClient, event_id: str) -> EventItem:
        return events_table.get_event(aws_client("dynamodb"), table, api.tenant_id, event_id)

    return get


@pytest.fixture
def feed(lambda_context: LocalLambdaContext) -> Feed:
    """Invoke the indexer with stream records, as the ESM runner would; every record must succeed."""

    def invoke(*records: dict[str, Any]) -> None:
        assert lambda_handler(stream_event(*records), lambda_context) == {"batchItemFailures": []}

    return invoke


@pytest.fixture
def index(stored: Stored, feed: Feed) -> Index:
    """Index events from stream records of their items as stored now."""

    def run(api: ApiClient, *event_ids: str, event_name: EventName = "INSERT") -> None:
        feed(*(stream_record(event_name, stored(api, event_id)) for event_id in event_ids))

    return run


def search(api: ApiClient, **params: Any) -> requests.Response:
    return api.get("/v1/events", params=params)


def search_until(api: ApiClient, count: int, **params: Any) -> dict[str, Any]:
    """Poll the search until it returns `count` events (indexing is near real time)."""
    deadline = time.monotonic() + 15
    while True:
        response = search(api, **params)
        assert response.status_code == 200, response.text
        page: dict[str, Any] = response.json()
        if len(page["data"]) == count or time.monotonic() > deadline:
            return page
        time.sleep(0.1)


def ids(page: dict[str, Any]) -> list[str]:
    return [event["id"] for event in page["data"]]


def test_search_finds_events_by_a_word_in_their_payload(api: ApiClient, index: Index) -> None:
    word = unique_word()
    match = post(api, {"note": f"the {word} has stripes"})
    other = post(api, {"note": "nothing to see"})

    index(api, match, other)

    assert ids(search_until(api, 1, q=word)) == [match]


def test_a_one_word_query_also_finds_events_by_the_start_of_their_type_or_source(
    api: ApiClient, index: Index
) -> None:
    # Given events whose type and source contain no payload word
    word = unique_word()
    by_type = post(api, {"n": 1}, event_type=f"{word}.created")
    by_source = post(api, {"n": 2}, event_type="x.y", source=f"{word}-shop")
    other = post(api, {"n": 3}, event_type="x.y", source="elsewhere")

    index(api, by_type, by_source, other)

    # Then the word finds both, newest first, and every word of a query must match somewhere
    assert ids(search_until(api, 2, q=word)) == [by_source, by_type]
    assert ids(search_until(api, 0, q=f"{word} more")) == []
    assert ids(search_until(api, 1, q=f"{word} x.y")) == [by_source]


def test_search_result_is_the_event_exactly_as_listed(api: ApiClient, index: Index) -> None:
    # Given an event whose payload text json.dumps would change
    word = unique_word()
    payload = '{"note": "' + word + '",  "price": 1.50, "big": 1e3}'
    created = api.post("/v1/events", data='{"event_type": "order.created", "payload": ' + payload + "}")
    event_id = created.json()["id"]
    index(api, event_id)

    # When it is found by search and by the DynamoDB listing
    found = search_until(api, 1, q=word)
    listed = api.get("/v1/events").json()

    # Then both give the same event, with the payload text as it was sent
    assert found == {"data": listed["data"], "next_cursor": None}
    assert '"payload":' + payload + "}" in search(api, q=word).text


def test_search_never_returns_another_tenants_events(
    new_tenant: Callable[[], ApiClient], index: Index
) -> None:
    word = unique_word()
    alice, bob = new_tenant(), new_tenant()
    alices = post(alice, {"note": word})
    bobs = post(bob, {"note": word})
    index(alice, alices)
    index(bob, bobs)

    assert ids(search_until(bob, 1, q=word)) == [bobs]
    assert ids(search_until(alice, 1, q=word)) == [alices]


def test_search_combines_text_type_and_source_filters(api: ApiClient, index: Index) -> None:
    word = unique_word()
    wanted = post(api, {"note": word}, event_type="order.created", source="shop")
    other_type = post(api, {"note": word}, event_type="order.paid", source="shop")
    other_source = post(api, {"note": word}, event_type="order.created", source="pos")
    index(api, wanted, other_type, other_source)
    search_until(api, 3, q=word)

    page = search(api, q=word, event_type="order.created", source="shop").json()

    assert ids(page) == [wanted]


def test_search_combines_text_and_time_range(api: ApiClient, index: Index) -> None:
    # Given three matching events received one after another
    word = unique_word()
    first, second, third = (post(api, {"note": word, "n": n}) for n in range(3))
    index(api, first, second, third)
    search_until(api, 3, q=word)
    received = api.get(f"/v1/events/{second}").json()["received_at"]

    # When the search is bounded by the second one's receive time
    since = search(api, q=word, since=received).json()
    until = search(api, q=word, until=received).json()

    # Then both bounds are inclusive
    assert ids(since) == [third, second]
    assert ids(until) == [second, first]


def test_search_pages_newest_first_with_a_cursor(api: ApiClient, index: Index) -> None:
    # Given five matching events
    word = unique_word()
    created = api.post("/v1/events", json=[{"event_type": "a.b", "payload": {"w": word}} for _ in range(5)])
    event_ids = [event["id"] for event in created.json()["data"]]
    index(api, *event_ids)
    search_until(api, 5, q=word)

    # When they are read two at a time
    pages, cursor = [], None
    while True:
        params = {"q": word, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = search(api, **params).json()
        pages.append(ids(page))
        cursor = page["next_cursor"]
        if cursor is None:
            break

    # Then every event comes exactly once, newest first
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [id_ for page in pages for id_ in page] == sorted(event_ids, reverse=True)


def test_search_shows_the_latest_status_even_after_a_replay(
    api: ApiClient, index: Index, stored: Stored, feed: Feed
) -> None:
    # Given an event indexed, then acknowledged (rev 2) and its MODIFY indexed
    word = unique_word()
    event_id = post(api, {"note": word})
    inserted = stream_record("INSERT", stored(api, event_id))
    feed(inserted)
    assert api.post(f"/v1/events/{event_id}/ack").status_code == 200
    index(api, event_id, event_name="MODIFY")

    # When the stream replays the old INSERT
    feed(inserted)

    # Then search still shows the acknowledged event
    page = search_until(api, 1, q=word)
    assert [(event["status"], event["rev"]) for event in page["data"]] == [("acknowledged", 2)]


def test_deleted_event_disappears_from_search(
    api: ApiClient, index: Index, stored: Stored, feed: Feed
) -> None:
    word = unique_word()
    event_id = post(api, {"note": word})
    removed = stream_record("REMOVE", stored(api, event_id))
    index(api, event_id)
    search_until(api, 1, q=word)

    assert api.delete(f"/v1/events/{event_id}").status_code == 204
    feed(removed)

    assert search_until(api, 0, q=word)["data"] == []


def test_indexing_the_same_records_twice_does_not_duplicate_results(api: ApiClient, index: Index) -> None:
    word = unique_word()
    event_id = post(api, {"note": word})

    index(api, event_id)
    index(api, event_id)

    assert ids(search_until(api, 1, q=word)) == [event_id]


# -- field-scoped queries ----------------------------------------------------------------------


def test_a_payload_field_at_any_depth_matches_its_exact_value(api: ApiClient, index: Index) -> None:
    # Given payloads where 42 appears as the customer id, elsewhere, nested deeper, and as a longer number
    wanted = post(api, {"customer": {"id": 42, "name": "Ann"}})
    as_text = post(api, {"customer": {"id": "42"}})
    deeper = post(api, {"order": {"lines": [{"customer": {"id": 42}}]}})
    elsewhere = post(api, {"customer": {"id": 7}, "total": 42})
    longer = post(api, {"customer": {"id": 420}})
    index(api, wanted, as_text, deeper, elsewhere, longer)
    search_until(api, 5, q="customer")

    # Then each path finds exactly the events holding that value there (a number or its text)
    assert ids(search_until(api, 2, q="payload.customer.id:42")) == [as_text, wanted]
    assert ids(search_until(api, 1, q="payload.order.lines.customer.id:42")) == [deeper]
    assert ids(search_until(api, 1, q="payload.customer.id:42.0 payload.customer.name:Ann")) == [wanted]
    assert ids(search(api, q="payload.customer.id:4").json()) == []


def test_a_quoted_field_value_may_hold_spaces_and_a_final_star_is_a_prefix(
    api: ApiClient, index: Index
) -> None:
    blue = post(api, {"customer": {"name": "Blue Widget Co"}})
    bluer = post(api, {"customer": {"name": "Bluer Things"}})
    index(api, blue, bluer)

    assert ids(search_until(api, 1, q='payload.customer.name:"Blue Widget Co"')) == [blue]
    assert ids(search_until(api, 2, q="payload.customer.name:Blue*")) == [bluer, blue]
    assert ids(search(api, q="payload.customer.name:blue*").json()) == []  # values are case-sensitive


def test_event_type_and_source_match_exactly_or_by_prefix(api: ApiClient, index: Index) -> None:
    created = post(api, {"n": 1}, event_type="order.created", source="shop-eu")
    paid = post(api, {"n": 2}, event_type="order.paid", source="shop-us")
    other = post(api, {"n": 3}, event_type="orders.archived", source="pos")
    index(api, created, paid, other)

    assert ids(search_until(api, 2, q="event_type:order.*")) == [paid, created]
    assert ids(search_until(api, 1, q="event_type:order.created")) == [created]
    assert ids(search_until(api, 2, q="source:shop*")) == [paid, created]
    assert ids(search_until(api, 1, q="source:pos")) == [other]


def test_status_matches_the_events_current_status(api: ApiClient, index: Index) -> None:
    acknowledged = post(api, {"n": 1})
    pending = post(api, {"n": 2})
    assert api.post(f"/v1/events/{acknowledged}/ack").status_code == 200
    index(api, acknowledged, pending)

    assert ids(search_until(api, 1, q="status:acknowledged")) == [acknowledged]
    assert ids(search_until(api, 1, q="status:pending")) == [pending]


def test_a_quoted_phrase_matches_its_words_in_order(api: ApiClient, index: Index) -> None:
    in_order = post(api, {"note": "one blue widget please"})
    reversed_ = post(api, {"note": "a widget that is blue"})
    index(api, in_order, reversed_)
    search_until(api, 2, q="blue widget")

    assert ids(search_until(api, 1, q='"blue widget"')) == [in_order]


def test_terms_combine_with_and_or_and_minus(api: ApiClient, index: Index) -> None:
    # Given three orders of two customers
    word = unique_word()
    ann_paid = post(api, {"w": word, "customer": "ann"}, event_type="order.paid")
    ann_created = post(api, {"w": word, "customer": "ann"}, event_type="order.created")
    bob_paid = post(api, {"w": word, "customer": "bob"}, event_type="order.paid")
    index(api, ann_paid, ann_created, bob_paid)
    search_until(api, 3, q=word)

    # Then spaces are AND, OR joins its neighbours, and a minus excludes
    assert ids(search_until(api, 1, q=f"{word} payload.customer:ann event_type:order.paid")) == [ann_paid]
    both = "payload.customer:ann OR payload.customer:bob event_type:order.paid"
    assert ids(search_until(api, 2, q=both)) == [bob_paid, ann_paid]
    assert ids(search_until(api, 2, q=f"{word} -payload.customer:bob")) == [ann_created, ann_paid]
    assert ids(search_until(api, 1, q="-event_type:order.paid")) == [ann_created]


def test_field_queries_never_return_another_tenants_events_with_the_same_fields(
    new_tenant: Callable[[], ApiClient], index: Index
) -> None:
    # Given two tenants posting identical events
    alice, bob = new_tenant(), new_tenant()
    same = {"customer": {"id": 42, "name": "Blue Widget Co"}, "note": "blue widget"}
    alices = post(alice, same, event_type="order.created", source="shop")
    bobs = post(bob, same, event_type="order.created", source="shop")
    index(alice, alices)
    index(bob, bobs)

    # Then every form of query finds only the caller's own event
    for q in [
        "payload.customer.id:42",
        'payload.customer.name:"Blue Widget Co"',
        "payload.customer.name:Blue*",
        "event_type:order.*",
        "source:shop",
        "status:pending",
        '"blue widget"',
        "payload.customer.id:42 OR payload.customer.id:43",
        "-payload.customer.id:7",
    ]:
        assert ids(search_until(alice, 1, q=q)) == [alices], q
        assert ids(search_until(bob, 1, q=q)) == [bobs], q


def test_naming_another_tenant_or_an_internal_field_is_refused(
    new_tenant: Callable[[], ApiClient], index: Index
) -> None:
    # Given bob's event
    alice, bob = new_tenant(), new_tenant()
    bobs = post(bob, {"note": "secret"})
    index(bob, bobs)
    search_until(bob, 1, q="secret")

    # When alice names bob's tenant, the event id or the index, the answer is a 400 and no data
    for q in [f"tenant_id:{bob.tenant_id}", f"_id:{bobs}", "_index:events-v1", f"event_id:{bobs}"]:
        response = search(alice, q=q)
        assert response.status_code == 400, q
        assert response.json()["type"] == "https://triggers.dev/problems/invalid-query"
        assert bobs not in response.text


@pytest.mark.parametrize(
    ("q", "reason"),
    [
        ('"blue widget', "unbalanced quote"),
        ("colour:blue", "unknown field `colour`"),
        ("payload_fields:customer.id=42", "unknown field `payload_fields`"),
        ("*widget", "`*` may only end a value"),
        ("payload.customer.id:*", "`*` needs at least one character"),
        ("payload.a.b.c.d.e.f.g.h.i:1", "too deep"),
        ("payload.a b:1", "unknown field `b`"),
        ("(a OR b)", "parentheses are not supported"),
        ("a OR", "OR needs a term on each side"),
        ("status:lost", "status is one of"),
        (" ".join(f"payload.k{n}:{n}" for n in range(17)), "at most 16"),
    ],
    ids=[
        "unbalanced-quote",
        "unknown-field",
        "internal-field",
        "leading-wildcard",
        "bare-wildcard",
        "too-deep",
        "bad-path",
        "parentheses",
        "dangling-or",
        "unknown-status",
        "too-many-terms",
    ],
)
def test_query_outside_the_syntax_is_a_400_saying_why(api: ApiClient, q: str, reason: str) -> None:
    response = search(api, q=q)

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "https://triggers.dev/problems/invalid-query"
    assert reason in problem["detail"]


def test_a_repeated_term_finds_what_the_term_finds_once(api: ApiClient, index: Index) -> None:
    event_id = post(api, {"customer": {"id": 42}})
    index(api, event_id)
    search_until(api, 1, q="payload.customer.id:42")

    assert ids(search(api, q="payload.customer.id:42 payload.customer.id:42").json()) == [event_id]


def test_a_repeated_q_parameter_is_refused_rather_than_one_of_them_used(api: ApiClient) -> None:
    response = api.get("/v1/events?q=anything&q=tenant_id:x")

    assert response.status_code == 422
    assert response.json()["type"] == "https://triggers.dev/problems/validation-failed"


def test_an_invalid_query_is_refused_even_when_opensearch_is_down(
    api: ApiClient, search_settings: Callable[[str, str], None]
) -> None:
    search_settings("OPENSEARCH_ENDPOINT", f"http://127.0.0.1:{free_port()}")

    assert search(api, q="tenant_id:x").status_code == 400


@pytest.mark.parametrize(
    "q",
    ["", "   ", "a\x00b", "tab\there", "x" * 257],
    ids=["empty", "blank", "nul", "control", "oversized"],
)
def test_malformed_or_oversized_query_is_rejected(api: ApiClient, q: str) -> None:
    response = search(api, q=q)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "https://triggers.dev/problems/validation-failed"


def test_search_without_an_api_key_is_unauthorized(stack: EmbeddedStack) -> None:
    response = requests.get(f"{stack.api_url}/v1/events", params={"q": "anything"}, timeout=30)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_cursor_of_another_tenant_is_rejected(new_tenant: Callable[[], ApiClient], index: Index) -> None:
    word = unique_word()
    alice, bob = new_tenant(), new_tenant()
    created = alice.post("/v1/events", json=[{"event_type": "a.b", "payload": {"w": word}} for _ in range(2)])
    index(alice, *(event["id"] for event in created.json()["data"]))
    search_until(alice, 2, q=word)
    cursor = search(alice, q=word, limit=1).json()["next_cursor"]

    response = search(bob, q=word, cursor=cursor)

    assert response.status_code == 400
    assert response.json()["type"] == "https://triggers.dev/problems/malformed-request"


def test_listing_cursor_is_rejected_by_search(api: ApiClient) -> None:
    api.post("/v1/events", json=[{"event_type": "a.b", "payload": {}} for _ in range(2)])
    cursor = api.get("/v1/events", params={"limit": 1}).json()["next_cursor"]

    response = search(api, q="anything", cursor=cursor)

    assert response.status_code == 400


@pytest.fixture
def search_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, str], None]]:
    """Change the API's search settings for one test (the API server runs in this process)."""

    def change(name: str, value: str) -> None:
        monkeypatch.setenv(name, value)
        runtime.reset()

    yield change
    monkeypatch.undo()
    runtime.reset()


def test_search_when_opensearch_is_unreachable_is_503(
    api: ApiClient, search_settings: Callable[[str, str], None]
) -> None:
    search_settings("OPENSEARCH_ENDPOINT", f"http://127.0.0.1:{free_port()}")

    response = search(api, q="anything")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "https://triggers.dev/problems/search-unavailable"


def test_search_before_anything_is_indexed_is_an_empty_page(
    api: ApiClient, search_settings: Callable[[str, str], None]
) -> None:
    search_settings("INDEX_ALIAS", f"missing-{uuid.uuid4().hex[:8]}")

    response = search(api, q="anything")

    assert response.status_code == 200
    assert response.json() == {"data": [], "next_cursor": None}
