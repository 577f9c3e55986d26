"""`triggers reindex` against the embedded stack: documents indexed before `payload_fields` existed
gain it, newer ones stay, and other tenants are left alone."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from opensearchpy import OpenSearch

from devtools.cli import main
from devtools.stack import EmbeddedStack
from ingest.core.settings import get_settings
from tests.e2e.conftest import post_events, wait_until
from tests.integration.cli_support import run_json
from tests.integration.conftest import ApiClient


def field_hits(api: ApiClient, q: str) -> list[str]:
    response = api.get("/v1/events", params={"q": q})
    assert response.status_code == 200, response.text
    return [event["id"] for event in response.json()["data"]]


@pytest.fixture
def opensearch(stack: EmbeddedStack) -> OpenSearch:
    return OpenSearch(hosts=[stack.opensearch_url])


def as_an_earlier_release_indexed_it(opensearch: OpenSearch, event_id: str) -> None:
    """Rewrite the document at its rev without `payload_fields`, as documents indexed before it exist."""
    alias = get_settings().index_alias
    source: dict[str, Any] = opensearch.get(index=alias, id=event_id)["_source"]
    source.pop("payload_fields")
    opensearch.index(
        index=alias, id=event_id, body=source, version=source["rev"], version_type="external_gte"
    )
    opensearch.indices.refresh(index=alias)


def reindex(stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    return run_json(capsys, ["reindex", *argv, "--stage", stack.stage, "--endpoint", stack.aws_url])


def test_reindex_gives_older_documents_their_payload_fields_for_one_tenant_only(
    stack: EmbeddedStack,
    new_tenant: Callable[[], ApiClient],
    opensearch: OpenSearch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given two tenants' events, indexed by the pipeline, then stripped back to the old document shape
    alice, bob = new_tenant(), new_tenant()
    (alices,) = post_events(alice, [{"event_type": "order.created", "payload": {"customer": {"id": 42}}}])
    (bobs,) = post_events(bob, [{"event_type": "order.created", "payload": {"customer": {"id": 42}}}])
    for api, event_id in ((alice, alices), (bob, bobs)):
        wait_until(lambda api=api: field_hits(api, "payload.customer.id:42"), "the event indexed")
        as_an_earlier_release_indexed_it(opensearch, event_id)
    assert field_hits(alice, "payload.customer.id:42") == []
    assert field_hits(alice, "customer") == [alices]  # still found by text meanwhile

    # When alice's events are re-indexed
    code, report = reindex(stack, capsys, "--tenant", alice.tenant_id)

    # Then her event is found by its field again, at the same rev; bob's document is untouched
    assert code == 0
    assert report == {"read": 1, "indexed": 1, "newer_in_index": 0, "rejected": [], "not_taken": []}
    assert wait_until(lambda: field_hits(alice, "payload.customer.id:42"), "alice's field hit") == [alices]
    assert opensearch.get(index=get_settings().index_alias, id=alices)["_version"] == 1
    assert field_hits(bob, "payload.customer.id:42") == []


def test_reindex_leaves_newer_documents_alone_and_can_run_again(
    stack: EmbeddedStack, api: ApiClient, opensearch: OpenSearch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given two indexed events, one of whose index documents is newer than the table's rev
    alias = get_settings().index_alias
    current, ahead = post_events(api, [{"event_type": "a.b", "payload": {"n": n}} for n in (1, 2)])
    wait_until(lambda: len(field_hits(api, "event_type:a.b")) == 2, "both events indexed")
    newer = {**opensearch.get(index=alias, id=ahead)["_source"], "rev": 5, "status": "acknowledged"}
    opensearch.index(index=alias, id=ahead, body=newer, version=5, version_type="external")

    # When the tenant is re-indexed, twice (one event per page the second time)
    first = reindex(stack, capsys, "--tenant", api.tenant_id)
    second = reindex(stack, capsys, "--tenant", api.tenant_id, "--page-size", "1")

    # Then the current one is rewritten at its rev, the newer one kept, both times
    expected = {"read": 2, "indexed": 1, "newer_in_index": 1, "rejected": [], "not_taken": []}
    assert first == (0, expected)
    assert second == (0, expected)
    assert opensearch.get(index=alias, id=current)["_version"] == 1
    assert opensearch.get(index=alias, id=ahead)["_source"]["rev"] == 5


def test_reindex_against_an_unreachable_stack_fails_with_the_reason(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["reindex", "--stage", stack.stage, "--endpoint", "http://127.0.0.1:9", "--json"])

    assert code == 1
    error = json.loads(capsys.readouterr().err.strip().splitlines()[-1])["error"]
    assert error.startswith("OpenSearch failed: ConnectionError")
