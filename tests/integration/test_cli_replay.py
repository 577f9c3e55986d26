"""`triggers replay` and `POST /v1/subscriptions/{id}/replay` against the embedded stack."""

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from devtools.cli import main
from devtools.receiver import Receiver
from devtools.stack import EmbeddedStack
from ingest.core.settings import get_settings
from ingest.core.subscriptions_table import disable
from tests.e2e import conftest as e2e
from tests.e2e.conftest import Configure, deliveries_of, post_events, subscribe, wait_until
from tests.integration.cli_support import cli, command_output, run_json, wait_for_stream_idle
from tests.integration.conftest import ApiClient

configure = e2e.configure


def wait_indexed(client: ApiClient, word: str, count: int) -> list[str]:
    def probe() -> list[str] | None:
        response = client.get("/v1/events", params={"q": word, "limit": 100})
        assert response.status_code == 200, response.text
        ids = [event["id"] for event in response.json()["data"]]
        return ids if len(ids) >= count else None

    return wait_until(probe, f"{count} events matching {word} in the index", timeout=60)


def delivered(client: ApiClient, event_id: str, subscription_id: str, attempts: int) -> bool:
    delivery = deliveries_of(client, event_id).get(subscription_id)
    return bool(delivery and delivery["state"] == "delivered" and delivery["attempt_count"] == attempts)


def test_replay_redelivers_exactly_the_matching_events_with_the_same_webhook_ids(
    api: ApiClient, stack: EmbeddedStack, configure: Configure, capsys: pytest.CaptureFixture[str]
) -> None:
    word, other = f"alpha{uuid.uuid4().hex[:8]}", f"beta{uuid.uuid4().hex[:8]}"
    with Receiver() as receiver:
        # Given a subscriber to order.created that got its events once
        subscription = subscribe(api, receiver.url, ["order.created"])
        receiver.add_secret(subscription["secret"])
        matching = post_events(
            api, [{"event_type": "order.created", "payload": {"tag": word, "n": n}} for n in range(3)]
        )
        others = post_events(
            api, [{"event_type": "order.created", "payload": {"tag": other}} for _ in range(2)]
        )
        (refund,) = post_events(api, [{"event_type": "refund.created", "payload": {"tag": word}}])
        receiver.wait_for(5, timeout=60)
        wait_indexed(api, word, 4)

        # When the events matching the search are replayed to it
        code, summary = run_json(
            capsys, cli(api, stack, "replay", "--query", word, "--subscription", subscription["id"])
        )

        # Then the three matching order.created events are queued, the refund is not sent
        assert code == 0
        assert summary["matched"] == 4
        assert summary["outcomes"] == {"queued": 3, "not_subscribed": 1}
        outcome = {item["event_id"]: item for item in summary["events"]}
        assert outcome[refund]["outcome"] == "not_subscribed"
        assert all(outcome[event_id]["previous_attempts"] == 1 for event_id in matching)
        for event_id in matching:
            wait_until(lambda e=event_id: delivered(api, e, subscription["id"], 2), f"replay of {event_id}")
        # ...arriving again with the same webhook-ids, verified, and nothing else was sent
        replayed = receiver.deliveries[5:]
        assert sorted(delivery.webhook_id for delivery in replayed) == sorted(matching)
        assert all(delivery.verified and delivery.status == 200 for delivery in replayed)
    for event_id in others:
        assert deliveries_of(api, event_id)[subscription["id"]]["attempt_count"] == 1
    assert deliveries_of(api, refund) == {}
    attempts = deliveries_of(api, matching[0])[subscription["id"]]["attempts"]
    assert [attempt["status_code"] for attempt in attempts] == [200, 200]


def test_replay_delivers_an_event_from_before_the_subscription_for_the_first_time(
    api: ApiClient, stack: EmbeddedStack, configure: Configure, capsys: pytest.CaptureFixture[str]
) -> None:
    word = f"early{uuid.uuid4().hex[:8]}"
    # An event accepted before a subscription may still reach it if the fanout reads the event's
    # batch after the subscription exists. A fence subscriber receiving the event proves the fanout
    # has read its batch's subscriptions, so the subscription created next can only get it by replay.
    with Receiver() as fence:
        fence_subscription = subscribe(api, fence.url, ["*"])
        (event_id,) = post_events(api, [{"event_type": "order.created", "payload": {"tag": word}}])
        fence.wait_for(1, timeout=60)
    assert api.delete(f"/v1/subscriptions/{fence_subscription['id']}").status_code == 204
    wait_indexed(api, word, 1)
    with Receiver() as receiver:
        subscription = subscribe(api, receiver.url, ["*"])
        receiver.add_secret(subscription["secret"])

        code, summary = run_json(
            capsys, cli(api, stack, "replay", "--query", word, "--subscription", subscription["id"])
        )

        assert code == 0
        assert summary["events"] == [{"event_id": event_id, "outcome": "queued", "previous_attempts": 0}]
        (delivery,) = receiver.wait_for(1, timeout=60)
    assert delivery.webhook_id == event_id
    assert delivery.verified is True
    wait_until(lambda: delivered(api, event_id, subscription["id"], 1), "the first delivery")


