"""`triggers search` against the embedded stack (API search through the real indexer)."""

import uuid

import pytest

from devtools.cli import main
from devtools.stack import EmbeddedStack
from tests.e2e.conftest import post_events, wait_until
from tests.integration.cli_support import cli, command_output, run_json
from tests.integration.conftest import ApiClient


def indexed(api: ApiClient, word: str, count: int) -> None:
    def probe() -> bool:
        response = api.get("/v1/events", params={"q": word, "limit": 100})
        return response.status_code == 200 and len(response.json()["data"]) >= count

    wait_until(probe, f"{count} events with {word} indexed", timeout=60)


@pytest.fixture
def five_matching(api: ApiClient) -> tuple[str, list[str]]:
    """Five events with a unique word (newest first, as search returns them) and one without."""
    word = f"needle{uuid.uuid4().hex[:8]}"
    ids = post_events(
        api, [{"event_type": "cli.search", "payload": {"note": f"{word} {n}"}} for n in range(5)]
    )
    post_events(api, [{"event_type": "cli.search", "payload": {"note": "hay"}}])
    indexed(api, word, 5)
    return word, sorted(ids, reverse=True)


def test_search_prints_the_matching_events_as_json(
    api: ApiClient,
    stack: EmbeddedStack,
    five_matching: tuple[str, list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    word, ids = five_matching

    code, result = run_json(capsys, cli(api, stack, "search", word))

    assert code == 0
    assert [event["id"] for event in result["data"]] == ids
    assert result["count"] == 5
    assert result["next_cursor"] is None
    assert result["data"][0]["payload"] == {"note": f"{word} 4"}


def test_search_takes_field_scoped_queries(
    api: ApiClient,
    stack: EmbeddedStack,
    five_matching: tuple[str, list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    word, ids = five_matching

    code, exact = run_json(capsys, cli(api, stack, "search", f'payload.note:"{word} 3" event_type:cli.*'))
    _, prefix = run_json(capsys, cli(api, stack, "search", f'payload.note:{word}* -payload.note:"{word} 0"'))

    assert code == 0
    assert [event["id"] for event in exact["data"]] == [ids[1]]
    assert [event["id"] for event in prefix["data"]] == ids[:4]


def test_search_pages_with_limit_and_cursor(
    api: ApiClient,
    stack: EmbeddedStack,
    five_matching: tuple[str, list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    word, ids = five_matching

    _, first = run_json(capsys, cli(api, stack, "search", word, "--limit", "2"))
    _, rest = run_json(capsys, cli(api, stack, "search", word, "--all", "--cursor", first["next_cursor"]))

    assert [event["id"] for event in first["data"]] == ids[:2]
    assert first["next_cursor"]
    assert [event["id"] for event in rest["data"]] == ids[2:]
    assert rest["next_cursor"] is None


def test_search_shows_a_table_for_people(
    api: ApiClient,
    stack: EmbeddedStack,
    five_matching: tuple[str, list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    word, ids = five_matching

    code = main(cli(api, stack, "search", word, "--type", "cli.search", "--no-color"))

    assert code == 0
    out = command_output(capsys)[0]
    assert all(event_id in out for event_id in ids)
    assert "5 event(s)" in out


def test_search_without_matches_says_so(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(cli(api, stack, "search", f"nothing{uuid.uuid4().hex}"))

    assert code == 0
    assert "no events match" in command_output(capsys)[0]


def test_search_with_an_unknown_key_fails_with_the_api_reason(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["search", "x", "--api-url", stack.api_url, "--api-key", "trg_unknown", "--json"])

    assert code == 1
    err = capsys.readouterr().err
    assert "HTTP 401 unauthorized" in err


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["x" * 300], 1, "HTTP 422 validation-failed"),
        (["tenant_id:other"], 1, "HTTP 400 invalid-query"),
        (['"unbalanced'], 1, "HTTP 400 invalid-query"),
        (["x", "--since", "yesterday-ish"], 2, "not a time or duration"),
    ],
)
def test_search_reports_bad_input(
    api: ApiClient,
    stack: EmbeddedStack,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    code: int,
    message: str,
) -> None:
    assert main(cli(api, stack, "search", *argv)) == code
    assert message in capsys.readouterr().err
