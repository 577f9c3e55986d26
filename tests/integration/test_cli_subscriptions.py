"""`triggers subscriptions ls | disable | enable | rm` against the embedded stack's HTTP API."""

import io
from collections.abc import Callable
from typing import Any

import pytest

from devtools.cli import main
from devtools.commands import subscriptions as command
from devtools.stack import EmbeddedStack
from ingest.core.api_keys_table import create_api_key
from tests.e2e.conftest import subscribe
from tests.integration.cli_support import cli, command_json, command_output, run_json
from tests.integration.conftest import ApiClient

DEAD_URL = "http://127.0.0.1:9/hook"


def shown(client: ApiClient, subscription_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/subscriptions/{subscription_id}")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


class Terminal(io.StringIO):
    """stdin as on an operator's terminal (what the answer is, the test decides)."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdin is not a terminal, as under `make test` or in CI."""
    monkeypatch.setattr("sys.stdin", io.StringIO(""))


def test_ls_lists_the_tenants_subscriptions_without_secrets_or_header_values(
    new_tenant: Callable[[], ApiClient], stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    owner, other = new_tenant(), new_tenant()
    created = owner.post(
        "/v1/subscriptions",
        json={
            "target_url": DEAD_URL,
            "event_types": ["order.created"],
            "headers": {"Authorization": "Bearer hush-hush-value-1234"},
        },
    )
    assert created.status_code == 201, created.text
    first, second = created.json(), subscribe(owner, "http://127.0.0.1:9/other", ["*"])
    subscribe(other, DEAD_URL, ["*"])

    assert main(cli(owner, stack, "subscriptions", "ls", "--json")) == 0

    listed = command_json(capsys)
    by_id = {item["id"]: item for item in listed}
    assert set(by_id) == {first["id"], second["id"]}  # not the other tenant's
    assert by_id[first["id"]]["target_url"] == DEAD_URL
    assert by_id[first["id"]]["event_types"] == ["order.created"]
    assert (by_id[first["id"]]["status"], by_id[first["id"]]["disabled_reason"]) == ("active", None)

    # The human table shows the same, and neither the signing secret nor the header's value
    assert main(cli(owner, stack, "subscriptions", "ls")) == 0
    out, _ = command_output(capsys)
    assert first["id"] in out and second["id"] in out
    for secret in (first["secret"], second["secret"], "hush-hush", "Bearer"):
        assert secret not in out


def test_ls_of_a_tenant_without_subscriptions_is_empty(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(cli(api, stack, "subscriptions", "ls", "--json")) == 0
    assert command_json(capsys) == []
    assert main(cli(api, stack, "subscriptions", "ls")) == 0
    assert "no subscriptions" in command_output(capsys)[0]


def test_disable_then_enable_round_trip_with_the_reason(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    subscription = subscribe(api, DEAD_URL, ["*"])

    code, disabled = run_json(
        capsys, cli(api, stack, "subscriptions", "disable", subscription["id"], "--reason", "receiver down")
    )

    assert code == 0
    assert (disabled["status"], disabled["disabled_reason"], disabled["changed"]) == (
        "disabled",
        "receiver down",
        True,
    )
    assert (shown(api, subscription["id"])["status"], shown(api, subscription["id"])["disabled_reason"]) == (
        "disabled",
        "receiver down",
    )
    assert main(cli(api, stack, "subscriptions", "ls", "--json")) == 0
    listed = command_json(capsys)
    assert [(item["status"], item["disabled_reason"]) for item in listed] == [("disabled", "receiver down")]

    code, enabled = run_json(capsys, cli(api, stack, "subscriptions", "enable", subscription["id"]))

    assert code == 0
    assert (enabled["status"], enabled["disabled_reason"], enabled["changed"]) == ("active", None, True)
    assert shown(api, subscription["id"])["status"] == "active"
    # Enabling an active subscription again changes nothing and says so
    assert main(cli(api, stack, "subscriptions", "enable", subscription["id"])) == 0
    assert "already active" in command_output(capsys)[0]


def test_disable_without_a_reason_names_the_key(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    subscription = subscribe(api, DEAD_URL, ["*"])

    assert main(cli(api, stack, "subscriptions", "disable", subscription["id"])) == 0

    out, _ = command_output(capsys)
    assert f"disabled[/] subscription {subscription['id']}" not in out  # markup rendered, not printed
    assert f"subscription {subscription['id']}: deliveries stop" in out
    assert shown(api, subscription["id"])["disabled_reason"].startswith("disabled by key ")


def test_a_second_disable_is_idempotent_and_keeps_the_first_reason(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    subscription = subscribe(api, DEAD_URL, ["*"])
    argv = cli(api, stack, "subscriptions", "disable", subscription["id"])
    assert run_json(capsys, [*argv, "--reason", "first"])[0] == 0

    code, again = run_json(capsys, [*argv, "--reason", "second"])

    assert code == 0
    assert (again["status"], again["disabled_reason"], again["changed"]) == ("disabled", "first", False)
    assert shown(api, subscription["id"])["disabled_reason"] == "first"
    assert main([*argv, "--reason", "third"]) == 0
    assert "already disabled" in command_output(capsys)[0]


def test_a_too_long_reason_is_the_apis_422_and_changes_nothing(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    subscription = subscribe(api, DEAD_URL, ["*"])

    code = main(cli(api, stack, "subscriptions", "disable", subscription["id"], "--reason", "x" * 201))

    assert code == 1
    _, err = command_output(capsys)
    assert "HTTP 422 validation-failed" in err
    assert len(err.strip().splitlines()) == 1
    assert shown(api, subscription["id"])["status"] == "active"


@pytest.mark.parametrize(
    "action",
    [["disable", "--reason", "mine now"], ["enable"], ["rm", "--yes"]],
    ids=["disable", "enable", "rm"],
)
def test_another_tenants_subscription_is_not_found_and_unchanged(
    new_tenant: Callable[[], ApiClient],
    stack: EmbeddedStack,
    capsys: pytest.CaptureFixture[str],
    action: list[str],
) -> None:
    owner, intruder = new_tenant(), new_tenant()
    subscription = subscribe(owner, DEAD_URL, ["*"])
    owner_disabled = owner.post(f"/v1/subscriptions/{subscription['id']}/disable", json={"reason": "owner's"})
    assert owner_disabled.status_code == 200, owner_disabled.text
    before = shown(owner, subscription["id"])

    code, _ = run_json(
        capsys, cli(intruder, stack, "subscriptions", action[0], subscription["id"], *action[1:])
    )

    assert code == 1
    assert shown(owner, subscription["id"]) == before


def test_an_unknown_id_is_a_one_line_404(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = "sub_" + "0" * 26
    for argv in (["disable", unknown], ["enable", unknown], ["rm", unknown, "--yes"]):
        assert main(cli(api, stack, "subscriptions", *argv)) == 1
        _, err = command_output(capsys)
        assert "HTTP 404 not-found" in err, err
        assert len(err.strip().splitlines()) == 1
    # A malformed id is the API's 422, shown the same way
    assert main(cli(api, stack, "subscriptions", "rm", "sub_nope", "--yes")) == 1
    _, err = command_output(capsys)
    assert "HTTP 422 validation-failed" in err and "subscription_id" in err
    assert len(err.strip().splitlines()) == 1

    code = main([*cli(api, stack, "subscriptions", "enable", unknown), "--json"])

    assert code == 1
    _, err = command_output(capsys)
    assert '"status": 404' in err and '"problem": "not-found"' in err


def test_rm_with_yes_deletes_the_subscription(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], no_terminal: None
) -> None:
    keep, gone = subscribe(api, DEAD_URL, ["*"]), subscribe(api, DEAD_URL, ["order.created"])

    code, result = run_json(capsys, cli(api, stack, "subscriptions", "rm", gone["id"], "--yes"))

    assert (code, result) == (0, {"id": gone["id"], "deleted": True})
    assert api.get(f"/v1/subscriptions/{gone['id']}").status_code == 404
    assert shown(api, keep["id"])["status"] == "active"
    # A second rm finds nothing: the API's 404
    assert main(cli(api, stack, "subscriptions", "unsubscribe", gone["id"], "-y")) == 1
    assert "HTTP 404" in command_output(capsys)[1]


def test_rm_without_yes_and_without_a_terminal_is_refused_and_deletes_nothing(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], no_terminal: None
) -> None:
    subscription = subscribe(api, DEAD_URL, ["*"])

    code = main(cli(api, stack, "subscriptions", "rm", subscription["id"]))

    assert code == 2
    _, err = command_output(capsys)
    assert "confirm with --yes" in err
    assert shown(api, subscription["id"])["status"] == "active"


@pytest.mark.parametrize(("answer", "code"), [(False, 1), (True, 0)], ids=["no", "yes"])
def test_rm_on_a_terminal_asks_first(
    api: ApiClient,
    stack: EmbeddedStack,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    answer: bool,
    code: int,
) -> None:
    subscription = subscribe(api, DEAD_URL, ["*"])
    questions: list[str] = []

    def ask(question: str, **_: Any) -> bool:
        questions.append(str(question))
        return answer

    monkeypatch.setattr("sys.stdin", Terminal(""))
    monkeypatch.setattr(command.Confirm, "ask", ask)

    assert main(cli(api, stack, "subscriptions", "rm", subscription["id"])) == code

    assert len(questions) == 1 and subscription["id"] in questions[0] and DEAD_URL in questions[0]
    status = api.get(f"/v1/subscriptions/{subscription['id']}").status_code
    assert status == (404 if answer else 200)


def test_a_key_without_the_subscriptions_scope_is_refused(
    api: ApiClient,
    stack: EmbeddedStack,
    aws_client: Callable[[str], Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    subscription = subscribe(api, DEAD_URL, ["*"])
    table = stack.template.physical_name("ApiKeysTable")
    reader = ApiClient(
        stack.api_url,
        create_api_key(aws_client("dynamodb"), table, api.tenant_id, ["events:read"]),
        api.tenant_id,
    )

    for argv in (["ls"], ["disable", subscription["id"]], ["rm", subscription["id"], "--yes"]):
        assert main(cli(reader, stack, "subscriptions", *argv)) == 1
        assert "HTTP 403 insufficient-scope" in command_output(capsys)[1]
    assert shown(api, subscription["id"])["status"] == "active"


def test_a_wrong_or_missing_key_is_refused(
    api: ApiClient, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    subscription = subscribe(api, DEAD_URL, ["*"])
    wrong = ApiClient(stack.api_url, "trg_" + "0" * 40, api.tenant_id)

    assert main(cli(wrong, stack, "subscriptions", "disable", subscription["id"])) == 1
    assert "HTTP 401" in command_output(capsys)[1]

    # No key at all (no --api-key, no TRIGGERS_API_KEY, no running `triggers up`): refused before any call
    monkeypatch.delenv("TRIGGERS_API_KEY", raising=False)
    monkeypatch.setattr("devtools.target.read_state", lambda path=None: {})
    for argv in (["ls"], ["disable", subscription["id"]], ["rm", subscription["id"], "--yes"]):
        assert main(["subscriptions", *argv, "--api-url", stack.api_url]) == 2
        assert "no API key" in command_output(capsys)[1]
    assert shown(api, subscription["id"])["status"] == "active"


def test_bad_arguments_exit_2() -> None:
    for argv in (
        ["subscriptions"],
        ["subscriptions", "disable"],
        ["subscriptions", "rm"],
        ["subscriptions", "mv"],
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