def test_replay_since_leaves_older_matching_events_alone(
    api: ApiClient, stack: EmbeddedStack, configure: Configure, capsys: pytest.CaptureFixture[str]
) -> None:
    word = f"since{uuid.uuid4().hex[:8]}"
    (older,) = post_events(api, [{"event_type": "a.b", "payload": {"tag": word}}])
    cutoff = datetime.now(UTC).isoformat()
    (newer,) = post_events(api, [{"event_type": "a.b", "payload": {"tag": word}}])
    wait_indexed(api, word, 2)
    wait_for_stream_idle(stack)  # fanout is past both events before the subscription exists
    with Receiver() as receiver:
        subscription = subscribe(api, receiver.url, ["a.b"])

        code, summary = run_json(
            capsys,
            cli(
                api, stack, "replay", "--query", word, "--subscription", subscription["id"], "--since", cutoff
            ),
        )

        assert code == 0
        assert [item["event_id"] for item in summary["events"]] == [newer]
        wait_until(lambda: delivered(api, newer, subscription["id"], 1), "the replay of the newer event")
    assert subscription["id"] not in deliveries_of(api, older)


def test_replay_dry_run_lists_the_events_and_sends_nothing(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    word = f"dry{uuid.uuid4().hex[:8]}"
    subscription = subscribe(api, "http://127.0.0.1:9/hook", ["c.d"])
    (event_id,) = post_events(api, [{"event_type": "a.b", "payload": {"tag": word}}])
    wait_indexed(api, word, 1)

    code = main(cli(api, stack, "replay", "--query", word, "--subscription", subscription["id"], "--dry-run"))

    assert code == 0
    out = command_output(capsys)[0]
    assert event_id in out
    assert "dry run: nothing replayed" in out
    assert deliveries_of(api, event_id) == {}


def test_replay_to_another_tenants_subscription_is_refused(
    new_tenant: Callable[[], ApiClient], stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    owner, intruder = new_tenant(), new_tenant()
    subscription = subscribe(owner, "http://127.0.0.1:9/hook", ["*"])

    code = main(cli(intruder, stack, "replay", "--query", "anything", "--subscription", subscription["id"]))

    assert code == 1
    assert "HTTP 404" in capsys.readouterr().err
    response = intruder.post(f"/v1/subscriptions/{subscription['id']}/replay", json={"event_ids": ["0" * 26]})
    assert response.status_code == 404


def test_replay_to_a_disabled_subscription_is_refused(
    api: ApiClient, stack: EmbeddedStack, aws_client: Callable[[str], Any], capsys: pytest.CaptureFixture[str]
) -> None:
    subscription = subscribe(api, "http://127.0.0.1:9/hook", ["*"])
    disable(
        aws_client("dynamodb"), get_settings().subscriptions_table, api.tenant_id, subscription["id"], "test"
    )
    (event_id,) = post_events(api, [{"event_type": "a.b", "payload": {}}])

    code = main(cli(api, stack, "replay", "--query", "x", "--subscription", subscription["id"]))

    assert code == 1
    assert "disabled" in capsys.readouterr().err
    response = api.post(f"/v1/subscriptions/{subscription['id']}/replay", json={"event_ids": [event_id]})
    assert response.status_code == 409
    assert response.json()["type"].endswith("/subscription-disabled")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("{not json", 400),
        ('{"event_ids": []}', 422),
        ('{"event_ids": ["short"]}', 422),
        (json.dumps({"event_ids": ["0" * 26] * 101}), 422),
        ('{"event_ids": ["' + "0" * 26 + '"], "extra": 1}', 422),
        (json.dumps({"event_ids": ["0" * 26], "pad": "x" * 2_000_000}), 413),
    ],
)
def test_replay_route_rejects_bad_requests(api: ApiClient, body: str, status: int) -> None:
    subscription = subscribe(api, "http://127.0.0.1:9/hook", ["*"])

    response = api.post(
        f"/v1/subscriptions/{subscription['id']}/replay",
        data=body.encode(),
        headers={"content-type": "application/json"},
    )

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_replay_route_needs_an_api_key(api: ApiClient, stack: EmbeddedStack) -> None:
    subscription = subscribe(api, "http://127.0.0.1:9/hook", ["*"])
    anonymous = ApiClient(stack.api_url, None, "nobody")

    response = anonymous.post(
        f"/v1/subscriptions/{subscription['id']}/replay", json={"event_ids": ["0" * 26]}
    )

    assert response.status_code == 401


def test_replay_route_takes_each_event_once_and_leaves_one_in_progress_alone(
    api: ApiClient, configure: Configure
) -> None:
    # Given an event whose delivery is waiting on the retry queue (receiver down, long schedule)
    configure(RETRY_SCHEDULE="1h")
    subscription = subscribe(api, "http://127.0.0.1:9/hook", ["*"])
    (event_id,) = post_events(api, [{"event_type": "a.b", "payload": {}}])
    wait_until(
        lambda: deliveries_of(api, event_id).get(subscription["id"], {}).get("state") == "retrying",
        "the first failed attempt",
    )
    path = f"/v1/subscriptions/{subscription['id']}/replay"

    # When it is replayed, named twice, alongside an unknown id
    response = api.post(path, json={"event_ids": [event_id, event_id, "0" * 26]})

    # Then the id counts once, the in-progress delivery is left alone, the unknown one is reported
    assert response.status_code == 202, response.text
    assert response.json()["data"] == [
        {"event_id": event_id, "outcome": "in_progress", "previous_attempts": 0},
        {"event_id": "0" * 26, "outcome": "not_found", "previous_attempts": 0},
    ]
    assert deliveries_of(api, event_id)[subscription["id"]]["attempt_count"] == 1
