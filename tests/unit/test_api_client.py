"""The CLI's API client (devtools/api_client.py) over the generated SDK: what each answer becomes.

A local HTTP server plays the API; the operations are the SDK's, the errors the CLI's.
"""

import json
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from devtools.api_client import (
    ApiError,
    SearchQuery,
    call,
    connect,
    ingest,
    replay,
    search,
    subscribe,
    subscription_path,
    unsubscribe,
)

KEY = "trg_test"
PROBLEM = "application/problem+json"


def problem(status: int, slug: str, detail: str, **extra: Any) -> str:
    document = {"type": f"https://triggers.dev/problems/{slug}", "title": slug, "status": status}
    return json.dumps({**document, "detail": detail, **extra})


def test_a_problem_becomes_an_api_error_with_its_type_detail_and_field_errors(httpserver: HTTPServer) -> None:
    errors = [
        {"field": "target_url", "message": "must be https"},
        {"field": "event_types", "message": "empty"},
    ]
    body = problem(422, "validation-failed", "the subscription is invalid", errors=errors)
    httpserver.expect_request("/v1/subscriptions", method="POST").respond_with_data(
        body, status=422, content_type=PROBLEM
    )

    with pytest.raises(ApiError) as raised, connect(httpserver.url_for("/"), KEY) as client:
        subscribe(client, "http://x", [])

    assert str(raised.value) == (
        "HTTP 422 validation-failed: the subscription is invalid "
        "(target_url: must be https; event_types: empty)"
    )
    assert (raised.value.status, raised.value.problem) == (422, "validation-failed")


def test_an_error_that_is_not_a_problem_keeps_its_status_and_text(httpserver: HTTPServer) -> None:
    # A gateway in front of the API answers a documented status (503) with its own body
    httpserver.expect_request("/v1/events").respond_with_data("<html>Service Unavailable</html>", status=503)

    with pytest.raises(ApiError) as raised, connect(httpserver.url_for("/"), KEY) as client:
        search(client, SearchQuery("x"), limit=10)

    assert str(raised.value) == "HTTP 503 http-503: <html>Service Unavailable</html>"
    assert (raised.value.status, raised.value.problem) == (503, "http-503")


def test_an_unreachable_api_is_an_api_error() -> None:
    unreachable = "cannot reach the API at http://127.0.0.1:9: ConnectError"
    with pytest.raises(ApiError, match=unreachable), connect("http://127.0.0.1:9", KEY, timeout=2) as client:
        unsubscribe(client, "sub_1")


def test_an_undocumented_success_body_is_an_api_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/events", method="POST").respond_with_json({"unexpected": True}, status=201)

    with (
        pytest.raises(ApiError, match="unreadable answer from the API"),
        connect(httpserver.url_for("/"), KEY) as client,
    ):
        ingest(client, [{"event_type": "a.b", "payload": {}}])


def test_search_follows_the_cursor_and_keeps_the_apis_json(httpserver: HTTPServer) -> None:
    def event(n: int) -> dict[str, Any]:
        return {
            "id": f"01J{n:023d}",
            "event_type": "a.b",
            "source": None,
            "occurred_at": None,
            "received_at": "2026-01-02T03:04:05.600Z",
            "status": "pending",
            "rev": 1,
            "payload": {"n": n},
        }

    httpserver.expect_ordered_request(
        "/v1/events", query_string={"q": "x", "limit": "100"}
    ).respond_with_json({"data": [event(1)], "next_cursor": "c1"})
    httpserver.expect_ordered_request(
        "/v1/events", query_string={"q": "x", "limit": "100", "cursor": "c1"}
    ).respond_with_json({"data": [event(2)], "next_cursor": None})

    with connect(httpserver.url_for("/"), KEY) as client:
        result = search(client, SearchQuery("x"), limit=None)

    assert result.events == [event(1), event(2)]  # timestamps as the API wrote them
    assert result.next_cursor is None
    assert httpserver.log[0][0].headers["Authorization"] == f"Bearer {KEY}"


def test_replay_posts_the_ids_in_chunks_of_a_hundred(httpserver: HTTPServer) -> None:
    seen: list[int] = []

    def answer(request: Any) -> Any:
        from werkzeug import Response

        ids = request.get_json()["event_ids"]
        seen.append(len(ids))
        data = [{"event_id": i, "outcome": "queued", "previous_attempts": 0} for i in ids]
        return Response(json.dumps({"data": data}), status=202, content_type="application/json")

    httpserver.expect_request("/v1/subscriptions/sub_1/replay", method="POST").respond_with_handler(answer)
    ids = [f"e{n}" for n in range(150)]

    with connect(httpserver.url_for("/"), KEY) as client:
        outcomes = replay(client, "sub_1", ids)

    assert seen == [100, 50]
    assert [outcome.event_id for outcome in outcomes] == ids


def test_call_reaches_a_route_by_path_with_the_same_errors(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/subscriptions/sub 1/recover", method="POST").respond_with_json(
        {"queued": 2}, status=202
    )
    httpserver.expect_request("/v1/other", method="GET").respond_with_data(
        problem(404, "not-found", "no such thing"), status=404, content_type=PROBLEM
    )

    with connect(httpserver.url_for("/"), KEY) as client:
        answer = call(client, "POST", subscription_path("sub 1") + "/recover", json={"since": "1d"})
        with pytest.raises(ApiError, match="HTTP 404 not-found: no such thing"):
            call(client, "GET", "/v1/other")

    assert answer == {"queued": 2}
